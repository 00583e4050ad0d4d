"""A routed message: body bytes, system properties, application properties.

The message source is derived as edgeHub's ``RoutingMessageConverter`` does. Property
lookups ignore case (edgeHub copies both bags into ``OrdinalIgnoreCase`` dictionaries).

The body is parsed as JSON at most once per message and cached: only when ``contentType``
is ``application/json`` and ``contentEncoding`` is utf-8, utf-16 (little-endian) or utf-32
(little-endian), ignoring case, and only when it is a JSON *object* (Json.NET's
``JObject.Parse``). Otherwise every ``$body`` query is undefined. Treat a message as
immutable once it has been evaluated: the parsed body is not re-read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["NO_BODY", "TWIN_CHANGE_NOTIFICATION", "Message", "lookup"]

TWIN_CHANGE_NOTIFICATION = "twinChangeNotification"
_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Final = _NoBody()  # the body cannot be queried (content type, encoding, not JSON)
_UNSET: Final = object()
_DECODE: Final = json.JSONDecoder().decode  # json.loads minus its per-call wrapping
_MISS: Final = object()


def lookup(bag: dict[str, str], name: str) -> str | object | None:
    """``bag[name]`` ignoring case (exact key first); ``_MISS`` sentinel when absent."""
    value = bag.get(name, _MISS)
    if value is not _MISS:
        return value
    lowered = name.lower()
    for key, val in bag.items():
        if key.lower() == lowered:
            return val
    return _MISS


MISSING_KEY: Final = _MISS


@dataclass
class Message:
    body: bytes = b""
    system_properties: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    _json: Any = field(default=_UNSET, init=False, repr=False, compare=False)

    @property
    def source(self) -> str:
        """``/twinChangeNotifications``, ``/messages/modules/{m}/outputs/{o}``,
        ``/messages/modules/{m}`` or ``/messages`` (leaf-device telemetry)."""
        sys = self.system_properties
        message_type = lookup(sys, "messageType")
        if (
            isinstance(message_type, str)
            and message_type.lower() == TWIN_CHANGE_NOTIFICATION.lower()
        ):
            return "/twinChangeNotifications"
        module = lookup(sys, "connectionModuleId")
        if isinstance(module, str) and module:
            output = lookup(sys, "outputName")
            if isinstance(output, str) and output:
                return f"/messages/modules/{module}/outputs/{output}"
            return f"/messages/modules/{module}"
        return "/messages"

    @classmethod
    def from_source(
        cls,
        source: str,
        *,
        body: bytes = b"",
        system_properties: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
    ) -> Message:
        """A message whose :attr:`source` is ``source``: ``connectionModuleId`` and
        ``outputName`` (or ``messageType``) are filled in from a path such as
        ``/messages/modules/sensor/outputs/temp``; explicit ``system_properties`` win.

        Raises ValueError for a path no edgeHub message can have (``/foo``, ``/messages/x``).
        """
        sys: dict[str, str] = {}
        segs = [s for s in source.strip().split("/") if s]
        lowered = [s.lower() for s in segs]
        if lowered == ["twinchangenotifications"]:
            sys["messageType"] = TWIN_CHANGE_NOTIFICATION
        elif lowered == ["messages"]:
            pass
        elif len(segs) == 3 and lowered[:2] == ["messages", "modules"]:
            sys["connectionModuleId"] = segs[2]
        elif len(segs) == 5 and lowered[:2] == ["messages", "modules"] and lowered[3] == "outputs":
            sys["connectionModuleId"] = segs[2]
            sys["outputName"] = segs[4]
        else:
            raise ValueError(
                f"{source!r} is not a message source; use /messages (leaf device), "
                "/messages/modules/<module>[/outputs/<output>] or /twinChangeNotifications"
            )
        sys.update(system_properties or {})
        return cls(body=body, system_properties=sys, properties=dict(properties or {}))

    def json_body(self) -> Any:
        """The parsed body (cached), or :data:`NO_BODY` when ``$body`` cannot be queried."""
        cached = self._json
        if cached is _UNSET:
            cached = self._json = self._parse_body()
        return cached

    def _parse_body(self) -> Any:
        sys = self.system_properties
        content_type = lookup(sys, "contentType")
        encoding = lookup(sys, "contentEncoding")
        if not isinstance(encoding, str) or not isinstance(content_type, str):
            return NO_BODY
        codec = _ENCODINGS.get(encoding.lower())
        if codec is None or content_type.lower() != "application/json":
            return NO_BODY
        try:
            if codec == "utf-8":
                try:  # fast path; utf-8-sig skips a BOM as json.loads(bytes) would
                    text = self.body.decode("utf-8-sig")
                except UnicodeDecodeError:
                    text = self.body.decode(codec, errors="replace")
            else:
                text = self.body.decode(codec, errors="replace").lstrip("\ufeff")
            data = _DECODE(text)
        except ValueError:
            return NO_BODY
        return data if isinstance(data, dict) else NO_BODY
