"""May this identity publish to / subscribe to this topic?

A client lives in its own namespace plus its per-connection ``$iothub/...`` channel:

* a module ``d/m`` publishes telemetry only as ``devices/d/modules/m/messages/events/...`` and
  subscribes only below ``devices/d/modules/m/`` (its inputs);
* a device ``d`` publishes only ``devices/d/messages/events/...`` and subscribes only below
  ``devices/d/messages/`` (C2D);
* both may publish the ``$iothub/twin/...`` requests and ``$iothub/methods/res/...`` responses
  and subscribe to any ``$iothub/...`` filter, since the hub answers there only to the owning
  connection.

Ids are compared exactly; a wildcard where an id belongs is refused (``devices/+/...``), and so
is every other topic. edgeHub itself does not check the ids of a telemetry topic against the
connection (hub-protocol §4.4); the simulator does, so a module cannot impersonate another.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Decision", "may_publish", "may_subscribe"]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


_OK = Decision(True, "ok")


def _who(device_id: str, module_id: str | None) -> str:
    return f"module {device_id}/{module_id}" if module_id is not None else f"device {device_id}"


def _own_prefix(device_id: str, module_id: str | None) -> list[str]:
    if module_id is None:
        return ["devices", device_id, "messages"]
    return ["devices", device_id, "modules", module_id]


def may_publish(device_id: str, module_id: str | None, topic: str) -> Decision:
    """Is ``topic`` in the publishing namespace of ``device_id``/``module_id``?"""
    if topic.startswith(("$iothub/twin/", "$iothub/methods/res/")):
        return _OK
    if "+" in topic or "#" in topic:
        return Decision(False, f"topic {topic!r} contains a wildcard; a PUBLISH topic may not")
    parts = topic.split("/")
    own = _own_prefix(device_id, module_id)
    events = [*own, "events"] if module_id is None else [*own, "messages", "events"]
    if parts[: len(events)] == events:
        return _OK
    expected = "/".join(events) + "/..."
    return Decision(
        False, f"{_who(device_id, module_id)} may not publish to {topic!r}; it may use {expected}"
    )


def may_subscribe(device_id: str, module_id: str | None, topic_filter: str) -> Decision:
    """Can every topic ``topic_filter`` matches belong to ``device_id``/``module_id``?"""
    if topic_filter.startswith("$iothub/"):
        return _OK
    parts = topic_filter.split("/")
    own = _own_prefix(device_id, module_id)
    if parts[: len(own)] == own:
        return _OK
    expected = "/".join(own) + "/#"
    return Decision(
        False,
        f"{_who(device_id, module_id)} may not subscribe to {topic_filter!r}; it may use "
        f"{expected} and $iothub/...",
    )
