"""Deployments applied to a running hub, with the real azure-iot-device SDK and paho-mqtt as
clients and the admin API on a unix socket (the agent mode's setup), on 127.0.0.97."""

from __future__ import annotations

import copy
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.simulator.client import AdminClient, AdminError, UnixHTTPConnection
from iotedge_cli.simulator.hub.admin import start_admin
from tests.simulator.integration.harness import (
    DEVICE,
    IOTHUB,
    ROUTES,
    HubThread,
    make_state,
    manifest,
)

sdk = pytest.importorskip("azure.iot.device", reason="azure-iot-device is not installed")
mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed")
from azure.iot.device import IoTHubModuleClient  # noqa: E402
from azure.iot.device.exceptions import CredentialError  # noqa: E402

from iotedge_cli.simulator.hub.iothub.sas import generate_token  # noqa: E402

Message: Any = sdk.Message

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

IP = "127.0.0.97"


@dataclass
class Sim:
    hub: HubThread
    admin: AdminClient
    socket: Path


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    config = make_state(tmp_path, IP, admin_socket=tmp_path / "admin.sock")
    thread = HubThread(config).start()
    server = thread.call(start_admin(thread.hub, config))
    sock = tmp_path / "admin.sock"
    try:
        yield Sim(thread, AdminClient(f"unix://{sock}", state_dir=tmp_path), sock)
    finally:
        thread.run(server.close)
        thread.stop()


