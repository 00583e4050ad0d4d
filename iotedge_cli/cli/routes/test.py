"""``edgectl routes test``: route one message through a manifest's routes, as edgeHub would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from iotedge_cli.cli.common import console, error_boundary, print_json
from iotedge_cli.errors import ExitCode, InputError, UsageError

if TYPE_CHECKING:
    from iotedge_cli.cli.routes._shared import LoadedRoutes
    from iotedge_cli.routes.message import Message
    from iotedge_cli.routes.router import Decision, RouteSpec

_SOURCE = re.compile(r"/messages(/modules/[^/\s]+(/outputs/[^/\s]+)?)?|/twinChangeNotifications")
_SOURCE_HINT = (
    "a message source is /messages/modules/<module>/outputs/<output>, /messages/modules/<module>, "
    "/messages (a leaf device: add --sys connectionDeviceId=<device>) or /twinChangeNotifications"
)
_JSON_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}


def test(
    manifest: Path = typer.Option(..., "--manifest", "-m", help="The deployment manifest."),
    source: str = typer.Option(
        ...,
        "--source",
        "-s",
        help="Message source, e.g. /messages/modules/sensor/outputs/temperature.",
    ),
    body: str | None = typer.Option(None, "--body", help="The message body (text)."),
    body_file: Path | None = typer.Option(None, "--body-file", help="Read the body from a file."),
    content_type: str | None = typer.Option(
        None, "--content-type", help="System property contentType (application/json for $body)."
    ),
    content_encoding: str | None = typer.Option(
        None, "--content-encoding", help="System property contentEncoding (utf-8 for $body)."
    ),
    props: list[str] = typer.Option(
        None, "--prop", help="Application property KEY=VALUE; repeat for more."
    ),
    sys_props: list[str] = typer.Option(
        None, "--sys", help="System property KEY=VALUE, e.g. connectionDeviceId=dev1; repeatable."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show the value of every sub-expression of each condition."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Show which routes a message matches and where edgeHub delivers it.

    Exit 0 when every route is valid, 1 when a route would be rejected by edgeHub (the
    others are still evaluated), 2 for bad options or an unreadable manifest.
    """
    with error_boundary(as_json=as_json):
        from iotedge_cli.cli.routes._shared import load_routes
        from iotedge_cli.routes.router import route, store_and_forward_ttl

        message = _message(
            source, body, body_file, content_type, content_encoding, props, sys_props
        )
        loaded = load_routes(manifest)
        decision = route(loaded.specs, message, default_ttl=store_and_forward_ttl(loaded.manifest))
        _notes(loaded, message, decision)
        if as_json:
            print_json(_document(decision))
        else:
            console().print(_human(loaded.specs, message, decision, verbose), markup=False, end="")
    if loaded.problems:
        raise typer.Exit(ExitCode.FINDINGS)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"{option} {item!r} is not KEY=VALUE",
                f"write e.g. {option} temperature=30 (quote it for the shell if it has spaces)",
            )
        found[key.strip()] = value
    return found


def _message(
    source: str,
    body: str | None,
    body_file: Path | None,
    content_type: str | None,
    content_encoding: str | None,
    props: list[str] | None,
    sys_props: list[str] | None,
) -> Message:
    from iotedge_cli.routes.message import Message

    if not _SOURCE.fullmatch(source):
        raise UsageError(
            f"--source {source!r} is not a message source edgeHub creates", _SOURCE_HINT
        )
    if body is not None and body_file is not None:
        raise UsageError("give --body or --body-file, not both")
    system = _pairs(sys_props, "--sys")
    if content_type is not None:
        system["contentType"] = content_type
    if content_encoding is not None:
        system["contentEncoding"] = content_encoding
    data = b""
    if body_file is not None:
        try:
            data = body_file.read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read the body file {body_file}: {exc.strerror or exc}",
                "check the path given to --body-file",
            ) from None
    elif body is not None:
        codec = _JSON_ENCODINGS.get((content_encoding or "utf-8").lower(), "utf-8")
        data = body.encode(codec)
    return Message.from_source(
        source, body=data, system_properties=system, properties=_pairs(props, "--prop")
    )


