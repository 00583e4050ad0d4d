"""ServerConnection driven by an in-memory client: connect, subscribe, QoS 0/1 both ways,
keep-alive with a passed-in clock, and sessions that survive reconnects (serialised and back)."""

from __future__ import annotations

import json
from collections import deque

import pytest

from iotedge_cli.simulator.hub.protocol import (
    Connack,
    ConnackCode,
    Connect,
    ConnectionClosed,
    ConnectionState,
    ConnectRequested,
    Disconnect,
    Message,
    MessageAcknowledged,
    MessageReceived,
    Pingreq,
    Pingresp,
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
    Unsuback,
    Unsubscribe,
    Unsubscribed,
    encode,
)

from .helpers import Pair

MODULE = Connect(
    "edge-dev-1/filter", clean_session=False, keep_alive=60, username="u", password=b"p"
)


def connected(
    session: SessionState | None = None, connect: Connect = MODULE, now: float = 0.0, **options: int
) -> tuple[Pair, list[object]]:
    """A pair whose server accepted ``connect``; returns it and what the client received."""
    pair = Pair(now, **options)
    assert pair.send(connect, now=now) == [ConnectRequested(connect)]
    assert pair.server.state is ConnectionState.AWAIT_ACCEPT
    got = pair.received(pair.server.accept(session, now))
    assert pair.server.state.value == "connected"
    return pair, list(got)


# ---------------------------------------------------------------------- connect


def test_connect_clean_session_0_new_session() -> None:
    pair, got = connected()
    assert got == [Connack(ConnackCode.ACCEPTED, session_present=False)]
    assert pair.server.client_id == "edge-dev-1/filter"
    assert pair.server.session == SessionState("edge-dev-1/filter")
    assert pair.server.clean_session is False


def test_connect_clean_session_0_resumes_stored_session() -> None:
    stored = SessionState("edge-dev-1/filter", {"devices/edge-dev-1/modules/filter/inputs/#": 1})
    pair, got = connected(stored)
    assert got == [Connack(ConnackCode.ACCEPTED, session_present=True)]
    assert pair.server.session is stored


def test_connect_clean_session_1_discards_stored_session() -> None:
    stored = SessionState("c", {"a/#": 1}, queue=deque([Message("a/b")]))
    pair, got = connected(stored, Connect("c", clean_session=True))
    assert got == [Connack(ConnackCode.ACCEPTED, session_present=False)]
    assert pair.server.session == SessionState("c")
    assert pair.server.clean_session is True


def test_refuse_sends_the_code_and_closes() -> None:
    pair = Pair()
    pair.send(MODULE)
    assert pair.received(pair.server.refuse(ConnackCode.NOT_AUTHORIZED)) == [
        Connack(ConnackCode.NOT_AUTHORIZED)
    ]
    assert pair.server.state is ConnectionState.CLOSED
    assert pair.server.close_reason == "connection refused: CONNACK 5 (not_authorized)"
    assert pair.send(Pingreq()) == []


def test_accept_with_another_clients_session_is_a_local_error() -> None:
    pair = Pair()
    pair.send(MODULE)
    with pytest.raises(ProtocolError, match="with the session of 'other'") as info:
        pair.server.accept(SessionState("other"), 0.0)
    assert info.value.disconnect is False


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (Publish("t", b"", 0), "the first packet must be CONNECT, got PUBLISH"),
        (Puback(1), "the first packet must be CONNECT, got PUBACK"),
        (Pingreq(), "the first packet must be CONNECT, got PINGREQ"),
        (Subscribe(1, (Subscription("a"),)), "the first packet must be CONNECT, got SUBSCRIBE"),
    ],
)
def test_connect_must_come_first(first: object, reason: str) -> None:
    pair = Pair()
    assert pair.send(first) == [ConnectionClosed(reason)]  # type: ignore[arg-type]
    assert pair.server.data_to_send() == b""


def test_wrong_protocol_level_gets_connack_1() -> None:
    pair = Pair()
    events = pair.send(Connect("c", protocol_name="MQTT", protocol_level=3))
    assert events == [ConnectionClosed("protocol level 3 (only 4, MQTT 3.1.1)")]
    assert pair.received() == [Connack(ConnackCode.UNACCEPTABLE_PROTOCOL_VERSION)]


