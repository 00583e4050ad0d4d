"""MQTT over WebSocket on the 443 app (hub-protocol §6): the RFC 6455 handshake and framing,
checked with a hand-written client against ``https_app`` and a stand-in hub that echoes the
byte stream it is handed (so what comes back is exactly what ``Hub.handle_stream`` read)."""

from __future__ import annotations

import asyncio
import struct

import pytest

from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.hub.http import start_http_server, websocket_accept
from iotedge_cli.simulator.hub.web import https_app
from tests.simulator.hub.http.fakehub import FakeHub
from tests.simulator.hub.http.helpers import read_response, run, ws_frame, ws_read_frame, ws_upgrade

CONNECT = bytes.fromhex("101000044d5154540402003c0004746573740000")  # an MQTT CONNECT packet


def test_accept_key_matches_rfc6455_example() -> None:
    assert websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


async def _open(config: HubConfig, hub: FakeHub) -> tuple[object, asyncio.StreamReader,
                                                         asyncio.StreamWriter]:  # fmt: skip
    server = await start_http_server(https_app(hub, config), "127.0.0.1", 0)  # type: ignore[arg-type]
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    raw, key = ws_upgrade()
    writer.write(raw)
    status, headers, _ = await read_response(reader)
    assert status == 101
    assert headers["sec-websocket-accept"] == websocket_accept(key)
    assert headers["sec-websocket-protocol"] == "mqtt"
    assert headers["upgrade"].lower() == "websocket"
    return server, reader, writer


def test_binary_frames_carry_the_byte_stream(config: HubConfig) -> None:
    hub = FakeHub()

    async def go() -> None:
        server, reader, writer = await _open(config, hub)
        writer.write(ws_frame(0x2, CONNECT))
        fin, opcode, payload = await ws_read_frame(reader)
        assert (fin, opcode, payload) == (True, 0x2, CONNECT)
        big = bytes(range(256)) * 300  # 76800 bytes: a 64-bit length frame
        writer.write(ws_frame(0x2, big))
        got = b""
        while len(got) < len(big):
            got += (await ws_read_frame(reader))[2]
        assert got == big
        writer.close()
        server.close()  # type: ignore[attr-defined]

    run(go)
    assert hub.streams == ["websocket"]


def test_fragments_and_interleaved_ping(config: HubConfig) -> None:
    async def go() -> None:
        server, reader, writer = await _open(config, FakeHub())
        writer.write(ws_frame(0x2, CONNECT[:5], fin=False))
        writer.write(ws_frame(0x9, b"are you there"))  # a ping between fragments
        assert await ws_read_frame(reader) == (True, 0xA, b"are you there")
        writer.write(ws_frame(0x0, CONNECT[5:12], fin=False))
        writer.write(ws_frame(0x0, CONNECT[12:], fin=True))
        echoed = b""
        while len(echoed) < len(CONNECT):
            echoed += (await ws_read_frame(reader))[2]
        assert echoed == CONNECT
        writer.write(ws_frame(0xA, b"unsolicited pong"))  # ignored
        writer.write(ws_frame(0x2, b"x"))
        assert (await ws_read_frame(reader))[2] == b"x"
        writer.close()
        server.close()  # type: ignore[attr-defined]

    run(go)


def test_close_is_echoed_and_the_stream_ends(config: HubConfig) -> None:
    async def go() -> None:
        server, reader, writer = await _open(config, FakeHub())
        writer.write(ws_frame(0x8, struct.pack("!H", 1000) + b"bye"))
        _fin, opcode, payload = await ws_read_frame(reader)
        assert (opcode, struct.unpack("!H", payload[:2])[0]) == (0x8, 1000)
        assert await reader.read() == b""
        writer.close()
        server.close()  # type: ignore[attr-defined]

    run(go)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (ws_frame(0x2, CONNECT, mask=False), 1002),  # client frames must be masked
        (ws_frame(0x1, b"text"), 1003),  # MQTT needs binary
        (ws_frame(0x2, b"x", rsv=0x40), 1002),  # reserved bits
        (ws_frame(0x0, b"x"), 1002),  # continuation without a start
        (ws_frame(0x9, b"p" * 126), 1002),  # control frame too long
        (ws_frame(0x9, b"p", fin=False), 1002),  # fragmented control frame
        (ws_frame(0x3, b"x"), 1002),  # unknown opcode
        (ws_frame(0x2, b"a", fin=False) + ws_frame(0x2, b"b"), 1002),  # new message mid-way
        (struct.pack("!BBQ", 0x82, 0xFF, 2**40), 1009),  # absurd length
    ],
)
def test_protocol_violations_close_the_websocket(config: HubConfig, frame: bytes,
                                                 code: int) -> None:  # fmt: skip
    async def go() -> int:
        server, reader, writer = await _open(config, FakeHub())
        writer.write(frame)
        while True:
            _, opcode, payload = await ws_read_frame(reader)
            if opcode == 0x8:
                break
        assert await reader.read() == b""
        writer.close()
        server.close()  # type: ignore[attr-defined]
        return int(struct.unpack("!H", payload[:2])[0])

    assert run(go) == code


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"protocol": None}, 400),
        ({"protocol": "chat"}, 400),
        ({"version": "8"}, 426),
        ({"key": "c2hvcnQ="}, 400),
        ({"path": "/$iothub/other"}, 404),
    ],
)
def test_bad_upgrades_are_refused(config: HubConfig, kwargs: dict[str, str],
                                  status: int) -> None:  # fmt: skip
    async def go() -> int:
        server = await start_http_server(https_app(FakeHub(), config), "127.0.0.1", 0)  # type: ignore[arg-type]
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ws_upgrade(**kwargs)[0])  # type: ignore[arg-type]
        got = (await read_response(reader))[0]
        writer.close()
        server.close()
        return got

    assert run(go) == status


def test_percent_encoded_path_and_a_plain_get_without_upgrade(config: HubConfig) -> None:
    async def go() -> tuple[int, int]:
        server = await start_http_server(https_app(FakeHub(), config), "127.0.0.1", 0)  # type: ignore[arg-type]
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ws_upgrade("/%24iothub/websocket")[0])
        upgraded = (await read_response(reader))[0]
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /$iothub/websocket HTTP/1.1\r\nHost: x\r\n\r\n")
        plain = (await read_response(reader))[0]
        writer.close()
        server.close()
        return upgraded, plain

    assert run(go) == (101, 426)


def test_one_bad_websocket_client_does_not_disturb_another(config: HubConfig) -> None:
    async def go() -> None:
        hub = FakeHub()
        server = await start_http_server(https_app(hub, config), "127.0.0.1", 0)  # type: ignore[arg-type]
        port = server.sockets[0].getsockname()[1]
        conns = []
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(ws_upgrade()[0])
            assert (await read_response(reader))[0] == 101
            conns.append((reader, writer))
        (good_r, good_w), (bad_r, bad_w) = conns
        bad_w.write(ws_frame(0x2, b"unmasked", mask=False))
        assert (await ws_read_frame(bad_r))[1] == 0x8
        for i in range(3):
            good_w.write(ws_frame(0x2, bytes([i]) * 10))
            assert (await ws_read_frame(good_r))[2] == bytes([i]) * 10
        good_w.close()
        bad_w.close()
        server.close()

    run(go)
