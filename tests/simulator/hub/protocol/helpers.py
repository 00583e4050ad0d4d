"""Shared test helpers: hypothesis strategies for packets and an in-memory client for a server."""

from __future__ import annotations

from hypothesis import strategies as st

from iotedge_cli.simulator.hub.protocol import (
    MAX_PACKET_SIZE,
    Connack,
    ConnackCode,
    Connect,
    Decoder,
    Disconnect,
    Event,
    Packet,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    ServerConnection,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
    encode,
)

# MQTT UTF-8 strings: no U+0000, no surrogates (they cannot be UTF-8 encoded).
_chars = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
mqtt_text = st.text(_chars, max_size=30)
_level = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00/+#"), max_size=8
)
topic_names = st.lists(_level, min_size=1, max_size=5).map("/".join).filter(bool)
topic_filters = (
    st.lists(st.one_of(_level, st.just("+")), min_size=1, max_size=5)
    .flatmap(lambda ls: st.sampled_from([ls, [*ls, "#"]]))
    .map("/".join)
    .filter(bool)
)
packet_ids = st.integers(1, 0xFFFF)
binary = st.binary(max_size=64)

wills = st.builds(Will, topic_names, binary, st.integers(0, 2), st.booleans())


@st.composite
def connects(draw: st.DrawFn) -> Connect:
    username = draw(st.none() | mqtt_text)
    password = None if username is None else draw(st.none() | binary)
    return Connect(
        draw(mqtt_text),
        draw(st.booleans()),
        draw(st.integers(0, 0xFFFF)),
        username,
        password,
        draw(st.none() | wills),
    )


@st.composite
def publishes(draw: st.DrawFn) -> Publish:
    qos = draw(st.integers(0, 1))
    return Publish(
        draw(topic_names),
        draw(st.binary(max_size=300)),
        qos,
        draw(st.booleans()),
        draw(st.booleans()) if qos else False,
        draw(packet_ids) if qos else None,
    )


@st.composite
def connacks(draw: st.DrawFn) -> Connack:
    code = draw(st.sampled_from(list(ConnackCode)))
    return Connack(code, draw(st.booleans()) if code is ConnackCode.ACCEPTED else False)


packets: st.SearchStrategy[Packet] = st.one_of(
    connects(),
    connacks(),
    publishes(),
    st.builds(Puback, packet_ids),
    st.builds(Pubrec, packet_ids),
    st.builds(Pubrel, packet_ids),
    st.builds(Pubcomp, packet_ids),
    st.builds(
        Subscribe,
        packet_ids,
        st.lists(
            st.builds(Subscription, topic_filters, st.integers(0, 2)), min_size=1, max_size=4
        ).map(tuple),
    ),
    st.builds(
        Suback,
        packet_ids,
        st.lists(st.sampled_from([0, 1, 2, 0x80]), min_size=1, max_size=4).map(tuple),
    ),
    st.builds(Unsubscribe, packet_ids, st.lists(topic_filters, min_size=1, max_size=4).map(tuple)),
    st.builds(Unsuback, packet_ids),
    st.just(Pingreq()),
    st.just(Pingresp()),
    st.just(Disconnect()),
)


def decode_all(data: bytes, max_packet_size: int = MAX_PACKET_SIZE) -> list[Packet]:
    decoder = Decoder(max_packet_size)
    decoder.feed(data)
    out = list(decoder)
    assert decoder.buffered == 0, "trailing bytes left in the decoder"
    return out


class Pair:
    """A :class:`ServerConnection` and the client side of it, joined in memory."""

    def __init__(self, now: float = 0.0, **options: int | float) -> None:
        self.server = ServerConnection(now, **options)  # type: ignore[arg-type]
        self._decoder = Decoder()

    def send(self, *packets: Packet, now: float = 0.0) -> list[Event]:
        """The client sends ``packets``; returns the server's events."""
        return self.server.receive_data(b"".join(encode(p) for p in packets), now)

    def received(self, data: bytes | None = None) -> list[Packet]:
        """What the client gets from ``data`` (default: the server's pending output)."""
        self._decoder.feed(self.server.data_to_send() if data is None else data)
        return list(self._decoder)
