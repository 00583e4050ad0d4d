"""MQTT 3.1.1 wire format: ``encode(packet) -> bytes`` and an incremental :class:`Decoder`.

The decoder takes byte chunks split anywhere and returns whole packets. Every malformed input
raises the one :class:`ProtocolError`; MQTT 3.1.1 §4.8 says a protocol violation closes the
network connection, so every error the decoder raises has ``disconnect=True`` and leaves the
decoder unusable. ``disconnect=False`` marks a local misuse (e.g. the server trying to send a
packet the protocol forbids at that point), where the peer did nothing wrong.

What edgeHub does, and so do we (hub-protocol.md §4, §4.5):

* QoS 2 is not supported: a QoS 2 PUBLISH (and PUBREC/PUBREL/PUBCOMP, which only QoS 2 uses)
  closes the connection; the session grants at most QoS 1.
* The remaining length is capped (edgeHub: ``MaxInboundMessageSize`` 256 KiB). We allow
  256 KiB of message plus the largest PUBLISH variable header (a 65,535-byte topic, its length
  and the packet id), so every message within the 256 KiB routing limit fits whatever its
  properties; the cap is checked as soon as the fixed header is read, before buffering.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import NoReturn

from iotedge_cli.simulator.hub.protocol.packets import (
    SUBACK_FAILURE,
    Connack,
    ConnackCode,
    Connect,
    Disconnect,
    Packet,
    PacketType,
    Pingreq,
    Pingresp,
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
)
from iotedge_cli.simulator.hub.protocol.topics import filter_error, topic_name_error

__all__ = [
    "MAX_MESSAGE_SIZE",
    "MAX_PACKET_SIZE",
    "MAX_REMAINING_LENGTH",
    "Decoder",
    "ProtocolError",
    "encode",
]

MAX_MESSAGE_SIZE = 256 * 1024
"""edgeHub's message size limit (body plus properties), hub-protocol.md §4.5."""

MAX_PACKET_SIZE = MAX_MESSAGE_SIZE + 2 + 65535 + 2
"""Default cap on a packet's remaining length: the message plus the largest PUBLISH header."""

MAX_REMAINING_LENGTH = 268_435_455
"""The largest remaining length four length bytes can express (§2.2.3)."""

_U16 = struct.Struct("!H")
_pack_u16 = _U16.pack
_unpack_u16 = _U16.unpack_from


