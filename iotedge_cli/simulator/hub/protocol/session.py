"""The server side of one MQTT 3.1.1 connection, sans-io: bytes in, events out.

Theory of operation
-------------------
A :class:`ServerConnection` is created when a client connects and fed every received chunk
with ``receive_data(data, now)``; it returns :class:`Event` objects. It never reads a clock:
``now`` (seconds, any monotonic origin) comes with every call that needs time, and
``deadline`` says when the shell must call ``tick(now)`` if nothing arrives before.

States: ``AWAIT_CONNECT`` → (CONNECT) → ``AWAIT_ACCEPT`` → (``accept``) → ``CONNECTED`` →
``CLOSED``. CONNECT must be the first packet; a second CONNECT, a packet only a server sends,
or any QoS 2 packet closes the connection, as does malformed input (the decoder's
``ProtocolError``). Every way of closing yields one :class:`ConnectionClosed`; after it the
connection ignores input and the shell closes the socket once it has written
``data_to_send()``.

Authentication is not ours: CONNECT becomes :class:`ConnectRequested`, decoding stops (bytes
the client pipelined stay buffered), and the shell answers with ``accept(stored_session, now)``
or ``refuse(code)``; after ``accept`` it calls ``receive_data(b"", now)`` to process what was
pipelined. Likewise SUBSCRIBE becomes :class:`SubscribeRequested` answered by ``suback`` (the
IoT Hub layer authorises each filter), and a QoS 1 PUBLISH becomes :class:`MessageReceived`
answered by ``ack`` once the message is stored; PUBACKs still leave in the order the
PUBLISHes arrived (MQTT-4.6.0-2), whatever order ``ack`` is called in. PINGREQ and
UNSUBSCRIBE are answered here.

Outgoing QoS 1 messages take a packet id from the :class:`SessionState` and stay ``inflight``
there until the client's PUBACK (:class:`MessageAcknowledged`); at most ``max_inflight`` are
unacknowledged, the rest wait in the state's queue in order. Because in-flight messages and
the queue live in the state, not here, a reconnect (``accept`` with the stored state) re-sends
the in-flight messages with DUP and their original ids, then the queue (MQTT-4.4.0-1). A
duplicate client id is the shell's: ``old.close(...)`` then ``new.accept(old.session, now)``.

Every method that produces bytes returns everything pending, in order (including replies
queued while receiving, e.g. PINGRESP); ``data_to_send()`` drains what ``receive_data`` queued.
One chunk can yield e.g. a SubscribeRequested and then a ConnectionClosed, so answering an event
of a connection that has meanwhile closed is not an error: ``ack`` and ``suback`` return
nothing, and ``publish`` keeps a QoS 1 message in the session's queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from iotedge_cli.simulator.hub.protocol.codec import (
    MAX_PACKET_SIZE,
    Decoder,
    ProtocolError,
    encode,
)
from iotedge_cli.simulator.hub.protocol.packets import (
    SUBACK_FAILURE,
    Connack,
    ConnackCode,
    Connect,
    Disconnect,
    Pingreq,
    Puback,
    Publish,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
)
from iotedge_cli.simulator.hub.protocol.state import Message, SessionState

__all__ = [
    "ConnectRequested",
    "ConnectionClosed",
    "ConnectionState",
    "Event",
    "MessageAcknowledged",
    "MessageReceived",
    "ServerConnection",
    "SubscribeRequested",
    "Unsubscribed",
]

MAX_QOS = 1
"""edgeHub grants at most QoS 1 (hub-protocol.md §4)."""


class ConnectionState(Enum):
    AWAIT_CONNECT = "await-connect"
    AWAIT_ACCEPT = "await-accept"
    CONNECTED = "connected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ConnectRequested:
    """CONNECT arrived: authenticate, then ``accept`` or ``refuse``."""

    connect: Connect


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A PUBLISH from the client; for QoS 1 call ``ack(publish.packet_id)`` once it is stored."""

    publish: Publish


