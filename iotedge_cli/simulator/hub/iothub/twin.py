"""Module and device twins: desired and reported properties with ``$version`` bookkeeping.

Both sections start at ``$version`` 1 (the manifest's desired properties, or empty). Each
accepted patch increments that section's version by one. Patches are JSON merge patches
(RFC 7386): ``null`` deletes a property, objects merge recursively, anything else replaces.

Wire shapes (hub-protocol §4.2/§4.3/§11), serialised with ``json.dumps`` defaults:

* GET response body: ``{"desired": {..., "$version": d}, "reported": {..., "$version": r}}``;
* reported patch: the client sends a bare patch; the hub answers ``204`` with the new
  reported version;
* desired patch pushed to the client: the patch plus ``"$version": v`` (the SDK raises
  ``KeyError`` without it).

Property names follow IoT Hub's rules: non-empty, at most 1 KB, no ``.``, ``$``, space or
control characters; objects nest at most 10 levels; a section holds at most 32 KB of JSON.
A top-level ``$version`` in a patch is ignored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iotedge_cli.manifest.model import DESIRED, Manifest

__all__ = [
    "MAX_DEPTH",
    "MAX_SECTION_BYTES",
    "DesiredPatch",
    "Twin",
    "TwinPatchError",
    "desired_from_manifest",
    "diff_patch",
    "merge_patch",
    "parse_patch",
]

MAX_DEPTH = 10
MAX_SECTION_BYTES = 32 * 1024
MAX_KEY_BYTES = 1024
_VERSION = "$version"


class TwinPatchError(ValueError):
    """A patch the hub refuses; the twin response status is :attr:`status` (400)."""

    status = 400


def _check_key(key: str, where: str) -> None:
    if not key:
        raise TwinPatchError(f"empty property name at {where or 'the top level'}")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise TwinPatchError(f"property name {key[:40]!r}... is longer than 1 KB")
    bad = next((c for c in key if c in ".$ " or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F), None)
    if bad is not None:
        raise TwinPatchError(
            f"property name {key!r} contains {bad!r}; twin property names may not contain "
            "'.', '$', spaces or control characters"
        )


def _check(value: Any, where: str, depth: int) -> None:
    if isinstance(value, dict):
        if depth > MAX_DEPTH:
            raise TwinPatchError(f"{where} nests deeper than {MAX_DEPTH} levels")
        for key, item in value.items():
            _check_key(key, where)
            _check(item, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]", depth + 1)


def _validate(patch: Any, section: str) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise TwinPatchError(f"a {section} patch must be a JSON object, not {type(patch).__name__}")
    checked: dict[str, Any] = {k: v for k, v in patch.items() if k != _VERSION}
    _check(checked, "", 1)
    return checked


def parse_patch(payload: bytes, section: str = "reported") -> dict[str, Any]:
    """Decode and validate a patch from the wire; raises :class:`TwinPatchError`."""
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise TwinPatchError(f"the {section} patch is not JSON: {exc}") from None
    return _validate(data, section)


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 merge of ``patch`` into a copy of ``target`` (existing keys keep their place)."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            current = merged.get(key)
            merged[key] = merge_patch(current if isinstance(current, dict) else {}, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def diff_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that turns ``old`` into ``new`` (removed keys become ``null``)."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if isinstance(value, dict) and isinstance(before, dict):
            inner = diff_patch(before, value)
            if inner:
                patch[key] = inner
        elif before is _MISSING or before != value or type(before) is not type(value):
            patch[key] = copy.deepcopy(value)
    return patch


_MISSING: Any = object()


@dataclass(frozen=True)
class DesiredPatch:
    """A desired-properties change to push: ``body`` already contains ``$version``."""

    version: int
    body: dict[str, Any]

    def encode(self) -> bytes:
        return json.dumps(self.body).encode("utf-8")


def _size(section: dict[str, Any]) -> int:
    return len(json.dumps(section, separators=(",", ":")).encode("utf-8"))


@dataclass
class Twin:
    desired: dict[str, Any] = field(default_factory=dict)
    reported: dict[str, Any] = field(default_factory=dict)
    desired_version: int = 1
    reported_version: int = 1

    @classmethod
    def from_desired(cls, desired: Mapping[str, Any]) -> Twin:
        """A new twin (both versions 1); ``desired`` comes from a manifest and is trusted."""
        return cls(desired=copy.deepcopy(dict(desired)))

    def document(self) -> dict[str, Any]:
        """The GET response body: both sections, each with its ``$version`` last."""
        return {
            "desired": {**self.desired, _VERSION: self.desired_version},
            "reported": {**self.reported, _VERSION: self.reported_version},
        }

    def get_response(self) -> bytes:
        return json.dumps(self.document()).encode("utf-8")

    def patch_reported(self, patch: Any) -> int:
        """Merge a reported patch (a dict, or bytes from the wire); returns the new reported
        version. Raises :class:`TwinPatchError` (answer 400) and leaves the twin unchanged."""
        checked = parse_patch(patch) if isinstance(patch, bytes) else _validate(patch, "reported")
        merged = merge_patch(self.reported, checked)
        if _size(merged) > MAX_SECTION_BYTES:
            raise TwinPatchError("reported properties would exceed 32 KB; report less")
        self.reported = merged
        self.reported_version += 1
        return self.reported_version

    def patch_desired(self, patch: Any) -> DesiredPatch:
        """Merge a desired patch; returns what to push to the client (patch + ``$version``)."""
        checked = (
            parse_patch(patch, "desired")
            if isinstance(patch, bytes)
            else _validate(patch, "desired")
        )
        merged = merge_patch(self.desired, checked)
        if _size(merged) > MAX_SECTION_BYTES:
            raise TwinPatchError("desired properties would exceed 32 KB")
        return self._apply_desired(merged, checked)

    def replace_desired(self, desired: Mapping[str, Any]) -> DesiredPatch | None:
        """Set the whole desired section (a redeployed manifest, trusted like
        :meth:`from_desired`); the patch to push, or None when nothing changed (the version
        then stays)."""
        patch = diff_patch(self.desired, desired)
        return self._apply_desired(merge_patch(self.desired, patch), patch) if patch else None

    def _apply_desired(self, merged: dict[str, Any], patch: dict[str, Any]) -> DesiredPatch:
        self.desired = merged
        self.desired_version += 1
        return DesiredPatch(self.desired_version, {**patch, _VERSION: self.desired_version})

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible state for storage; :meth:`from_dict` restores it."""
        return {
            "desired": self.desired,
            "reported": self.reported,
            "desiredVersion": self.desired_version,
            "reportedVersion": self.reported_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Twin:
        return cls(
            dict(data["desired"]),
            dict(data["reported"]),
            int(data["desiredVersion"]),
            int(data["reportedVersion"]),
        )


def _plain(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(
        f"{where} holds {value!r}, not JSON; generate the manifest from its template first"
    )


def desired_from_manifest(manifest: Manifest, module_id: str) -> dict[str, Any]:
    """The desired properties the manifest gives twin ``module_id`` (``$edgeAgent``,
    ``$edgeHub`` or a module name), in the full or the layered form; empty when absent."""
    desired: dict[str, Any] = {}
    for name, _path, value in manifest.desired_items(module_id, ""):
        if name == _VERSION:
            continue
        desired = merge_patch(desired, {name: _plain(value, f"{module_id}.{DESIRED}.{name}")})
    return desired
