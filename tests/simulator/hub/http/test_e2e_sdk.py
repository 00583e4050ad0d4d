"""End to end: the real azure-iot-device 2.14.0 SDK against the real hub started by
``run.serve`` on 127.0.0.20 (8883 and 443, as the SDK hard-codes them): MQTT over WebSocket,
module-to-module ``invoke_method`` over HTTPS, the IOTEDGE_* workload-API bootstrap, and the
admin API driving the same hub."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.certs.authority import Validity
from iotedge_cli.certs.chain import build_edge_chain, edge_chain_files
from iotedge_cli.certs.store import write_files
from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.hub.run import serve

sdk = pytest.importorskip("azure.iot.device", reason="azure-iot-device is not installed")
from azure.iot.device import IoTHubModuleClient, Message, MethodResponse  # noqa: E402
from azure.iot.device.exceptions import ClientError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # ssl.PROTOCOL_TLSv1_2 in the SDK
    pytest.mark.filterwarnings("ignore::ResourceWarning"),  # paho on shutdown
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

IP = "127.0.0.20"
DEVICE = "edge-http-dev"
IOTHUB = "httptest.azure-devices.net"
ROUTES = {
    "sensorToFilter": "FROM /messages/modules/sensor/outputs/temperatureOutput "
    'INTO BrokeredEndpoint("/modules/filter/inputs/input1")',
    "wlmodToFilter": "FROM /messages/modules/wlmod/outputs/* "
    'INTO BrokeredEndpoint("/modules/filter/inputs/fromWorkload")',
    "filterUp": "FROM /messages/modules/filter/outputs/* INTO $upstream",
}
IOTEDGE_VARS = ("IOTEDGE_IOTHUBHOSTNAME", "IOTEDGE_DEVICEID", "IOTEDGE_MODULEID",
                "IOTEDGE_GATEWAYHOSTNAME", "IOTEDGE_MODULEGENERATIONID", "IOTEDGE_WORKLOADURI",
                "IOTEDGE_APIVERSION")  # fmt: skip


def _manifest() -> dict[str, Any]:
    modules = {
        name: {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": {"image": f"example/{name}:1"},
        }
        for name in ("sensor", "filter", "wlmod")
    }
    return {"modulesContent": {
        "$edgeAgent": {"properties.desired": {
            "schemaVersion": "1.1", "runtime": {"type": "docker", "settings": {}},
            "systemModules": {}, "modules": modules}},
        "$edgeHub": {"properties.desired": {
            "schemaVersion": "1.1", "routes": ROUTES,
            "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}}},
    }}  # fmt: skip


@dataclass
class Running:
    config: HubConfig
    admin_port: int

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=30)
        try:
            data = None if body is None else json.dumps(body)
            conn.request(method, path, data, {"Content-Type": "application/json"})
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
        finally:
            conn.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    state = tmp_path_factory.mktemp("hub-http-e2e")
    certs = state / "certs"
    chain = build_edge_chain(
        device_id=DEVICE, hostname=IP,
        validity=Validity.days_from(dt.datetime.now(dt.timezone.utc), 2),
    )  # fmt: skip
    write_files(certs, edge_chain_files(chain, certs)[0])
    (state / "deployment.json").write_text(json.dumps(_manifest()), encoding="utf-8")
    config = HubConfig(
        state_dir=state, device_id=DEVICE, iothub_hostname=IOTHUB, gateway_hostname=IP,
        bind=IP, server_cert=certs / f"iot-edge-server-{IP}-full-chain.cert.pem",
        server_key=certs / f"private/iot-edge-server-{IP}.key.pem",
        ca_cert=certs / "trust-bundle.pem", manifest=state / "deployment.json",
        admin_port=0, workload_socket=state / "workload.sock",
    )  # fmt: skip
    ready = threading.Event()
    errors: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(serve(config, ready=ready.set))
        except BaseException as exc:  # reported by the fixture
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(30), "the hub did not become ready"
    assert not errors, errors
    runtime = json.loads(config.runtime_file.read_text())
    listeners = {e["name"]: e for e in runtime["listeners"]}
    if not listeners["https"]["available"]:
        pytest.skip(f"port 443 unavailable here: {listeners['https']['error']}")
    running = Running(config, int(runtime["admin"].rsplit(":", 1)[1]))
    yield running
    assert running.api("POST", "/api/v1/shutdown") == (202, {"stopping": True})
    thread.join(15)
    assert not thread.is_alive(), "the hub did not stop after the admin shutdown"
    assert not config.runtime_file.exists()


def module_client(running: Running, module: str, monkeypatch: pytest.MonkeyPatch,
                  **kw: Any) -> Any:  # fmt: skip
    for name in IOTEDGE_VARS:
        monkeypatch.delenv(name, raising=False)
    status, info = running.api("GET", f"/api/v1/modules/{module}/credentials")
    assert status == 200
    monkeypatch.setenv("EdgeHubConnectionString", info["EdgeHubConnectionString"])
    monkeypatch.setenv("EdgeModuleCACertificateFile", info["EdgeModuleCACertificateFile"])
    return IoTHubModuleClient.create_from_edge_environment(**kw)


def test_websocket_module_routes_to_a_tcp_module(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: queue.Queue[Any] = queue.Queue()
    filt = module_client(running, "filter", monkeypatch)
    sensor = module_client(running, "sensor", monkeypatch, websockets=True)
    try:
        filt.on_message_received = received.put
        filt.connect()
        sensor.connect()
        clients = {c["clientId"]: c for c in running.api("GET", "/api/v1/status")[1]["clients"]}
        assert clients[f"{DEVICE}/sensor"]["transport"] == "websocket"
        sensor.send_message_to_output(Message("via-websocket", message_id="ws-1"),
                                      "temperatureOutput")  # fmt: skip
        message = received.get(timeout=10)
        assert message.data == b"via-websocket"
        assert message.input_name == "input1"
        assert message.message_id == "ws-1"
        assert message.custom_properties["$.cmid"] == "sensor"
    finally:
        sensor.shutdown()
        filt.shutdown()


def test_module_to_module_invoke_method_over_https(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    filt = module_client(running, "filter", monkeypatch)
    sensor = module_client(running, "sensor", monkeypatch)

    def on_method(request: Any) -> None:
        filt.send_method_response(MethodResponse.create_from_method_request(
            request, 200, {"result": "ok", "echo": request.payload}))  # fmt: skip

    try:
        filt.on_method_request_received = on_method
        filt.connect()
        sensor.connect()
        params = {"methodName": "reset", "payload": {"from": "sensor"},
                  "responseTimeoutInSeconds": 5, "connectTimeoutInSeconds": 0}  # fmt: skip
        result = sensor.invoke_method(params, DEVICE, "filter")
        assert result == {"status": 200, "payload": {"result": "ok", "echo": {"from": "sensor"}}}
        with pytest.raises(ClientError) as caught:
            sensor.invoke_method({"methodName": "x", "payload": None}, DEVICE, "wlmod")
        assert "404" in str(caught.value.__cause__)
    finally:
        sensor.shutdown()
        filt.shutdown()


def test_workload_api_bootstrap_on_a_unix_socket(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: queue.Queue[Any] = queue.Queue()
    filt = module_client(running, "filter", monkeypatch)
    monkeypatch.delenv("EdgeHubConnectionString")
    monkeypatch.delenv("EdgeModuleCACertificateFile")
    sock = running.config.workload_socket
    assert isinstance(sock, Path)
    for name, value in (("IOTEDGE_IOTHUBHOSTNAME", IOTHUB), ("IOTEDGE_DEVICEID", DEVICE),
                        ("IOTEDGE_MODULEID", "wlmod"), ("IOTEDGE_GATEWAYHOSTNAME", IP),
                        ("IOTEDGE_MODULEGENERATIONID", "637871234567890123"),
                        ("IOTEDGE_WORKLOADURI", f"unix://{sock}"),
                        ("IOTEDGE_APIVERSION", "2022-08-03")):  # fmt: skip
        monkeypatch.setenv(name, value)
    wlmod = IoTHubModuleClient.create_from_edge_environment()
    try:
        filt.on_message_received = received.put
        filt.connect()
        wlmod.connect()
        wlmod.send_message_to_output(Message("from IOTEDGE_* mode"), "out1")
        message = received.get(timeout=10)
        assert (message.data, message.input_name) == (b"from IOTEDGE_* mode", "fromWorkload")
    finally:
        wlmod.shutdown()
        filt.shutdown()


def test_admin_api_drives_the_real_hub(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    received: queue.Queue[Any] = queue.Queue()
    patches: queue.Queue[Any] = queue.Queue()
    methods: queue.Queue[Any] = queue.Queue()
    filt = module_client(running, "filter", monkeypatch)

    def on_method(request: Any) -> None:
        methods.put(request)
        filt.send_method_response(MethodResponse.create_from_method_request(
            request, 201, {"got": request.payload}))  # fmt: skip

    try:
        filt.on_message_received = received.put
        filt.on_twin_desired_properties_patch_received = patches.put
        filt.on_method_request_received = on_method
        filt.connect()
        # inject a message into an input (iotedgehubdev-style)
        status, _ = running.api("POST", "/api/v1/messages",
                                {"moduleId": "filter", "inputName": "input1", "data": "hello",
                                 "properties": {"k": "v"}})  # fmt: skip
        assert status == 202
        message = received.get(timeout=10)
        assert (message.data, message.custom_properties.get("k")) == (b"hello", "v")
        # twins
        status, twin = running.api("PATCH", "/api/v1/twins/filter", {"threshold": 31})
        assert status == 200 and twin["desired"]["threshold"] == 31
        assert patches.get(timeout=10)["threshold"] == 31
        filt.patch_twin_reported_properties({"state": "ok"})
        assert running.api("GET", "/api/v1/twins/filter")[1]["reported"]["state"] == "ok"
        # a direct method from the CLI side
        assert running.api("POST", "/api/v1/methods/filter/reset",
                           {"payload": {"hard": True}, "timeout": 5}) == (
            200, {"status": 201, "payload": {"got": {"hard": True}}})  # fmt: skip
        assert methods.get(timeout=1).name == "reset"
        # $upstream, long-polled
        last = running.api("GET", "/api/v1/upstream")[1]["last"]
        threading.Timer(0.3, filt.send_message_to_output, (Message("up!"), "out")).start()
        started = time.monotonic()
        status, data = running.api("GET", f"/api/v1/upstream?after={last}&wait=10")
        assert status == 200 and time.monotonic() - started < 8
        assert [m["body"] for m in data["messages"]] == ["up!"]
        # a leaf device
        status, device = running.api("POST", "/api/v1/devices", {"deviceId": "leafy"})
        assert status == 201 and device["deviceId"] == "leafy"
        assert running.api("GET", "/api/v1/twins/ghost")[0] == 404
    finally:
        filt.shutdown()
