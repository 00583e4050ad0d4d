"""The HTTP/1.1 core: request parsing, limits, keep-alive, error answers, and that one broken
client never disturbs another."""

from __future__ import annotations

import asyncio
import json

import pytest

from iotedge_cli.simulator.hub.http import (
    HttpError,
    Limits,
    Request,
    Response,
    Router,
    json_body,
    json_response,
    start_http_server,
)
from tests.simulator.hub.http.helpers import exchange, http_request, read_response, run

LIMITS = Limits(max_head=1024, max_body=2048, head_timeout=0.5, keep_alive_timeout=0.5,
                body_timeout=0.5)  # fmt: skip


def echo_app() -> Router:
    router = Router()

    async def echo(request: Request) -> Response:
        return json_response(
            200,
            {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "params": request.params,
                "body": request.body.decode(),
                "agent": request.header("User-Agent"),
            },
        )

    async def parse(request: Request) -> Response:
        return json_response(200, {"data": json_body(request)})

    async def boom(request: Request) -> Response:
        raise RuntimeError("handler bug")

    router.add("GET", "/items/{name}", echo)
    router.add("POST", "/items/{name}", echo)
    router.add("POST", "/json", parse)
    router.add("GET", "/boom", boom)
    return router


async def _serve() -> tuple[object, int]:
    server = await start_http_server(echo_app(), "127.0.0.1", 0, limits=LIMITS)
    return server, server.sockets[0].getsockname()[1]


def answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    async def go() -> tuple[int, dict[str, str], dict[str, object]]:
        server, port = await _serve()
        try:
            status, headers, body = await exchange(port, raw)
        finally:
            server.close()  # type: ignore[attr-defined]
        return status, headers, json.loads(body) if body else {}

    return run(go)


def test_get_with_params_query_and_percent_decoding() -> None:
    status, headers, body = answer(
        http_request("GET", "/items/a%20b?x=1&y=%2F", headers={"User-Agent": "t"})
    )
    assert status == 200
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert body["params"] == {"name": "a b"}
    assert body["query"] == {"x": "1", "y": "/"}
    assert body["path"] == "/items/a b"
    assert body["agent"] == "t"


def test_post_body_by_content_length() -> None:
    status, _, body = answer(http_request("POST", "/items/x", b"hello"))
    assert (status, body["body"]) == (200, "hello")


