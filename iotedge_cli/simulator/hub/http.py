"""A small, strict HTTP/1.1 server core for the hub's three HTTP faces (443, admin, workload),
with a WebSocket upgrade that carries MQTT (hub-protocol §5, §6, §2).

Theory of operation. One task per connection reads a request head (at most
``Limits.max_head`` bytes, within a timeout), then a ``Content-Length`` body (at most
``Limits.max_body``; chunked bodies are refused), asks the application for a :class:`Response`
and writes it; HTTP/1.1 keeps the connection open unless the client says ``close``. Anything
malformed gets one 4xx answer and the connection is closed, so a broken client never affects
another. A handler may instead return an :class:`Upgrade`: the server writes the ``101`` and
hands the raw byte stream to the upgrade callback, which for WebSockets wraps it with
:func:`websocket_stream` into a ``StreamReader``/writer pair that carries the binary frames'
payloads (RFC 6455: client frames masked, fragments joined, ping answered, close echoed), so
``Hub.handle_stream`` reads MQTT from it exactly as from TCP.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import inspect
import json
import logging
import re
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = [
    "WS_GUID",
    "Handler",
    "HttpError",
    "HttpServer",
    "Limits",
    "Request",
    "Response",
    "Router",
    "Upgrade",
    "WebSocketWriter",
    "json_body",
    "json_response",
    "serve_connection",
    "start_http_server",
    "start_unix_http_server",
    "websocket_accept",
    "websocket_handshake",
    "websocket_stream",
]

log = logging.getLogger(__name__)

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(r"^HTTP/1\.[01]$")
DRAIN_TIMEOUT = 1.0  # seconds a closing server waits for its connections before aborting them
CLOSE_TIMEOUT = 2.0  # seconds to wait for a closed connection's transport to finish
_background: set[asyncio.Future[Any]] = set()  # after-response hooks still running


@dataclass(frozen=True)
class Limits:
    max_head: int = 8 * 1024  # request line + headers
    max_body: int = 1024 * 1024
    head_timeout: float = 10.0  # the first request's head must arrive within this
    body_timeout: float = 30.0
    keep_alive_timeout: float = 75.0  # idle time between requests on one connection
    max_ws_frame: int = 1024 * 1024  # one WebSocket frame's payload (MQTT packets are <= 256 KiB)


class HttpError(Exception):
    """A request the server refuses: status + one-line message (sent as ``{"error": message}``
    unless the application renders it otherwise)."""

    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes = b""
    path: str = ""  # percent-decoded path (no query)
    query: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # filled by the Router
    peer: Any = None
    peer_cert: bytes | None = None  # DER client certificate (TLS listeners only)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    after: Callable[[], object] | None = None  # called once the response is written


@dataclass
class Upgrade:
    """Switch protocols: write ``101`` with ``headers``, then run ``run(reader, writer)``."""

    headers: list[tuple[str, str]]
    run: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


Handler = Callable[[Request], Awaitable[Response | Upgrade]]


def json_response(status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = json.dumps(data).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])


def json_body(request: Request, *, required: bool = True) -> Any:
    """The request body as JSON; ``HttpError(400)`` naming the problem."""
    if not request.body.strip():
        if required:
            raise HttpError(400, "the request needs a JSON body")
        return None
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"the request body is not valid JSON: {exc}") from None


# --- routing ----------------------------------------------------------------------------


class Router:
    """``add("POST", "/twins/{device}/methods", handler)``; ``{name}`` matches one path segment
    (percent-decoded). Unknown path -> 404, known path with another method -> 405."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, list[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, pattern.split("/"), handler))

    @staticmethod
    def _match(pattern: list[str], segments: list[str]) -> dict[str, str] | None:
        if len(pattern) != len(segments):
            return None
        params: dict[str, str] = {}
        for want, got in zip(pattern, segments, strict=True):
            if want.startswith("{") and want.endswith("}"):
                if not got:
                    return None
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params

    async def __call__(self, request: Request) -> Response | Upgrade:
        raw = request.target.split("?", 1)[0]
        segments = [unquote(s) for s in raw.split("/")]
        allowed: list[str] = []
        for method, pattern, handler in self._routes:
            params = self._match(pattern, segments)
            if params is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            request.params = params
            return await handler(request)
        if allowed:
            raise HttpError(
                405,
                f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
                [("Allow", ", ".join(allowed))],
            )
        raise HttpError(404, f"no such resource: {request.path}")