def test_unknown_protocol_name_closes_without_connack() -> None:
    pair = Pair()
    assert pair.send(Connect("c", protocol_name="MQIsdp", protocol_level=3)) == [
        ConnectionClosed("unknown protocol name 'MQIsdp'")
    ]
    assert pair.received() == []


def test_empty_client_id_needs_clean_session() -> None:
    pair = Pair()
    assert pair.send(Connect("", clean_session=False)) == [
        ConnectionClosed("an empty client id needs clean_session=1")
    ]
    assert pair.received() == [Connack(ConnackCode.IDENTIFIER_REJECTED)]
    assert Pair().send(Connect("", clean_session=True)) == [ConnectRequested(Connect(""))]


def test_second_connect_closes() -> None:
    pair, _ = connected()
    assert pair.send(MODULE) == [ConnectionClosed("a second CONNECT on the same connection")]


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (Pubrel(1), "unexpected PUBREL from a client (QoS 2 is not supported)"),
        (Connack(), "unexpected CONNACK from a client (server-only packet)"),
        (Suback(1, (1,)), "unexpected SUBACK from a client (server-only packet)"),
        (Pingresp(), "unexpected PINGRESP from a client (server-only packet)"),
    ],
)
def test_packets_a_client_may_not_send(packet: object, reason: str) -> None:
    pair, _ = connected()
    assert pair.send(packet) == [ConnectionClosed(reason)]  # type: ignore[arg-type]


def test_qos2_publish_closes_the_connection() -> None:
    pair, _ = connected()
    events = pair.server.receive_data(b"\x34\x05\x00\x01t\x00\x01", 1.0)
    assert events == [
        ConnectionClosed("QoS 2 PUBLISH is not supported (edgeHub closes the connection)")
    ]
    assert pair.server.state is ConnectionState.CLOSED


def test_pipelined_packets_wait_for_accept() -> None:
    pair = Pair()
    wire = encode(MODULE) + encode(Subscribe(1, (Subscription("a/#"),))) + encode(Pingreq())
    assert pair.server.receive_data(wire, 0.0) == [ConnectRequested(MODULE)]
    pair.received(pair.server.accept(None, 0.0))
    assert pair.server.receive_data(b"", 0.0) == [SubscribeRequested(1, (Subscription("a/#"),))]
    assert pair.received() == [Pingresp()]


def test_flood_before_connack_is_bounded() -> None:
    pair = Pair(max_packet_size=100)
    pair.send(MODULE)
    assert pair.server.receive_data(b"\xc0\x00" * 60, 0.0) == [
        ConnectionClosed("too much data sent before the CONNACK")
    ]


def test_malformed_input_closes_with_the_decoder_reason() -> None:
    pair, _ = connected()
    assert pair.server.receive_data(b"\x30\x03\x00\x01+", 0.0) == [
        ConnectionClosed(
            "malformed PUBLISH: the topic name '+' contains a wildcard ('+' or '#'); only filters may"
        )
    ]


# ---------------------------------------------------------------------- subscribe


def test_subscribe_grants_at_most_qos_1() -> None:
    pair, _ = connected()
    subs = (Subscription("a/#", 2), Subscription("b", 0), Subscription("$iothub/twin/res/#", 1))
    assert pair.send(Subscribe(4, subs)) == [SubscribeRequested(4, subs)]
    assert pair.received(pair.server.suback(4)) == [Suback(4, (1, 0, 1))]
    assert pair.server.session is not None
    assert pair.server.session.subscriptions == {"a/#": 1, "b": 0, "$iothub/twin/res/#": 1}


def test_subscribe_refused_filters_are_not_kept() -> None:
    pair, _ = connected()
    subs = (Subscription("devices/other/modules/x/inputs/#", 1), Subscription("mine/#", 1))
    pair.send(Subscribe(1, subs))
    assert pair.received(pair.server.suback(1, [0x80, 1])) == [Suback(1, (0x80, 1))]
    assert pair.server.session is not None
    assert pair.server.session.subscriptions == {"mine/#": 1}


@pytest.mark.parametrize(
    ("packet_id", "granted", "message"),
    [
        (2, None, "no SUBSCRIBE with packet id 2"),
        (1, [1, 1], "has 1 filters but 2 codes"),
        (1, [2], "cannot grant QoS 2 for 'a' (requested 2)"),
    ],
)
def test_suback_misuse_is_a_local_error(
    packet_id: int, granted: list[int] | None, message: str
) -> None:
    pair, _ = connected()
    pair.send(Subscribe(1, (Subscription("a", 2),)))
    with pytest.raises(ProtocolError) as info:
        pair.server.suback(packet_id, granted)
    assert message in info.value.reason and info.value.disconnect is False
    assert pair.server.state is ConnectionState.CONNECTED


