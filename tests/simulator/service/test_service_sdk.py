"""The real azure-iot-hub SDK (registry and configuration managers) against the simulator's
service API on 127.0.0.71:443 (and 127.0.0.74:8443 for a HostName with a port)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.simulator.hub.service import load_or_create_policy_key, service_connection_string
from tests.simulator.integration.harness import DEVICE, HubThread, make_state, manifest

hub_sdk = pytest.importorskip("azure.iot.hub", reason="azure-iot-hub is not installed")
from azure.iot.hub import IoTHubConfigurationManager, IoTHubRegistryManager  # noqa: E402
from azure.iot.hub.models import (  # noqa: E402
    Configuration,
    ConfigurationContent,
    Twin,
    TwinProperties,
)
from msrest.exceptions import HttpOperationError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

IP = "127.0.0.71"
PORT_IP = "127.0.0.74"
THUMB = "AB" * 20


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    state = tmp_path_factory.mktemp("hub-service")
    thread = HubThread(make_state(state, IP, https_port=443)).start()
    yield thread
    thread.stop()


@pytest.fixture
def cs(hub: HubThread, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(hub.config.ca_cert))
    return service_connection_string(IP, load_or_create_policy_key(hub.config.state_dir))


def registry(cs: str) -> Any:
    return IoTHubRegistryManager.from_connection_string(cs)


def configs(cs: str) -> Any:
    return IoTHubConfigurationManager.from_connection_string(cs)


def fails(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(HttpOperationError) as info:
        call(*args, **kwargs)
    response = info.value.response
    body = json.loads(response.text)
    assert set(body) == {"Message", "ExceptionMessage"}
    return response.status_code, body["Message"]


def agent_desired(hub: HubThread) -> dict[str, Any]:
    return dict(hub.run(hub.hub.twin, "$edgeAgent")["desired"])


# --- keys and connection strings ---------------------------------------------------------


def test_policy_key_file_is_private_and_reused(hub: HubThread) -> None:
    path = hub.config.state_dir / "service.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_policy_key(hub.config.state_dir) == path.read_text().strip()


# --- devices -------------------------------------------------------------------------------


def test_simulated_edge_device_is_listed_and_cannot_be_deleted(cs: str) -> None:
    rm = registry(cs)
    device = rm.get_device(DEVICE)
    assert device.capabilities.iot_edge is True
    assert DEVICE in [d.device_id for d in rm.get_devices()]
    status, message = fails(rm.delete_device, DEVICE)
    assert status == 400
    assert "cannot be deleted" in message


def test_create_get_list_delete_devices(cs: str) -> None:
    rm = registry(cs)
    edge = rm.create_device_with_sas("edge-1", None, None, "enabled", iot_edge=True)
    assert edge.capabilities.iot_edge is True
    assert edge.authentication.type == "sas"
    assert edge.authentication.symmetric_key.primary_key  # generated, as IoT Hub does
    leaf = rm.create_device_with_x509("leaf-x509", THUMB, None, "disabled")
    assert leaf.authentication.type == "selfSigned"
    assert leaf.authentication.x509_thumbprint.primary_thumbprint == THUMB
    assert leaf.capabilities.iot_edge is False

    got = rm.get_device("leaf-x509")
    assert (got.status, got.etag) == ("disabled", leaf.etag)
    assert {"edge-1", "leaf-x509"} <= {d.device_id for d in rm.get_devices()}

    rm.delete_device("edge-1")
    rm.delete_device("leaf-x509", etag=leaf.etag)
    status, message = fails(rm.get_device, "edge-1")
    assert status == 404
    assert message.startswith("ErrorCode:DeviceNotFound;")
    assert "edge-1" not in {d.device_id for d in rm.get_devices()}


def test_certificate_authority_device_and_update(cs: str) -> None:
    rm = registry(cs)
    created = rm.create_device_with_certificate_authority("ca-dev", "enabled")
    assert created.authentication.type == "certificateAuthority"
    updated = rm.update_device_with_certificate_authority(
        "ca-dev", created.etag, "disabled", iot_edge=True
    )
    assert updated.status == "disabled"
    assert updated.capabilities.iot_edge is True
    assert updated.etag != created.etag
    rm.delete_device("ca-dev")


def test_duplicate_unknown_bad_input(cs: str) -> None:
    rm = registry(cs)
    rm.create_device_with_sas("dup", None, None, "enabled")
    status, message = fails(rm.create_device_with_sas, "dup", None, None, "enabled")
    assert (status, message.split(";")[0]) == (409, "ErrorCode:DeviceAlreadyExists")
    status, message = fails(rm.create_device_with_sas, DEVICE, None, None, "enabled")
    assert status == 409
    status, _ = fails(rm.get_twin, "nobody")
    assert status == 404
    status, message = fails(rm.delete_device, "nobody")
    assert status == 404
    status, message = fails(rm.create_device_with_x509, "bad-thumb", "xyz", None, "enabled")
    assert status == 400
    assert "hexadecimal" in message
    status, message = fails(rm.create_device_with_sas, "bad-key", "bm90IGEga2V5", None, "enabled")
    assert status == 400
    rm.delete_device("dup")


def test_wrong_key_is_401(cs: str) -> None:
    wrong = service_connection_string(IP, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    status, message = fails(registry(wrong).get_device, DEVICE)
    assert status == 401
    assert message.startswith("ErrorCode:IotHubUnauthorizedAccess;")
    assert "signature mismatch" in message
    status, _ = fails(configs(wrong).get_configurations)
    assert status == 401


def test_stale_etags_are_412(cs: str) -> None:
    rm = registry(cs)
    first = rm.create_device_with_sas("etag-dev", None, None, "enabled")
    second = rm.update_device_with_sas("etag-dev", first.etag, None, None, "disabled")
    status, message = fails(
        rm.update_device_with_sas, "etag-dev", first.etag, None, None, "enabled"
    )
    assert (status, message.split(";")[0]) == (412, "ErrorCode:PreconditionFailed")
    status, _ = fails(rm.delete_device, "etag-dev", etag=first.etag)
    assert status == 412

    twin = rm.get_twin("etag-dev")
    patched = rm.update_twin("etag-dev", Twin(tags={"env": "dev"}), twin.etag)
    assert patched.tags == {"env": "dev"}
    status, _ = fails(rm.update_twin, "etag-dev", Twin(tags={"env": "x"}), twin.etag)
    assert status == 412
    rm.delete_device("etag-dev", etag=second.etag)


def test_device_twin_tags_and_desired(cs: str) -> None:
    rm = registry(cs)
    rm.create_device_with_sas("twin-dev", None, None, "enabled")
    twin = rm.update_twin(
        "twin-dev",
        Twin(tags={"site": {"floor": 3}}, properties=TwinProperties(desired={"interval": 5})),
    )
    assert twin.tags == {"site": {"floor": 3}}
    assert twin.properties.desired["interval"] == 5
    assert twin.properties.desired["$version"] == 2
    twin = rm.update_twin("twin-dev", Twin(tags={"site": {"floor": None}, "env": "qa"}))
    assert twin.tags == {"site": {}, "env": "qa"}
    twin = rm.replace_twin("twin-dev", Twin(tags={"only": "this"}))
    assert twin.tags == {"only": "this"}
    assert "interval" not in twin.properties.desired
    status, message = fails(rm.update_twin, "twin-dev", Twin(tags={"bad.name": 1}))
    assert status == 400
    assert "'bad.name' contains '.'" in message
    rm.delete_device("twin-dev")


def test_module_identities_and_twins_of_the_simulated_device(hub: HubThread, cs: str) -> None:
    rm = registry(cs)
    modules = {m.module_id: m for m in rm.get_modules(DEVICE)}
    assert {"$edgeAgent", "$edgeHub", "sensor", "filter"} <= set(modules)
    info = hub.run(hub.hub.connection_info, "filter")["EdgeHubConnectionString"]
    assert modules["filter"].authentication.symmetric_key.primary_key in info
    twin = rm.get_module_twin(DEVICE, "filter")
    assert twin.properties.desired["threshold"] == 25
    patched = rm.update_module_twin(
        DEVICE, "filter", Twin(properties=TwinProperties(desired={"threshold": 30})), twin.etag
    )
    assert patched.properties.desired["threshold"] == 30
    assert hub.run(hub.hub.twin, "filter")["desired"]["threshold"] == 30
    status, _ = fails(rm.update_module_twin, DEVICE, "filter", Twin(tags={"a": "b"}), twin.etag)
    assert status == 412
    status, message = fails(rm.get_module_twin, DEVICE, "nope")
    assert (status, message.split(";")[0]) == (404, "ErrorCode:ModuleNotFound")


# --- deployments --------------------------------------------------------------------------


def _content(modules: list[str], routes: dict[str, str]) -> dict[str, Any]:
    base = copy.deepcopy(manifest(routes))
    agent = base["modulesContent"]["$edgeAgent"]["properties.desired"]
    agent["modules"] = {
        name: {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": {"image": f"example/{name}:2"},
        }
        for name in modules
    }
    base["modulesContent"].pop("filter")
    return dict(base["modulesContent"])


def test_apply_configuration_on_edge_device(hub: HubThread, cs: str) -> None:
    cm = configs(cs)
    rm = registry(cs)
    routes = {"up": "FROM /messages/modules/tempsensor/outputs/* INTO $upstream"}
    content = ConfigurationContent(modules_content=_content(["tempsensor"], routes))
    cm.apply_configuration_on_edge_device(DEVICE, content)

    desired = agent_desired(hub)
    assert set(desired["modules"]) == {"tempsensor"}
    assert [r.name for r in hub.hub.routes] == ["up"]
    assert "tempsensor" in {m.module_id for m in rm.get_modules(DEVICE)}
    hub_twin = rm.get_module_twin(DEVICE, "$edgeHub")
    assert hub_twin.properties.desired["routes"] == routes

    # stored, not run, for another edge device; refused for a device that is not edge
    rm.create_device_with_sas("edge-2", None, None, "enabled", iot_edge=True)
    cm.apply_configuration_on_edge_device("edge-2", content)
    other = rm.get_module_twin("edge-2", "$edgeAgent")
    assert set(other.properties.desired["modules"]) == {"tempsensor"}
    rm.create_device_with_sas("plain", None, None, "enabled")
    status, message = fails(cm.apply_configuration_on_edge_device, "plain", content)
    assert status == 400
    assert "not an IoT Edge device" in message
    status, _ = fails(cm.apply_configuration_on_edge_device, "ghost", content)
    assert status == 404
    bad = ConfigurationContent(modules_content={"$edgeAgent": {"properties.desired": {}}})
    status, message = fails(cm.apply_configuration_on_edge_device, DEVICE, bad)
    assert status == 400
    assert "$edgeHub" in message
    for device_id in ("edge-2", "plain"):
        rm.delete_device(device_id)


def test_automatic_then_layered_deployment_and_metrics(hub: HubThread, cs: str) -> None:
    cm = configs(cs)
    rm = registry(cs)
    rm.update_twin(DEVICE, Twin(tags={"env": "prod"}))
    rm.create_device_with_sas("fleet-1", None, None, "enabled", iot_edge=True)
    rm.update_twin("fleet-1", Twin(tags={"env": "prod"}))
    rm.create_device_with_sas("fleet-2", None, None, "enabled", iot_edge=True)

    routes = {"up": "FROM /messages/modules/sensor/outputs/* INTO $upstream"}
    base = Configuration(
        id="base-prod",
        content=ConfigurationContent(modules_content=_content(["sensor"], routes)),
        target_condition="tags.env='prod'",
        priority=10,
        labels={"app": "demo"},
    )
    created = cm.create_configuration(base)
    assert created.etag
    assert set(agent_desired(hub)["modules"]) == {"sensor"}
    assert [r.name for r in hub.hub.routes] == ["up"]

    layer = Configuration(
        id="layer-extra",
        content=ConfigurationContent(
            modules_content={
                "$edgeAgent": {
                    "properties.desired.modules.extra": {
                        "type": "docker",
                        "status": "running",
                        "restartPolicy": "always",
                        "settings": {"image": "example/extra:1"},
                    }
                },
                "$edgeHub": {
                    "properties.desired.routes.extraUp": "FROM /messages/modules/extra/* INTO $upstream"
                },
                "extra": {"properties.desired": {"rate": 2}},
            }
        ),
        target_condition="tags.env = 'prod' AND capabilities.iotEdge = true",
        priority=20,
    )
    cm.create_configuration(layer)
    assert set(agent_desired(hub)["modules"]) == {"sensor", "extra"}
    assert sorted(r.name for r in hub.hub.routes) == ["extraUp", "up"]
    assert hub.run(hub.hub.twin, "extra")["desired"]["rate"] == 2
    fleet = rm.get_module_twin("fleet-1", "$edgeAgent")
    assert set(fleet.properties.desired["modules"]) == {"sensor", "extra"}
    status, _ = fails(rm.get_module_twin, "fleet-2", "$edgeAgent")
    assert status == 404  # not targeted: nothing applied

    shown = cm.get_configuration("base-prod")
    results = shown.system_metrics.results
    assert results == {
        "targetedCount": 2,
        "appliedCount": 2,
        "reportedSuccessfulCount": 0,
        "reportedFailedCount": 0,
    }
    assert shown.labels == {"app": "demo"}
    assert {c.id for c in cm.get_configurations()} >= {"base-prod", "layer-extra"}

    # the agent reports the desired version it applied: a successful device
    version = agent_desired(hub)["$version"]
    hub.call(
        hub.hub.patch_reported(
            "$edgeAgent",
            {"lastDesiredVersion": version, "lastDesiredStatus": {"code": 200}},
        )
    )
    results = cm.get_configuration("layer-extra").system_metrics.results
    assert (results["targetedCount"], results["reportedSuccessfulCount"]) == (2, 1)

    # a tag change retargets: fleet-2 joins
    rm.update_twin("fleet-2", Twin(tags={"env": "prod"}))
    assert set(rm.get_module_twin("fleet-2", "$edgeAgent").properties.desired["modules"]) == {
        "sensor",
        "extra",
    }
    assert cm.get_configuration("base-prod").system_metrics.results["appliedCount"] == 3

    # 409, 412, content is immutable, deleting the layer removes its module and route
    status, _ = fails(cm.create_configuration, base)
    assert status == 409
    status, _ = fails(cm.delete_configuration, "layer-extra", "MTIz")
    assert status == 412
    current = cm.get_configuration("layer-extra")
    current.priority = 30
    updated = cm.update_configuration(current, current.etag)
    assert updated.priority == 30
    cm.delete_configuration("layer-extra")
    assert set(agent_desired(hub)["modules"]) == {"sensor"}
    assert [r.name for r in hub.hub.routes] == ["up"]
    status, message = fails(cm.get_configuration, "layer-extra")
    assert (status, message.split(";")[0]) == (404, "ErrorCode:ConfigurationNotFound")

    bad = Configuration(
        id="bad-cond",
        content=ConfigurationContent(modules_content=_content(["sensor"], routes)),
        target_condition="tags.env IN ['a']",
    )
    status, message = fails(cm.create_configuration, bad)
    assert status == 400
    assert "IN is not supported" in message

    cm.delete_configuration("base-prod")
    for device_id in ("fleet-1", "fleet-2"):
        rm.delete_device(device_id)
    rm.update_twin(DEVICE, Twin(tags={"env": None}))


# --- a HostName with a port ----------------------------------------------------------------


def test_hostname_with_a_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``HostName=127.0.0.74:8443``: the SDK connects to that port and signs ``sr`` with
    the port included; the hub accepts it."""
    thread = HubThread(make_state(tmp_path, PORT_IP, https_port=8443)).start()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(thread.config.ca_cert))
        key = load_or_create_policy_key(tmp_path)
        cs = service_connection_string(f"{PORT_IP}:8443", key)
        rm = registry(cs)
        assert rm.get_device(DEVICE).device_id == DEVICE
        rm.create_device_with_sas("via-port", None, None, "enabled")
        assert "via-port" in {d.device_id for d in rm.get_devices()}
        assert configs(cs).get_configurations() == []
    finally:
        thread.stop()


def test_leaf_devices_of_the_hub(hub: HubThread, cs: str) -> None:
    added = hub.run(hub.hub.add_device, "hub-leaf")
    rm = registry(cs)
    device = rm.get_device("hub-leaf")
    assert device.authentication.symmetric_key.primary_key == added["primaryKey"]
    assert device.capabilities.iot_edge is False
    twin = rm.update_twin("hub-leaf", Twin(properties=TwinProperties(desired={"mode": "eco"})))
    assert twin.properties.desired["mode"] == "eco"
    assert hub.run(hub.hub.twin, "hub-leaf")["desired"]["mode"] == "eco"
    status, message = fails(rm.delete_device, "hub-leaf")
    assert status == 400
    assert "simulate device add" in message
