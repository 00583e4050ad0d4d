"""E2xx: routes in ``$edgeHub``: syntax, sources, sinks, conditions, and routes that shadow
each other.

Every route is parsed with :func:`iotedge_cli.routes.parse_route`, which also compiles the
WHERE condition. Findings inside a condition point at the exact character of the file: the
offset in the route text is walked through the JSON string's escapes
(:func:`iotedge_cli.manifest.textpos.file_offset`). Module-existence checks
(W202, E203) need the complete module list, so they run only when ``$edgeAgent`` is present
as a whole ``properties.desired`` object and the deployment is not layered: a module may come
from another layer, and a ``$edgeHub``-only fragment says nothing about modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from iotedge_cli.diagnostics import Diagnostic, JsonPath, Location, Rule, Severity
from iotedge_cli.manifest.lint.context import Context
from iotedge_cli.manifest.model import AGENT, HUB
from iotedge_cli.manifest.textpos import file_offset
from iotedge_cli.routes import (
    BrokeredEndpointSink,
    Route,
    RouteSinkError,
    RouteSyntaxError,
    SourceKind,
    UpstreamSink,
    parse_route,
)
from iotedge_cli.routes.condition import ConditionError, Expr
from iotedge_cli.routes.condition.ast import AppProp, Call, SysProp, children
from iotedge_cli.routes.values import TriBool

RULES = [
    Rule(
        "E201",
        "route-syntax",
        Severity.ERROR,
        "A route edgeHub cannot parse; the whole $edgeHub configuration update is rejected.",
        "Routes read [SELECT *] FROM <source> [WHERE <condition>] INTO <sink>, e.g. "
        "FROM /messages/modules/filter/outputs/* INTO $upstream.",
    ),
    Rule(
        "W202",
        "route-source-unknown-module",
        Severity.WARNING,
        "A route source names a module that is not deployed; the route never matches.",
        "Fix the module name (edgeHub compares it ignoring case) or add the module to "
        "$edgeAgent modules.",
    ),
    Rule(
        "E203",
        "route-sink-unknown-module",
        Severity.ERROR,
        "A BrokeredEndpoint names a module that is not deployed; messages queue until their "
        "time-to-live expires and are then dropped.",
        "Fix the module name (module ids are case-sensitive) or add the module to $edgeAgent modules.",
    ),
    Rule(
        "E204",
        "route-invalid-sink",
        Severity.ERROR,
        'The sink is not $upstream or BrokeredEndpoint("/modules/<module>/inputs/<input>").',
        "edgeHub knows one system endpoint ($upstream) and one function (BrokeredEndpoint) "
        "whose address is /modules/<module>/inputs/<input>.",
    ),
    Rule(
        "W205",
        "route-shadowed",
        Severity.WARNING,
        "Several routes deliver to the same endpoint from overlapping sources; per message "
        "only the route with the lowest priority number is used.",
        "Make the sources disjoint, remove the redundant route, or keep it deliberately "
        "(different priority or time-to-live) and ignore W205.",
    ),
    Rule(
        "W206",
        "route-source-never-matches",
        Severity.WARNING,
        "A route source can never match: edgeHub only creates /messages/... and "
        "/twinChangeNotifications sources, and '*' is not a glob.",
        "Use /* (everything), /messages/* (all telemetry), /messages/modules/<m>/* or "
        "/messages/modules/<m>/outputs/<o>; a trailing '*' is stripped and the rest is a prefix.",
    ),
    Rule(
        "E207",
        "route-empty",
        Severity.ERROR,
        "An empty route: rejected with $edgeHub schemaVersion 1.1+, silently skipped with 1.0.",
        "Write the route or delete the entry.",
    ),
    Rule(
        "E208",
        "route-condition",
        Severity.ERROR,
        "A WHERE condition that parses but does not compile: wrong operand types, unknown "
        "function, wrong number or types of arguments; edgeHub rejects the whole route set.",
        "Application and system properties are strings: compare them with strings or convert "
        "with as_number(name) > 30; write NOT (a = b) (NOT binds tighter than =); use the "
        "24 built-ins (abs, as_number, concat, contains, is_defined, length, lower, substring, "
        "...) with their argument types; twin_change_includes only FROM /twinChangeNotifications. "
        "Try a condition with `edgectl routes test`.",
    ),
    Rule(
        "W209",
        "route-condition-never-true",
        Severity.WARNING,
        "A WHERE condition that does not depend on the message and is never true (a bare "
        "literal, null, false, 1 = 2): the route never delivers.",
        "A route fires only when its condition is true; write a condition on the message "
        "(e.g. $connectionModuleId = 'sensor') or remove the route.",
    ),
    Rule(
        "I210",
        "route-body-query",
        Severity.INFO,
        "A condition queries $body: edgeHub reads the body only when the message has "
        "contentType application/json and contentEncoding utf-8, utf-16 or utf-32.",
        "Otherwise the query is undefined and the route silently does not fire. Make every "
        "sender set both (Azure IoT SDKs: message.content_type / content_encoding), then "
        "ignore I210 for this file.",
    ),
    Rule(
        "W211",
        "route-condition-suspicious",
        Severity.WARNING,
        "A WHERE condition that compiles but almost certainly does not mean what it says "
        "(e.g. an unspaced operator swallowed into a name: a-b is one property 'a-b').",
        "Put spaces around binary operators (a - b, x * 3, a != b) and follow the hint in "
        "the message.",
    ),
]

DEFAULT_PRIORITY = 2_000_000_000  # RouteFactory.DefaultPriority: below every explicit 0-9
_TEMPLATE_NAME = re.compile(r"\$\{|^\$|^%.*%$")
_VERSION = re.compile(r"\s*(\d+)\.(\d+)")


@dataclass(frozen=True)
class _Parsed:
    name: str
    path: JsonPath
    route: Route
    priority: int


def check(ctx: Context) -> None:
    m = ctx.manifest
    entries = list(m.routes())
    if not entries:
        return
    template = ctx.template
    hub_1_0 = _hub_is_1_0(ctx)
    parsed: list[_Parsed] = []
    for name, path, value in entries:
        text, text_path, priority = _route_text(value, path)
        if text is None:
            continue  # not a string: the schema rules (E1xx) report the type
        if not text.strip():
            ctx.report(
                "E207",
                f"route {name!r} is empty: "
                + (
                    "edgeHub 1.0 skips it silently; write the route or delete the entry"
                    if hub_1_0 and isinstance(value, str)
                    else "edgeHub rejects the whole configuration; write the route or delete the entry"
                ),
                text_path,
                severity=Severity.WARNING if hub_1_0 and isinstance(value, str) else None,
            )
            continue
        try:
            route = parse_route(text, template=template)
        except RouteSinkError as exc:
            ctx.report("E204", f"route {name!r}: {exc.reason} (column {exc.column})", text_path)
            continue
        except ConditionError as exc:
            code = "E201" if _condition_syntax_error(text, template) else "E208"
            hint = f"; {exc.hint}" if exc.hint and exc.hint not in exc.reason else ""
            message = f"route {name!r}: {exc.reason} (column {exc.column}){hint}"
            _report_in_string(ctx, code, message, text_path, exc.start)
            continue
        except RouteSyntaxError as exc:
            ctx.report("E201", f"route {name!r}: {exc.reason} (column {exc.column})", text_path)
            continue
        parsed.append(_Parsed(name, text_path, route, priority))
        if route.condition_expr is not None:
            _check_condition(ctx, parsed[-1], template)

    for p in parsed:
        _check_source(ctx, p)
    modules = _module_names(ctx)
    if modules is not None:
        for p in parsed:
            _check_modules(ctx, p, modules, template)
    _check_shadowing(ctx, parsed)


def _route_text(value: Any, path: JsonPath) -> tuple[str | None, JsonPath, int]:
    if isinstance(value, str):
        return value, path, DEFAULT_PRIORITY
    if isinstance(value, dict) and isinstance(value.get("route"), str):
        prio = value.get("priority")
        priority = (
            prio if isinstance(prio, int) and not isinstance(prio, bool) else DEFAULT_PRIORITY
        )
        return value["route"], (*path, "route"), priority
    return None, path, DEFAULT_PRIORITY


def _hub_is_1_0(ctx: Context) -> bool:
    found = ctx.manifest.schema_version(HUB)
    if found is None or not isinstance(found[1], str):
        return False
    match = _VERSION.match(found[1])
    return match is not None and (int(match.group(1)), int(match.group(2))) == (1, 0)


def _module_names(ctx: Context) -> set[str] | None:
    """Every module name, or None when the list is not known (layered, fragment, template names)."""
    m = ctx.manifest
    if m.layered or m.desired(AGENT) is None:
        return None
    names = {md.name for md in m.modules()}
    if ctx.template and any(_TEMPLATE_NAME.search(n) for n in names):
        return None
    return names


def _is_placeholder(name: str, template: bool) -> bool:
    return template and _TEMPLATE_NAME.search(name) is not None


def _check_source(ctx: Context, p: _Parsed) -> None:
    src = p.route.source
    if src.kind is SourceKind.NEVER:
        ctx.report(
            "W206",
            f"route {p.name!r}: source {src.path!r} can never match: {src.never_reason}; "
            "use /messages/* or /messages/modules/<module>/outputs/<output>",
            p.path,
        )
    elif src.glob_item is not None and src.module is not None:
        ctx.report(
            "W206",
            f"route {p.name!r}: '*' in source {src.path!r} is not a glob: edgeHub strips it "
            f"and matches the prefix {src.normalised_prefix!r}, i.e. only module {src.module!r}; "
            "name each module or use /messages/modules/*",
            p.path,
        )
    elif src.glob_item is not None:
        ctx.report(
            "W206",
            f"route {p.name!r}: '*' in source {src.path!r} is not a glob: edgeHub strips it "
            f"and matches the prefix {src.normalised_prefix!r}; end the path with /*",
            p.path,
        )


def _check_modules(ctx: Context, p: _Parsed, modules: set[str], template: bool) -> None:
    src = p.route.source
    if (
        src.module is not None
        and src.kind is not SourceKind.NEVER
        and src.glob_item is None
        and not _is_placeholder(src.module, template)
    ):
        lowered = {n.lower() for n in modules}
        if src.module.lower() not in lowered:
            ctx.report(
                "W202",
                f"route {p.name!r}: source module {src.module!r} is not in $edgeAgent modules, "
                f"so the route never matches{_did_you_mean(src.module, modules)}; fix the name "
                "or add the module",
                p.path,
            )
    sink = p.route.sink
    if (
        isinstance(sink, BrokeredEndpointSink)
        and not _is_placeholder(sink.module, template)
        and sink.module not in modules
    ):
        same_case = [n for n in modules if n.lower() == sink.module.lower()]
        hint = (
            f" (module ids are case-sensitive: the module is {same_case[0]!r})"
            if same_case
            else _did_you_mean(sink.module, modules)
        )
        ctx.report(
            "E203",
            f"route {p.name!r}: BrokeredEndpoint module {sink.module!r} is not in $edgeAgent "
            f"modules{hint}; messages would queue until their time-to-live and be dropped",
            p.path,
        )


def _did_you_mean(name: str, modules: set[str]) -> str:
    import difflib  # lazy: only when there is a finding

    close = difflib.get_close_matches(name, sorted(modules), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _endpoint_key(p: _Parsed) -> str | None:
    sink = p.route.sink
    if isinstance(sink, UpstreamSink):
        return "$upstream"
    if isinstance(sink, BrokeredEndpointSink):
        return sink.endpoint
    return None


_JUDGED = frozenset(
    {
        SourceKind.ALL,
        SourceKind.TELEMETRY,
        SourceKind.MODULES,
        SourceKind.MODULE,
        SourceKind.OUTPUTS,
        SourceKind.OUTPUT,
        SourceKind.TWIN_CHANGES,
    }
)


def _check_shadowing(ctx: Context, parsed: list[_Parsed]) -> None:
    # A WHERE condition can make two overlapping routes disjoint; conditions are not
    # analysed yet, so only unconditional routes are compared.
    by_endpoint: dict[str, list[_Parsed]] = {}
    for p in parsed:
        key = _endpoint_key(p)
        if key is None or p.route.condition is not None or p.route.source.kind not in _JUDGED:
            continue
        by_endpoint.setdefault(key, []).append(p)
    for endpoint, group in by_endpoint.items():
        for i, later in enumerate(group):
            for earlier in group[:i]:
                if not later.route.source.overlaps(earlier.route.source):
                    continue
                if later.priority == earlier.priority:
                    outcome = "only one of them delivers a message that matches both"
                else:
                    winner = min((earlier, later), key=lambda q: q.priority)
                    label = "default" if winner.priority == DEFAULT_PRIORITY else winner.priority
                    outcome = (
                        f"a message matching both goes only through {winner.name!r} "
                        f"(priority {label})"
                    )
                ctx.report(
                    "W205",
                    f"routes {earlier.name!r} and {later.name!r} both deliver to {endpoint} from "
                    f"overlapping sources ({earlier.route.source.path} and "
                    f"{later.route.source.path}); {outcome}: make the sources disjoint or remove "
                    "the redundant route",
                    later.path,
                )


# --- conditions -------------------------------------------------------------------------------


def _report_in_string(ctx: Context, code: str, message: str, path: JsonPath, index: int) -> None:
    """Report at character ``index`` (0-based) of the route string at ``path``."""
    doc = ctx.manifest.doc
    start = doc.offset_of(path)
    offset = file_offset(doc.text, start, index) if doc.format == "json" else start
    line, col = doc.line_col(offset)
    ctx.diagnostics.append(
        Diagnostic(code, ctx.rules[code].severity, message, Location(doc.name, line, col, path))
    )


def _condition_syntax_error(text: str, template: bool) -> bool:
    """Does the WHERE condition of ``text`` fail to *parse* (E201), rather than to type-check
    (E208)? The condition is cut out as the route parser does: from WHERE to the next INTO."""
    from iotedge_cli.routes.condition.parser import parse_condition
    from iotedge_cli.routes.lexer import TokenType, tokenize

    tokens = tokenize(text, template=template)
    where = next((t for t in tokens if t.is_keyword("WHERE")), None)
    if where is None or tokens[-2].type is TokenType.ERROR:
        return True
    into = next((t for t in tokens if t.start > where.start and t.is_keyword("INTO")), None)
    end = into.start if into is not None else len(text)
    try:
        parse_condition(text[where.end : end], template=template)
    except ConditionError:
        return True
    return False


def _walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    for child in children(expr):
        yield from _walk(child)


def _check_condition(ctx: Context, p: _Parsed, template: bool) -> None:
    cond = p.route.condition_expr
    base = p.route.condition_offset
    if cond is None or base is None:
        return
    for w in cond.warnings:
        hint = f"; {w.hint}" if w.hint and w.hint not in w.reason else ""
        _report_in_string(
            ctx, "W211", f"route {p.name!r}: {w.reason}{hint}", p.path, base + w.start
        )
    nodes = list(_walk(cond.expr))
    body = next((n for n in nodes if isinstance(n, SysProp) and n.body_query is not None), None)
    if body is not None:
        assert isinstance(body, SysProp)
        _report_in_string(
            ctx,
            "I210",
            f"route {p.name!r} queries {body.name}: edgeHub reads the body only when the "
            "message has contentType application/json and contentEncoding utf-8, utf-16 or "
            "utf-32, else the condition is undefined and the route does not fire; make the "
            "senders set both",
            p.path,
            base + body.start,
        )
    if template and "${" in (p.route.condition or ""):
        return
    if any(
        isinstance(n, (AppProp, SysProp))
        or (isinstance(n, Call) and n.name.lower() == "twin_change_includes")
        for n in nodes
    ):
        return
    from iotedge_cli.routes.message import Message

    verdict = cond.evaluate(Message())
    if verdict is not TriBool.TRUE:
        _report_in_string(
            ctx,
            "W209",
            f"route {p.name!r}: the condition {p.route.condition!r} does not depend on the "
            f"message and is always {verdict.value}, so the route never delivers; write a "
            "condition on the message or remove the route",
            p.path,
            base,
        )
