"""What `edgectl deploy` would send, from the example manifests in manifests/ (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotedge_cli.cloud.deployment import (
    configuration_document,
    counts,
    device_content,
    is_edge_deployment,
    load_manifest,
    parse_labels,
)
from iotedge_cli.errors import InputError, UsageError

HERE = Path(__file__).parent / "manifests"
BASE = HERE / "base.json"
LAYER = HERE / "layer.json"
INVALID = HERE / "invalid-route.json"


def test_a_base_manifest_is_device_content_as_written() -> None:
    loaded = load_manifest(BASE)
    assert loaded.findings == []
    assert not loaded.layered
    assert device_content(loaded) == json.loads(BASE.read_text())["modulesContent"]


def test_the_linter_runs_unless_told_not_to() -> None:
    loaded = load_manifest(INVALID)
    assert [(d.code, d.location.line) for d in loaded.errors] == [("E201", 48)]
    assert load_manifest(INVALID, validate=False).findings == []


def test_a_layered_manifest_is_not_device_content() -> None:
    loaded = load_manifest(LAYER)
    assert loaded.layered
    assert loaded.findings == []
    with pytest.raises(UsageError, match=r"a layered manifest \(\$edgeAgent/properties.desired"):
        device_content(loaded)


def test_an_automatic_deployment_document() -> None:
    document = configuration_document(
        load_manifest(BASE),
        name="base-prod",
        target_condition="tags.env='prod'",
        priority=10,
        labels={"team": "a"},
        layered=False,
    )
    assert document == {
        "id": "base-prod",
        "schemaVersion": "1.0",
        "labels": {"team": "a"},
        "content": {"modulesContent": json.loads(BASE.read_text())["modulesContent"]},
        "targetCondition": "tags.env='prod'",
        "priority": 10,
    }


def test_a_layered_deployment_document_keeps_the_path_keys() -> None:
    document = configuration_document(
        load_manifest(LAYER),
        name="filter-layer",
        target_condition="tags.env='prod'",
        priority=20,
        labels={},
        layered=True,
    )
    agent = document["content"]["modulesContent"]["$edgeAgent"]
    assert list(agent) == ["properties.desired.modules.filter"]


@pytest.mark.parametrize(
    ("path", "layered", "message"),
    [
        (LAYER, False, "the manifest is layered ($edgeAgent/properties.desired.modules.filter)"),
        (BASE, True, "--layered, but the manifest sets the whole $edgeAgent properties.desired"),
    ],
)
def test_layering_must_be_said(path: Path, layered: bool, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        configuration_document(
            load_manifest(path),
            name="d",
            target_condition="tags.env='prod'",
            priority=0,
            labels={},
            layered=layered,
        )
    assert message in caught.value.message


@pytest.mark.parametrize("name", ["Upper", "has space", "a/b", "x" * 129, ""])
def test_deployment_ids_are_checked(name: str) -> None:
    with pytest.raises(UsageError, match="is not a valid deployment id"):
        configuration_document(
            load_manifest(BASE),
            name=name,
            target_condition="tags.env='prod'",
            priority=0,
            labels={},
            layered=False,
        )


def test_labels() -> None:
    assert parse_labels(["env=prod", "team=a=b", "empty="]) == {
        "env": "prod",
        "team": "a=b",
        "empty": "",
    }
    with pytest.raises(UsageError, match="is not KEY=VALUE"):
        parse_labels(["env"])
    with pytest.raises(UsageError, match="is given twice"):
        parse_labels(["a=1", "a=2"])


def test_unreadable_and_empty_manifests(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_manifest(tmp_path / "missing.json")
    empty = tmp_path / "empty.json"
    empty.write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match="no modulesContent found"):
        load_manifest(empty)


def test_counts_from_system_metrics() -> None:
    configuration = {
        "content": {"modulesContent": {"$edgeAgent": {}}},
        "systemMetrics": {
            "results": {"targetedCount": 3, "appliedCount": 2, "reportedSuccessfulCount": 1},
            "queries": {},
        },
        "metrics": {"results": {"custom": 4, "bogus": "x"}, "queries": {}},
    }
    n = counts(configuration)
    assert n.as_json() == {
        "targeted": 3,
        "applied": 2,
        "reportedSuccessful": 1,
        "reportedFailed": None,
        "custom": {"custom": 4},
    }
    assert is_edge_deployment(configuration)
    assert not is_edge_deployment({"content": {"deviceContent": {"properties.desired.x": 1}}})
