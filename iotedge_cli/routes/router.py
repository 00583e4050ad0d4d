"""Route selection as edgeHub's ``Evaluator`` does it: which routes fire, and where messages go.

Theory of operation: for one message, every route whose source matches the message source
(a case-insensitive prefix test, see :mod:`iotedge_cli.routes.ast`) *and* whose condition is
TRUE is collected (undefined and false do not fire). The collected routes are grouped by
endpoint and, per endpoint, only the route with the numerically lowest priority delivers, so
two routes to one sink deliver a message once. Endpoints are compared as edgeHub's endpoint
cache keys: ``$upstream`` (any case), and ``<module>/<input>`` for ``BrokeredEndpoint``,
compared exactly (ordinal, case-sensitive), as edgeHub builds the id from the address as
written. Each delivery carries a time-to-live: the route's ``timeToLiveSecs`` when > 0, else
the store-and-forward TTL of ``$edgeHub`` (a negative TTL means "keep forever").

A :class:`RouteSpec` is built once per route (route parsed, condition compiled, source prefix
lower-cased, endpoint key computed); :func:`route` then allocates only the decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from iotedge_cli.diagnostics import JsonPath
from iotedge_cli.manifest.model import HUB, Manifest
from iotedge_cli.routes.ast import BrokeredEndpointSink, Route, UpstreamSink
from iotedge_cli.routes.lexer import RouteSyntaxError
from iotedge_cli.routes.message import Message
from iotedge_cli.routes.parser import parse_route
from iotedge_cli.routes.values import TriBool

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_TTL",
    "Decision",
    "Delivery",
    "Evaluation",
    "RouteProblem",
    "RouteSpec",
    "route",
    "routes_from_manifest",
    "store_and_forward_ttl",
]

DEFAULT_PRIORITY = 2_000_000_000  # RouteFactory.DefaultPriority: below every explicit 0-9
DEFAULT_TTL = 7200  # edgeHub's storeAndForwardConfiguration.timeToLiveSecs when absent


def sink_name(route: Route) -> str:
    """The sink as shown to users: ``$upstream`` or ``/modules/<m>/inputs/<i>``."""
    sink = route.sink
    if isinstance(sink, UpstreamSink):
        return "$upstream"
    if isinstance(sink, BrokeredEndpointSink):
        return f"/modules/{sink.module}/inputs/{sink.input}"
    return sink.raw  # a template placeholder


def _endpoint_key(route: Route) -> str:
    sink = route.sink
    if isinstance(sink, UpstreamSink):
        return "$upstream"
    if isinstance(sink, BrokeredEndpointSink):
        return f"{sink.module}/{sink.input}"
    return sink.raw


@dataclass(frozen=True)
class RouteSpec:
    """One route of a manifest, ready to evaluate (the condition is compiled once, in parsing).

    ``priority`` is 0-9 or :data:`DEFAULT_PRIORITY`; ``ttl`` 0 means "use the store-and-forward
    TTL"; ``path`` is the JSON path of the route's node in the manifest.
    """

    name: str
    text: str
    route: Route
    priority: int = DEFAULT_PRIORITY
    ttl: int = 0
    path: JsonPath = ()
    sink: str = field(init=False)
    _prefix: str = field(init=False, repr=False, compare=False)
    _endpoint: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sink", sink_name(self.route))
        object.__setattr__(self, "_prefix", self.route.source.normalised_prefix.lower())
        object.__setattr__(self, "_endpoint", _endpoint_key(self.route))


@dataclass(frozen=True)
class RouteProblem:
    """A route that cannot be used: ``error`` is set when the text does not parse or compile."""

    name: str
    path: JsonPath
    message: str
    text: str | None = None
    error: RouteSyntaxError | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The verdict of one route; ``condition`` is None when the source did not match (edgeHub
    then does not evaluate the condition)."""

    name: str
    route: str
    source_matched: bool
    condition: TriBool | None
    selected: bool


@dataclass(frozen=True, slots=True)
class Delivery:
    """The message goes to ``sink`` through ``route``; ``ttl`` < 0 means infinite."""

    route: str
    sink: str
    priority: int
    ttl: int


class Decision:
    """The outcome for one message: ``deliveries`` (in manifest order of their routes) and,
    built on first access, ``evaluations`` (one per route, in manifest order)."""

    __slots__ = ("_chosen", "_evaluations", "_specs", "_verdicts", "deliveries", "source")

    def __init__(
        self,
        source: str,
        deliveries: list[Delivery],
        specs: Sequence[RouteSpec],
        verdicts: list[TriBool | None],
        chosen: set[int],
    ) -> None:
        self.source = source
        self.deliveries = deliveries
        self._specs = specs
        self._verdicts = verdicts
        self._chosen = chosen
        self._evaluations: list[Evaluation] | None = None

    @property
    def evaluations(self) -> list[Evaluation]:
        if self._evaluations is None:
            chosen = self._chosen
            self._evaluations = [
                Evaluation(spec.name, spec.text, verdict is not None, verdict, i in chosen)
                for i, (spec, verdict) in enumerate(zip(self._specs, self._verdicts, strict=True))
            ]
        return self._evaluations