def test_unsubscribe_is_answered_and_removes_filters() -> None:
    pair, _ = connected(SessionState("edge-dev-1/filter", {"a/#": 1, "b": 1}))
    assert pair.send(Unsubscribe(9, ("a/#", "never-subscribed"))) == [
        Unsubscribed(9, ("a/#", "never-subscribed"))
    ]
    assert pair.received() == [Unsuback(9)]
    assert pair.server.session is not None
    assert pair.server.session.subscriptions == {"b": 1}


# ---------------------------------------------------------------------- client -> server


def test_publish_qos0_and_qos1_from_the_client() -> None:
    pair, _ = connected()
    q0 = Publish("devices/d/messages/events/", b"", 0)
    q1 = Publish("devices/d/messages/events/", b"x", 1, packet_id=1)
    assert pair.send(q0, q1) == [MessageReceived(q0), MessageReceived(q1)]
    assert pair.received() == []  # no PUBACK before the shell stored the message
    assert pair.server.pending_acks == 1
    assert pair.received(pair.server.ack(1)) == [Puback(1)]
    assert pair.server.pending_acks == 0


def test_pubacks_leave_in_arrival_order() -> None:
    pair, _ = connected()
    pair.send(*(Publish("t", b"", 1, packet_id=i) for i in (5, 6, 7)))
    assert pair.server.ack(7) == b""
    assert pair.server.ack(6) == b""
    assert pair.received(pair.server.ack(5)) == [Puback(5), Puback(6), Puback(7)]


def test_duplicate_inbound_packet_id_is_delivered_again_and_acked_twice() -> None:
    pair, _ = connected()
    first = Publish("t", b"a", 1, packet_id=3)
    again = Publish("t", b"a", 1, dup=True, packet_id=3)
    assert pair.send(first, again) == [MessageReceived(first), MessageReceived(again)]
    assert pair.received(pair.server.ack(3) + pair.server.ack(3)) == [Puback(3), Puback(3)]


def test_ack_of_an_unknown_packet_id_is_a_local_error() -> None:
    pair, _ = connected()
    with pytest.raises(ProtocolError, match="no unacknowledged QoS 1 PUBLISH with packet id 4"):
        pair.server.ack(4)


def test_disconnect_is_a_clean_close() -> None:
    pair, _ = connected()
    assert pair.send(Disconnect()) == [ConnectionClosed("the client disconnected", clean=True)]
    assert pair.send(Publish("t", b"", 0)) == []


def test_answers_after_close_are_harmless() -> None:
    pair, _ = connected()
    # one chunk: a SUBSCRIBE, a QoS 1 PUBLISH, then garbage that closes the connection
    wire = encode(Subscribe(1, (Subscription("a"),))) + encode(Publish("t", b"", 1, packet_id=2))
    events = pair.server.receive_data(wire + b"\x00\x00", 0.0)
    assert [type(e) for e in events] == [SubscribeRequested, MessageReceived, ConnectionClosed]
    assert pair.server.suback(1) == b""
    assert pair.server.ack(2) == b""
    assert pair.server.publish(Message("q", b"1"), 0.0) == b""
    assert pair.server.publish(Message("q", b"0", qos=0), 0.0) == b""
    assert pair.server.session is not None
    assert pair.server.session.subscriptions == {}  # never acknowledged
    assert list(pair.server.session.queue) == [Message("q", b"1")]
    with pytest.raises(ProtocolError, match="cannot publish in state await-connect"):
        Pair().server.publish(Message("t"), 0.0)


# ---------------------------------------------------------------------- server -> client


def test_publish_qos1_to_the_client_and_its_puback() -> None:
    pair, _ = connected()
    msg = Message("devices/edge-dev-1/modules/filter/inputs/input1/", b"hello")
    assert pair.received(pair.server.publish(msg, 0.0)) == [
        Publish(msg.topic, b"hello", 1, packet_id=1)
    ]
    assert pair.send(Puback(1)) == [MessageAcknowledged(1, msg)]
    assert pair.send(Puback(1)) == []  # a second PUBACK for the same id is ignored
    assert pair.server.session is not None and pair.server.session.inflight == {}


