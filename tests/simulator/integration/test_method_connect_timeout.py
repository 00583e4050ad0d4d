"""Direct methods wait for their target as IoT Hub does (``connectTimeoutInSeconds``): through
the admin API (``edgectl simulate invoke --connect-timeout``) and module to module over HTTPS,
with the real azure-iot-device SDK and paho-mqtt as targets, on 127.0.0.77."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from iotedge_cli.simulator.client import AdminClient, AdminError
from iotedge_cli.simulator.hub.admin import start_admin
from iotedge_cli.simulator.hub.iothub.sas import generate_token
from tests.cli.helpers import invoke
from tests.simulator.integration.harness import DEVICE, IOTHUB, HubThread, make_state

sdk = pytest.importorskip("azure.iot.device", reason="azure-iot-device is not installed")
mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed")
from azure.iot.device import IoTHubModuleClient, MethodResponse  # noqa: E402
from azure.iot.device.exceptions import ClientError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

IP = "127.0.0.77"
LATE = 1.0  # how long after the call the target connects
T = TypeVar("T")


@dataclass
class Sim:
    hub: HubThread
    admin: AdminClient
    state_dir: Path


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    state = tmp_path_factory.mktemp("hub-connect-timeout")
    config = make_state(state, IP, https_port=443, admin_socket=state / "admin.sock")
    thread = HubThread(config).start()
    server = thread.call(start_admin(thread.hub, config))
    uri = f"unix://{state / 'admin.sock'}"
    # what `edgectl simulate start` writes, so the CLI finds this hub
    (state / "hub.json").write_text(json.dumps({"pid": os.getpid(), "admin": uri}))
    try:
        yield Sim(thread, AdminClient(uri, state_dir=state), state)
    finally:
        thread.run(server.close)
        thread.stop()


def module_client(sim: Sim, module: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    info = sim.admin.credentials(module)
    monkeypatch.setenv("EdgeHubConnectionString", info["EdgeHubConnectionString"])
    monkeypatch.setenv("EdgeModuleCACertificateFile", info["EdgeModuleCACertificateFile"])
    return IoTHubModuleClient.create_from_edge_environment(connection_retry=False)


class Answering:
    """A module that, once :meth:`connect` is called, answers every method with 200 (the SDK
    connects as soon as a handler is set, so the handler is set only then)."""

    def __init__(self, sim: Sim, module: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = module_client(sim, module, monkeypatch)

    def on_method(self, request: Any) -> None:
        self.client.send_method_response(
            MethodResponse.create_from_method_request(
                request, 200, {"method": request.name, "echo": request.payload}
            )
        )

    def connect(self) -> None:
        self.client.on_method_request_received = self.on_method
        self.client.connect()

    def shutdown(self) -> None:
        self.client.shutdown()


def timed(call: Callable[[], T]) -> Callable[[], tuple[T, float]]:
    def run() -> tuple[T, float]:
        started = time.monotonic()
        outcome = call()
        return outcome, time.monotonic() - started

    return run


def in_background(call: Callable[[], T]) -> Future[tuple[T, float]]:
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(timed(call))
    finally:
        pool.shutdown(wait=False)


# --- the admin API (edgectl simulate invoke) -------------------------------------------------


def test_call_waits_for_a_module_that_connects_later(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    filt = Answering(sim, "filter", monkeypatch)
    try:
        pending = in_background(
            lambda: sim.admin.invoke("filter", "reset", {"n": 1}, timeout=5, connect_timeout=5)
        )
        time.sleep(LATE)
        assert not pending.done()  # still waiting: the module is not there yet
        filt.connect()
        result, elapsed = pending.result(timeout=15)
        assert result == {"status": 200, "payload": {"method": "reset", "echo": {"n": 1}}}
        assert LATE <= elapsed < 5
    finally:
        filt.shutdown()


def test_zero_connect_timeout_is_404_at_once(sim: Sim) -> None:
    result, elapsed = timed(lambda: sim.admin.invoke("offline", "reset", None, timeout=5))()
    assert result == {"status": 404, "payload": {"message": f"Client {DEVICE}/offline not found"}}
    assert elapsed < 0.5


def test_module_that_never_connects_is_404_after_the_connect_timeout(sim: Sim) -> None:
    result, elapsed = timed(
        lambda: sim.admin.invoke("offline", "reset", None, timeout=5, connect_timeout=1)
    )()
    assert result == {
        "status": 404,
        "payload": {
            "message": f"Client {DEVICE}/offline not found: "
            "not connected and subscribed to methods within 1 s"
        },
    }
    assert 1 <= elapsed < 3


def test_unknown_identity_is_not_waited_for(sim: Sim) -> None:
    result, elapsed = timed(
        lambda: sim.admin.invoke("nosuch", "reset", None, timeout=5, connect_timeout=10)
    )()
    assert result["status"] == 404
    assert elapsed < 0.5


def test_connect_timeout_out_of_range_is_refused(sim: Sim) -> None:
    for bad in (301, -1, True, "5"):
        with pytest.raises(AdminError) as caught:
            sim.admin.request(
                "POST", "/methods/filter/reset", {"payload": None, "connectTimeout": bad}
            )
        assert "'connectTimeout'" in caught.value.message


def test_cli_connect_timeout(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    filt = Answering(sim, "filter", monkeypatch)
    timer = threading.Timer(LATE, filt.connect)
    try:
        started = time.monotonic()
        timer.start()
        args = ["invoke", "filter", "ping", "--payload", "[1]", "--connect-timeout", "5"]
        run = invoke(["simulate", *args, "--state-dir", str(sim.state_dir)])
        assert run.exit_code == 0, run.stderr
        assert run.stdout.splitlines() == [
            "status: 200",
            'payload: {"method": "ping", "echo": [1]}',
        ]
        assert time.monotonic() - started >= LATE
    finally:
        timer.join()
        filt.shutdown()
    args = ["invoke", "offline", "ping", "--connect-timeout", "0.5", "--json"]
    run = invoke(["simulate", *args, "--state-dir", str(sim.state_dir)])
    assert run.exit_code == 1
    assert json.loads(run.stdout)["status"] == 404


# --- a session resumed without subscribing again (as the SDK does after a reconnect) ----------


def test_resumed_session_with_the_methods_subscription_is_called(sim: Sim) -> None:
    leaf = sim.hub.run(sim.hub.hub.add_device, "leaf-methods")
    password = generate_token(IOTHUB, "leaf-methods", None, leaf["primaryKey"], now=time.time())
    requests: queue.Queue[Any] = queue.Queue()
    subscribed = threading.Event()

    def client() -> Any:
        paho = mqtt.Client(client_id="leaf-methods", clean_session=False, protocol=mqtt.MQTTv311)
        paho.username_pw_set(f"{IOTHUB}/leaf-methods/?api-version=2019-10-01", password)
        paho.tls_set(ca_certs=str(sim.hub.config.ca_cert))
        paho.on_subscribe = lambda c, u, mid, granted: subscribed.set()
        paho.on_message = lambda c, u, message: requests.put(message)
        return paho

    first = client()
    first.connect(IP, 8883)
    first.loop_start()
    first.subscribe("$iothub/methods/POST/#", 0)
    assert subscribed.wait(5)
    first.disconnect()
    first.loop_stop()

    pending = in_background(
        lambda: sim.admin.invoke("leaf-methods", "blink", 3, timeout=5, connect_timeout=5)
    )
    time.sleep(LATE)
    second = client()  # the same session; no SUBSCRIBE this time
    second.connect(IP, 8883)
    second.loop_start()
    try:
        request = requests.get(timeout=5)
        assert request.topic.startswith("$iothub/methods/POST/blink/?$rid=")
        assert json.loads(request.payload) == 3
        rid = request.topic.rsplit("=", 1)[1]
        second.publish(f"$iothub/methods/res/201/?$rid={rid}", b'{"blinked": 3}', 0)
        result, elapsed = pending.result(timeout=10)
        assert result == {"status": 201, "payload": {"blinked": 3}}
        assert elapsed >= LATE
    finally:
        second.disconnect()
        second.loop_stop()


# --- module to module over HTTPS (connectTimeoutInSeconds in the request body) ----------------


def test_module_to_module_call_waits_for_the_target(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    if any(e["name"] == "https" and not e["available"] for e in sim.hub.hub.listeners):
        pytest.skip("port 443 could not be bound here (needs root or CAP_NET_BIND_SERVICE)")
    sensor = module_client(sim, "sensor", monkeypatch)
    filt = Answering(sim, "filter", monkeypatch)
    try:
        sensor.connect()
        params = {"methodName": "reset", "payload": {"from": "sensor"},
                  "responseTimeoutInSeconds": 5, "connectTimeoutInSeconds": 5}  # fmt: skip
        pending = in_background(lambda: sensor.invoke_method(params, DEVICE, "filter"))
        time.sleep(LATE)
        assert not pending.done()
        filt.connect()
        result, elapsed = pending.result(timeout=15)
        assert result == {"status": 200, "payload": {"method": "reset", "echo": {"from": "sensor"}}}
        assert LATE <= elapsed < 5

        started = time.monotonic()
        params = {"methodName": "x", "payload": None, "connectTimeoutInSeconds": 1}
        with pytest.raises(ClientError) as caught:
            sensor.invoke_method(params, DEVICE, "offline")
        assert "404" in str(caught.value.__cause__)
        assert 1 <= time.monotonic() - started < 4
    finally:
        sensor.shutdown()
        filt.shutdown()
