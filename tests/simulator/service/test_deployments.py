"""Deployments: validation, targeting, base selection, layered merging, metrics (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from iotedge_cli.simulator.hub.iothub.deployments import (
    ConfigurationError,
    Deployment,
    deployment_from,
    effective_content,
    is_layered,
    merge_layer,
    reported_outcome,
    system_metrics,
    targets,
    validate_configuration,
)

D = "properties.desired"


def base_content(*modules: str, routes: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "$edgeAgent": {D: {"schemaVersion": "1.1", "modules": {m: {"image": m} for m in modules}}},
        "$edgeHub": {D: {"schemaVersion": "1.1", "routes": routes or {}}},
    }


def twin(device_id: str = "d1", edge: bool = True, **tags: Any) -> dict[str, Any]:
    return {
        "deviceId": device_id,
        "tags": tags,
        "capabilities": {"iotEdge": edge},
        "properties": {"desired": {}, "reported": {}},
    }


def dep(
    config_id: str,
    content: dict[str, Any],
    condition: str = "tags.env='prod'",
    priority: int = 0,
    seq: int = 1,
) -> Deployment:
    stored = validate_configuration(
        config_id,
        {
            "content": {"modulesContent": content},
            "targetCondition": condition,
            "priority": priority,
        },
    )
    return deployment_from(stored, seq)


LAYER = {
    "$edgeAgent": {"properties.desired.modules.extra": {"image": "extra"}},
    "$edgeHub": {
        "properties.desired.routes.extraUp": "FROM /messages/modules/extra/* INTO $upstream"
    },
    "extra": {D: {"rate": 2}},
}


def test_layered_is_recognised_by_its_content() -> None:
    assert not is_layered(base_content("a"))
    assert is_layered(LAYER)


MERGES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "adds a module and a route; a user twin's whole desired",
        base_content("a", routes={"r": "x"}),
        LAYER,
        {
            "$edgeAgent": {
                D: {
                    "schemaVersion": "1.1",
                    "modules": {"a": {"image": "a"}, "extra": {"image": "extra"}},
                }
            },
            "$edgeHub": {
                D: {
                    "schemaVersion": "1.1",
                    "routes": {
                        "r": "x",
                        "extraUp": LAYER["$edgeHub"]["properties.desired.routes.extraUp"],
                    },
                }
            },
            "extra": {D: {"rate": 2}},
        },
    ),
    (
        "a deep path replaces only that value; missing objects are created",
        {"m": {D: {"a": {"b": 1, "c": 2}}}},
        {"m": {"properties.desired.a.b": 5, "properties.desired.x.y.z": True}},
        {"m": {D: {"a": {"b": 5, "c": 2}, "x": {"y": {"z": True}}}}},
    ),
    (
        "a path through a scalar turns it into an object",
        {"m": {D: {"a": 1}}},
        {"m": {"properties.desired.a.b": 2}},
        {"m": {D: {"a": {"b": 2}}}},
    ),
]


@pytest.mark.parametrize(("name", "base", "layer", "expected"), MERGES, ids=[m[0] for m in MERGES])
def test_merge_layer(
    name: str, base: dict[str, Any], layer: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = repr(base)
    assert merge_layer(base, layer) == expected
    assert repr(base) == before  # inputs untouched


def test_highest_priority_base_wins_then_the_newest() -> None:
    low = dep("low", base_content("low"), priority=1, seq=1)
    high_old = dep("high-old", base_content("old"), priority=5, seq=2)
    high_new = dep("high-new", base_content("new"), priority=5, seq=3)
    result = effective_content([high_new, low, high_old], twin(env="prod"), None)
    assert result.base == "high-new"
    assert result.targeted == ("high-new", "low", "high-old")
    assert result.content is not None
    assert set(result.content["$edgeAgent"][D]["modules"]) == {"new"}


def test_layers_apply_in_priority_order_on_the_base() -> None:
    base = dep("base", base_content("a"), priority=1, seq=1)
    first = dep(
        "l-high",
        {"$edgeAgent": {"properties.desired.modules.x": {"image": "high"}}},
        priority=9,
        seq=2,
    )
    second = dep(
        "l-low",
        {"$edgeAgent": {"properties.desired.modules.x": {"image": "low"}}},
        priority=3,
        seq=3,
    )
    result = effective_content([first, second, base], twin(env="prod"), None)
    assert result.layered == ("l-low", "l-high")
    assert result.applied == ("base", "l-low", "l-high")
    assert result.content is not None
    assert result.content["$edgeAgent"][D]["modules"]["x"] == {"image": "high"}
    assert result.base_content == {k: {D: v[D]} for k, v in base_content("a").items()}


def test_layer_on_the_direct_content_and_no_base_at_all() -> None:
    layer = dep("layer", LAYER)
    direct = base_content("manual")
    on_direct = effective_content([layer], twin(env="prod"), direct)
    assert on_direct.base is None
    assert on_direct.applied == ("layer",)
    assert on_direct.content is not None
    assert set(on_direct.content["$edgeAgent"][D]["modules"]) == {"manual", "extra"}
    nothing = effective_content([layer], twin(env="prod"), None)
    assert (nothing.content, nothing.applied, nothing.targeted) == (None, (), ("layer",))


TARGETS: list[tuple[str, dict[str, Any], bool]] = [
    ("tags.env='prod'", twin(env="prod"), True),
    ("tags.env='prod'", twin(env="dev"), False),
    ("tags.env='prod'", twin(edge=False, env="prod"), False),  # edge deployments: edge only
    ("*", twin(), True),
    ("", twin(env="prod"), False),  # an empty condition targets nothing
    ("deviceId='d1' OR deviceId='d2'", twin("d2"), True),
]


@pytest.mark.parametrize(("condition", "device", "expected"), TARGETS)
def test_targets(condition: str, device: dict[str, Any], expected: bool) -> None:
    assert targets(dep("c", base_content("a"), condition), device) is expected


def test_device_configurations_target_any_device_but_are_not_edge_content() -> None:
    stored = validate_configuration(
        "fw", {"content": {"deviceContent": {"properties.desired.fw": "2"}}, "targetCondition": "*"}
    )
    deployment = deployment_from(stored, 1)
    assert targets(deployment, twin(edge=False))
    assert effective_content([deployment], twin(), None).targeted == ()


INVALID: list[tuple[str, Any, str]] = [
    ("Upper", {"content": {"modulesContent": base_content("a")}}, "lowercase"),
    ("c", {"content": {}}, "exactly one of"),
    ("c", {"id": "other", "content": {"modulesContent": base_content("a")}}, "differs"),
    ("c", {"content": {"modulesContent": {"$edgeAgent": {D: {}}}}}, "$edgeHub"),
    ("c", {"content": {"modulesContent": {"$edgeAgent": {"properties.reported": {}}}}}, "neither"),
    ("c", {"content": {"modulesContent": {"m": {"properties.desired..x": 1}}}}, "empty path part"),
    (
        "c",
        {
            "content": {
                "modulesContent": {"$edgeHub": {D: {}}, "$edgeAgent": {"properties.desired.a": 1}}
            }
        },
        "layered deployment may not replace",
    ),
    ("c", {"content": {"modulesContent": base_content("a")}, "priority": -1}, "non-negative"),
    (
        "c",
        {"content": {"modulesContent": base_content("a")}, "targetCondition": "tags.a > 1"},
        "not supported",
    ),
    ("c", {"content": {"modulesContent": base_content("a")}, "labels": {"a": 1}}, "labels"),
    ("c", [], "JSON object"),
]


@pytest.mark.parametrize(("config_id", "body", "message"), INVALID)
def test_invalid_configurations(config_id: str, body: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=None) as info:
        validate_configuration(config_id, body)
    assert message in str(info.value)


def test_valid_configuration_is_normalised() -> None:
    stored = validate_configuration(
        "app-1",
        {
            "content": {"modulesContent": base_content("a"), "deviceContent": {}},
            "targetCondition": "tags.env='prod'",
            "labels": {"k": "v"},
            "metrics": {"queries": {"mine": "select deviceId from devices"}},
        },
    )
    assert stored == {
        "id": "app-1",
        "schemaVersion": "1.0",
        "labels": {"k": "v"},
        "content": {"modulesContent": base_content("a")},
        "targetCondition": "tags.env='prod'",
        "priority": 0,
        "metrics": {"queries": {"mine": "select deviceId from devices"}},
    }


REPORTED: list[tuple[dict[str, Any], bool | None]] = [
    (
        {
            "desired": {"$version": 3},
            "reported": {"lastDesiredVersion": 3, "lastDesiredStatus": {"code": 200}},
        },
        True,
    ),
    (
        {
            "desired": {"$version": 3},
            "reported": {"lastDesiredVersion": 3, "lastDesiredStatus": {"code": 400}},
        },
        False,
    ),
    (
        {
            "desired": {"$version": 4},
            "reported": {"lastDesiredVersion": 3, "lastDesiredStatus": {"code": 200}},
        },
        None,
    ),
    ({"desired": {"$version": 1}, "reported": {}}, None),
]


@pytest.mark.parametrize(("agent", "expected"), REPORTED)
def test_reported_outcome(agent: dict[str, Any], expected: bool | None) -> None:
    assert reported_outcome(agent) is expected


def test_system_metrics_shape() -> None:
    metrics = system_metrics(
        "base", "tags.env='prod'", targeted=3, applied=2, successful=1, failed=1
    )
    assert metrics["results"] == {
        "targetedCount": 3,
        "appliedCount": 2,
        "reportedSuccessfulCount": 1,
        "reportedFailedCount": 1,
    }
    assert metrics["queries"]["targetedCount"].endswith(
        "capabilities.iotEdge = true and tags.env='prod'"
    )
    assert "configurations.[[base]].status = 'Applied'" in metrics["queries"]["appliedCount"]
