"""The MQTT 3.1.1 codec: round trips, exact bytes, limits and every kind of malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotedge_cli.simulator.hub.protocol import (
    MAX_MESSAGE_SIZE,
    MAX_PACKET_SIZE,
    Connack,
    ConnackCode,
    Connect,
    Decoder,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    ProtocolError,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
    encode,
)
from iotedge_cli.simulator.hub.protocol.codec import MAX_REMAINING_LENGTH

from .helpers import decode_all, packets

EXAMPLES: list[Packet] = [
    Connect("c"),
    Connect("", clean_session=True, keep_alive=0),
    Connect("dev/mod", clean_session=False, keep_alive=60, username="u", password=b"p"),
    Connect("dev", username="user only"),
    Connect("dev", username="u", password=b""),
    Connect("dev", will=Will("w/t", b"bye", 0, False)),
    Connect("dev", will=Will("w/t", b"", 1, True), username="u", password=b"\x00\xff"),
    Connect("dev", will=Will("w", b"x", 2, False), keep_alive=0xFFFF),
    Connect("dev", protocol_name="MQIsdp", protocol_level=3),
    Connack(),
    Connack(ConnackCode.ACCEPTED, session_present=True),
    *(Connack(code) for code in ConnackCode),
    Publish("t", b"", 0),
    Publish("t", b"", 1, packet_id=1),
    Publish("a/b", b"payload", 0, retain=True),
    Publish("a/b", b"payload", 1, retain=True, dup=True, packet_id=0xFFFF),
    Publish("$iothub/twin/GET/?$rid=1", b" ", 1, packet_id=5),
    Publish("ünïcødé/☃/𝄞", b"\x00\x01", 1, packet_id=300),
    Puback(1),
    Puback(0xFFFF),
    Pubrec(2),
    Pubrel(3),
    Pubcomp(4),
    Subscribe(1, (Subscription("a/#", 1),)),
    Subscribe(7, (Subscription("+", 0), Subscription("a/+/c", 1), Subscription("#", 2))),
    Suback(1, (1,)),
    Suback(2, (0, 1, 2, 0x80)),
    Unsubscribe(3, ("a/#",)),
    Unsubscribe(4, ("x", "+/y", "$iothub/methods/POST/#")),
    Unsuback(5),
    Pingreq(),
    Pingresp(),
    Disconnect(),
]


@pytest.mark.parametrize("packet", EXAMPLES, ids=repr)
def test_round_trip_examples(packet: Packet) -> None:
    assert decode_all(encode(packet)) == [packet]


@settings(max_examples=400, deadline=None)
@given(packets)
def test_round_trip_any_packet(packet: Packet) -> None:
    assert decode_all(encode(packet)) == [packet]


@settings(max_examples=150, deadline=None)
@given(st.lists(packets, min_size=1, max_size=6), st.data())
def test_any_chunking_gives_the_same_packets(stream: list[Packet], data: st.DataObject) -> None:
    wire = b"".join(encode(p) for p in stream)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    decoder = Decoder()
    got: list[Packet] = []
    start = 0
    for cut in [*cuts, len(wire)]:
        decoder.feed(wire[start:cut])
        got.extend(decoder)
        start = cut
    assert got == stream
    assert decoder.buffered == 0


def test_byte_at_a_time() -> None:
    wire = b"".join(encode(p) for p in EXAMPLES)
    decoder = Decoder()
    got: list[Packet] = []
    for i in range(len(wire)):
        decoder.feed(wire[i : i + 1])
        got.extend(decoder)
    assert got == EXAMPLES


@pytest.mark.parametrize(
    ("packet", "wire"),
    [
        (Connack(), "20 02 00 00"),
        (Connack(ConnackCode.ACCEPTED, True), "20 02 01 00"),
        (Connack(ConnackCode.NOT_AUTHORIZED), "20 02 00 05"),
        (Puback(1), "40 02 00 01"),
        (Pubrel(0x102), "62 02 01 02"),
        (Suback(1, (1,)), "90 03 00 01 01"),
        (Unsuback(9), "b0 02 00 09"),
        (Pingreq(), "c0 00"),
        (Pingresp(), "d0 00"),
        (Disconnect(), "e0 00"),
        (Publish("a/b", b"hi", 1, packet_id=10), "32 09 00 03 61 2f 62 00 0a 68 69"),
        (Publish("a", b"", 0, retain=True), "31 03 00 01 61"),
        (Publish("a", b"", 1, dup=True, packet_id=1), "3a 05 00 01 61 00 01"),
        (Subscribe(2, (Subscription("a/#", 1),)), "82 08 00 02 00 03 61 2f 23 01"),
        (Unsubscribe(3, ("a",)), "a2 05 00 03 00 01 61"),
        # The SDK's CONNECT flags per paho's log: u1 p1 wr0 wq0 wf0 c0 k60 -> 0xC0, keep-alive 60.
        (
            Connect("d", clean_session=False, keep_alive=60, username="u", password=b"p"),
            "10 13 00 04 4d 51 54 54 04 c0 00 3c 00 01 64 00 01 75 00 01 70",
        ),
        (
            Connect("d", will=Will("w", b"x", 1, True)),
            "10 13 00 04 4d 51 54 54 04 2e 00 3c 00 01 64 00 01 77 00 01 78",
        ),
    ],
)
def test_exact_wire_bytes(packet: Packet, wire: str) -> None:
    assert encode(packet) == bytes.fromhex(wire)
    assert decode_all(bytes.fromhex(wire)) == [packet]


def _publish_with_remaining_length(n: int) -> Publish:
    # topic "t" (2 + 1 bytes) + packet id (2) + payload
    return Publish("t", b"x" * (n - 5), 1, packet_id=1)


@pytest.mark.parametrize(
    ("remaining", "length_bytes"),
    [
        (127, "7f"),
        (128, "8001"),
        (16383, "ff7f"),
        (16384, "808001"),
        (2097151, "ffff7f"),
        (2097152, "80808001"),
    ],
)
def test_remaining_length_boundaries(remaining: int, length_bytes: str) -> None:
    packet = _publish_with_remaining_length(remaining)
    wire = encode(packet)
    header = bytes.fromhex(length_bytes)
    assert wire[1 : 1 + len(header)] == header
    assert len(wire) == 1 + len(header) + remaining
    assert decode_all(wire, max_packet_size=MAX_REMAINING_LENGTH) == [packet]


def test_largest_remaining_length_header_is_read() -> None:
    decoder = Decoder(max_packet_size=MAX_REMAINING_LENGTH)
    decoder.feed(bytes.fromhex("30 ff ff ff 7f"))  # 268,435,455: legal, just incomplete
    assert decoder.next_packet() is None


def test_five_length_bytes_are_malformed() -> None:
    decoder = Decoder(max_packet_size=MAX_REMAINING_LENGTH)
    decoder.feed(bytes.fromhex("30 ff ff ff ff 01"))
    with pytest.raises(ProtocolError, match="over 4 bytes") as info:
        decoder.next_packet()
    assert info.value.disconnect


def test_oversize_packet_refused_from_its_header_alone() -> None:
    # 256 KiB of message plus the largest PUBLISH header fits; one byte more does not.
    assert MAX_PACKET_SIZE == MAX_MESSAGE_SIZE + 65539
    fits = Publish("t" * 65535, b"x" * MAX_MESSAGE_SIZE, 1, packet_id=1)
    assert decode_all(encode(fits)) == [fits]
    too_big = Publish("t" * 65535, b"x" * (MAX_MESSAGE_SIZE + 1), 1, packet_id=1)
    decoder = Decoder()
    decoder.feed(encode(too_big)[:5])  # only the fixed header: refused before any body arrives
    with pytest.raises(ProtocolError, match=r"packet too large: remaining length 327684 bytes"):
        decoder.next_packet()


def test_a_smaller_limit_is_honoured() -> None:
    decoder = Decoder(max_packet_size=10)
    decoder.feed(encode(Publish("t", b"12345", 1, packet_id=1)))  # remaining 10
    assert decoder.next_packet() == Publish("t", b"12345", 1, packet_id=1)
    decoder.feed(encode(Publish("t", b"123456", 1, packet_id=1)))
    with pytest.raises(ProtocolError, match="exceeds the limit of 10 bytes"):
        decoder.next_packet()


def test_errors_are_sticky() -> None:
    decoder = Decoder()
    decoder.feed(b"\x00\x00")
    with pytest.raises(ProtocolError, match="reserved packet type 0"):
        decoder.next_packet()
    decoder.feed(encode(Pingreq()))
    with pytest.raises(ProtocolError, match="reserved packet type 0"):
        decoder.next_packet()


def _connect_body(flags: int, payload: bytes) -> bytes:
    body = b"\x00\x04MQTT\x04" + bytes((flags,)) + b"\x00\x3c" + payload
    return b"\x10" + bytes((len(body),)) + body


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"\x00\x00", "reserved packet type 0"),
        (b"\xf0\x00", "reserved packet type 15"),
        # UTF-8: U+0000, invalid bytes, an overlong NUL, an encoded surrogate
        (b"\x30\x04\x00\x02a\x00", "topic name contains U+0000"),
        (b"\x30\x04\x00\x02a\xff", "topic name is not valid UTF-8"),
        (b"\x30\x04\x00\x02\xc0\x80", "topic name is not valid UTF-8"),
        (b"\x30\x05\x00\x03\xed\xa0\x80", "topic name is not valid UTF-8"),
        (_connect_body(0x02, b"\x00\x01\x00"), "client id contains U+0000"),
        (_connect_body(0x82, b"\x00\x01c\x00\x02\xc3\x28"), "user name is not valid UTF-8"),
        # PUBLISH
        (b"\x34\x05\x00\x01t\x00\x01", "QoS 2 PUBLISH is not supported"),
        (b"\x36\x05\x00\x01t\x00\x01", "QoS 3 is not a QoS"),
        (b"\x38\x03\x00\x01t", "DUP flag is set on a QoS 0"),
        (b"\x32\x05\x00\x01t\x00\x00", "packet id 0"),
        (b"\x32\x04\x00\x01t\x00", "packet id is cut off"),
        (b"\x30\x02\x00\x00", "topic name is empty"),
        (b"\x30\x03\x00\x01+", "contains a wildcard"),
        (b"\x30\x05\x00\x03a/#", "contains a wildcard"),
        (b"\x30\x03\x00\x05a", "topic name is cut off"),
        (b"\x30\x01\x00", "topic length is cut off"),
        # fixed-header flags and lengths
        (b"\x41\x02\x00\x01", "PUBACK: fixed-header flags"),
        (b"\x40\x03\x00\x01\x00", "PUBACK: remaining length 3"),
        (b"\x40\x02\x00\x00", "PUBACK: packet id 0"),
        (b"\x60\x02\x00\x01", "PUBREL: fixed-header flags"),
        (b"\xc0\x01\x00", "PINGREQ: remaining length 1"),
        (b"\xe2\x00", "DISCONNECT: fixed-header flags"),
        (b"\x21\x02\x00\x00", "CONNACK: fixed-header flags"),
        (b"\x20\x02\x02\x00", "reserved acknowledge flags"),
        (b"\x20\x02\x00\x06", "unknown return code 6"),
        (b"\x20\x02\x01\x05", "session present on a refused"),
        # SUBSCRIBE / SUBACK / UNSUBSCRIBE
        (b"\x80\x06\x00\x01\x00\x01a\x01", "SUBSCRIBE: fixed-header flags"),
        (b"\x82\x02\x00\x01", "SUBSCRIBE: no topic filter"),
        (b"\x82\x01\x00", "SUBSCRIBE: the packet id is cut off"),
        (b"\x82\x06\x00\x00\x00\x01a\x01", "SUBSCRIBE: packet id 0"),
        (b"\x82\x06\x00\x01\x00\x01a\x03", "requested QoS byte 0x03"),
        (b"\x82\x06\x00\x01\x00\x01a\x41", "requested QoS byte 0x41"),
        (b"\x82\x05\x00\x01\x00\x01a", "requested QoS is cut off"),
        (b"\x82\x08\x00\x01\x00\x03#/a\x01", "'#' other than as its whole last level"),
        (b"\x82\x07\x00\x01\x00\x02a+\x01", "'+' that is not a whole level"),
        (b"\x82\x05\x00\x01\x00\x00\x01", "topic filter is empty"),
        (b"\x90\x02\x00\x01", "SUBACK: no return code"),
        (b"\x90\x03\x00\x01\x03", "SUBACK: return code 0x03"),
        (b"\xa2\x02\x00\x01", "UNSUBSCRIBE: no topic filter"),
        (b"\xa0\x05\x00\x01\x00\x01a", "UNSUBSCRIBE: fixed-header flags"),
        (b"\xa2\x06\x00\x01\x00\x02a#", "'#' other than"),
        # CONNECT
        (_connect_body(0x01, b"\x00\x01c"), "reserved connect flag"),
        (_connect_body(0x40, b"\x00\x01c\x00\x01p"), "password flag set without the user name"),
        (_connect_body(0x08, b"\x00\x01c"), "will QoS/retain set without the will flag"),
        (_connect_body(0x20, b"\x00\x01c"), "will QoS/retain set without the will flag"),
        (_connect_body(0x1C, b"\x00\x01c\x00\x01t\x00\x00"), "will QoS 3"),
        (_connect_body(0x04, b"\x00\x01c\x00\x01+\x00\x00"), "bad will topic"),
        (_connect_body(0x04, b"\x00\x01c\x00\x01t\x00\x05ab"), "will message is cut off"),
        (_connect_body(0x02, b"\x00\x01cX"), "1 unexpected trailing bytes"),
        (_connect_body(0x02, b"\x00\x05c"), "client id is cut off"),
        (_connect_body(0x80, b"\x00\x01c"), "user name length is cut off"),
        (b"\x10\x08\x00\x04MQTT\x04\x02", "variable header is cut off"),
        (b"\x10\x01\x00", "protocol name length is cut off"),
    ],
)
def test_malformed_input_raises_protocol_error(wire: bytes, message: str) -> None:
    decoder = Decoder()
    decoder.feed(wire)
    with pytest.raises(ProtocolError) as info:
        decoder.next_packet()
    assert message in info.value.reason
    assert info.value.disconnect is True


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (Publish("a\x00b", b"", 0), "U+0000"),
        (Publish("a/+", b"", 0), "wildcard"),
        (Publish("", b"", 0), "empty"),
        (Publish("t", b"", 2, packet_id=1), "QoS must be 0..1"),
        (Publish("t", b"", 1), "packet id must be 1..65535"),
        (Publish("t", b"", 1, packet_id=0x10000), "packet id must be 1..65535"),
        (Publish("t", b"", 0, packet_id=3), "QoS 0 PUBLISH has no packet id"),
        (Publish("t", b"", 0, dup=True), "no DUP flag"),
        (Publish("x" * 65536, b"", 0), "string too long"),
        (Publish("\ud800", b"", 0), "surrogate"),
        (Connect("c", password=b"p"), "password without a username"),
        (Connect("c", keep_alive=70000), "keep-alive"),
        (Connect("c", will=Will("t", b"", 3)), "will QoS"),
        (Connect("c", will=Will("t/#", b"")), "bad will topic"),
        (Connect("c", username="u", password=b"p" * 65536), "binary field too long"),
        (Connack(ConnackCode.NOT_AUTHORIZED, True), "session_present must be 0"),
        (Subscribe(1, ()), "at least one topic filter"),
        (Subscribe(1, (Subscription("a/#/b"),)), "'#' other than"),
        (Subscribe(1, (Subscription("a", 3),)), "requested QoS"),
        (Suback(1, ()), "at least one return code"),
        (Suback(1, (3,)), "0, 1, 2 or 0x80"),
        (Unsubscribe(1, ()), "at least one topic filter"),
        (Unsubscribe(1, ("a+",)), "'+' that is not a whole level"),
        (Puback(0), "packet id must be 1..65535"),
    ],
)
def test_encoder_refuses_what_it_cannot_send(packet: Packet, message: str) -> None:
    with pytest.raises(ValueError) as info:
        encode(packet)
    assert message in str(info.value)


def test_protocol_error_carries_reason_and_disconnect() -> None:
    err = ProtocolError("why", disconnect=False)
    assert (str(err), err.reason, err.disconnect) == ("why", "why", False)
    assert ProtocolError("x").disconnect is True
