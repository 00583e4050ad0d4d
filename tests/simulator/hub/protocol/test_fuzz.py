"""Fuzzing: ≥ 100k random and mutated packets into the Decoder and into ServerConnection.

Only ProtocolError (decoder) or ConnectionClosed (connection) may come out: never another
exception, never a loop that does not consume input, and the buffer stays bounded. The volume
comes from a seeded ``random.Random`` loop (fast, reproducible); a smaller hypothesis test
adds shrinking for whatever it finds.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from iotedge_cli.simulator.hub.protocol import (
    Connack,
    ConnackCode,
    Connect,
    ConnectionClosed,
    ConnectionState,
    ConnectRequested,
    Decoder,
    Disconnect,
    Event,
    Message,
    MessageReceived,
    Packet,
    Pingreq,
    ProtocolError,
    Puback,
    Publish,
    Pubrel,
    ServerConnection,
    SessionState,
    Suback,
    Subscribe,
    SubscribeRequested,
    Subscription,
    Unsubscribe,
    Will,
    encode,
)

LIMIT = 4096  # a small packet cap so oversize paths are hit often
ITERATIONS = 100_000

SEEDS: list[Packet] = [
    Connect(
        "edge-dev-1/filter", False, 60, "host/edge-dev-1/filter/?api-version=2019-10-01", b"sas"
    ),
    Connect("c", will=Will("w/t", b"bye", 1, True)),
    Connack(ConnackCode.ACCEPTED, True),
    Publish("devices/d/modules/m/messages/events/%24.on=out", b'{"t": 21.5}', 1, packet_id=7),
    Publish("$iothub/twin/GET/?$rid=1", b" ", 1, packet_id=2),
    Publish("a", b"", 0),
    Publish("x/y", b"z" * 300, 1, dup=True, retain=True, packet_id=0xFFFF),
    Puback(1),
    Pubrel(2),
    Subscribe(1, (Subscription("devices/d/modules/m/inputs/#", 1), Subscription("+/a", 2))),
    Suback(3, (1, 0x80)),
    Unsubscribe(4, ("a/#", "b")),
    Pingreq(),
    Disconnect(),
]
SEED_BYTES = [encode(p) for p in SEEDS]
CONNECT = SEED_BYTES[0]
AFTER_CONNECT = SEED_BYTES[2:]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        digit, n = n & 0x7F, n >> 7
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mutate(rng: random.Random) -> bytes:
    """One fuzz input: random bytes, or valid packets with one of several mutations."""
    kind = rng.randrange(8)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 64))
    data = bytearray(b"".join(rng.choices(AFTER_CONNECT, k=rng.randrange(1, 4))))
    if kind == 1:  # flip bytes
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 2:  # flip bits
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 3:  # truncate
        del data[rng.randrange(len(data)) :]
    elif kind == 4:  # extend
        data += rng.randbytes(rng.randrange(1, 32))
    elif kind == 5:  # a random remaining length, including 5-byte and oversize ones
        length = rng.choice([0, 1, 2, 127, 128, LIMIT, LIMIT + 1, 2**21, 2**28 - 1, 2**28])
        data = bytearray(bytes((data[0],)) + _varint(length) + data[2:])
    elif kind == 6:  # a random first byte (type and flags)
        data[0] = rng.randrange(256)
    else:  # splice two packets at random points
        other = rng.choice(AFTER_CONNECT)
        data = data[: rng.randrange(len(data))] + other[rng.randrange(len(other)) :]
    return bytes(data)


def chunks(rng: random.Random, data: bytes) -> list[bytes]:
    if rng.random() < 0.5:
        return [data]
    cuts = sorted(rng.sample(range(len(data) + 1), min(3, len(data) + 1)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def drive_decoder(pieces: list[bytes]) -> None:
    decoder = Decoder(LIMIT)
    fed = 0
    try:
        for piece in pieces:
            decoder.feed(piece)
            fed += len(piece)
            count = 0
            while decoder.next_packet() is not None:
                count += 1
                assert count <= fed  # each packet consumes at least 2 bytes: no endless loop
            # what stays buffered is at most one incomplete packet within the cap
            assert decoder.buffered <= LIMIT + 5
    except ProtocolError as exc:
        assert exc.disconnect is True
        assert exc.reason


def drive_server(pieces: list[bytes], connect_first: bool) -> None:
    server = ServerConnection(0.0, max_packet_size=LIMIT, max_inflight=4)
    if connect_first:
        assert server.receive_data(CONNECT, 0.0) == [ConnectRequested(SEEDS[0])]  # type: ignore[arg-type]
        session = SessionState("edge-dev-1/filter", inflight={5: Message("t", b"x")})
        server.accept(session, 0.0)
        server.publish(Message("devices/d/modules/m/inputs/in", b"p"), 0.0)
    now = 0.0
    for piece in pieces:
        now += 1.0
        events: list[Event] = server.receive_data(piece, now)
        for event in events:  # answer what the shell would answer
            if isinstance(event, SubscribeRequested):
                server.suback(event.packet_id)
            elif isinstance(event, MessageReceived) and event.publish.qos:
                server.ack(event.publish.packet_id or 0)
            elif isinstance(event, ConnectRequested):
                server.accept(None, now)
        server.data_to_send()
        if server.state is ConnectionState.CLOSED:
            assert any(isinstance(e, ConnectionClosed) for e in events) or not events
            assert server.receive_data(b"\xc0\x00", now) == []
            break
    server.tick(now + 1e6)


def test_100k_random_and_mutated_inputs() -> None:
    rng = random.Random(20240611)
    for i in range(ITERATIONS):
        data = mutate(rng)
        pieces = chunks(rng, data)
        drive_decoder(pieces)
        drive_server(pieces, connect_first=i % 4 != 0)


def test_oversize_is_refused_without_buffering() -> None:
    decoder = Decoder(LIMIT)
    decoder.feed(b"\x30" + _varint(LIMIT + 1))
    try:
        decoder.next_packet()
    except ProtocolError as exc:
        assert "packet too large" in exc.reason
    else:  # pragma: no cover
        raise AssertionError("oversize packet accepted")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.tuples(st.sampled_from(SEED_BYTES), st.binary(max_size=8), st.integers(0, 400)).map(
            lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
        ),
    ),
    st.booleans(),
)
def test_hypothesis_inputs(data: bytes, connect_first: bool) -> None:
    drive_decoder([data])
    drive_server([data], connect_first)
