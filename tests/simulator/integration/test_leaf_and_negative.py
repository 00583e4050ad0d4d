"""A leaf device with SAS (real SDK) and negative cases with paho-mqtt, on 127.0.0.3."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.simulator.integration.harness import DEVICE, IOTHUB, HubThread, make_state

sdk = pytest.importorskip("azure.iot.device", reason="azure-iot-device is not installed")
mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed")
from azure.iot.device import IoTHubDeviceClient, IoTHubModuleClient  # noqa: E402

from iotedge_cli.simulator.hub.iothub.sas import generate_token  # noqa: E402

Message: Any = sdk.Message

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

IP = "127.0.0.3"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    thread = HubThread(make_state(tmp_path_factory.mktemp("hub-neg"), IP)).start()
    yield thread
    thread.stop()


def module_key(hub: HubThread, module: str) -> str:
    ident = hub.hub.registry.get(DEVICE, module)
    assert ident is not None
    return ident.primary_key


class Paho:
    """A paho client that records what happens, for asserting on."""

    def __init__(self, hub: HubThread, module: str, password: str) -> None:
        self.connack: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[tuple[int, ...]] = queue.Queue()
        self.pubacks: queue.Queue[int] = queue.Queue()
        self.disconnected = threading.Event()
        client_id = f"{DEVICE}/{module}"
        self.client = mqtt.Client(client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311)
        self.client.username_pw_set(f"{IOTHUB}/{client_id}/?api-version=2019-10-01", password)
        self.client.tls_set(ca_certs=str(hub.config.ca_cert))
        self.client.on_connect = lambda c, u, f, rc: self.connack.put(rc)
        self.client.on_subscribe = lambda c, u, mid, granted: self.subacks.put(tuple(granted))
        self.client.on_publish = lambda c, u, mid: self.pubacks.put(mid)
        self.client.on_disconnect = lambda c, u, rc: self.disconnected.set()
        self.client.connect(IP, 8883)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def token(hub: HubThread, module: str, *, ttl: int = 3600, key: str | None = None) -> str:
    return generate_token(
        IOTHUB, DEVICE, module, key or module_key(hub, module), now=time.time(), ttl=ttl
    )


def test_good_sas_is_accepted(hub: HubThread) -> None:
    client = Paho(hub, "sensor", token(hub, "sensor"))
    try:
        assert client.connack.get(timeout=5) == 0
    finally:
        client.close()


def test_bad_sas_gets_connack_5(hub: HubThread) -> None:
    other_key = module_key(hub, "filter")
    client = Paho(hub, "sensor", token(hub, "sensor", key=other_key))
    try:
        assert client.connack.get(timeout=5) == 5
    finally:
        client.close()


def test_expired_sas_gets_connack_5(hub: HubThread) -> None:
    client = Paho(hub, "sensor", token(hub, "sensor", ttl=-400))  # past the 300 s skew
    try:
        assert client.connack.get(timeout=5) == 5
    finally:
        client.close()


def test_subscribing_as_another_module_is_refused(hub: HubThread) -> None:
    client = Paho(hub, "sensor", token(hub, "sensor"))
    try:
        assert client.connack.get(timeout=5) == 0
        client.client.subscribe(f"devices/{DEVICE}/modules/filter/inputs/#", 1)
        assert client.subacks.get(timeout=5) == (0x80,)
        client.client.subscribe(f"devices/{DEVICE}/modules/sensor/inputs/#", 1)
        assert client.subacks.get(timeout=5) == (1,)
    finally:
        client.close()


def test_publishing_as_another_module_closes_the_connection(hub: HubThread) -> None:
    before = hub.run(hub.hub.upstream, 0, 10_000)[1]
    client = Paho(hub, "sensor", token(hub, "sensor"))
    try:
        assert client.connack.get(timeout=5) == 0
        client.client.publish(
            f"devices/{DEVICE}/modules/filter/messages/events/%24.on=out1", b"forged", qos=1
        )
        assert client.disconnected.wait(5)
        assert client.pubacks.empty()
        assert hub.run(hub.hub.upstream, before, 10)[0] == []  # nothing reached $upstream
    finally:
        client.close()


def test_oversize_packet_drops_only_that_client(hub: HubThread) -> None:
    good = Paho(hub, "filter", token(hub, "filter"))
    bad = Paho(hub, "sensor", token(hub, "sensor"))
    try:
        assert good.connack.get(timeout=5) == 0 and bad.connack.get(timeout=5) == 0
        bad.client.publish(
            f"devices/{DEVICE}/modules/sensor/messages/events/", b"x" * (300 * 1024), qos=1
        )
        assert bad.disconnected.wait(5)
        good.client.subscribe(f"devices/{DEVICE}/modules/filter/inputs/#", 1)
        assert good.subacks.get(timeout=5) == (1,)  # the other client still works
    finally:
        good.close()
        bad.close()


def test_leaf_device_with_sas_routes_to_module(hub: HubThread) -> None:
    info = hub.run(hub.hub.add_device, "leaf1")
    assert info["connectionString"].startswith(f"HostName={IOTHUB};GatewayHostName={IP};")
    received: queue.Queue[Any] = queue.Queue()
    filt = IoTHubModuleClient.create_from_connection_string(
        hub.connection_string("filter"), server_verification_cert=hub.config.ca_cert.read_text()
    )
    leaf = IoTHubDeviceClient.create_from_connection_string(
        info["connectionString"], server_verification_cert=hub.config.ca_cert.read_text()
    )
    try:
        filt.on_message_received = received.put
        filt.connect()
        leaf.connect()
        message = Message("leaf telemetry", message_id="leaf-mid-1")
        message.custom_properties["k"] = "v"
        leaf.send_message(message)
        got = received.get(timeout=10)
        assert (got.input_name, got.data, got.message_id) == (
            "leafInput",
            b"leaf telemetry",
            "leaf-mid-1",
        )
        assert got.custom_properties["$.cdid"] == "leaf1"
        assert "$.cmid" not in got.custom_properties
        twin: Any = leaf.get_twin()
        assert twin["desired"]["$version"] >= 1
    finally:
        leaf.shutdown()
        filt.shutdown()
