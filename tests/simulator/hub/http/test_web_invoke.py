"""Module-to-module ``invoke_method`` over HTTPS on the 443 listener (hub-protocol §5 and the
§11 steps 11/11b request shapes), against the stand-in hub: 200, 404 offline, 504 timeout,
400/401 for bad callers; and the listener's behaviour when its port is taken."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import ssl
import time
from typing import Any

from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.hub.iothub.sas import generate_token
from iotedge_cli.simulator.hub.web import start_https
from tests.simulator.hub.http.conftest import GATEWAY
from tests.simulator.hub.http.fakehub import DEVICE, IOTHUB, KEYS, FakeHub
from tests.simulator.hub.http.helpers import exchange, run

PATH = f"/twins/{DEVICE}/modules/filter/methods?api-version=2019-10-01"


def sas(module: str = "sensor", key: str | None = None, *, ttl: int = 3600) -> str:
    return generate_token(IOTHUB, DEVICE, module, key or KEYS[module], now=time.time(), ttl=ttl)


def sdk_request(path: str = PATH, body: Any = None, **headers: str) -> bytes:
    """The request as azure-iot-device 2.14.0 sends it (§11 step 11)."""
    body = body if body is not None else {
        "methodName": "reset", "payload": {"from": "sensor"},
        "responseTimeoutInSeconds": 10, "connectTimeoutInSeconds": 0}  # fmt: skip
    data = json.dumps(body).encode()
    fields = {
        "user-agent": "azure-iot-device-iothub-py%2F2.14.0",
        "accept-encoding": "gzip, deflate", "accept": "*/*", "connection": "keep-alive",
        "host": GATEWAY, "content-type": "application/json", "content-length": str(len(data)),
        "x-ms-edge-moduleid": f"{DEVICE}/sensor", "authorization": sas(),
    }  # fmt: skip
    fields.update({k.replace("_", "-"): v for k, v in headers.items()})
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v)
    return (head + "\r\n").encode() + data


def invoke(config: HubConfig, hub: FakeHub, raw: bytes) -> tuple[int, dict[str, str], Any]:
    async def go() -> tuple[int, dict[str, str], Any]:
        server = await start_https(hub, config)  # type: ignore[arg-type]
        assert server is not None
        port = server.sockets[0].getsockname()[1]
        tls = ssl.create_default_context(cafile=str(config.ca_cert))
        tls.minimum_version = tls.maximum_version = ssl.TLSVersion.TLSv1_2  # as the SDK does
        try:
            status, headers, body = await exchange(port, raw, tls=tls, server_hostname=GATEWAY)
        finally:
            server.close()
        return status, headers, json.loads(body)

    return run(go)


def test_invoke_200_carries_the_targets_status_and_payload(config: HubConfig) -> None:
    hub = FakeHub()
    status, headers, body = invoke(config, hub, sdk_request())
    assert status == 200
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert body == {"status": 200, "payload": {"result": "ok", "echo": {"from": "sensor"}}}
    assert hub.invocations == [
        {
            "device": DEVICE,
            "module": "filter",
            "method": "reset",
            "payload": {"from": "sensor"},
            "timeout": 10.0,
            "caller": f"{DEVICE}/sensor",
        }
    ]


def test_invoke_offline_target_is_404(config: HubConfig) -> None:
    raw = sdk_request(
        f"/twins/{DEVICE}/modules/nosuchmodule/methods?api-version=2019-10-01",
        {"methodName": "x", "payload": None},
    )
    status, _, body = invoke(config, FakeHub(), raw)
    assert (status, body) == (404, {"message": f"Client {DEVICE}/nosuchmodule not found"})


def test_invoke_timeout_is_504(config: HubConfig) -> None:
    hub = FakeHub()
    hub.slow.add("filter")
    raw = sdk_request(body={"methodName": "reset", "responseTimeoutInSeconds": 0.2})
    status, _, body = invoke(config, hub, raw)
    assert status == 504
    assert "Timed out waiting for device to respond" in body["message"]
    assert hub.invocations[0]["timeout"] == 0.2


def test_invoke_device_target_path(config: HubConfig) -> None:
    hub = FakeHub()
    status, _, _ = invoke(config, hub, sdk_request("/twins/leaf1/methods?api-version=2019-10-01"))
    assert status == 404
    assert hub.invocations[0]["device"] == "leaf1"
    assert hub.invocations[0]["module"] is None


def test_invoke_bad_callers(config: HubConfig) -> None:
    wrong_key = "A" * 43 + "="
    cases = [
        ({"authorization": sas(key=wrong_key)}, 401, "signature mismatch"),
        ({"authorization": sas(ttl=-1000)}, 401, "expired"),
        ({"authorization": sas("filter")}, 401, "audience"),  # another module's token
        ({"authorization": ""}, 401, "Authorization header"),
        ({"x_ms_edge_moduleid": ""}, 400, "Invalid header value for x-ms-edge-moduleId"),
        ({"x_ms_edge_moduleid": "sensor"}, 400, "Invalid header value"),
        ({"x_ms_edge_moduleid": "other-device/sensor"}, 401, "Only modules on the same device"),
        ({"x_ms_edge_moduleid": f"{DEVICE}/ghost"}, 401, "Unknown module"),
    ]
    hub = FakeHub()
    for headers, status, fragment in cases:
        got, _, body = invoke(config, hub, sdk_request(**headers))
        assert (got, fragment in body["message"]) == (status, True), (headers, body)
    assert hub.invocations == []


def test_invoke_bad_bodies(config: HubConfig) -> None:
    for body, fragment in (
        ({"payload": 1}, "methodName is required"),
        ({"methodName": "m", "responseTimeoutInSeconds": "soon"}, "must be a number"),
        ([1], "JSON object"),
    ):
        status, _, got = invoke(config, FakeHub(), sdk_request(body=body))
        assert status == 400 and fragment in got["message"], got


def test_port_taken_gives_none_and_a_listener_entry(config: HubConfig) -> None:
    hub = FakeHub()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def go() -> object:
            return await start_https(hub, dataclasses.replace(config, https_port=port))  # type: ignore[arg-type]

        assert run(go) is None
    (entry,) = hub.listeners
    assert entry["name"] == "https" and entry["available"] is False and entry["port"] == port
    assert "WebSocket MQTT and module-to-module invoke_method are unavailable" in entry["error"]


def test_tls_refuses_a_client_that_does_not_trust_the_edge_ca(config: HubConfig) -> None:
    async def go() -> str:
        server = await start_https(FakeHub(), config)  # type: ignore[arg-type]
        assert server is not None
        port = server.sockets[0].getsockname()[1]
        try:
            await asyncio.open_connection(
                "127.0.0.1", port, ssl=ssl.create_default_context(), server_hostname=GATEWAY
            )
        except ssl.SSLCertVerificationError as exc:
            return exc.verify_message
        finally:
            server.close()
        return "connected"

    assert run(go) in (
        "self-signed certificate in certificate chain",  # the full chain includes the root
        "unable to get local issuer certificate",
    )
