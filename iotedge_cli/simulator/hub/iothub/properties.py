"""Message property bags: the ``k=v&k=v`` last segment of telemetry, input and C2D topics.

Encoding is ``quote(safe='')`` for keys and values in both directions (space is ``%20``, never
``+``; ``/`` is ``%2F``; ``$`` is ``%24``), decoding is ``unquote`` (so a literal ``+`` stays
``+``), exactly as azure-iot-device does. Entries split on ``&`` and then on the *first* ``=``.

System properties travel under short wire names (``$.mid``, ``$.ct`` ...) and are kept under
edgeHub's internal names (``messageId``, ``contentType`` ...; ``SystemProperties.cs``), which
are also the names the route language's ``$name`` looks up. Note that edgeHub keeps the
correlation id as ``cid`` (its ``MsgCorrelationId``), so ``$.cid`` maps to ``cid``.

Order matters for byte-for-byte equality with the transcript: the SDK writes system
properties in a fixed order then custom properties sorted by key (:func:`encode_client_bag`);
edgeHub writes application properties first, then the system properties in the order the
message carries them (:func:`encode_input_bag`); C2D bags put system properties first
(:func:`encode_c2d_bag`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote, unquote

__all__ = [
    "CLIENT_SYSTEM_ORDER",
    "INCOMING",
    "OUTGOING",
    "PropertyBag",
    "decode_bag",
    "decode_pairs",
    "encode_c2d_bag",
    "encode_client_bag",
    "encode_input_bag",
    "encode_pairs",
]

# Wire name -> edgeHub system property name, for properties a *client* sends
# (``SystemProperties.IncomingSystemPropertiesMap``; ``$.ifid`` as the SDK sends it).
INCOMING: dict[str, str] = {
    "$.exp": "absolute-expiry-time",
    "$.cid": "cid",
    "$.mid": "messageId",
    "$.to": "to",
    "$.uid": "userId",
    "ack": "ack",
    "$.on": "outputName",
    "$.ct": "contentType",
    "$.ce": "contentEncoding",
    "$.schema": "messageSchema",
    "iothub-operation": "operation",
    "$.ctime": "creationTime",
    "$.ifid": "iothub-interface-id",
    "$.sub": "dt-subject",
}

# edgeHub system property name -> wire name, for properties the *hub* sends
# (``OutgoingSystemPropertiesMap``); anything else (outputName, inputName ...) is not sent.
OUTGOING: dict[str, str] = {
    "absolute-expiry-time": "$.exp",
    "cid": "$.cid",
    "messageId": "$.mid",
    "to": "$.to",
    "userId": "$.uid",
    "ack": "ack",
    "contentType": "$.ct",
    "contentEncoding": "$.ce",
    "messageSchema": "$.schema",
    "operation": "iothub-operation",
    "creationTime": "$.ctime",
    "connectionDeviceId": "$.cdid",
    "connectionModuleId": "$.cmid",
    "dt-subject": "$.sub",
}

# The order in which the SDK's ``encode_message_properties_in_topic`` writes system
# properties (as edgeHub names).
CLIENT_SYSTEM_ORDER: tuple[str, ...] = (
    "outputName",
    "messageId",
    "cid",
    "userId",
    "contentType",
    "contentEncoding",
    "iothub-interface-id",
    "absolute-expiry-time",
)
_CLIENT_WIRE = {"iothub-interface-id": "$.ifid", "outputName": "$.on", **OUTGOING}


@dataclass(frozen=True)
class PropertyBag:
    """A decoded bag: ``system`` keyed by edgeHub names, ``application`` by the sender's keys.

    Both keep the order of the wire. A key without ``=`` gets the value ``""``.
    """

    system: dict[str, str] = field(default_factory=dict)
    application: dict[str, str] = field(default_factory=dict)


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch


@lru_cache(maxsize=4096)
def _quote(text: str) -> str:
    return quote(text, safe="")


def _q(text: str) -> str:
    """``quote(text, safe='')``, skipping the work for text that needs no escaping."""
    return text if _UNRESERVED(text) else _quote(text)


@lru_cache(maxsize=4096)
def _unquote(text: str) -> str:
    return unquote(text)


def _u(text: str) -> str:
    """``unquote`` (never ``unquote_plus``), skipping text without escapes; escaped text
    (mostly the SDK's ``%24.on``-style keys) is cached."""
    return _unquote(text) if "%" in text else text


def encode_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """``quote(k)=quote(v)`` joined with ``&`` (``safe=''``: ``%20`` for space, ``%2F`` for ``/``)."""
    return "&".join(f"{_q(k)}={_q(v)}" for k, v in pairs)


def decode_pairs(text: str) -> list[tuple[str, str | None]]:
    """Split ``text`` on ``&``, then on the first ``=``, and ``unquote`` both sides.

    Empty entries (``a=1&&b=2``, a trailing ``&``) are skipped; a key without ``=`` gets
    ``None``. ``+`` is *not* a space.
    """
    pairs: list[tuple[str, str | None]] = []
    if not text:
        return pairs
    for entry in text.split("&"):
        if not entry:
            continue
        key, eq, value = entry.partition("=")
        pairs.append((_u(key), _u(value) if eq else None))
    return pairs


def decode_bag(text: str) -> PropertyBag:
    """Decode a client's property bag: wire names in :data:`INCOMING` become system
    properties, everything else an application property (later duplicates win)."""
    system: dict[str, str] = {}
    application: dict[str, str] = {}
    for key, value in decode_pairs(text):
        name = INCOMING.get(key)
        if name is not None:
            system[name] = value or ""
        else:
            application[key] = value or ""
    return PropertyBag(system, application)


def encode_client_bag(
    system: Mapping[str, str], application: Mapping[str, object] | None = None
) -> str:
    """The bag as the SDK writes it on a telemetry/output topic: the system properties in
    :data:`CLIENT_SYSTEM_ORDER` (empty values omitted), then custom properties ``str()``-ed and
    sorted by key. Unknown system names are ignored (the SDK has no field for them)."""
    pairs = [(_CLIENT_WIRE[n], system[n]) for n in CLIENT_SYSTEM_ORDER if system.get(n)]
    if application:
        pairs.extend(sorted((str(k), str(v)) for k, v in application.items()))
    return encode_pairs(pairs)


# OUTGOING with the wire names already quoted (``$.mid`` -> ``%24.mid``).
_OUTGOING_QUOTED: dict[str, str] = {name: quote(wire, safe="") for name, wire in OUTGOING.items()}


def _system_fields(system: Mapping[str, str]) -> list[str]:
    """``quote(wire)=quote(value)`` for the system properties with an outgoing wire name."""
    wire = _OUTGOING_QUOTED
    return [f"{wire[name]}={_q(value)}" for name, value in system.items() if name in wire]


def _application_fields(application: Mapping[str, str]) -> list[str]:
    return [f"{_q(k)}={_q(v)}" for k, v in application.items()]


def encode_input_bag(system: Mapping[str, str], application: Mapping[str, str]) -> str:
    """The bag edgeHub puts on a module-input topic: application properties first, then the
    system properties in the message's own order, only those with an outgoing wire name
    (so ``outputName`` is not forwarded)."""
    return "&".join(_application_fields(application) + _system_fields(system))


def encode_c2d_bag(system: Mapping[str, str], application: Mapping[str, str]) -> str:
    """The bag of a cloud-to-device message: system properties first, then application ones."""
    return "&".join(_system_fields(system) + _application_fields(application))