def route(specs: Sequence[RouteSpec], message: Message, *, default_ttl: int) -> Decision:
    """Route ``message`` through ``specs`` as edgeHub's ``Evaluator.Evaluate`` does.

    Per endpoint the route with the lowest priority number wins. On a tie edgeHub takes
    whichever route its (hash-ordered) dictionary yields first, which is unspecified; edgectl
    takes the first in manifest order, so results are deterministic. Deliveries are listed in
    the manifest order of their routes; a route TTL of 0 means ``default_ttl``.
    """
    source = message.source
    key = source.lower() if source.endswith("/") else source.lower() + "/"
    winners: dict[str, int] = {}
    verdicts: list[TriBool | None] = []
    append = verdicts.append
    true = TriBool.TRUE
    for i, spec in enumerate(specs):
        if not key.startswith(spec._prefix):
            append(None)
            continue
        expr = spec.route.condition_expr
        verdict = true if expr is None else expr.evaluate(message)
        append(verdict)
        if verdict is true:
            best = winners.get(spec._endpoint)
            if best is None or spec.priority < specs[best].priority:
                winners[spec._endpoint] = i
    chosen = set(winners.values())
    deliveries = [
        Delivery(
            specs[i].name,
            specs[i].sink,
            specs[i].priority,
            specs[i].ttl if specs[i].ttl > 0 else default_ttl,
        )
        for i in sorted(chosen)
    ]
    return Decision(source, deliveries, specs, verdicts, chosen)


def routes_from_manifest(
    manifest: Manifest, *, template: bool | None = None
) -> tuple[list[RouteSpec], list[RouteProblem]]:
    """Every route of ``$edgeHub`` (string or object form, whole or layered), parsed and
    compiled, in manifest order; routes edgeHub would reject come back as problems."""
    if template is None:
        template = manifest.template
    specs: list[RouteSpec] = []
    problems: list[RouteProblem] = []
    for name, path, value in manifest.routes():
        spec_or_problem = _one(name, path, value, template)
        if isinstance(spec_or_problem, RouteSpec):
            specs.append(spec_or_problem)
        else:
            problems.append(spec_or_problem)
    return specs, problems


def _one(name: str, path: JsonPath, value: Any, template: bool) -> RouteSpec | RouteProblem:
    priority, ttl = DEFAULT_PRIORITY, 0
    if isinstance(value, dict):
        text = value.get("route")
        if not isinstance(text, str):
            return RouteProblem(
                name,
                path,
                f'route {name!r} has no "route" string; write '
                '{"route": "FROM ... INTO ...", "priority": 0, "timeToLiveSecs": 0}',
            )
        prio = value.get("priority", DEFAULT_PRIORITY)
        if prio != DEFAULT_PRIORITY and not _uint(prio, 9):
            return RouteProblem(
                name,
                (*path, "priority"),
                f"route {name!r}: priority {prio!r} must be an integer 0-9",
                text,
            )
        t = value.get("timeToLiveSecs", 0)
        if not _uint(t, 4_294_967_295):
            return RouteProblem(
                name,
                (*path, "timeToLiveSecs"),
                f"route {name!r}: timeToLiveSecs {t!r} must be an integer 0-4294967295",
                text,
            )
        priority, ttl, path = prio, t, (*path, "route")
    elif isinstance(value, str):
        text = value
    else:
        return RouteProblem(
            name,
            path,
            f'route {name!r} is not a string or an object with a "route" string',
        )
    if not text.strip():
        return RouteProblem(
            name, path, f"route {name!r} is empty; write the route or delete it", text
        )
    try:
        parsed = parse_route(text, template=template)
    except RouteSyntaxError as exc:
        return RouteProblem(name, path, f"route {name!r}: {exc.reason}", text, exc)
    return RouteSpec(name, text, parsed, priority, ttl, path)


def _uint(value: Any, top: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top


def store_and_forward_ttl(manifest: Manifest) -> int:
    """``$edgeHub`` ``storeAndForwardConfiguration.timeToLiveSecs`` (whole or layered form);
    :data:`DEFAULT_TTL` when absent or not an integer. Negative means infinite."""
    for name, _, value in manifest.desired_items(HUB, "storeAndForwardConfiguration"):
        if name == "timeToLiveSecs" and isinstance(value, int) and not isinstance(value, bool):
            return value
    return DEFAULT_TTL
