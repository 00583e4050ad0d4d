"""IoT Hub MQTT topics: parse what a client publishes, format what the hub publishes.

Client -> hub (:func:`parse_publish`): telemetry ``devices/{d}/messages/events/{props}``,
module output ``devices/{d}/modules/{m}/messages/events/{props}`` (``$.on`` names the output),
twin GET ``$iothub/twin/GET/?$rid=``, reported patch
``$iothub/twin/PATCH/properties/reported/?$rid=[&$version=]``, method response
``$iothub/methods/res/{status}/?$rid=``. Anything else is :class:`UnknownTopic` (edgeHub
PUBACKs and drops it), except a ``$iothub/twin/...`` request with a ``$rid`` but an unknown
operation, which is :class:`UnknownTwinRequest` so the hub can answer 400 and the SDK does
not block forever (hub-protocol §4.4).

Device and module ids are never percent-encoded inside topics; request ids, method names,
input names and status codes are ``quote``d by the sender and ``unquote``d here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import TypeAlias
from urllib.parse import quote, unquote

from iotedge_cli.simulator.hub.iothub.properties import (
    PropertyBag,
    decode_bag,
    decode_pairs,
    encode_c2d_bag,
    encode_input_bag,
)

__all__ = [
    "DESIRED_PATCH_FILTER",
    "METHODS_FILTER",
    "TWIN_RESPONSE_FILTER",
    "ClientPublish",
    "MethodResponse",
    "SubscriptionKind",
    "Telemetry",
    "TwinGet",
    "TwinReportedPatch",
    "UnknownTopic",
    "UnknownTwinRequest",
    "c2d_filter",
    "c2d_topic",
    "classify_subscription",
    "desired_patch_topic",
    "input_topic",
    "inputs_filter",
    "method_request_topic",
    "parse_publish",
    "sdk_filters",
    "telemetry_topic",
    "twin_response_topic",
]

METHODS_FILTER = "$iothub/methods/POST/#"
TWIN_RESPONSE_FILTER = "$iothub/twin/res/#"
DESIRED_PATCH_FILTER = "$iothub/twin/PATCH/properties/desired/#"


# --- client -> hub ---------------------------------------------------------------------


@dataclass(frozen=True)
class Telemetry:
    """A device's telemetry (``module_id`` None) or a module's output message."""

    device_id: str
    module_id: str | None
    properties: PropertyBag

    @property
    def output_name(self) -> str | None:
        return self.properties.system.get("outputName") or None


@dataclass(frozen=True)
class TwinGet:
    rid: str


@dataclass(frozen=True)
class TwinReportedPatch:
    rid: str
    version: str | None = None  # ``$version`` the client sent, if any (IoT Hub ignores it)


@dataclass(frozen=True)
class MethodResponse:
    status: int
    rid: str


@dataclass(frozen=True)
class UnknownTwinRequest:
    """``$iothub/twin/<op>`` with a ``$rid`` the hub does not serve: answer 400."""

    rid: str
    operation: str


@dataclass(frozen=True)
class UnknownTopic:
    """Not an IoT Hub topic (or a twin request without ``$rid``): PUBACK, warn, drop."""

    topic: str
    reason: str


ClientPublish: TypeAlias = (
    Telemetry | TwinGet | TwinReportedPatch | MethodResponse | UnknownTwinRequest | UnknownTopic
)


def _query(rest: str) -> dict[str, str]:
    """``?$rid=1&$version=2`` (leading ``/`` and ``?`` optional) -> ``{"$rid": "1", ...}``."""
    rest = rest.lstrip("/")
    if rest.startswith("?"):
        rest = rest[1:]
    return {k: v or "" for k, v in decode_pairs(rest)}


def _parse_twin(topic: str) -> ClientPublish:
    body = topic[len("$iothub/twin/") :]
    path, _, query_text = body.partition("?")
    query = _query(query_text)
    rid = query.get("$rid")
    operation = path.rstrip("/")
    if not rid:
        return UnknownTopic(topic, "twin request without a $rid; edgeHub does not answer it")
    if operation == "GET":
        return TwinGet(rid)
    if operation == "PATCH/properties/reported":
        return TwinReportedPatch(rid, query.get("$version"))
    return UnknownTwinRequest(rid, operation)


def _parse_method_response(topic: str) -> ClientPublish:
    body = topic[len("$iothub/methods/res/") :]
    path, _, query_text = body.partition("?")
    status_text = unquote(path.rstrip("/"))
    rid = _query(query_text).get("$rid")
    if not rid:
        return UnknownTopic(topic, "method response without a $rid")
    try:
        status = int(status_text)
    except ValueError:
        return UnknownTopic(topic, f"method response status {status_text!r} is not an integer")
    return MethodResponse(status, rid)


def _parse_events(topic: str) -> ClientPublish:
    parts = topic.split("/", 6)
    # devices/{d}/messages/events[/props]  or  devices/{d}/modules/{m}/messages/events[/props]
    if len(parts) >= 4 and parts[2] == "messages" and parts[3] == "events" and parts[1]:
        rest = "/".join(parts[4:])
        return Telemetry(parts[1], None, decode_bag(rest))
    if (
        len(parts) >= 6
        and parts[2] == "modules"
        and parts[4] == "messages"
        and parts[5] == "events"
        and parts[1]
        and parts[3]
    ):
        rest = parts[6] if len(parts) > 6 else ""
        return Telemetry(parts[1], parts[3], decode_bag(rest))
    return UnknownTopic(topic, "not a telemetry topic (devices/{d}[/modules/{m}]/messages/events/)")


def parse_publish(topic: str) -> ClientPublish:
    """Classify a topic a client published to. Never raises."""
    if topic.startswith("$iothub/twin/"):
        return _parse_twin(topic)
    if topic.startswith("$iothub/methods/res/"):
        return _parse_method_response(topic)
    if topic.startswith("devices/"):
        return _parse_events(topic)
    return UnknownTopic(topic, "not an IoT Hub topic")


def telemetry_topic(device_id: str, module_id: str | None, bag: str = "") -> str:
    """The topic the SDK publishes telemetry to (``bag`` already encoded; may be empty)."""
    if module_id is None:
        return f"devices/{device_id}/messages/events/{bag}"
    return f"devices/{device_id}/modules/{module_id}/messages/events/{bag}"


# --- hub -> client ---------------------------------------------------------------------


def _q(text: str) -> str:
    return quote(text, safe="")


def input_topic(
    device_id: str,
    module_id: str,
    input_name: str,
    system: dict[str, str] | None = None,
    application: dict[str, str] | None = None,
) -> str:
    """``devices/{d}/modules/{m}/inputs/{input}/{props}`` as edgeHub formats it (application
    properties, then system properties; no trailing ``/`` when there are none)."""
    topic = _input_prefix(device_id, module_id, input_name)
    bag = encode_input_bag(system or {}, application or {})
    return f"{topic}/{bag}" if bag else topic


@lru_cache(maxsize=1024)
def _input_prefix(device_id: str, module_id: str, input_name: str) -> str:
    return f"devices/{device_id}/modules/{module_id}/inputs/{_q(input_name)}"


def c2d_topic(
    device_id: str,
    system: dict[str, str] | None = None,
    application: dict[str, str] | None = None,
) -> str:
    """``devices/{d}/messages/devicebound/{props}`` (system properties first)."""
    return f"devices/{device_id}/messages/devicebound/" + encode_c2d_bag(
        system or {}, application or {}
    )


def twin_response_topic(status: int, rid: str, version: int | None = None) -> str:
    """``$iothub/twin/res/{status}/?$rid={rid}[&$version={v}]``."""
    topic = f"$iothub/twin/res/{status}/?$rid={_q(rid)}"
    return topic if version is None else f"{topic}&$version={version}"


def desired_patch_topic(version: int) -> str:
    """``$iothub/twin/PATCH/properties/desired/?$version={v}``."""
    return f"$iothub/twin/PATCH/properties/desired/?$version={version}"


def method_request_topic(method_name: str, rid: str) -> str:
    """``$iothub/methods/POST/{name}/?$rid={rid}``."""
    return f"$iothub/methods/POST/{_q(method_name)}/?$rid={_q(rid)}"


# --- subscriptions ---------------------------------------------------------------------


class SubscriptionKind(Enum):
    """edgeHub's classification of a subscription (``SessionStateParser``)."""

    METHODS = "methods"
    DESIRED_PATCHES = "desiredPropertyUpdates"
    C2D = "c2d"
    TWIN_RESPONSES = "twinResponse"
    MODULE_MESSAGES = "moduleMessages"
    UNKNOWN = "unknown"  # still SUBACKed; edgeHub logs "Ignoring unknown subscription"


