"""Raw HTTP and WebSocket clients for the HTTP-layer tests (written by hand so they can also
send what well-behaved libraries never would)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import struct
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro_fn: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    async def main() -> T:
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(main())


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def exchange(
    port: int,
    raw: bytes,
    *,
    host: str = "127.0.0.1",
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` on a fresh connection and read one response."""
    reader, writer = await asyncio.open_connection(
        host, port, ssl=tls, server_hostname=server_hostname if tls else None
    )
    try:
        writer.write(raw)
        await writer.drain()
        return await read_response(reader)
    finally:
        writer.close()


def http_request(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
) -> bytes:
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if data or method in ("POST", "PATCH", "PUT"):
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def call(
    port: int, method: str, path: str, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    """One JSON request; returns (status, decoded JSON body or None)."""
    headers = kwargs.pop("headers", None)
    status, _, raw = await exchange(
        port, http_request(method, path, body, headers=headers), **kwargs
    )
    return status, (json.loads(raw) if raw else None)


# --- WebSocket client side ------------------------------------------------------------------


def ws_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True,
             rsv: int = 0) -> bytes:  # fmt: skip
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", first, mbit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def ws_read_frame(reader: asyncio.StreamReader) -> tuple[bool, int, bytes]:
    b0, b1 = await reader.readexactly(2)
    assert not b1 & 0x80, "server frames must not be masked"
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    return bool(b0 & 0x80), b0 & 0x0F, await reader.readexactly(n)


def ws_upgrade(path: str = "/$iothub/websocket", *, key: str | None = None,
               protocol: str | None = "mqtt", version: str = "13",
               host: str = "127.0.0.1") -> tuple[bytes, str]:  # fmt: skip
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:443", "Upgrade: websocket",
             "Connection: Upgrade", f"Origin: https://{host}:443", f"Sec-WebSocket-Key: {key}",
             f"Sec-WebSocket-Version: {version}"]  # fmt: skip
    if protocol is not None:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key