def test_publish_qos0_to_the_client() -> None:
    pair, _ = connected()
    assert pair.received(pair.server.publish(Message("t", b"x", qos=0), 0.0)) == [
        Publish("t", b"x", 0)
    ]
    with pytest.raises(ProtocolError, match="cannot publish at QoS 2"):
        pair.server.publish(Message("t", qos=2), 0.0)


def test_inflight_window_and_queue() -> None:
    pair, _ = connected(max_inflight=2)
    out = b"".join(pair.server.publish(Message("t", bytes([i])), 0.0) for i in range(5))
    assert [p.packet_id for p in pair.received(out)] == [1, 2]  # type: ignore[union-attr]
    assert pair.send(Puback(2)) == [MessageAcknowledged(2, Message("t", b"\x01"))]
    assert pair.received() == [Publish("t", b"\x02", 1, packet_id=3)]
    pair.send(Puback(1), Puback(3))
    assert pair.received() == [
        Publish("t", b"\x03", 1, packet_id=4),
        Publish("t", b"\x04", 1, packet_id=5),
    ]


def test_expired_queued_messages_are_dropped() -> None:
    pair, _ = connected(max_inflight=1)
    pair.server.publish(Message("t", b"0"), 0.0)
    pair.server.publish(Message("t", b"old", expiry=5.0), 0.0)
    pair.server.publish(Message("t", b"new", expiry=50.0), 0.0)
    pair.received()
    pair.send(Puback(1), now=10.0)
    assert pair.received() == [Publish("t", b"new", 1, packet_id=2)]


def test_packet_ids_wrap_and_skip_ids_in_flight() -> None:
    state = SessionState("c", next_packet_id=0xFFFF, inflight={1: Message("t")})
    assert [state.allocate_packet_id() for _ in range(3)] == [0xFFFF, 2, 3]


# ---------------------------------------------------------------------- keep-alive


def test_keep_alive_is_one_and_a_half_times_the_clients() -> None:
    pair, _ = connected(now=100.0)
    assert pair.server.keep_alive_timeout == 90.0
    assert pair.server.deadline == 190.0
    assert pair.server.tick(189.9) == []
    pair.send(Pingreq(), now=150.0)
    assert pair.received() == [Pingresp()]
    assert pair.server.deadline == 240.0
    assert pair.server.tick(239.0) == []
    assert pair.server.tick(240.0) == [
        ConnectionClosed("no packet for 90 s (1.5 × the keep-alive of 60 s)")
    ]
    assert pair.server.deadline is None


def test_any_packet_resets_the_keep_alive() -> None:
    pair, _ = connected(now=0.0)
    pair.send(Publish("t", b"", 0), now=80.0)
    assert pair.server.deadline == 170.0


def test_keep_alive_is_capped_and_zero_disables_it() -> None:
    pair, _ = connected(connect=Connect("c", keep_alive=1000))
    assert pair.server.keep_alive_timeout == 600.0
    pair, _ = connected(connect=Connect("c", keep_alive=0))
    assert pair.server.deadline is None
    assert pair.server.tick(1e9) == []


def test_connect_timeout() -> None:
    server = ServerConnection(10.0, connect_timeout=60.0)
    assert server.deadline == 70.0
    assert server.tick(69.0) == []
    assert server.tick(70.0) == [ConnectionClosed("no CONNECT within the connect timeout")]


# ---------------------------------------------------------------------- sessions across reconnects


def roundtrip(state: SessionState) -> SessionState:
    """What the shell does: store as JSON (SQLite later), read back."""
    return SessionState.from_dict(json.loads(json.dumps(state.to_dict())))


