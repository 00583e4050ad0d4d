"""The persistent part of an MQTT session, as a plain object the shell can store.

A :class:`SessionState` outlives connections: with ``clean_session=0`` the SDK never
re-subscribes after a reconnect (hub-protocol.md §3.4), so subscriptions, the QoS 1 messages
sent but not yet acknowledged (``inflight``, keyed by packet id, re-sent with DUP on the next
connection) and the messages waiting for the client (``queue``) all live here, not in the
connection. ``to_dict()``/``from_dict()`` give a JSON-compatible form (payloads in base64) for
the SQLite store. Nothing here knows about sockets or clocks; ``expiry`` is an absolute time on
whatever clock the caller passes to the connection as ``now``.
"""

from __future__ import annotations

import base64
import binascii
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from iotedge_cli.simulator.hub.protocol.topics import matches

__all__ = ["Message", "SessionState"]

_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Message:
    """An application message for one client (the hub decides who gets what)."""

    topic: str
    payload: bytes = b""
    qos: int = 1
    retain: bool = False
    expiry: float | None = None

    def expired(self, now: float | None) -> bool:
        return self.expiry is not None and now is not None and now >= self.expiry

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "qos": self.qos,
            "retain": self.retain,
            "expiry": self.expiry,
        }

    @classmethod
    def from_dict(cls, data: object) -> Message:
        d = _mapping(data, "message")
        topic = d.get("topic")
        payload = d.get("payload")
        qos = d.get("qos", 1)
        retain = d.get("retain", False)
        expiry = d.get("expiry")
        if not isinstance(topic, str) or not topic:
            raise ValueError(f"stored message: 'topic' must be a non-empty string, got {topic!r}")
        if not isinstance(payload, str):
            raise ValueError(f"stored message: 'payload' must be base64 text, got {payload!r}")
        try:
            raw = base64.b64decode(payload, validate=True)
        except binascii.Error:
            raise ValueError(f"stored message: 'payload' is not base64: {payload[:40]!r}") from None
        if qos not in (0, 1) or isinstance(qos, bool):
            raise ValueError(f"stored message: 'qos' must be 0 or 1, got {qos!r}")
        if not isinstance(retain, bool):
            raise ValueError(f"stored message: 'retain' must be a boolean, got {retain!r}")
        if expiry is not None and (isinstance(expiry, bool) or not isinstance(expiry, int | float)):
            raise ValueError(f"stored message: 'expiry' must be a number or null, got {expiry!r}")
        return cls(topic, raw, qos, retain, None if expiry is None else float(expiry))


@dataclass(slots=True)
class SessionState:
    """Everything MQTT keeps for a client id between connections (§3.1.2.4)."""

    client_id: str
    subscriptions: dict[str, int] = field(default_factory=dict)
    inflight: dict[int, Message] = field(default_factory=dict)
    queue: deque[Message] = field(default_factory=deque)
    next_packet_id: int = 1

    def match(self, topic: str) -> int | None:
        """The highest QoS granted by a subscription matching ``topic``; ``None`` if none does."""
        best: int | None = None
        for topic_filter, qos in self.subscriptions.items():
            if (best is None or qos > best) and matches(topic_filter, topic):
                best = qos
        return best

    def enqueue(self, message: Message) -> None:
        """Keep ``message`` for delivery when the client (re)connects; order is kept."""
        self.queue.append(message)

    def allocate_packet_id(self) -> int:
        """The next packet id not in flight (1..65535, wrapping)."""
        if len(self.inflight) >= 0xFFFF:
            raise RuntimeError("all 65535 packet ids are in flight")
        packet_id = self.next_packet_id
        while packet_id in self.inflight:
            packet_id = packet_id % 0xFFFF + 1
        self.next_packet_id = packet_id % 0xFFFF + 1
        return packet_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "client_id": self.client_id,
            "subscriptions": dict(self.subscriptions),
            "inflight": [{"packet_id": pid, **m.to_dict()} for pid, m in self.inflight.items()],
            "queue": [m.to_dict() for m in self.queue],
            "next_packet_id": self.next_packet_id,
        }

    @classmethod
    def from_dict(cls, data: object) -> SessionState:
        """Rebuild a state from :meth:`to_dict` output; ``ValueError`` names what is wrong."""
        d = _mapping(data, "session")
        if d.get("format") != _FORMAT:
            raise ValueError(f"stored session: unknown format {d.get('format')!r}, expected 1")
        client_id = d.get("client_id")
        if not isinstance(client_id, str):
            raise ValueError(f"stored session: 'client_id' must be a string, got {client_id!r}")
        subs = _mapping(d.get("subscriptions", {}), "subscriptions")
        for topic_filter, qos in subs.items():
            if qos not in (0, 1) or isinstance(qos, bool):
                raise ValueError(f"stored session: QoS of {topic_filter!r} must be 0 or 1")
        inflight: dict[int, Message] = {}
        for item in _list(d.get("inflight", []), "inflight"):
            pid = _mapping(item, "in-flight message").get("packet_id")
            if not isinstance(pid, int) or isinstance(pid, bool) or not 1 <= pid <= 0xFFFF:
                raise ValueError(f"stored session: in-flight packet id must be 1..65535: {pid!r}")
            inflight[pid] = Message.from_dict(item)
        queue = deque(Message.from_dict(m) for m in _list(d.get("queue", []), "queue"))
        next_id = d.get("next_packet_id", 1)
        if not isinstance(next_id, int) or isinstance(next_id, bool) or not 1 <= next_id <= 0xFFFF:
            raise ValueError(f"stored session: 'next_packet_id' must be 1..65535, got {next_id!r}")
        return cls(client_id, {str(k): int(v) for k, v in subs.items()}, inflight, queue, next_id)


def _mapping(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"stored {what} must be a JSON object, got {type(value).__name__}")
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"stored {what} must be a JSON array, got {type(value).__name__}")
    return value