# --- the connection loop ---------------------------------------------------------------


def _parse_head(head: bytes) -> Request:
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400, "the request head must be ASCII") from None
    lines = text[:-4].split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1]:
        raise HttpError(400, f"malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    if not _VERSION.match(version):
        raise HttpError(505, f"unsupported protocol {version[:20]!r}; speak HTTP/1.1")
    if not target.startswith("/"):
        raise HttpError(400, f"request target {target[:80]!r} must be a path starting with /")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name):
            raise HttpError(400, f"malformed header line {line[:80]!r}")
        key = name.lower()
        value = value.strip(" \t")
        if key in headers:
            if key in ("content-length", "host"):
                raise HttpError(400, f"header {name} appears twice")
            headers[key] += ", " + value
        else:
            headers[key] = value
    if version == "HTTP/1.1" and "host" not in headers:
        raise HttpError(400, "an HTTP/1.1 request needs a Host header")
    path, _, query = target.partition("?")
    try:
        params = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False))
    except ValueError:
        raise HttpError(400, f"malformed query string {query[:80]!r}") from None
    return Request(method, target, version, headers, path=unquote(path), query=params)


def _content_length(request: Request, limits: Limits) -> int:
    if "transfer-encoding" in request.headers:
        raise HttpError(411, "chunked or encoded bodies are not supported; send Content-Length")
    raw = request.header("content-length")
    if raw is None:
        return 0
    if not raw.isdigit():
        raise HttpError(400, f"Content-Length {raw[:20]!r} is not a number")
    length = int(raw)
    if length > limits.max_body:
        raise HttpError(413, f"the body is {length} bytes; at most {limits.max_body} are accepted")
    return length