@dataclass(frozen=True, slots=True)
class SubscribeRequested:
    """A SUBSCRIBE: answer with ``suback(packet_id, granted)``."""

    packet_id: int
    subscriptions: tuple[Subscription, ...]


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """The filters were removed from the session and UNSUBACK is queued."""

    packet_id: int
    topic_filters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MessageAcknowledged:
    """The client's PUBACK for a message we sent; it is no longer in flight."""

    packet_id: int
    message: Message


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The connection is over; ``clean`` when the client sent DISCONNECT (no will)."""

    reason: str
    clean: bool = False


Event = (
    ConnectRequested
    | MessageReceived
    | SubscribeRequested
    | Unsubscribed
    | MessageAcknowledged
    | ConnectionClosed
)


class ServerConnection:
    """One client connection, server side (see the module docstring)."""

    def __init__(
        self,
        now: float,
        *,
        max_packet_size: int = MAX_PACKET_SIZE,
        max_inflight: int = 32,
        connect_timeout: float = 60.0,
        max_keep_alive_timeout: float = 600.0,
    ) -> None:
        self.max_inflight = max_inflight
        self.max_keep_alive_timeout = max_keep_alive_timeout
        self.state = ConnectionState.AWAIT_CONNECT
        self.connect: Connect | None = None
        self.session: SessionState | None = None
        self.close_reason: str | None = None
        self.keep_alive_timeout: float | None = None
        self._decoder: Decoder | None = Decoder(max_packet_size)
        self._out: list[bytes] = []
        self._last_rx = now
        self._connect_deadline = now + connect_timeout
        # Received QoS 1 packet ids in arrival order, each with "acked yet?" (MQTT-4.6.0-2).
        self._inbound: deque[list[int | bool]] = deque()
        # SUBSCRIBEs awaiting their SUBACK, oldest first per packet id (a client may reuse one).
        self._subscribes: dict[int, list[tuple[Subscription, ...]]] = {}

    # ------------------------------------------------------------------ queries

    @property
    def client_id(self) -> str | None:
        return None if self.connect is None else self.connect.client_id

    @property
    def clean_session(self) -> bool:
        """True when the session must not outlive this connection (do not store it)."""
        return self.connect is None or self.connect.clean_session

    @property
    def pending_acks(self) -> int:
        """QoS 1 messages received and not yet acknowledged (for back-pressure)."""
        return len(self._inbound)

    @property
    def deadline(self) -> float | None:
        """When ``tick`` must run if no packet arrives first (connect or keep-alive timeout)."""
        if self.state is ConnectionState.AWAIT_CONNECT:
            return self._connect_deadline
        if self.state is ConnectionState.CONNECTED and self.keep_alive_timeout is not None:
            return self._last_rx + self.keep_alive_timeout
        return None

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed received bytes; returns the events they complete (possibly none)."""
        decoder = self._decoder
        if decoder is None:
            return []
        decoder.feed(data)
        events: list[Event] = []
        while self.state is ConnectionState.CONNECTED or (
            self.state is ConnectionState.AWAIT_CONNECT
        ):
            try:
                packet = decoder.next_packet()
            except ProtocolError as exc:
                events.append(self._closed(exc.reason))
                break
            if packet is None:
                break
            self._last_rx = now
            if type(packet) is Publish:
                self._on_publish(packet, events)
            elif type(packet) is Puback:
                self._on_puback(packet.packet_id, now, events)
            elif self.state is ConnectionState.AWAIT_CONNECT:
                self._on_first(packet, events)
            elif type(packet) is Subscribe:
                self._subscribes.setdefault(packet.packet_id, []).append(packet.subscriptions)
                events.append(SubscribeRequested(packet.packet_id, packet.subscriptions))
            elif type(packet) is Unsubscribe:
                self._on_unsubscribe(packet, events)
            elif type(packet) is Pingreq:
                self._out.append(b"\xd0\x00")
            elif type(packet) is Disconnect:
                events.append(self._closed("the client disconnected", clean=True))
            elif type(packet) is Connect:
                events.append(self._closed("a second CONNECT on the same connection"))
            else:
                name = type(packet).__name__.upper()
                what = "QoS 2 is not supported" if name.startswith("PUB") else "server-only packet"
                events.append(self._closed(f"unexpected {name} from a client ({what})"))
        if (
            self.state is ConnectionState.AWAIT_ACCEPT
            and self._decoder is not None
            and self._decoder.buffered > self._decoder.max_packet_size + 5
        ):
            events.append(self._closed("too much data sent before the CONNACK"))
        return events

    def tick(self, now: float) -> list[Event]:
        """Check the timers at ``now``; returns a ConnectionClosed if one expired."""
        deadline = self.deadline
        if deadline is None or now < deadline:
            return []
        if self.state is ConnectionState.AWAIT_CONNECT:
            return [self._closed("no CONNECT within the connect timeout")]
        assert self.connect is not None
        return [
            self._closed(
                f"no packet for {self.keep_alive_timeout:g} s "
                f"(1.5 × the keep-alive of {self.connect.keep_alive} s)"
            )
        ]

    def _on_first(self, packet: object, events: list[Event]) -> None:
        if not isinstance(packet, Connect):
            name = type(packet).__name__.upper()
            events.append(self._closed(f"the first packet must be CONNECT, got {name}"))
            return
        self.connect = packet
        if packet.protocol_name != "MQTT":
            events.append(self._closed(f"unknown protocol name {packet.protocol_name!r}"))
        elif packet.protocol_level != 4:
            self._out.append(encode(Connack(ConnackCode.UNACCEPTABLE_PROTOCOL_VERSION)))
            events.append(
                self._closed(f"protocol level {packet.protocol_level} (only 4, MQTT 3.1.1)")
            )
        elif not packet.client_id and not packet.clean_session:
            self._out.append(encode(Connack(ConnackCode.IDENTIFIER_REJECTED)))
            events.append(self._closed("an empty client id needs clean_session=1"))
        else:
            self.state = ConnectionState.AWAIT_ACCEPT
            events.append(ConnectRequested(packet))

    def _on_publish(self, packet: Publish, events: list[Event]) -> None:
        if self.state is not ConnectionState.CONNECTED:
            events.append(self._closed("the first packet must be CONNECT, got PUBLISH"))
            return
        if packet.qos:
            self._inbound.append([packet.packet_id or 0, False])
        events.append(MessageReceived(packet))

    def _on_puback(self, packet_id: int, now: float, events: list[Event]) -> None:
        session = self.session
        if self.state is not ConnectionState.CONNECTED or session is None:
            events.append(self._closed("the first packet must be CONNECT, got PUBACK"))
            return
        message = session.inflight.pop(packet_id, None)
        if message is not None:  # an unknown id is ignored, as mosquitto does
            events.append(MessageAcknowledged(packet_id, message))
            self._flush(now)

    def _on_unsubscribe(self, packet: Unsubscribe, events: list[Event]) -> None:
        assert self.session is not None
        for topic_filter in packet.topic_filters:
            self.session.subscriptions.pop(topic_filter, None)
        self._out.append(encode(Unsuback(packet.packet_id)))
        events.append(Unsubscribed(packet.packet_id, packet.topic_filters))

    # ------------------------------------------------------------------ output

    def accept(self, session: SessionState | None, now: float) -> bytes:
        """CONNACK 0 and resume ``session`` (the stored state for this client id, if any).

        With ``clean_session=1`` a stored session is discarded. Returns the CONNACK followed
        by the in-flight messages (DUP) and as much of the queue as the window allows.
        """
        connect = self._require(ConnectionState.AWAIT_ACCEPT, "accept")
        if session is not None and session.client_id != connect.client_id:
            raise ProtocolError(
                f"cannot accept client {connect.client_id!r} with the session of "
                f"{session.client_id!r}",
                disconnect=False,
            )
        present = session is not None and not connect.clean_session
        if session is None or connect.clean_session:
            session = SessionState(connect.client_id)
        self.session = session
        self.state = ConnectionState.CONNECTED
        self._last_rx = now
        if connect.keep_alive:
            self.keep_alive_timeout = min(1.5 * connect.keep_alive, self.max_keep_alive_timeout)
        self._out.append(encode(Connack(ConnackCode.ACCEPTED, present)))
        for packet_id, message in session.inflight.items():
            self._out.append(
                encode(Publish(message.topic, message.payload, 1, message.retain, True, packet_id))
            )
        self._flush(now)
        return self.data_to_send()

    def refuse(self, code: ConnackCode) -> bytes:
        """CONNACK with a refusal ``code`` (edgeHub: 5 bad credentials, 3 errors); closes."""
        self._require(ConnectionState.AWAIT_ACCEPT, "refuse")
        if code is ConnackCode.ACCEPTED:
            raise ProtocolError("refuse needs a refusal code, not ACCEPTED", disconnect=False)
        self._out.append(encode(Connack(code)))
        self._closed(f"connection refused: CONNACK {int(code)} ({code.name.lower()})")
        return self.data_to_send()

    def ack(self, packet_id: int) -> bytes:
        """Acknowledge the received QoS 1 PUBLISH ``packet_id`` (PUBACKs leave in order)."""
        if self.state is ConnectionState.CLOSED:
            return b""
        self._require(ConnectionState.CONNECTED, "ack")
        inbound = self._inbound
        for entry in inbound:
            if entry[0] == packet_id and not entry[1]:
                entry[1] = True
                break
        else:
            raise ProtocolError(
                f"no unacknowledged QoS 1 PUBLISH with packet id {packet_id}", disconnect=False
            )
        while inbound and inbound[0][1]:
            pid = int(inbound.popleft()[0])
            self._out.append(b"\x40\x02" + pid.to_bytes(2, "big"))
        return self.data_to_send()

    def suback(self, packet_id: int, granted: Sequence[int] | None = None) -> bytes:
        """Answer SUBSCRIBE ``packet_id``: one code per filter (QoS ≤ requested, or 0x80).

        ``None`` grants every filter at min(requested, 1). Granted filters join the session.
        """
        if self.state is ConnectionState.CLOSED:
            return b""  # never acknowledged, so the client must subscribe again
        self._require(ConnectionState.CONNECTED, "suback")
        assert self.session is not None
        pending = self._subscribes.get(packet_id)
        if not pending:
            raise ProtocolError(f"no SUBSCRIBE with packet id {packet_id} to answer", False)
        subs = pending[0]
        codes = tuple(min(s.qos, MAX_QOS) for s in subs) if granted is None else tuple(granted)
        if len(codes) != len(subs):
            raise ProtocolError(
                f"SUBSCRIBE {packet_id} has {len(subs)} filters but {len(codes)} codes were given",
                disconnect=False,
            )
        for sub, code in zip(subs, codes, strict=True):
            if code != SUBACK_FAILURE and not 0 <= code <= min(sub.qos, MAX_QOS):
                raise ProtocolError(
                    f"cannot grant QoS {code} for {sub.topic_filter!r} (requested {sub.qos})",
                    disconnect=False,
                )
        del pending[0]
        if not pending:
            del self._subscribes[packet_id]
        for sub, code in zip(subs, codes, strict=True):
            if code != SUBACK_FAILURE:
                self.session.subscriptions[sub.topic_filter] = code
        self._out.append(encode(Suback(packet_id, codes)))
        return self.data_to_send()

    def publish(self, message: Message, now: float) -> bytes:
        """Send ``message`` (QoS 0 at once; QoS 1 through the in-flight window and queue).

        On a closed connection a QoS 1 message joins the session's queue (for the next
        connection; the shell drops the state of a clean session) and QoS 0 is dropped.
        """
        if self.state is ConnectionState.CLOSED and self.session is not None:
            if message.qos == 1:
                self.session.queue.append(message)
            return b""
        self._require(ConnectionState.CONNECTED, "publish")
        if message.qos == 0:
            self._out.append(encode(Publish(message.topic, message.payload, 0, message.retain)))
        elif message.qos == 1:
            assert self.session is not None
            self.session.queue.append(message)
            self._flush(now)
        else:
            raise ProtocolError(f"cannot publish at QoS {message.qos} (0 or 1)", False)
        return self.data_to_send()

    def close(self, reason: str) -> ConnectionClosed:
        """Close from our side (take-over, shutdown); the session state stays as it is."""
        if self.state is ConnectionState.CLOSED:
            return ConnectionClosed(self.close_reason or reason)
        return self._closed(reason)

    # ------------------------------------------------------------------ internals

    def _flush(self, now: float) -> None:
        session = self.session
        assert session is not None
        queue, inflight, out = session.queue, session.inflight, self._out
        while queue and len(inflight) < self.max_inflight:
            message = queue.popleft()
            if message.expired(now):
                continue
            packet_id = session.allocate_packet_id()
            inflight[packet_id] = message
            out.append(
                encode(Publish(message.topic, message.payload, 1, message.retain, False, packet_id))
            )

    def _require(self, state: ConnectionState, action: str) -> Connect:
        if self.state is not state:
            raise ProtocolError(
                f"cannot {action} in state {self.state.value} (needs {state.value})",
                disconnect=False,
            )
        assert self.connect is not None
        return self.connect

    def _closed(self, reason: str, clean: bool = False) -> ConnectionClosed:
        self.state = ConnectionState.CLOSED
        self.close_reason = reason
        self._decoder = None  # drop buffered input at once
        self._inbound.clear()
        self._subscribes.clear()
        return ConnectionClosed(reason, clean)