@pytest.mark.parametrize(
    ("raw", "status", "fragment"),
    [
        (b"GARBAGE\r\n\r\n", 400, "malformed request line"),
        (b"GET /items/x HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/1.1"),
        (b"GET http://x/items/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "must be a path"),
        (b"GET /items/x HTTP/1.1\r\n\r\n", 400, "Host header"),
        (b"GET /items/x HTTP/1.1\r\nHost: a\r\nBad Header: 1\r\n\r\n", 400, "malformed header"),
        (b"GET /items/x HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "malformed header"),
        (b"POST /items/x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "not a number"),
        (
            b"POST /items/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
            "appears twice",
        ),
        (
            b"POST /items/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            411,
            "Content-Length",
        ),
        (b"POST /items/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n", 413, "at most 2048"),
        (
            b"GET /items/x HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 2000 + b"\r\n\r\n",
            431,
            "at most 1024",
        ),
        (b"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n", 404, "no such resource: /nothing"),
        (b"DELETE /items/x HTTP/1.1\r\nHost: a\r\n\r\n", 405, "use GET, POST"),
        (b"POST /json HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n{x}", 400, "not valid JSON"),
        (b"POST /json HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 400, "needs a JSON body"),
        (b"GET /boom HTTP/1.1\r\nHost: a\r\n\r\n", 500, "internal error"),
    ],
)
def test_bad_requests_get_one_json_error(raw: bytes, status: int, fragment: str) -> None:
    got, headers, body = answer(raw)
    assert got == status
    assert fragment in str(body["error"])
    if status == 405:
        assert headers["allow"] == "GET, POST"


def test_errors_on_the_request_itself_close_the_connection() -> None:
    _, headers, _ = answer(b"GARBAGE\r\n\r\n")
    assert headers["connection"] == "close"


def test_keep_alive_serves_several_requests_and_http10_closes() -> None:
    async def go() -> list[int]:
        server, port = await _serve()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        statuses = []
        # two requests pipelined, then a third after reading
        writer.write(http_request("GET", "/items/1") + http_request("POST", "/items/2", b"ab"))
        for _ in range(2):
            statuses.append((await read_response(reader))[0])
        writer.write(http_request("GET", "/items/3", headers={"Connection": "close"}))
        status, headers, _ = await read_response(reader)
        statuses.append(status)
        assert headers["connection"] == "close"
        assert await reader.read() == b""  # the server closed
        writer.close()
        # HTTP/1.0 without keep-alive: closed after one answer
        status, headers, _ = await exchange(port, b"GET /items/4 HTTP/1.0\r\n\r\n")
        assert headers["connection"] == "close"
        server.close()  # type: ignore[attr-defined]
        return [*statuses, status]

    assert run(go) == [200, 200, 200, 200]


def test_expect_100_continue() -> None:
    async def go() -> tuple[bytes, int]:
        server, port = await _serve()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /items/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                     b"Content-Length: 2\r\n\r\n")  # fmt: skip
        interim = await reader.readuntil(b"\r\n\r\n")
        writer.write(b"ok")
        status, _, _ = await read_response(reader)
        writer.close()
        server.close()  # type: ignore[attr-defined]
        return interim, status

    interim, status = run(go)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert status == 200


def test_slow_head_times_out_with_408() -> None:
    async def go() -> int:
        server, port = await _serve()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /items/x HTTP/1.1\r\n")  # never finished
        status = (await read_response(reader))[0]
        writer.close()
        server.close()  # type: ignore[attr-defined]
        return status

    assert run(go) == 408


def test_idle_keep_alive_connection_is_closed() -> None:
    async def go() -> bytes:
        server, port = await _serve()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(http_request("GET", "/items/x"))
        await read_response(reader)
        rest = await asyncio.wait_for(reader.read(), 3)  # closed after keep_alive_timeout
        writer.close()
        server.close()  # type: ignore[attr-defined]
        return rest

    assert run(go) == b""


def test_malformed_client_is_dropped_while_others_keep_working() -> None:
    """A socket-level test: one client sends garbage, one stalls half-way through a head and
    one sends a huge body; a well-behaved client on the same server is served throughout."""

    async def go() -> None:
        server, port = await _serve()
        good_r, good_w = await asyncio.open_connection("127.0.0.1", port)
        stall_r, stall_w = await asyncio.open_connection("127.0.0.1", port)
        stall_w.write(b"GET /items/x HT")
        garbage_r, garbage_w = await asyncio.open_connection("127.0.0.1", port)
        garbage_w.write(b"\x00\xff\x10binary junk\r\n\r\n")
        big_r, big_w = await asyncio.open_connection("127.0.0.1", port)
        big_w.write(b"POST /items/x HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999\r\n\r\n")
        assert (await read_response(garbage_r))[0] == 400
        assert await garbage_r.read() == b""
        assert (await read_response(big_r))[0] == 413
        for i in range(5):
            good_w.write(http_request("GET", f"/items/{i}"))
            status, _, body = await read_response(good_r)
            assert status == 200 and json.loads(body)["params"] == {"name": str(i)}
        assert (await read_response(stall_r))[0] == 408
        for w in (good_w, stall_w, garbage_w, big_w):
            w.close()
        server.close()  # type: ignore[attr-defined]

    run(go)


def test_server_close_also_closes_idle_connections() -> None:
    async def go() -> bytes:
        server = await start_http_server(echo_app(), "127.0.0.1", 0)  # 75 s keep-alive
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(http_request("GET", "/items/x"))
        await read_response(reader)
        server.close()
        await asyncio.wait_for(server.wait_closed(), 3)
        rest = await asyncio.wait_for(reader.read(), 3)
        writer.close()
        return rest

    assert run(go) == b""


def test_http_error_carries_status_and_headers() -> None:
    exc = HttpError(405, "no", [("Allow", "GET")])
    assert (exc.status, exc.message, exc.headers) == (405, "no", [("Allow", "GET")])
