"""Twins: versions, merge-patch semantics, wire bodies, validation, storage, manifest desired."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iotedge_cli.manifest.loader import load_text
from iotedge_cli.manifest.model import Manifest
from iotedge_cli.simulator.hub.iothub.twin import (
    Twin,
    TwinPatchError,
    desired_from_manifest,
    diff_patch,
    merge_patch,
    parse_patch,
)


@pytest.mark.parametrize(
    ("target", "patch", "merged"),
    [
        ({"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ({"a": 1, "b": 2}, {"a": None}, {"b": 2}),  # null deletes
        ({"a": 1}, {"zz": None}, {"a": 1}),  # deleting a missing key is a no-op
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": None, "z": 3}}, {"a": {"x": 1, "z": 3}}),
        ({"a": 1}, {"a": {"n": None, "m": 1}}, {"a": {"m": 1}}),  # nulls in new objects vanish
        ({"a": {"x": 1}}, {"a": 5}, {"a": 5}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),  # arrays replace
        ({"a": 1, "b": 2}, {"a": 9}, {"a": 9, "b": 2}),
    ],
)
def test_merge_patch(target: dict[str, Any], patch: dict[str, Any], merged: dict[str, Any]) -> None:
    before = json.dumps(target)
    assert merge_patch(target, patch) == merged
    assert json.dumps(target) == before  # the target is not modified


def test_merge_keeps_key_order() -> None:
    assert list(merge_patch({"a": 1, "b": 2}, {"a": 3, "c": 4})) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({}, {"a": 1}),
        ({"a": 1}, {}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"x": 1, "y": 3}}),
        ({"a": {"x": 1}}, {"a": 1}),
        ({"a": 1}, {"a": 1.0}),
        ({"a": True}, {"a": 1}),
        ({"a": [1]}, {"a": [1, 2]}),
    ],
)
def test_diff_patch_round_trips(old: dict[str, Any], new: dict[str, Any]) -> None:
    patch = diff_patch(old, new)
    assert patch
    assert merge_patch(old, patch) == new


def test_diff_of_equal_is_empty() -> None:
    assert diff_patch({"a": {"b": [1]}}, {"a": {"b": [1]}}) == {}


def test_versions_and_bodies() -> None:
    twin = Twin.from_desired({"threshold": 10})
    assert twin.document() == {
        "desired": {"threshold": 10, "$version": 1},
        "reported": {"$version": 1},
    }
    assert twin.patch_reported({"a": 1}) == 2
    assert twin.patch_reported(b'{"a": null, "b": {"c": 1}}') == 3
    assert twin.reported == {"b": {"c": 1}}
    pushed = twin.patch_desired({"threshold": 20, "$version": 99})  # a client $version is ignored
    assert (pushed.version, pushed.body) == (2, {"threshold": 20, "$version": 2})
    assert twin.get_response() == (
        b'{"desired": {"threshold": 20, "$version": 2}, "reported": {"b": {"c": 1}, "$version": 3}}'
    )


def test_replace_desired_pushes_the_difference() -> None:
    twin = Twin.from_desired({"a": 1, "b": {"x": 1}})
    assert twin.replace_desired({"a": 1, "b": {"x": 1}}) is None
    assert twin.desired_version == 1
    pushed = twin.replace_desired({"b": {"x": 2}, "c": 3})
    assert pushed is not None
    assert pushed.body == {"a": None, "b": {"x": 2}, "c": 3, "$version": 2}
    assert pushed.encode() == b'{"a": null, "b": {"x": 2}, "c": 3, "$version": 2}'
    assert twin.desired == {"b": {"x": 2}, "c": 3}


def test_from_desired_copies() -> None:
    source = {"a": {"b": 1}}
    twin = Twin.from_desired(source)
    twin.patch_desired({"a": {"b": 2}})
    assert source == {"a": {"b": 1}}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (b"[1]", "a reported patch must be a JSON object, not list"),
        (b"nope", "the reported patch is not JSON"),
        (b'"x"', "must be a JSON object, not str"),
        (b'{"a.b": 1}', "property name 'a.b' contains '.'"),
        (b'{"a": {"$x": 1}}', "property name '$x' contains '$'"),
        (b'{"a b": 1}', "contains ' '"),
        (b'{"a\\u0001": 1}', "contains '\\x01'"),
        (b'{"": 1}', "empty property name at the top level"),
        (b'{"a": {"": 1}}', "empty property name at a"),
        (
            json.dumps(
                {
                    "l1": {
                        "l2": {
                            "l3": {
                                "l4": {"l5": {"l6": {"l7": {"l8": {"l9": {"l10": {"l11": 1}}}}}}}
                            }
                        }
                    }
                }
            ).encode(),
            "nests deeper than 10 levels",
        ),
        (json.dumps({"k" * 1025: 1}).encode(), "longer than 1 KB"),
        (json.dumps({"big": "x" * 33000}).encode(), "reported properties would exceed 32 KB"),
    ],
)
def test_bad_reported_patches_are_400_and_change_nothing(patch: bytes, message: str) -> None:
    twin = Twin()
    with pytest.raises(TwinPatchError) as info:
        twin.patch_reported(patch)
    assert info.value.status == 400
    assert message in str(info.value)
    assert (twin.reported, twin.reported_version) == ({}, 1)


def test_ten_levels_are_fine() -> None:
    nested: dict[str, Any] = {"v": 1}
    for level in range(9):
        nested = {f"l{level}": nested}
    assert parse_patch(json.dumps(nested).encode()) == nested


def test_bad_desired_patch() -> None:
    twin = Twin()
    with pytest.raises(TwinPatchError, match="a desired patch must be a JSON object"):
        twin.patch_desired(b"1")
    assert twin.desired_version == 1


def test_storage_round_trip() -> None:
    twin = Twin.from_desired({"a": 1})
    twin.patch_reported({"r": True})
    stored = json.loads(json.dumps(twin.to_dict()))
    assert Twin.from_dict(stored) == twin


def _manifest(data: dict[str, Any]) -> Manifest:
    return Manifest.from_doc(load_text(json.dumps(data), "deployment.json", template=False))


def test_desired_from_a_full_manifest() -> None:
    manifest = _manifest(
        {
            "modulesContent": {
                "$edgeAgent": {"properties.desired": {"modules": {"filter": {}}}},
                "$edgeHub": {"properties.desired": {"routes": {"r": "FROM /* INTO $upstream"}}},
                "filter": {"properties.desired": {"threshold": 30, "nested": {"a": None, "b": 1}}},
            }
        }
    )
    assert desired_from_manifest(manifest, "filter") == {"threshold": 30, "nested": {"b": 1}}
    assert desired_from_manifest(manifest, "$edgeHub") == {
        "routes": {"r": "FROM /* INTO $upstream"}
    }
    assert desired_from_manifest(manifest, "sensor") == {}


def test_desired_from_a_layered_manifest() -> None:
    manifest = _manifest(
        {
            "content": {
                "modulesContent": {
                    "filter": {
                        "properties.desired.threshold": 30,
                        "properties.desired.limits": {"max": 5},
                    }
                }
            }
        }
    )
    assert desired_from_manifest(manifest, "filter") == {"threshold": 30, "limits": {"max": 5}}


def test_desired_from_a_template_placeholder_is_refused() -> None:
    doc = load_text(
        '{"modulesContent": {"m": {"properties.desired": {"t": ${TTL}}}}}', "x.template.json"
    )
    with pytest.raises(
        ValueError, match=r"m\.properties\.desired\.t holds .*generate the manifest"
    ):
        desired_from_manifest(Manifest.from_doc(doc), "m")
