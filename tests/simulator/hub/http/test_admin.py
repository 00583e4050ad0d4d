"""The admin API, every route, against the stand-in hub (the CLI's client calls these)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from iotedge_cli.simulator.hub.admin import admin_app
from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.hub.http import start_http_server
from tests.simulator.hub.http.fakehub import DEVICE, FakeHub
from tests.simulator.hub.http.helpers import call, exchange, http_request, run

Call = Callable[..., Awaitable[tuple[int, Any]]]


def with_admin(config: HubConfig, hub: FakeHub, body: Callable[[Call], Awaitable[None]]) -> None:
    async def go() -> None:
        server = await start_http_server(admin_app(hub, config), "127.0.0.1", 0)  # type: ignore[arg-type]
        port = server.sockets[0].getsockname()[1]

        async def api(method: str, path: str, data: Any = None, **kw: Any) -> tuple[int, Any]:
            return await call(port, method, path, data, **kw)

        try:
            await body(api)
        finally:
            server.close()

    run(go)


def test_status(config: HubConfig) -> None:
    async def body(api: Call) -> None:
        status, data = await api("GET", "/api/v1/status")
        assert status == 200
        assert {"deviceId": DEVICE, "moduleId": "filter"} in data["identities"]

    with_admin(config, FakeHub(), body)


def test_messages(config: HubConfig) -> None:
    hub = FakeHub()

    async def body(api: Call) -> None:
        sent = {"moduleId": "filter", "inputName": "input1", "data": "héllo",
                "contentType": "application/json", "contentEncoding": "utf-8",
                "properties": {"k": "v"}}  # fmt: skip
        assert await api("POST", "/api/v1/messages", sent) == (
            202, {"moduleId": "filter", "inputName": "input1"})  # fmt: skip
        b64 = {"moduleId": "filter", "inputName": "i", "data": "AAE=", "dataEncoding": "base64"}
        assert (await api("POST", "/api/v1/messages", b64))[0] == 202
        for bad, fragment in (
            ({"moduleId": "filter", "data": "x"}, "'inputName' must be a non-empty string"),
            ({"inputName": "i", "data": "x"}, "'moduleId' is required"),
            ({"moduleId": "filter", "inputName": "i", "data": 5}, "'data' must be a string"),
            (
                {"moduleId": "filter", "inputName": "i", "data": "x", "properties": {"a": 1}},
                "'properties' must be an object of string values",
            ),
            (
                {"moduleId": "filter", "inputName": "i", "data": "!", "dataEncoding": "base64"},
                "not valid base64",
            ),
            ([1, 2], "must be a JSON object"),
        ):
            status, data = await api("POST", "/api/v1/messages", bad)
            assert status == 400 and fragment in data["error"], data
        status, data = await api("POST", "/api/v1/messages",
                                 {"moduleId": "ghost", "inputName": "i", "data": "x"})  # fmt: skip
        assert (status, data) == (404, {"error": "no module 'ghost'"})

    with_admin(config, hub, body)
    assert hub.injected == [
        {"module": "filter", "input": "input1", "body": "héllo".encode(),
         "properties": {"k": "v"},
         "system": {"contentType": "application/json", "contentEncoding": "utf-8"}},
        {"module": "filter", "input": "i", "body": b"\x00\x01", "properties": {}, "system": {}},
    ]  # fmt: skip


def test_messages_without_module_go_to_the_single_module(config: HubConfig) -> None:
    hub = FakeHub()
    single = HubConfig(**{**config.__dict__, "single_module": ("filter", ("input1",))})

    async def body(api: Call) -> None:
        # iotedgehubdev's body exactly: {"inputName", "data"}
        assert (await api("POST", "/api/v1/messages", {"inputName": "input1", "data": "x"}))[
            0
        ] == 202

    with_admin(single, hub, body)
    assert hub.injected[0]["module"] == "filter"


def test_bad_json_is_400_with_error(config: HubConfig) -> None:
    async def body(api: Call) -> None:
        for path in ("/api/v1/messages", "/api/v1/devices", "/api/v1/methods/filter/m"):
            status, data = await api("POST", path, b"{not json")
            assert status == 400 and "not valid JSON" in data["error"]
        status, data = await api("PATCH", "/api/v1/twins/filter", b"[]")
        assert status == 400 and "JSON object" in data["error"]

    with_admin(config, FakeHub(), body)


def test_upstream_long_poll(config: HubConfig) -> None:
    hub = FakeHub()
    hub.add_upstream("one")

    async def body(api: Call) -> None:
        assert await api("GET", "/api/v1/upstream?after=0") == (
            200, {"messages": [{"seq": 1, "body": "one"}], "last": 1})  # fmt: skip
        started = time.monotonic()
        assert await api("GET", "/api/v1/upstream?after=1&wait=0.3") == (
            200, {"messages": [], "last": 1})  # fmt: skip
        assert time.monotonic() - started >= 0.25
        asyncio.get_running_loop().call_later(0.2, hub.add_upstream, "two")
        started = time.monotonic()
        status, data = await api("GET", "/api/v1/upstream?after=1&wait=10&limit=5")
        assert (status, data["last"], data["messages"][0]["body"]) == (200, 2, "two")
        assert time.monotonic() - started < 5
        for query, fragment in (("after=x", "not an integer"), ("limit=0", "out of range"),
                                ("wait=-1", "non-negative")):  # fmt: skip
            status, data = await api("GET", f"/api/v1/upstream?{query}")
            assert status == 400 and fragment in data["error"]

    with_admin(config, hub, body)


def test_twins_get_and_patch(config: HubConfig) -> None:
    async def body(api: Call) -> None:
        assert await api("GET", "/api/v1/twins/filter") == (
            200, {"desired": {"$version": 1}, "reported": {"$version": 1}})  # fmt: skip
        status, twin = await api("PATCH", "/api/v1/twins/filter", {"threshold": 30})
        assert (status, twin["desired"]) == (200, {"threshold": 30, "$version": 2})
        assert (await api("GET", "/api/v1/twins/ghost"))[0] == 404

    with_admin(config, FakeHub(), body)


def test_methods(config: HubConfig) -> None:
    hub = FakeHub()
    hub.add_device("leaf1")

    async def body(api: Call) -> None:
        assert await api("POST", "/api/v1/methods/filter/reset", {"payload": {"a": 1},
                                                                 "timeout": 5}) == (
            200, {"status": 200, "payload": {"result": "ok", "echo": {"a": 1}}})  # fmt: skip
        assert await api("POST", "/api/v1/methods/sensor/reset", {}) == (
            200, {"status": 404, "payload": {"message": f"Client {DEVICE}/sensor not found"}})  # fmt: skip
        await api("POST", "/api/v1/methods/leaf1/ping", {})
        status, data = await api("POST", "/api/v1/methods/filter/x", {"timeout": "soon"})
        assert status == 400 and "'timeout'" in data["error"]

    with_admin(config, hub, body)
    assert [(c["device"], c["module"], c["timeout"]) for c in hub.invocations] == [
        (DEVICE, "filter", 5.0), (DEVICE, "sensor", 30.0), ("leaf1", None, 30.0)]  # fmt: skip


def test_devices_and_credentials(config: HubConfig) -> None:
    async def body(api: Call) -> None:
        assert await api("POST", "/api/v1/devices", {"deviceId": "leaf1", "x509": True}) == (
            201, {"deviceId": "leaf1", "x509": True})  # fmt: skip
        status, data = await api("POST", "/api/v1/devices", {"deviceId": "leaf1"})
        assert status == 400 and "exists already" in data["error"]
        status, data = await api("POST", "/api/v1/devices", {"deviceId": "d", "x509": "yes"})
        assert status == 400 and "'x509'" in data["error"]
        status, creds = await api("GET", "/api/v1/modules/filter/credentials")
        assert status == 200 and set(creds) == {"EdgeHubConnectionString",
                                                "EdgeModuleCACertificateFile"}  # fmt: skip
        assert (await api("GET", "/api/v1/modules/ghost/credentials"))[0] == 404

    with_admin(config, FakeHub(), body)


def test_shutdown_answers_then_stops(config: HubConfig) -> None:
    hub = FakeHub()

    async def body(api: Call) -> None:
        assert await api("POST", "/api/v1/shutdown") == (202, {"stopping": True})

    with_admin(config, hub, body)
    assert hub.stopped


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"Host": "evil.example:53000"}, "not a loopback name"),
        ({"Origin": "http://evil.example"}, "Origin header"),
    ],
)
def test_browser_and_rebinding_requests_are_refused(
    config: HubConfig, headers: dict[str, str], fragment: str
) -> None:
    async def go() -> tuple[int, bytes]:
        server = await start_http_server(admin_app(FakeHub(), config), "127.0.0.1", 0)  # type: ignore[arg-type]
        raw = http_request("GET", "/api/v1/status", headers=headers)
        if "Host" in headers:
            raw = raw.replace(b"Host: 127.0.0.1\r\n", b"")
        try:
            status, _, data = await exchange(server.sockets[0].getsockname()[1], raw)
        finally:
            server.close()
        return status, data

    status, data = run(go)
    assert status == 403 and fragment.encode() in data


def test_start_admin_binds_loopback_only(config: HubConfig) -> None:
    from iotedge_cli.simulator.hub.admin import start_admin

    async def go() -> str:
        wide = HubConfig(**{**config.__dict__, "bind": "0.0.0.0"})
        server = await start_admin(FakeHub(), wide)  # type: ignore[arg-type]
        host = server.sockets[0].getsockname()[0]  # type: ignore[attr-defined]
        server.close()
        return str(host)

    assert run(go) == "127.0.0.1"
