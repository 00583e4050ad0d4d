"""parse_deployment: what a running hub accepts as a new deployment, and what it refuses."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from iotedge_cli.simulator.hub.deployment import DeploymentError, parse_deployment
from tests.simulator.integration.harness import ROUTES, manifest


def test_a_generated_manifest_compiles() -> None:
    doc = manifest()
    deployment = parse_deployment(doc)
    assert deployment.modules == ("sensor", "filter", "offline")
    assert [r.name for r in deployment.routes] == list(ROUTES)
    assert deployment.default_ttl == 7200
    assert deployment.desired["filter"] == {"threshold": 25}
    assert deployment.desired["sensor"] == {}
    assert set(deployment.desired["$edgeAgent"]["modules"]) == {"sensor", "filter", "offline"}
    assert deployment.desired["$edgeHub"]["routes"] == ROUTES
    assert json.loads(deployment.text) == doc


def test_the_layered_and_content_envelopes_are_read_too() -> None:
    content = manifest()["modulesContent"]
    assert parse_deployment({"content": {"modulesContent": content}}).modules == (
        "sensor",
        "filter",
        "offline",
    )
    layered = copy.deepcopy(content)
    layered["$edgeAgent"] = {
        "properties.desired.modules.extra": {
            "type": "docker",
            "settings": {"image": "example/extra:1"},
        }
    }
    assert parse_deployment({"modulesContent": layered}).modules == ("extra",)


def _without_agent_desired() -> dict[str, Any]:
    doc = manifest()
    doc["modulesContent"]["$edgeAgent"] = {}
    return doc


def _bad_route() -> dict[str, Any]:
    return manifest({"broken": "FROM /messages/* INTO", "fine": "FROM /messages INTO $upstream"})


def _bad_module_name() -> dict[str, Any]:
    doc = manifest()
    modules = doc["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    modules["two words"] = {"type": "docker", "settings": {"image": "x:1"}}
    return doc


def _template() -> dict[str, Any]:
    return {"$schema-template": "4.0.0", **manifest()}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "a deployment must be a JSON object"),
        ({"routes": {}}, "the body is not a deployment manifest"),
        ({"modulesContent": {"$edgeHub": {}}}, r"no \$edgeAgent properties.desired"),
        (_without_agent_desired(), r"no \$edgeAgent properties.desired"),
        (_bad_route(), "routes do not parse: route 'broken'"),
        (_bad_module_name(), "module name 'two words' is not valid"),
        (_template(), "is a deployment template"),
    ],
)
def test_bodies_that_cannot_be_deployed_are_refused(body: Any, message: str) -> None:
    with pytest.raises(DeploymentError, match=message):
        parse_deployment(body)


def test_a_refusal_is_a_value_error() -> None:
    # the admin API and the service API map ValueError to HTTP 400
    assert issubclass(DeploymentError, ValueError)
