"""Leaf devices on 127.0.0.31: X.509 (a certificate made by `edgectl certs device`) and asyncio.

The real SDK (IoTHubDeviceClient.create_from_x509_certificate through the gateway) connects with
a client certificate chained to the simulation's root CA; its telemetry is routed to a module.
A certificate whose CN is another device is refused. The asyncio device client (SAS) too.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iotedge_cli.cli.app import app
from tests.simulator.integration.harness import IOTHUB, HubThread, make_state

sdk = pytest.importorskip("azure.iot.device", reason="azure-iot-device is not installed")
from azure.iot.device import X509, IoTHubDeviceClient, IoTHubModuleClient  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

IP = "127.0.0.31"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    thread = HubThread(make_state(tmp_path_factory.mktemp("hub-x509"), IP)).start()
    yield thread
    thread.stop()


def device_cert(hub: HubThread, name: str) -> tuple[Path, Path]:
    """`edgectl certs device NAME --out <the simulation's certs>`: (full chain, key)."""
    certs = hub.config.state_dir / "certs"
    result = CliRunner().invoke(app, ["certs", "device", name, "--out", str(certs)])
    assert result.exit_code == 0, result.output
    return (
        certs / f"iot-device-{name}-full-chain.cert.pem",
        certs / "private" / f"iot-device-{name}.key.pem",
    )


def x509_client(hub: HubThread, device_id: str, cert: Path, key: Path) -> Any:
    return IoTHubDeviceClient.create_from_x509_certificate(
        x509=X509(cert_file=str(cert), key_file=str(key)),
        hostname=IOTHUB,
        device_id=device_id,
        gateway_hostname=IP,
        server_verification_cert=hub.config.ca_cert.read_text(),
        connection_retry=False,
    )


def test_leaf_device_with_x509_routes_to_module(hub: HubThread) -> None:
    cert, key = device_cert(hub, "leafx")
    hub.run(hub.hub.add_device, "leafx", x509=True)
    received: queue.Queue[Any] = queue.Queue()
    filt = IoTHubModuleClient.create_from_connection_string(
        hub.connection_string("filter"), server_verification_cert=hub.config.ca_cert.read_text()
    )
    leaf = x509_client(hub, "leafx", cert, key)
    try:
        filt.on_message_received = received.put
        filt.connect()
        leaf.connect()
        leaf.send_message(sdk.Message("x509 telemetry", message_id="x509-1"))
        got = received.get(timeout=10)
        assert (got.input_name, got.data, got.message_id) == (
            "leafInput",
            b"x509 telemetry",
            "x509-1",
        )
        assert got.custom_properties["$.cdid"] == "leafx"
    finally:
        leaf.shutdown()
        filt.shutdown()


def test_certificate_of_another_device_is_refused(hub: HubThread) -> None:
    cert, key = device_cert(hub, "leafy")
    hub.run(hub.hub.add_device, "leafz", x509=True)
    impostor = x509_client(hub, "leafz", cert, key)  # CN is leafy, not leafz
    try:
        with pytest.raises(sdk.exceptions.ClientError):
            impostor.connect()
    finally:
        impostor.shutdown()


def test_asyncio_device_client_with_sas(hub: HubThread) -> None:
    """The asyncio IoTHubDeviceClient (leaf, SAS) sends telemetry routed to a module."""
    import asyncio

    from azure.iot.device.aio import IoTHubDeviceClient as AioDeviceClient

    info = hub.run(hub.hub.add_device, "leafaio")
    received: queue.Queue[Any] = queue.Queue()
    filt = IoTHubModuleClient.create_from_connection_string(
        hub.connection_string("filter"), server_verification_cert=hub.config.ca_cert.read_text()
    )

    async def leaf_sends() -> Any:
        leaf = AioDeviceClient.create_from_connection_string(
            info["connectionString"], server_verification_cert=hub.config.ca_cert.read_text()
        )
        try:
            await leaf.connect()
            await leaf.send_message(sdk.Message("from asyncio", message_id="aio-1"))
            return await leaf.get_twin()
        finally:
            await leaf.shutdown()

    try:
        filt.on_message_received = received.put
        filt.connect()
        twin = asyncio.run(leaf_sends())
        got = received.get(timeout=10)
        assert (got.input_name, got.data, got.message_id) == ("leafInput", b"from asyncio", "aio-1")
        assert got.custom_properties["$.cdid"] == "leafaio"
        assert twin["desired"]["$version"] >= 1
    finally:
        filt.shutdown()
