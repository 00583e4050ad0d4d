"""The router case suite (``cases.json``): manifest routes + one message -> verdicts, deliveries.

Each case: ``routes`` (name -> route string or ``{route, priority, timeToLiveSecs}``), ``ttl``
(``storeAndForwardConfiguration.timeToLiveSecs``; 7200 when left out, absent when null),
``layered`` (write routes and TTL as flattened ``properties.desired.…`` keys), ``message``
(``source``, ``body`` (JSON value or text), ``contentType``, ``contentEncoding``, ``sys``,
``props``); expected ``conditions`` (name -> "true"/"false"/"undefined", or null when the source
does not match), ``selected`` (names; default: every route that delivers) and ``deliveries``
(``[route, sink, priority, ttl]`` in order).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.manifest.loader import load_text
from iotedge_cli.manifest.model import Manifest
from iotedge_cli.routes.message import Message
from iotedge_cli.routes.router import (
    DEFAULT_PRIORITY,
    RouteSpec,
    route,
    routes_from_manifest,
    store_and_forward_ttl,
)

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "cases.json").read_text(encoding="utf-8")
)


def manifest_for(case: dict[str, Any]) -> Manifest:
    ttl = case.get("ttl", 7200)
    if case.get("layered"):
        hub: dict[str, Any] = {
            f"properties.desired.routes.{name}": value for name, value in case["routes"].items()
        }
        if ttl is not None:
            hub["properties.desired.storeAndForwardConfiguration.timeToLiveSecs"] = ttl
    else:
        desired: dict[str, Any] = {"schemaVersion": "1.1", "routes": case["routes"]}
        if ttl is not None:
            desired["storeAndForwardConfiguration"] = {"timeToLiveSecs": ttl}
        hub = {"properties.desired": desired}
    text = json.dumps({"modulesContent": {"$edgeHub": hub}}, indent=2)
    return Manifest.from_doc(load_text(text, "case.json"))


def message_for(spec: dict[str, Any]) -> Message:
    body = spec.get("body", "")
    data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
    system = dict(spec.get("sys", {}))
    for key in ("contentType", "contentEncoding"):
        if key in spec:
            system[key] = spec[key]
    return Message.from_source(
        spec["source"], body=data, system_properties=system, properties=dict(spec.get("props", {}))
    )


@pytest.mark.parametrize("case", CASES, ids=[c["comment"][:70] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    manifest = manifest_for(case)
    specs, problems = routes_from_manifest(manifest)
    assert problems == []
    assert [s.name for s in specs] == list(case["routes"])
    decision = route(
        specs, message_for(case["message"]), default_ttl=store_and_forward_ttl(manifest)
    )
    assert decision.source == case["message"]["source"]
    verdicts = {
        e.name: (e.condition.value if e.condition is not None else None)
        for e in decision.evaluations
    }
    assert verdicts == case["conditions"]
    for e in decision.evaluations:
        assert e.source_matched == (e.condition is not None)
    deliveries = [[d.route, d.sink, d.priority, d.ttl] for d in decision.deliveries]
    assert deliveries == case["deliveries"]
    selected = case.get("selected", [d[0] for d in case["deliveries"]])
    assert [e.name for e in decision.evaluations if e.selected] == selected


def test_route_specs_are_built_once_with_their_sink_and_defaults() -> None:
    manifest = manifest_for(
        {
            "routes": {
                "a": "FROM /messages/* INTO $upstream",
                "b": {
                    "route": 'FROM /messages/* INTO BrokeredEndpoint("/modules/f/inputs/i")',
                    "priority": 3,
                    "timeToLiveSecs": 9,
                },
            }
        }
    )
    specs, _ = routes_from_manifest(manifest)
    a, b = specs
    assert (a.priority, a.ttl, a.sink) == (DEFAULT_PRIORITY, 0, "$upstream")
    assert (b.priority, b.ttl, b.sink) == (3, 9, "/modules/f/inputs/i")
    assert a.path == ("modulesContent", "$edgeHub", "properties.desired", "routes", "a")
    assert b.path[-2:] == ("b", "route")
    assert isinstance(a, RouteSpec)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("FORM /messages/* INTO $upstream", "expected FROM"),
        ("   ", "is empty"),
        (5, "not a string or an object"),
        ({"priority": 1}, 'no "route" string'),
        ({"route": "FROM /messages/* INTO $upstream", "priority": 10}, "priority 10 must be"),
        ({"route": "FROM /messages/* INTO $upstream", "priority": True}, "priority True"),
        ({"route": "FROM /messages/* INTO $upstream", "timeToLiveSecs": -5}, "timeToLiveSecs -5"),
        ("FROM /messages/* INTO $upstrem", "not supported"),
    ],
)
def test_routes_edgehub_rejects_are_problems(value: Any, fragment: str) -> None:
    manifest = manifest_for({"routes": {"bad": value, "good": "FROM /messages/* INTO $upstream"}})
    specs, problems = routes_from_manifest(manifest)
    assert [s.name for s in specs] == ["good"]
    [problem] = problems
    assert problem.name == "bad"
    assert fragment in problem.message
    assert problem.message.startswith("route 'bad'")


def test_syntax_problems_keep_the_error_with_its_column() -> None:
    manifest = manifest_for({"routes": {"bad": "FROM /messages/* INTO upstream"}})
    _, [problem] = routes_from_manifest(manifest)
    assert problem.error is not None
    assert problem.error.column == 23
    assert problem.text == "FROM /messages/* INTO upstream"


def test_template_placeholders_parse_in_templates_only() -> None:
    manifest = manifest_for({"routes": {"r": "FROM /messages/* INTO ${SINK}"}})
    specs, problems = routes_from_manifest(manifest, template=True)
    assert [s.sink for s in specs] == ["${SINK}"] and problems == []
    specs, problems = routes_from_manifest(manifest, template=False)
    assert specs == [] and len(problems) == 1


def test_store_and_forward_ttl_forms() -> None:
    assert store_and_forward_ttl(manifest_for({"routes": {}, "ttl": 5})) == 5
    assert store_and_forward_ttl(manifest_for({"routes": {}, "ttl": None})) == 7200
    assert store_and_forward_ttl(manifest_for({"routes": {}, "ttl": -1})) == -1
    assert store_and_forward_ttl(manifest_for({"routes": {}, "ttl": 7, "layered": True})) == 7
    text = (
        '{"modulesContent": {"$edgeHub": {"properties.desired.storeAndForwardConfiguration": '
        '{"timeToLiveSecs": 11}}}}'
    )
    assert store_and_forward_ttl(Manifest.from_doc(load_text(text, "m.json"))) == 11