def edge_client(sim: Sim, module: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A module client made as a module container makes it (EdgeHubConnectionString mode)."""
    info = sim.admin.credentials(module)
    monkeypatch.setenv("EdgeHubConnectionString", info["EdgeHubConnectionString"])
    monkeypatch.setenv("EdgeModuleCACertificateFile", info["EdgeModuleCACertificateFile"])
    return IoTHubModuleClient.create_from_edge_environment(connection_retry=False)


def deployment(
    *, routes: dict[str, str] | None = None, drop: str | None = None, add: str | None = None
) -> dict[str, Any]:
    doc = manifest(routes)
    content = doc["modulesContent"]
    modules = content["$edgeAgent"]["properties.desired"]["modules"]
    if drop is not None:
        del modules[drop]
    if add is not None:
        modules[add] = copy.deepcopy(modules["sensor"])
        modules[add]["settings"]["image"] = f"example/{add}:1"
    return doc


class Paho:
    """A raw MQTT client (its CONNACK code is what the test asserts)."""

    def __init__(self, sim: Sim, module: str, key: str) -> None:
        self.connack: queue.Queue[int] = queue.Queue()
        self.disconnected = threading.Event()
        cid = f"{DEVICE}/{module}"
        self.client = mqtt.Client(client_id=cid, clean_session=False, protocol=mqtt.MQTTv311)
        password = generate_token(IOTHUB, DEVICE, module, key, now=time.time(), ttl=3600)
        self.client.username_pw_set(f"{IOTHUB}/{cid}/?api-version=2019-10-01", password)
        self.client.tls_set(ca_certs=str(sim.hub.config.ca_cert))
        self.client.on_connect = lambda c, u, f, rc: self.connack.put(rc)
        self.client.on_disconnect = lambda c, u, rc: self.disconnected.set()
        self.client.connect(IP, 8883)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def reading(temperature: int) -> Any:
    return Message(
        json.dumps({"temperature": temperature}),
        content_type="application/json",
        content_encoding="utf-8",
    )


def module_key(sim: Sim, module: str) -> str:
    ident = sim.hub.hub.registry.get(DEVICE, module)
    assert ident is not None
    return ident.primary_key


def test_a_connected_module_receives_the_desired_patch(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    patches: queue.Queue[Any] = queue.Queue()
    filt = edge_client(sim, "filter", monkeypatch)
    try:
        filt.on_twin_desired_properties_patch_received = patches.put
        filt.connect()
        before = filt.get_twin()["desired"]
        assert before["threshold"] == 25
        doc = deployment()
        doc["modulesContent"]["filter"] = {"properties.desired": {"mode": "strict"}}
        summary = sim.admin.deploy(doc)
        assert summary == {
            "added": [],
            "removed": [],
            "desiredChanged": ["filter"],
            "routes": len(ROUTES),
        }
        patch = patches.get(timeout=10)
        # a key that disappeared comes as null, as IoT Hub sends it
        assert patch == {"threshold": None, "mode": "strict", "$version": before["$version"] + 1}
        assert filt.get_twin()["desired"] == {"mode": "strict", "$version": patch["$version"]}
        assert sim.admin.twin("filter")["desired"]["$version"] == patch["$version"]
        # the same deployment again changes nothing and pushes nothing
        assert sim.admin.deploy(doc)["desiredChanged"] == []
        with pytest.raises(queue.Empty):
            patches.get(timeout=0.5)
    finally:
        filt.shutdown()


def test_routes_switch_to_the_new_sink(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    received: queue.Queue[Any] = queue.Queue()
    filt = edge_client(sim, "filter", monkeypatch)
    sensor = edge_client(sim, "sensor", monkeypatch)
    try:
        filt.on_message_received = received.put
        filt.connect()
        sensor.connect()
        sensor.send_message_to_output(reading(30), "temperatureOutput")
        assert received.get(timeout=10).input_name == "input1"
        new_routes = {
            "fresh": "FROM /messages/modules/sensor/outputs/temperatureOutput "
            'INTO BrokeredEndpoint("/modules/filter/inputs/fresh")'
        }
        summary = sim.admin.deploy(deployment(routes=new_routes))
        assert summary["routes"] == 1
        assert summary["desiredChanged"] == ["$edgeHub"]
        # the old route's WHERE would have dropped this one
        sensor.send_message_to_output(reading(5), "temperatureOutput")
        got = received.get(timeout=10)
        assert (got.input_name, json.loads(got.data)) == ("fresh", {"temperature": 5})
        with pytest.raises(queue.Empty):  # only the new route: no copy on input1
            received.get(timeout=0.5)
        hub_twin = sim.admin.twin("$edgeHub")["desired"]
        assert hub_twin["routes"] == new_routes
    finally:
        sensor.shutdown()
        filt.shutdown()


def test_a_removed_module_is_disconnected_and_refused(sim: Sim) -> None:
    key = module_key(sim, "offline")
    old_credentials = sim.admin.credentials("offline")["EdgeHubConnectionString"]
    sim.admin.send(input_name="in", data="waiting", module_id="offline")
    assert sim.admin.status()["queues"] == {f"{DEVICE}/offline": 1}
    connected = Paho(sim, "offline", key)
    try:
        assert connected.connack.get(timeout=5) == 0
        summary = sim.admin.deploy(deployment(drop="offline"))
        assert summary["removed"] == ["offline"]
        assert summary["desiredChanged"] == ["$edgeAgent"]
        assert connected.disconnected.wait(5), "the removed module's connection stays open"
    finally:
        connected.close()
    again = Paho(sim, "offline", key)
    try:
        assert again.connack.get(timeout=5) == 5  # not authorized: no such identity
    finally:
        again.close()
    client = IoTHubModuleClient.create_from_connection_string(
        old_credentials,
        server_verification_cert=sim.hub.config.ca_cert.read_text(),
        connection_retry=False,
    )
    try:
        with pytest.raises(CredentialError):  # CONNACK 5
            client.connect()
    finally:
        client.shutdown()
    status = sim.admin.status()
    assert f"{DEVICE}/offline" not in {i["id"] for i in status["identities"]}
    assert status["queues"] == {}
    with pytest.raises(AdminError, match="no module or device named 'offline'"):
        sim.admin.twin("offline")
    with pytest.raises(AdminError, match="no module or device named 'offline'"):
        sim.admin.credentials("offline")
    # the store forgot it too: a restarted hub does not bring it back
    store = sim.hub.hub.store
    cid = f"{DEVICE}/offline"
    assert cid not in {i.client_id for i in sim.hub.run(store.identities)}
    assert cid not in sim.hub.run(store.twins)
    assert cid not in sim.hub.run(store.sessions)
    assert f"{DEVICE}/filter" in sim.hub.run(store.twins)


def test_a_new_module_gets_credentials_and_connects(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(AdminError, match="no module or device named 'extra'"):
        sim.admin.credentials("extra")
    routes = {**ROUTES, "extraUp": "FROM /messages/modules/extra/outputs/* INTO $upstream"}
    doc = deployment(routes=routes, add="extra")
    doc["modulesContent"]["extra"] = {"properties.desired": {"interval": 5}}
    summary = sim.admin.deploy(doc)
    assert summary["added"] == ["extra"]
    assert set(summary["desiredChanged"]) == {"$edgeAgent", "$edgeHub"}
    before = sim.hub.run(sim.hub.hub.upstream, 0, 10_000)[1]
    extra = edge_client(sim, "extra", monkeypatch)
    try:
        extra.connect()
        assert extra.get_twin()["desired"] == {"interval": 5, "$version": 1}
        extra.send_message_to_output(Message("hello from extra"), "out")
        deadline = time.monotonic() + 10
        messages: list[dict[str, Any]] = []
        while not messages and time.monotonic() < deadline:
            messages = sim.admin.upstream(before, wait=1.0)["messages"]
        assert [(m["connectionModuleId"], m["body"]) for m in messages] == [
            ("extra", "hello from extra")
        ]
    finally:
        extra.shutdown()


def test_a_bad_deployment_is_refused_and_changes_nothing(sim: Sim) -> None:
    manifest_file = sim.hub.config.manifest
    assert manifest_file is not None
    text = manifest_file.read_text()
    status = sim.admin.status()
    twins = {m: sim.admin.twin(m) for m in ("$edgeAgent", "$edgeHub", "filter")}
    broken = deployment(routes={"r": "FROM /messages WHERE INTO $upstream"}, drop="filter")
    no_agent = deployment(drop="sensor")
    del no_agent["modulesContent"]["$edgeAgent"]
    for body, message in (
        (broken, "routes do not parse: route 'r'"),
        (no_agent, r"no \$edgeAgent properties.desired"),
        ({"hello": "world"}, "not a deployment manifest"),
    ):
        with pytest.raises(AdminError, match=message) as caught:
            sim.admin.deploy(body)
        assert caught.value.exit_code == 2
    with pytest.raises(AdminError, match="must be a JSON object"):
        sim.admin.request("POST", "/deployment", [manifest()])
    assert manifest_file.read_text() == text
    assert sim.admin.status() == status
    assert {m: sim.admin.twin(m) for m in twins} == twins
    assert [r.name for r in sim.hub.hub.routes] == list(ROUTES)


def _raw(sock: Path, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    connection = UnixHTTPConnection(str(sock), 5.0)
    try:
        payload = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=payload)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_the_agent_reports_through_the_socket(sim: Sim) -> None:
    modules = {"filter": {"runtimeStatus": "running", "exitCode": 0}}
    twin = sim.admin.patch_reported("$edgeAgent", {"modules": modules, "lastDesiredVersion": 1})
    assert twin["reported"]["modules"] == modules
    assert twin["reported"]["$version"] == 2
    twin = sim.admin.patch_reported("$edgeAgent", {"modules": {"filter": {"exitCode": None}}})
    assert twin["reported"]["modules"] == {"filter": {"runtimeStatus": "running"}}
    for path in ("/api/v1/twins/$edgeAgent", "/api/v1/twins/%24edgeAgent"):
        status, doc = _raw(sim.socket, "GET", path)
        assert status == 200
        assert set(doc["desired"]["modules"]) == {"sensor", "filter", "offline"}
        assert doc["reported"] == {
            "modules": {"filter": {"runtimeStatus": "running"}},
            "lastDesiredVersion": 1,
            "$version": 3,
        }
    status, doc = _raw(sim.socket, "PATCH", "/api/v1/twins/%24edgeAgent/reported", {"a.b": 1})
    assert status == 400 and "may not contain '.'" in doc["error"]
    status, doc = _raw(sim.socket, "PATCH", "/api/v1/twins/ghost/reported", {"a": 1})
    assert status == 404 and "no module or device named 'ghost'" in doc["error"]
    assert sim.admin.twin("$edgeAgent")["reported"]["$version"] == 3