def test_session_survives_reconnect_with_dup_resend_and_queue() -> None:
    pair, _ = connected(max_inflight=2)
    pair.send(Subscribe(1, (Subscription("devices/edge-dev-1/modules/filter/inputs/#", 1),)))
    pair.server.suback(1)
    out = b"".join(
        pair.server.publish(
            Message(f"devices/edge-dev-1/modules/filter/inputs/in/{i}", b"%d" % i), 0.0
        )
        for i in range(3)
    )
    assert [p.packet_id for p in pair.received(out)] == [1, 2]  # type: ignore[union-attr]
    pair.send(Puback(1))  # message 0 done, which lets message 2 out
    assert [p.packet_id for p in pair.received()] == [3]  # type: ignore[union-attr]
    # the network drops with messages 1 and 2 in flight
    assert pair.server.session is not None
    stored = roundtrip(pair.server.session)
    # offline: the hub routes one more message to the stored session
    stored.enqueue(Message("devices/edge-dev-1/modules/filter/inputs/in/3", b"3"))

    again, got = connected(roundtrip(stored), max_inflight=2)
    assert got == [
        Connack(ConnackCode.ACCEPTED, session_present=True),
        Publish("devices/edge-dev-1/modules/filter/inputs/in/1", b"1", 1, dup=True, packet_id=2),
        Publish("devices/edge-dev-1/modules/filter/inputs/in/2", b"2", 1, dup=True, packet_id=3),
    ]  # message 3 waits: the window (2) is full
    assert again.server.session is not None
    assert again.server.session.subscriptions == {"devices/edge-dev-1/modules/filter/inputs/#": 1}
    again.send(Puback(2), Puback(3))
    assert again.received() == [
        Publish("devices/edge-dev-1/modules/filter/inputs/in/3", b"3", 1, packet_id=4)
    ]


def test_inflight_resent_with_dup_after_unacked_reconnect() -> None:
    pair, _ = connected()
    pair.received(pair.server.publish(Message("t", b"a"), 0.0))
    pair.server.close("network dropped")
    assert pair.server.session is not None
    _, got = connected(roundtrip(pair.server.session))
    assert got[1:] == [Publish("t", b"a", 1, dup=True, packet_id=1)]


def test_takeover_of_a_duplicate_client_id() -> None:
    old, _ = connected()
    old.received(old.server.publish(Message("t", b"a"), 0.0))
    # the shell finds a connection with the same id: it closes the old one and moves the state
    assert old.server.close("taken over by a new connection") == ConnectionClosed(
        "taken over by a new connection"
    )
    new, got = connected(old.server.session)
    assert got == [
        Connack(ConnackCode.ACCEPTED, session_present=True),
        Publish("t", b"a", 1, dup=True, packet_id=1),
    ]
    assert old.send(Puback(1)) == []  # the old connection no longer touches the state
    assert new.send(Puback(1)) == [MessageAcknowledged(1, Message("t", b"a"))]


def test_session_match_follows_subscriptions() -> None:
    state = SessionState("c", {"$iothub/methods/POST/#": 1, "a/+": 0, "a/b": 1, "#": 0})
    assert state.match("$iothub/methods/POST/reset/?$rid=1") == 1
    assert state.match("$iothub/twin/res/200") is None  # '#' does not reach '$' topics
    assert state.match("a/b") == 1
    assert state.match("a/c") == 0
    assert SessionState("c").match("a") is None


def test_session_state_json_round_trip() -> None:
    state = SessionState(
        "edge-dev-1/filter",
        {"a/#": 1},
        {7: Message("t", b"\x00\xff", 1, True, 12.5)},
        deque([Message("u", b"", 0), Message("v", b"x", 1, expiry=3)]),
        8,
    )
    assert roundtrip(state) == state
    assert json.loads(json.dumps(state.to_dict())) == state.to_dict()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "stored session must be a JSON object"),
        ({"format": 2}, "unknown format 2"),
        ({"format": 1, "client_id": 5}, "'client_id' must be a string"),
        ({"format": 1, "client_id": "c", "subscriptions": {"a": 2}}, "QoS of 'a' must be 0 or 1"),
        ({"format": 1, "client_id": "c", "inflight": {}}, "stored inflight must be a JSON array"),
        (
            {"format": 1, "client_id": "c", "inflight": [{"packet_id": 0}]},
            "packet id must be 1..65535",
        ),
        (
            {"format": 1, "client_id": "c", "queue": [{"topic": "t", "payload": "!"}]},
            "is not base64",
        ),
        (
            {"format": 1, "client_id": "c", "queue": [{"topic": "", "payload": ""}]},
            "'topic' must be",
        ),
        (
            {"format": 1, "client_id": "c", "queue": [{"topic": "t", "payload": "", "qos": 2}]},
            "'qos'",
        ),
        (
            {
                "format": 1,
                "client_id": "c",
                "queue": [{"topic": "t", "payload": "", "expiry": "x"}],
            },
            "'expiry'",
        ),
        ({"format": 1, "client_id": "c", "next_packet_id": 0}, "'next_packet_id' must be 1..65535"),
    ],
)
def test_session_state_from_bad_data(data: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        SessionState.from_dict(data)
    assert message in str(info.value)
