"""The workload API (hub-protocol §2 and §11 step 13b): trust bundle and sign, over a unix
socket (0660) and over HTTP, against the stand-in hub."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import stat
from pathlib import Path

from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.hub.http import start_http_server
from iotedge_cli.simulator.hub.workload import start_workload, workload_app, workload_uri
from tests.simulator.hub.http.fakehub import KEYS, FakeHub
from tests.simulator.hub.http.helpers import call, http_request, read_response, run

# The captured string-to-sign of §11 step 13b.
TO_SIGN = b"myhub.azure-devices.net%2Fdevices%2Fedge-dev-1%2Fmodules%2Fwlmod\n1795773262"
SIGN = "/modules/sensor/genid/637871234567890123/sign?api-version=2022-08-03"


def test_sign_digest_is_hmac_sha256_with_the_module_key(config: HubConfig) -> None:
    async def go() -> list[tuple[int, object]]:
        server = await start_http_server(workload_app(FakeHub(), config), "127.0.0.1", 0)  # type: ignore[arg-type]
        port = server.sockets[0].getsockname()[1]
        body = {
            "keyId": "primary",
            "algo": "HMACSHA256",
            "data": base64.b64encode(TO_SIGN).decode(),
        }
        try:
            return [
                await call(port, "POST", SIGN, body),
                await call(port, "POST", SIGN.replace("sensor", "ghost"), body),
                await call(port, "POST", SIGN, {**body, "algo": "MD5"}),
                await call(port, "POST", SIGN, {**body, "data": "!!"}),
                await call(port, "POST", SIGN.split("?")[0], body),
            ]
        finally:
            server.close()

    ok, ghost, algo, data, version = run(go)
    expected = hmac.new(base64.b64decode(KEYS["sensor"]), TO_SIGN, hashlib.sha256).digest()
    assert ok == (200, {"digest": base64.b64encode(expected).decode()})
    assert ghost[0] == 404
    assert algo[0] == 400 and "HMACSHA256" in algo[1]["error"]  # type: ignore[index]
    assert data[0] == 400 and "base64" in data[1]["error"]  # type: ignore[index]
    assert version[0] == 400 and "api-version" in version[1]["error"]  # type: ignore[index]


def test_unix_socket_serves_the_trust_bundle(config: HubConfig, tmp_path: Path) -> None:
    sock = tmp_path / "run" / "workload.sock"
    sock.parent.mkdir()
    sock.touch()  # a stale file that is not a socket is refused...
    cfg = dataclasses.replace(config, workload_socket=sock)
    hub = FakeHub()

    async def refused() -> object:
        return await start_workload(hub, cfg)  # type: ignore[arg-type]

    assert run(refused) is None
    assert "is not a socket" in hub.listeners[0]["error"]
    sock.unlink()

    async def go() -> tuple[int, dict[str, object], int]:
        started = FakeHub()
        server = await start_workload(started, cfg)  # type: ignore[arg-type]
        assert server is not None
        (entry,) = started.listeners
        assert entry["available"] and entry["uri"] == f"unix://{sock}"
        mode = stat.S_IMODE(sock.stat().st_mode)
        reader, writer = await asyncio.open_unix_connection(str(sock))
        # the SDK's request (requests-unixsocket: Host: localhost)
        writer.write(http_request("GET", "/trust-bundle?api-version=2022-08-03", host="localhost"))
        status, _, body = await read_response(reader)
        writer.close()
        server.close()
        await server.wait_closed()
        return status, json.loads(body), mode

    status, body, mode = run(go)
    assert status == 200
    assert body["certificate"] == config.ca_cert.read_text()
    assert mode == 0o660
    assert workload_uri(cfg) == f"unix://{sock}"
    # a restart finds the old socket file and replaces it
    run(go)


def test_http_uri_without_a_socket(config: HubConfig) -> None:
    assert workload_uri(dataclasses.replace(config, admin_port=53000)) == "http://127.0.0.1:53001/"
    assert workload_uri(dataclasses.replace(config, admin_port=0)) == "http://127.0.0.1:0/"