def classify_subscription(topic_filter: str) -> SubscriptionKind:
    if topic_filter.startswith("$iothub/methods/POST/"):
        return SubscriptionKind.METHODS
    if topic_filter.startswith("$iothub/twin/PATCH/properties/desired/"):
        return SubscriptionKind.DESIRED_PATCHES
    if topic_filter.endswith("messages/devicebound/#"):
        return SubscriptionKind.C2D
    if topic_filter == TWIN_RESPONSE_FILTER:
        return SubscriptionKind.TWIN_RESPONSES
    parts = topic_filter.split("/")
    # ^devices/.+/modules/.+/#$  (".+" may span levels)
    if (
        len(parts) >= 5
        and parts[0] == "devices"
        and parts[-1] == "#"
        and "modules" in parts[2:-2]
        and any(parts[1 : parts.index("modules", 2)])
    ):
        return SubscriptionKind.MODULE_MESSAGES
    return SubscriptionKind.UNKNOWN


def inputs_filter(device_id: str, module_id: str) -> str:
    return f"devices/{device_id}/modules/{module_id}/inputs/#"


def c2d_filter(device_id: str) -> str:
    return f"devices/{device_id}/messages/devicebound/#"


def sdk_filters(device_id: str, module_id: str | None) -> tuple[str, ...]:
    """Every filter the SDK subscribes to for this identity (hub-protocol §4.1): the inputs
    (module) or C2D (device) filter, then the three per-connection ``$iothub`` filters."""
    own = c2d_filter(device_id) if module_id is None else inputs_filter(device_id, module_id)
    return (own, METHODS_FILTER, TWIN_RESPONSE_FILTER, DESIRED_PATCH_FILTER)
