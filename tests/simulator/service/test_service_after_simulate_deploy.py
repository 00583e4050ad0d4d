"""Deployments computed after ``edgectl simulate deploy`` (the admin API, which calls
``Hub.apply_deployment`` behind the service API's back) layer on what the hub runs: the real
azure-iot-hub SDK against the service API on 127.0.0.78:443, the admin API on a unix socket."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from iotedge_cli.simulator.client import AdminClient
from iotedge_cli.simulator.hub.admin import start_admin
from iotedge_cli.simulator.hub.service import load_or_create_policy_key, service_connection_string
from tests.simulator.integration.harness import DEVICE, HubThread, make_state, manifest

hub_sdk = pytest.importorskip("azure.iot.hub", reason="azure-iot-hub is not installed")
from azure.iot.hub import IoTHubConfigurationManager, IoTHubRegistryManager  # noqa: E402
from azure.iot.hub.models import Configuration, ConfigurationContent, Twin  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

IP = "127.0.0.78"
START = {"sensor", "filter", "offline"}  # the harness manifest's modules


@dataclass
class Sim:
    hub: HubThread
    admin: AdminClient
    registry: Any
    configs: Any


@pytest.fixture
def sim(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sim]:
    config = make_state(tmp_path, IP, https_port=443, admin_socket=tmp_path / "admin.sock")
    thread = HubThread(config).start()
    server = thread.call(start_admin(thread.hub, config))
    if any(e["name"] == "https" and not e["available"] for e in thread.hub.listeners):
        thread.run(server.close)
        thread.stop()
        pytest.skip("port 443 could not be bound here (needs root or CAP_NET_BIND_SERVICE)")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(config.ca_cert))
    cs = service_connection_string(IP, load_or_create_policy_key(tmp_path))
    try:
        yield Sim(
            thread,
            AdminClient(f"unix://{tmp_path / 'admin.sock'}", state_dir=tmp_path),
            IoTHubRegistryManager.from_connection_string(cs),
            IoTHubConfigurationManager.from_connection_string(cs),
        )
    finally:
        thread.run(server.close)
        thread.stop()


def module(name: str) -> dict[str, Any]:
    return {
        "type": "docker",
        "status": "running",
        "restartPolicy": "always",
        "settings": {"image": f"example/{name}:1"},
    }


def deployment(*modules: str) -> dict[str, Any]:
    """What `edgectl simulate deploy` posts: a generated manifest with these modules."""
    doc = copy.deepcopy(manifest({"up": f"FROM /messages/modules/{modules[0]}/* INTO $upstream"}))
    doc["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"] = {
        name: module(name) for name in modules
    }
    doc["modulesContent"].pop("filter")
    return doc


def layer(config_id: str, name: str, priority: int) -> Configuration:
    """A layered deployment adding module ``name`` to devices tagged env='dev'."""
    content = {
        "$edgeAgent": {f"properties.desired.modules.{name}": module(name)},
        name: {"properties.desired": {"from": config_id}},
    }
    return Configuration(
        id=config_id,
        content=ConfigurationContent(modules_content=content),
        target_condition="tags.env='dev'",
        priority=priority,
    )


def running(sim: Sim) -> set[str]:
    """The modules in ``$edgeAgent``'s desired properties (what the agent would run)."""
    return set(sim.hub.run(sim.hub.hub.twin, "$edgeAgent")["desired"]["modules"])


def applied_count(sim: Sim, config_id: str) -> int:
    results = sim.configs.get_configuration(config_id).system_metrics.results
    return int(results["appliedCount"])


def test_layers_after_simulate_deploy_go_on_the_deployed_base(sim: Sim) -> None:
    sim.registry.update_twin(DEVICE, Twin(tags={"env": "dev"}))
    sim.configs.create_configuration(layer("layer-extra", "extra", 10))
    assert running(sim) == START | {"extra"}  # the start manifest is the first base
    assert applied_count(sim, "layer-extra") == 1

    # `edgectl simulate deploy` replaces the whole deployment, the layer's module included
    summary = sim.admin.deploy(deployment("sensor", "alpha"))
    assert sorted(summary["added"]) == ["alpha"]
    assert running(sim) == {"sensor", "alpha"}
    assert applied_count(sim, "layer-extra") == 0  # no longer on the device

    # the next evaluation layers on what `simulate deploy` put there, not on the start manifest
    sim.configs.create_configuration(layer("layer-beta", "beta", 20))
    assert running(sim) == {"sensor", "alpha", "extra", "beta"}
    assert sim.hub.run(sim.hub.hub.twin, "beta")["desired"]["from"] == "layer-beta"
    assert (applied_count(sim, "layer-extra"), applied_count(sim, "layer-beta")) == (1, 1)

    # taking the layers away leaves the deployed base
    sim.configs.delete_configuration("layer-extra")
    sim.configs.delete_configuration("layer-beta")
    assert running(sim) == {"sensor", "alpha"}
    assert [r.name for r in sim.hub.hub.routes] == ["up"]


def test_simulate_deploy_after_applied_content_is_the_new_base(sim: Sim) -> None:
    applied = deployment("sensor", "gamma")["modulesContent"]
    sim.configs.apply_configuration_on_edge_device(
        DEVICE, ConfigurationContent(modules_content=applied)
    )
    assert running(sim) == {"sensor", "gamma"}
    sim.admin.deploy(deployment("delta"))
    assert running(sim) == {"delta"}

    sim.registry.update_twin(DEVICE, Twin(tags={"env": "dev"}))
    sim.configs.create_configuration(layer("layer-extra", "extra", 10))
    assert running(sim) == {"delta", "extra"}
