"""The parsed form of a route: frozen dataclasses, no behaviour beyond small queries.

Source matching follows edgeHub (``CustomMessageSource.Create``, ``BaseMessageSource``): the
source text is trimmed, trailing ``*`` and then trailing ``/`` are removed and one ``/`` is
appended; a message matches when its own source plus ``/`` *starts with* that prefix,
ignoring case. So ``/messages/modules/x*`` is the prefix ``/messages/modules/x/`` (module
``x`` only), not a glob.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iotedge_cli.routes.condition import Condition
    from iotedge_cli.routes.message import Message
    from iotedge_cli.routes.values import TriBool

__all__ = [
    "BrokeredEndpointSink",
    "PlaceholderSink",
    "Route",
    "Sink",
    "Source",
    "SourceKind",
    "UpstreamSink",
]


class SourceKind(str, Enum):
    """What a normalised source prefix selects (§1.3 of the research notes)."""

    ALL = "all"  # "/": telemetry and twin change notifications
    TELEMETRY = "telemetry"  # /messages/: modules and leaf devices
    MODULES = "modules"  # /messages/modules/: every module's telemetry
    MODULE = "module"  # /messages/modules/<m>/: one module, with or without an output
    OUTPUTS = "outputs"  # /messages/modules/<m>/outputs/: one module, any named output
    OUTPUT = "output"  # /messages/modules/<m>/outputs/<o>/
    TWIN_CHANGES = "twinChangeNotifications"
    NEVER = "never"  # no message edgeHub creates has this source
    TEMPLATE = "template"  # a placeholder stands where a fixed word is needed; not judged


@dataclass(frozen=True)
class Source:
    path: str  # as written, without whitespace or comments
    normalised_prefix: str  # what edgeHub matches (case-insensitively) as a prefix
    kind: SourceKind
    module: str | None = None  # module id for MODULE/OUTPUTS/OUTPUT
    output: str | None = None  # output name for OUTPUT
    offset: int = 0  # 0-based offset of the path in the route text
    never_reason: str | None = None  # why kind is NEVER
    glob_item: str | None = None  # a segment with '*' that is not a bare '*' (not a glob)

    def matches(self, message_source: str) -> bool:
        """Would a message whose source is ``message_source`` be selected by this route?"""
        if not message_source.endswith("/"):
            message_source += "/"
        return message_source.lower().startswith(self.normalised_prefix.lower())

    def overlaps(self, other: Source) -> bool:
        """Can one message be selected by both sources? (one prefix contains the other)"""
        a, b = self.normalised_prefix.lower(), other.normalised_prefix.lower()
        return a.startswith(b) or b.startswith(a)


@dataclass(frozen=True)
class UpstreamSink:
    """``$upstream``: IoT Hub (or the parent device in nested edge)."""

    raw: str
    offset: int = 0

    @property
    def endpoint(self) -> str:
        return "$upstream"


@dataclass(frozen=True)
class BrokeredEndpointSink:
    """``BrokeredEndpoint("/modules/<module>/inputs/<input>")``: a module input."""

    module: str
    input: str
    raw: str  # the address as decoded from the string literal
    offset: int = 0

    @property
    def endpoint(self) -> str:
        return f'BrokeredEndpoint("/modules/{self.module}/inputs/{self.input}")'


@dataclass(frozen=True)
class PlaceholderSink:
    """A template placeholder (``INTO ${SINK}``) that a generator replaces; not judged."""

    raw: str
    offset: int = 0

    @property
    def endpoint(self) -> str:
        return self.raw


Sink = UpstreamSink | BrokeredEndpointSink | PlaceholderSink


@dataclass(frozen=True)
class Route:
    text: str
    select_star: bool
    source: Source
    condition: str | None  # verbatim text between WHERE and INTO (stripped); None: no WHERE
    condition_offset: int | None  # 0-based offset of ``condition`` in ``text``
    sink: Sink
    # The compiled WHERE condition (None without WHERE: the route then always fires).
    condition_expr: Condition | None = field(default=None, compare=False)

    def evaluate(self, message: Message) -> TriBool:
        """Does the condition hold for ``message``? (TRUE without WHERE; the source is not checked.)"""
        from iotedge_cli.routes.values import TriBool

        if self.condition_expr is None:
            return TriBool.TRUE
        return self.condition_expr.evaluate(message)