def _uses_body(spec: RouteSpec) -> bool:
    from iotedge_cli.routes.lexer import TokenType, tokenize

    if spec.route.condition is None:
        return False
    return any(
        t.type is TokenType.SYS_PROP and t.text.lower().startswith("$body.")
        for t in tokenize(spec.route.condition)
    )


def _notes(loaded: LoadedRoutes, message: Message, decision: Decision) -> None:
    """Route problems and the missing-contentType gotcha, on stderr (stdout stays clean)."""
    from iotedge_cli.cli.routes._shared import position

    err = console(stderr=True)
    for p in loaded.problems:
        line, col = position(loaded.doc, p.path, p.error.column if p.error else None)
        err.print(
            f"error: {loaded.doc.name}:{line}:{col}: {p.message}; edgeHub rejects the whole "
            "route configuration (the other routes are shown as if it were fixed)",
            markup=False,
        )
    sys_props = {k.lower(): v for k, v in message.system_properties.items()}
    queryable = (
        sys_props.get("contenttype", "").lower() == "application/json"
        and sys_props.get("contentencoding", "").lower() in _JSON_ENCODINGS
    )
    if queryable:
        return
    names = [
        e.name
        for e, spec in zip(decision.evaluations, loaded.specs, strict=True)
        if e.source_matched and _uses_body(spec)
    ]
    if names:
        err.print(
            f"note: {', '.join(repr(n) for n in names)} "
            f"{'queries' if len(names) == 1 else 'query'} $body, which edgeHub reads only when "
            "contentType is application/json and contentEncoding is utf-8, utf-16 or utf-32: "
            "here $body is undefined; add --content-type application/json --content-encoding utf-8",
            markup=False,
        )


def _ttl(ttl: int) -> int | None:
    return None if ttl < 0 else ttl


def _document(decision: Decision) -> dict[str, Any]:
    return {
        "routes": [
            {
                "name": e.name,
                "route": e.route,
                "sourceMatched": e.source_matched,
                "condition": None if e.condition is None else e.condition.value,
                "selected": e.selected,
            }
            for e in decision.evaluations
        ],
        "deliveries": [
            {"route": d.route, "sink": d.sink, "priority": d.priority, "ttl": _ttl(d.ttl)}
            for d in decision.deliveries
        ],
    }


def _human(specs: list[RouteSpec], message: Message, decision: Decision, verbose: bool) -> str:
    from iotedge_cli.routes.router import DEFAULT_PRIORITY

    def prio(p: int) -> str:
        return "default" if p == DEFAULT_PRIORITY else str(p)

    by_sink = {d.sink: d for d in decision.deliveries}
    lines = [f"message source: {decision.source}", ""]
    width = max((len(e.name) for e in decision.evaluations), default=0)
    lines.append(
        f"routes ({len(decision.evaluations)}):" if decision.evaluations else "routes: none"
    )
    for e, spec in zip(decision.evaluations, specs, strict=True):
        if not e.source_matched:
            verdict, status = "-", "source does not match"
        else:
            assert e.condition is not None
            verdict = e.condition.value
            if e.selected:
                status = f"selected -> {spec.sink}"
            elif e.condition.value == "true":
                win = by_sink[spec.sink]
                status = (
                    f"not selected: {win.route!r} (priority {prio(win.priority)}) wins for "
                    f"{spec.sink}"
                )
            else:
                status = ""
        lines.append(f"  {e.name:<{width}}  {verdict:<9}  {status}".rstrip())
        if verbose:
            lines.append(f"      {spec.text}")
            expr = spec.route.condition_expr
            if e.source_matched and expr is not None:
                lines += [f"        {s.text}  =>  {s.value}" for s in expr.explain(message)]
    lines.append("")
    if not decision.deliveries:
        lines.append("deliveries: none (no route selected the message; edgeHub drops it)")
    else:
        lines.append(f"deliveries ({len(decision.deliveries)}):")
        sinks = max(len(d.sink) for d in decision.deliveries)
        for d in decision.deliveries:
            ttl = "infinite" if d.ttl < 0 else f"{d.ttl} s"
            lines.append(
                f"  {d.sink:<{sinks}}  via {d.route}  priority {prio(d.priority)}  ttl {ttl}"
            )
    return "\n".join(lines) + "\n"