class ProtocolError(Exception):
    """Malformed or forbidden MQTT input (``disconnect=True``: close the connection)."""

    def __init__(self, reason: str, disconnect: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.disconnect = disconnect


# --------------------------------------------------------------------------- encoding


def _remaining_length(n: int) -> bytes:
    if n < 128:
        return bytes((n,))
    if n > MAX_REMAINING_LENGTH:
        raise ValueError(f"packet too large: remaining length {n} > {MAX_REMAINING_LENGTH}")
    out = bytearray()
    while True:
        digit = n & 0x7F
        n >>= 7
        if n:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def _string(value: str) -> bytes:
    if "\x00" in value:
        raise ValueError(f"MQTT strings may not contain U+0000: {value!r}")
    raw = value.encode("utf-8")  # lone surrogates raise UnicodeEncodeError (a ValueError)
    if len(raw) > 0xFFFF:
        raise ValueError(f"MQTT string too long: {len(raw)} bytes > 65535")
    return _pack_u16(len(raw)) + raw


def _binary(value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError(f"MQTT binary field too long: {len(value)} bytes > 65535")
    return _pack_u16(len(value)) + value


def _packet_id(packet_id: int | None) -> bytes:
    if packet_id is None or not 1 <= packet_id <= 0xFFFF:
        raise ValueError(f"packet id must be 1..65535, got {packet_id!r}")
    return _pack_u16(packet_id)


def _qos(qos: int, what: str, highest: int = 1) -> int:
    if qos not in range(highest + 1):
        raise ValueError(f"{what} QoS must be 0..{highest}, got {qos!r}")
    return qos


def _frame(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _remaining_length(len(body)) + body


def _enc_connect(p: Connect) -> bytes:
    flags = 0x02 if p.clean_session else 0
    payload = _string(p.client_id)
    if p.will is not None:
        flags |= 0x04 | (_qos(p.will.qos, "will", 2) << 3) | (0x20 if p.will.retain else 0)
        if topic_name_error(p.will.topic):
            raise ValueError(f"bad will topic: {topic_name_error(p.will.topic)}")
        payload += _string(p.will.topic) + _binary(p.will.message)
    if p.username is not None:
        flags |= 0x80
        payload += _string(p.username)
    if p.password is not None:
        if p.username is None:
            raise ValueError("MQTT 3.1.1 forbids a password without a username")
        flags |= 0x40
        payload += _binary(p.password)
    if not 0 <= p.keep_alive <= 0xFFFF:
        raise ValueError(f"keep-alive must be 0..65535 s, got {p.keep_alive}")
    if not 0 <= p.protocol_level <= 0xFF:
        raise ValueError(f"protocol level must be 0..255, got {p.protocol_level}")
    header = _string(p.protocol_name) + bytes((p.protocol_level, flags)) + _pack_u16(p.keep_alive)
    return _frame(0x10, header + payload)


def _enc_connack(p: Connack) -> bytes:
    code = int(p.return_code)
    if not 0 <= code <= 0xFF:
        raise ValueError(f"CONNACK return code must be 0..255, got {code}")
    if p.session_present and code:
        raise ValueError("CONNACK session_present must be 0 when the connection is refused")
    return bytes((0x20, 2, 1 if p.session_present else 0, code))


def _enc_publish(p: Publish) -> bytes:
    # The hot path (every message, both ways) is written out flat; encode() calls it directly.
    topic = p.topic
    if not topic or "+" in topic or "#" in topic or "\x00" in topic:
        raise ValueError(
            topic_name_error(topic) or f"MQTT strings may not contain U+0000: {topic!r}"
        )
    raw = topic.encode("utf-8")
    n = len(raw)
    if n > 0xFFFF:
        raise ValueError(f"MQTT string too long: {n} bytes > 65535")
    qos = p.qos
    if qos == 1:
        packet_id = p.packet_id
        if packet_id is None or not 0 < packet_id <= 0xFFFF:
            raise ValueError(f"packet id must be 1..65535, got {packet_id!r}")
        first = 0x32 | (0x08 if p.dup else 0) | (0x01 if p.retain else 0)
        size = n + 4 + len(p.payload)
        head = bytes((first, size)) if size < 128 else bytes((first,)) + _remaining_length(size)
        return b"".join((head, _pack_u16(n), raw, _pack_u16(packet_id), p.payload))
    if qos != 0:
        raise ValueError(f"PUBLISH QoS must be 0..1, got {qos!r}")
    if p.packet_id is not None or p.dup:
        raise ValueError("a QoS 0 PUBLISH has no packet id and no DUP flag")
    size = n + 2 + len(p.payload)
    return b"".join(
        (
            bytes((0x31 if p.retain else 0x30,)),
            _remaining_length(size),
            _pack_u16(n),
            raw,
            p.payload,
        )
    )


def _enc_ack(first: int) -> Callable[[Puback | Pubrec | Pubrel | Pubcomp | Unsuback], bytes]:
    def enc(p: Puback | Pubrec | Pubrel | Pubcomp | Unsuback) -> bytes:
        return bytes((first, 2)) + _packet_id(p.packet_id)

    return enc


def _enc_subscribe(p: Subscribe) -> bytes:
    if not p.subscriptions:
        raise ValueError("a SUBSCRIBE needs at least one topic filter")
    body = _packet_id(p.packet_id)
    for sub in p.subscriptions:
        reason = filter_error(sub.topic_filter)
        if reason:
            raise ValueError(reason)
        body += _string(sub.topic_filter) + bytes((_qos(sub.qos, "requested", 2),))
    return _frame(0x82, body)


def _enc_suback(p: Suback) -> bytes:
    if not p.return_codes:
        raise ValueError("a SUBACK needs at least one return code")
    for code in p.return_codes:
        if code not in (0, 1, 2, SUBACK_FAILURE):
            raise ValueError(f"SUBACK return code must be 0, 1, 2 or 0x80, got {code!r}")
    return _frame(0x90, _packet_id(p.packet_id) + bytes(p.return_codes))


def _enc_unsubscribe(p: Unsubscribe) -> bytes:
    if not p.topic_filters:
        raise ValueError("an UNSUBSCRIBE needs at least one topic filter")
    body = _packet_id(p.packet_id)
    for topic_filter in p.topic_filters:
        reason = filter_error(topic_filter)
        if reason:
            raise ValueError(reason)
        body += _string(topic_filter)
    return _frame(0xA2, body)


_PINGREQ = b"\xc0\x00"
_PINGRESP = b"\xd0\x00"
_DISCONNECT = b"\xe0\x00"

_ENCODERS: dict[type, Callable[[object], bytes]] = {
    Connect: _enc_connect,  # type: ignore[dict-item]
    Connack: _enc_connack,  # type: ignore[dict-item]
    Publish: _enc_publish,  # type: ignore[dict-item]
    Puback: _enc_ack(0x40),  # type: ignore[dict-item]
    Pubrec: _enc_ack(0x50),  # type: ignore[dict-item]
    Pubrel: _enc_ack(0x62),  # type: ignore[dict-item]
    Pubcomp: _enc_ack(0x70),  # type: ignore[dict-item]
    Subscribe: _enc_subscribe,  # type: ignore[dict-item]
    Suback: _enc_suback,  # type: ignore[dict-item]
    Unsubscribe: _enc_unsubscribe,  # type: ignore[dict-item]
    Unsuback: _enc_ack(0xB0),  # type: ignore[dict-item]
    Pingreq: lambda _p: _PINGREQ,
    Pingresp: lambda _p: _PINGRESP,
    Disconnect: lambda _p: _DISCONNECT,
}


def encode(packet: Packet) -> bytes:
    """The wire bytes of ``packet``; ``ValueError`` if it cannot be sent as it is."""
    if type(packet) is Publish:
        return _enc_publish(packet)
    if type(packet) is Puback and 0 < packet.packet_id <= 0xFFFF:
        return b"\x40\x02" + _pack_u16(packet.packet_id)
    return _ENCODERS[type(packet)](packet)


# --------------------------------------------------------------------------- decoding


def _read_string(body: bytes, pos: int, what: str) -> tuple[str, int]:
    if pos + 2 > len(body):
        raise ProtocolError(f"malformed packet: the {what} length is cut off")
    (n,) = _unpack_u16(body, pos)
    end = pos + 2 + n
    if end > len(body):
        raise ProtocolError(f"malformed packet: the {what} is cut off ({n} bytes announced)")
    try:
        value = body[pos + 2 : end].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"malformed packet: the {what} is not valid UTF-8") from None
    if "\x00" in value:
        raise ProtocolError(f"malformed packet: the {what} contains U+0000")
    return value, end


def _read_binary(body: bytes, pos: int, what: str) -> tuple[bytes, int]:
    if pos + 2 > len(body):
        raise ProtocolError(f"malformed packet: the {what} length is cut off")
    (n,) = _unpack_u16(body, pos)
    end = pos + 2 + n
    if end > len(body):
        raise ProtocolError(f"malformed packet: the {what} is cut off ({n} bytes announced)")
    return body[pos + 2 : end], end


def _fixed_flags(name: str, flags: int, expected: int) -> None:
    if flags != expected:
        raise ProtocolError(
            f"malformed {name}: fixed-header flags are {flags:#06b}, must be {expected:#06b}"
        )


def _id_only(name: str, flags: int, body: bytes, expected_flags: int = 0) -> int:
    _fixed_flags(name, flags, expected_flags)
    if len(body) != 2:
        raise ProtocolError(f"malformed {name}: remaining length {len(body)}, must be 2")
    packet_id = (body[0] << 8) | body[1]
    if not packet_id:
        raise ProtocolError(f"malformed {name}: packet id 0 is not allowed")
    return packet_id


def _leading_id(name: str, flags: int, body: bytes, expected_flags: int) -> int:
    _fixed_flags(name, flags, expected_flags)
    if len(body) < 2:
        raise ProtocolError(f"malformed {name}: the packet id is cut off")
    packet_id = (body[0] << 8) | body[1]
    if not packet_id:
        raise ProtocolError(f"malformed {name}: packet id 0 is not allowed")
    return packet_id


def _dec_connect(flags: int, body: bytes) -> Connect:
    _fixed_flags("CONNECT", flags, 0)
    name, pos = _read_string(body, 0, "protocol name")
    if pos + 4 > len(body):
        raise ProtocolError("malformed CONNECT: the variable header is cut off")
    level, cflags = body[pos], body[pos + 1]
    (keep_alive,) = _unpack_u16(body, pos + 2)
    pos += 4
    if cflags & 0x01:
        raise ProtocolError("malformed CONNECT: the reserved connect flag is set")
    client_id, pos = _read_string(body, pos, "client id")
    will = None
    will_qos = (cflags >> 3) & 0x03
    if cflags & 0x04:
        if will_qos == 3:
            raise ProtocolError("malformed CONNECT: will QoS 3 is not a QoS")
        topic, pos = _read_string(body, pos, "will topic")
        reason = topic_name_error(topic)
        if reason:
            raise ProtocolError(f"malformed CONNECT: bad will topic: {reason}")
        message, pos = _read_binary(body, pos, "will message")
        will = Will(topic, message, will_qos, bool(cflags & 0x20))
    elif cflags & 0x38:
        raise ProtocolError("malformed CONNECT: will QoS/retain set without the will flag")
    username = password = None
    if cflags & 0x80:
        username, pos = _read_string(body, pos, "user name")
    if cflags & 0x40:
        if username is None:
            raise ProtocolError("malformed CONNECT: password flag set without the user name flag")
        password, pos = _read_binary(body, pos, "password")
    if pos != len(body):
        raise ProtocolError(f"malformed CONNECT: {len(body) - pos} unexpected trailing bytes")
    return Connect(
        client_id,
        bool(cflags & 0x02),
        keep_alive,
        username,
        password,
        will,
        name,
        level,
    )


def _dec_connack(flags: int, body: bytes) -> Connack:
    _fixed_flags("CONNACK", flags, 0)
    if len(body) != 2:
        raise ProtocolError(f"malformed CONNACK: remaining length {len(body)}, must be 2")
    ack_flags, code = body[0], body[1]
    if ack_flags & 0xFE:
        raise ProtocolError("malformed CONNACK: reserved acknowledge flags are set")
    if code > 5:
        raise ProtocolError(f"malformed CONNACK: unknown return code {code}")
    if code and ack_flags:
        raise ProtocolError("malformed CONNACK: session present on a refused connection")
    return Connack(ConnackCode(code), bool(ack_flags))


def _dec_publish(flags: int, body: bytes) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("malformed PUBLISH: QoS 3 is not a QoS")
    if qos == 2:
        raise ProtocolError("QoS 2 PUBLISH is not supported (edgeHub closes the connection)")
    n = len(body)
    if n < 2:
        raise ProtocolError("malformed PUBLISH: the topic length is cut off")
    end = 2 + ((body[0] << 8) | body[1])
    if end > n:
        raise ProtocolError("malformed PUBLISH: the topic name is cut off")
    try:
        topic = body[2:end].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("malformed PUBLISH: the topic name is not valid UTF-8") from None
    if not topic or "+" in topic or "#" in topic or "\x00" in topic:
        reason = topic_name_error(topic) or "the topic name contains U+0000"
        raise ProtocolError(f"malformed PUBLISH: {reason}")
    if qos:
        if end + 2 > n:
            raise ProtocolError("malformed PUBLISH: the packet id is cut off")
        packet_id = (body[end] << 8) | body[end + 1]
        if not packet_id:
            raise ProtocolError("malformed PUBLISH: packet id 0 is not allowed")
        return Publish(topic, body[end + 2 :], qos, bool(flags & 1), bool(flags & 8), packet_id)
    if flags & 8:
        raise ProtocolError("malformed PUBLISH: the DUP flag is set on a QoS 0 message")
    return Publish(topic, body[end:], 0, bool(flags & 1), False, None)


def _dec_puback(flags: int, body: bytes) -> Puback:
    if flags == 0 and len(body) == 2:  # the hot path: skip the checks' function calls
        packet_id = (body[0] << 8) | body[1]
        if packet_id:
            return Puback(packet_id)
    return Puback(_id_only("PUBACK", flags, body))


def _dec_subscribe(flags: int, body: bytes) -> Subscribe:
    packet_id = _leading_id("SUBSCRIBE", flags, body, 0x02)
    pos, subs = 2, []
    while pos < len(body):
        topic_filter, pos = _read_string(body, pos, "topic filter")
        reason = filter_error(topic_filter)
        if reason:
            raise ProtocolError(f"malformed SUBSCRIBE: {reason}")
        if pos >= len(body):
            raise ProtocolError("malformed SUBSCRIBE: the requested QoS is cut off")
        requested = body[pos]
        pos += 1
        if requested > 2:
            raise ProtocolError(f"malformed SUBSCRIBE: requested QoS byte {requested:#04x}")
        subs.append(Subscription(topic_filter, requested))
    if not subs:
        raise ProtocolError("malformed SUBSCRIBE: no topic filter")
    return Subscribe(packet_id, tuple(subs))


def _dec_suback(flags: int, body: bytes) -> Suback:
    packet_id = _leading_id("SUBACK", flags, body, 0)
    codes = tuple(body[2:])
    if not codes:
        raise ProtocolError("malformed SUBACK: no return code")
    for code in codes:
        if code not in (0, 1, 2, SUBACK_FAILURE):
            raise ProtocolError(f"malformed SUBACK: return code {code:#04x}")
    return Suback(packet_id, codes)


def _dec_unsubscribe(flags: int, body: bytes) -> Unsubscribe:
    packet_id = _leading_id("UNSUBSCRIBE", flags, body, 0x02)
    pos, filters = 2, []
    while pos < len(body):
        topic_filter, pos = _read_string(body, pos, "topic filter")
        reason = filter_error(topic_filter)
        if reason:
            raise ProtocolError(f"malformed UNSUBSCRIBE: {reason}")
        filters.append(topic_filter)
    if not filters:
        raise ProtocolError("malformed UNSUBSCRIBE: no topic filter")
    return Unsubscribe(packet_id, tuple(filters))


def _empty(name: str, packet: Pingreq | Pingresp | Disconnect) -> Callable[[int, bytes], Packet]:
    def dec(flags: int, body: bytes) -> Packet:
        _fixed_flags(name, flags, 0)
        if body:
            raise ProtocolError(f"malformed {name}: remaining length {len(body)}, must be 0")
        return packet

    return dec


_DECODERS: dict[int, Callable[[int, bytes], Packet]] = {
    PacketType.CONNECT: _dec_connect,
    PacketType.CONNACK: _dec_connack,
    PacketType.PUBLISH: _dec_publish,
    PacketType.PUBACK: _dec_puback,
    PacketType.PUBREC: lambda f, b: Pubrec(_id_only("PUBREC", f, b)),
    PacketType.PUBREL: lambda f, b: Pubrel(_id_only("PUBREL", f, b, 0x02)),
    PacketType.PUBCOMP: lambda f, b: Pubcomp(_id_only("PUBCOMP", f, b)),
    PacketType.SUBSCRIBE: _dec_subscribe,
    PacketType.SUBACK: _dec_suback,
    PacketType.UNSUBSCRIBE: _dec_unsubscribe,
    PacketType.UNSUBACK: lambda f, b: Unsuback(_id_only("UNSUBACK", f, b)),
    PacketType.PINGREQ: _empty("PINGREQ", Pingreq()),
    PacketType.PINGRESP: _empty("PINGRESP", Pingresp()),
    PacketType.DISCONNECT: _empty("DISCONNECT", Disconnect()),
}


def _decode_body(first: int, body: bytes) -> Packet:
    if first == 0x40 and len(body) == 2 and (body[0] or body[1]):  # PUBACK, the hot path
        return Puback((body[0] << 8) | body[1])
    dec = _DECODERS.get(first >> 4)
    if dec is None:
        raise ProtocolError(f"malformed packet: reserved packet type {first >> 4}")
    return dec(first & 0x0F, body)


class Decoder:
    """Turns a byte stream, fed in chunks split anywhere, into packets.

    ``feed(data)`` buffers; ``next_packet()`` returns the next whole packet or ``None`` when
    more bytes are needed, and raises :class:`ProtocolError` on malformed input (after which
    the decoder raises the same error forever). The buffer never holds more than the bytes fed
    and not yet consumed; a packet over ``max_packet_size`` is refused as soon as its length is
    known, before its body is buffered.
    """

    __slots__ = ("_buf", "_error", "_pos", "max_packet_size")

    def __init__(self, max_packet_size: int = MAX_PACKET_SIZE) -> None:
        self.max_packet_size = max_packet_size
        self._buf = bytearray()
        self._pos = 0
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet returned as packets."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next_packet(self) -> Packet | None:
        if self._error is not None:
            raise self._error
        buf, pos = self._buf, self._pos
        avail = len(buf) - pos
        if avail < 2:
            return None
        length = buf[pos + 1]
        header = 2
        if length & 0x80:
            length &= 0x7F
            shift = 7
            while True:
                if header == 5:
                    return self._fail("malformed packet: the remaining length has over 4 bytes")
                if avail <= header:
                    return None
                digit = buf[pos + header]
                header += 1
                length |= (digit & 0x7F) << shift
                if not digit & 0x80:
                    break
                shift += 7
        if length > self.max_packet_size:
            return self._fail(
                f"packet too large: remaining length {length} bytes exceeds the limit of "
                f"{self.max_packet_size} bytes"
            )
        end = pos + header + length
        if end > len(buf):
            return None
        first = buf[pos]
        body = bytes(buf[pos + header : end])
        self._pos = end
        try:
            return _decode_body(first, body)
        except ProtocolError as exc:
            return self._fail(exc.reason)

    def _fail(self, reason: str) -> NoReturn:
        self._error = ProtocolError(reason, disconnect=True)
        raise self._error

    def __iter__(self) -> Iterator[Packet]:
        while (packet := self.next_packet()) is not None:
            yield packet