def _render(response: Response, keep_alive: bool) -> bytes:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    names = {n.lower() for n, _ in response.headers}
    lines += [f"{n}: {v}" for n, v in response.headers]
    if "content-length" not in names:
        lines.append(f"Content-Length: {len(response.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


def _error_response(exc: HttpError) -> Response:
    return json_response(exc.status, {"error": exc.message}, exc.headers)


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    handler: Handler,
    limits: Limits = Limits(),
) -> None:
    """Serve requests on one connection until it closes, errs, times out or is upgraded."""
    peer = writer.get_extra_info("peername")
    ssl_object = writer.get_extra_info("ssl_object")
    peer_cert = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    first = True
    try:
        while True:
            timeout = limits.head_timeout if first else limits.keep_alive_timeout
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            except asyncio.TimeoutError:
                if first:
                    await _send(writer, _error_response(HttpError(408, "request head timed out")))
                return
            except asyncio.IncompleteReadError:
                return  # the client went away between requests
            except asyncio.LimitOverrunError:
                await _send(writer, _error_response(HttpError(431, "request head too large")))
                return
            first = False
            try:
                if len(head) > limits.max_head:
                    raise HttpError(
                        431, f"the request head is {len(head)} bytes; at most {limits.max_head}"
                    )
                request = _parse_head(head)
                request.peer, request.peer_cert = peer, peer_cert
                length = _content_length(request, limits)
                if length and (request.header("expect") or "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                try:
                    request.body = await asyncio.wait_for(
                        reader.readexactly(length), limits.body_timeout
                    )
                except asyncio.TimeoutError:
                    raise HttpError(408, "request body timed out") from None
                except asyncio.IncompleteReadError:
                    return
            except HttpError as exc:
                await _send(writer, _error_response(exc))
                return
            try:
                result = await handler(request)
            except HttpError as exc:
                result = _error_response(exc)
            except Exception:
                log.exception("HTTP handler failed for %s %s", request.method, request.path)
                result = json_response(500, {"error": "internal error in the hub; see its log"})
            if isinstance(result, Upgrade):
                writer.write(_render(Response(101, b"", result.headers), True))
                await writer.drain()
                await result.run(reader, writer)
                return
            keep = request.keep_alive and not result.close
            await _send(writer, result, keep)
            if result.after is not None:
                outcome = result.after()
                if inspect.isawaitable(outcome):
                    task = asyncio.ensure_future(outcome)
                    _background.add(task)
                    task.add_done_callback(_background.discard)
            if not keep:
                return
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        # bounded: a TLS peer that never answers close_notify must not hold up a shutdown
        try:
            await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        except Exception:
            writer.transport.abort()


async def _send(writer: asyncio.StreamWriter, response: Response, keep_alive: bool = False) -> None:
    writer.write(_render(response, keep_alive))
    with contextlib.suppress(ConnectionError, OSError):
        await writer.drain()


class HttpServer(asyncio.AbstractServer):
    """An ``asyncio.Server`` that also closes its open connections on :meth:`close` (keep-alive
    and upgraded ones), so a graceful stop never waits for an idle client."""

    def __init__(self) -> None:
        self.server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _track(
        self, handler: Handler, limits: Limits
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.add(writer)
            try:
                await serve_connection(reader, writer, handler, limits)
            finally:
                self._writers.discard(writer)

        return connected

    @property
    def sockets(self) -> tuple[Any, ...]:
        return tuple(getattr(self.server, "sockets", ()) or ())

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers):
            writer.close()

    def get_loop(self) -> asyncio.AbstractEventLoop:
        assert self.server is not None
        return self.server.get_loop()

    def is_serving(self) -> bool:
        return self.server is not None and self.server.is_serving()

    async def start_serving(self) -> None:
        assert self.server is not None
        await self.server.start_serving()

    async def serve_forever(self) -> None:
        assert self.server is not None
        await self.server.serve_forever()

    async def wait_closed(self) -> None:
        """Wait for the listener and, up to ``DRAIN_TIMEOUT``, for its connections; abort
        the ones still open after that."""
        try:
            if self.server is not None:
                await self.server.wait_closed()
            deadline = asyncio.get_running_loop().time() + DRAIN_TIMEOUT
            while self._writers and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
        finally:  # also when the caller's own timeout cancels this wait
            for writer in list(self._writers):
                writer.transport.abort()


async def start_http_server(
    handler: Handler,
    host: str,
    port: int,
    *,
    ssl: Any = None,
    limits: Limits = Limits(),
    nodelay: bool = True,
) -> HttpServer:
    """Listen on ``host:port`` (TLS when ``ssl`` is an ``SSLContext``)."""
    server = HttpServer()
    inner = server._track(handler, limits)

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if nodelay and sock is not None:
            import socket

            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await inner(reader, writer)

    server.server = await asyncio.start_server(connected, host, port, ssl=ssl)
    return server


async def start_unix_http_server(
    handler: Handler, path: str, *, limits: Limits = Limits()
) -> HttpServer:
    server = HttpServer()
    server.server = await asyncio.start_unix_server(server._track(handler, limits), path)
    return server


# --- WebSocket (RFC 6455), server side ---------------------------------------------------


def websocket_accept(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode()


def websocket_handshake(request: Request, subprotocol: str = "mqtt") -> list[tuple[str, str]]:
    """Check an upgrade request; return the ``101`` headers or raise ``HttpError``."""
    if request.method != "GET":
        raise HttpError(405, "a WebSocket upgrade must be a GET", [("Allow", "GET")])
    if request.version != "HTTP/1.1":
        raise HttpError(400, "a WebSocket upgrade needs HTTP/1.1")
    if (request.header("upgrade") or "").lower() != "websocket":
        raise HttpError(426, "this path speaks WebSocket only; send Upgrade: websocket",
                        [("Upgrade", "websocket")])  # fmt: skip
    tokens = {t.strip().lower() for t in (request.header("connection") or "").split(",")}
    if "upgrade" not in tokens:
        raise HttpError(400, "a WebSocket upgrade needs Connection: Upgrade")
    if request.header("sec-websocket-version") != "13":
        raise HttpError(426, "only WebSocket version 13 is supported",
                        [("Sec-WebSocket-Version", "13")])  # fmt: skip
    key = request.header("sec-websocket-key") or ""
    try:
        valid = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise HttpError(400, f"Sec-WebSocket-Key {key[:40]!r} is not 16 bytes in base64")
    offered = [p.strip() for p in (request.header("sec-websocket-protocol") or "").split(",")]
    if subprotocol not in offered:
        raise HttpError(400, f"the client must offer WebSocket subprotocol {subprotocol!r}")
    return [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", websocket_accept(key)),
        ("Sec-WebSocket-Protocol", subprotocol),
    ]


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        return struct.pack("!BB", first, n) + payload
    if n < 1 << 16:
        return struct.pack("!BBH", first, 126, n) + payload
    return struct.pack("!BBQ", first, 127, n) + payload


def _unmask(mask: bytes, data: bytes) -> bytes:
    n = len(data)
    if not n:
        return data
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class WebSocketWriter:
    """The write half of a WebSocket as a ``StreamWriter`` look-alike: each ``write`` sends
    one unmasked binary frame."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.closed = False

    @property
    def transport(self) -> asyncio.BaseTransport:
        return self._writer.transport

    def write(self, data: bytes) -> None:
        if data and not self.closed:
            self._writer.write(_frame(0x2, bytes(data)))

    def writelines(self, data: Iterable[bytes]) -> None:
        self.write(b"".join(data))

    def can_write_eof(self) -> bool:
        return False

    def write_eof(self) -> None:
        raise OSError("a WebSocket has no half-close; close it instead")

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._writer.get_extra_info(name, default)

    async def drain(self) -> None:
        await self._writer.drain()

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            payload = struct.pack("!H", code) + reason.encode("utf-8")[:120]
            self._writer.write(_frame(0x8, payload))

    def close(self) -> None:
        self.send_close(1000)
        self._writer.close()

    def is_closing(self) -> bool:
        return self.closed or self._writer.is_closing()

    async def wait_closed(self) -> None:
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


async def _pump(
    reader: asyncio.StreamReader,
    out: asyncio.StreamReader,
    ws: WebSocketWriter,
    limits: Limits,
) -> None:
    """Read frames from the client and feed binary payloads to ``out``."""
    in_message = False
    try:
        while True:
            b0, b1 = await reader.readexactly(2)
            fin, opcode = b0 & 0x80, b0 & 0x0F
            if b0 & 0x70:
                raise _Close(1002, "reserved bits set")
            if not b1 & 0x80:
                raise _Close(1002, "client frames must be masked")
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", await reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", await reader.readexactly(8))
            if opcode >= 0x8:
                if n > 125 or not fin:
                    raise _Close(1002, "control frames must be final and at most 125 bytes")
            elif n > limits.max_ws_frame:
                raise _Close(1009, f"frame of {n} bytes exceeds {limits.max_ws_frame}")
            mask = await reader.readexactly(4)
            payload = _unmask(mask, await reader.readexactly(n))
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1000
                if len(payload) == 1:
                    code = 1002
                ws.send_close(code if 1000 <= code < 5000 and code not in (1005, 1006) else 1002)
                return
            if opcode == 0x9:
                ws._writer.write(_frame(0xA, payload))
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x1:
                raise _Close(1003, "MQTT over WebSocket needs binary frames, not text")
            if opcode == 0x2:
                if in_message:
                    raise _Close(1002, "a new message began before the last one finished")
            elif opcode == 0x0:
                if not in_message:
                    raise _Close(1002, "continuation frame without a message")
            else:
                raise _Close(1002, f"unknown opcode {opcode}")
            in_message = not fin
            if payload:
                out.feed_data(payload)
    except _Close as exc:
        log.info("closing WebSocket: %s", exc)
        ws.send_close(exc.code, str(exc))
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        out.feed_eof()
        ws.closed = True
        ws._writer.close()


def websocket_stream(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    limits: Limits = Limits(),
) -> tuple[asyncio.StreamReader, WebSocketWriter, asyncio.Task[None]]:
    """After the ``101``: the message byte stream as a ``StreamReader``, a writer that frames
    what is written, and the task reading frames (ends on close or error)."""
    out = asyncio.StreamReader(limit=2**20)
    ws = WebSocketWriter(writer)
    task = asyncio.ensure_future(_pump(reader, out, ws, limits))
    return out, ws, task
