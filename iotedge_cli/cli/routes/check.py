"""``edgectl routes check``: parse and type-check route strings, or every route of a manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import console, error_boundary, print_json
from iotedge_cli.errors import ExitCode, UsageError


@dataclass
class _Result:
    name: str
    text: str | None
    where: str  # "route 1" or "deployment.json:12:34: route 'name'"
    line: int | None = None
    col: int | None = None
    error: str | None = None
    column: int | None = None  # 1-based, in the route text
    end: int | None = None  # 1-based, exclusive
    caret: str | None = None
    hint: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "route": self.text, "valid": self.error is None}
        if self.line is not None:
            doc.update(line=self.line, column=self.col)
        doc["error"] = (
            None
            if self.error is None
            else {"message": self.error, "column": self.column, "end": self.end, "hint": self.hint}
        )
        doc["warnings"] = self.warnings
        return doc

    def human(self) -> list[str]:
        from iotedge_cli.cli.routes._shared import indent

        lines: list[str] = []
        if self.error is not None:
            lines.append(f"{self.where}: error: {self.error}")
            if self.caret:
                lines.append(indent(self.caret))
            if self.hint:
                lines.append(f"    hint: {self.hint}")
        lines += [f"{self.where}: warning: {w}" for w in self.warnings]
        return lines


def check(
    routes: list[str] = typer.Argument(
        None,
        help="Route strings to check, e.g. 'FROM /messages/* INTO $upstream'.",
        show_default=False,
    ),
    manifest: Path | None = typer.Option(
        None, "--manifest", "-m", help="Check every route of this deployment manifest instead."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """Parse and type-check routes as edgeHub does.

    Exit 0 when every route is valid, 1 when one is not, 2 when the input cannot be read.
    """
    with error_boundary(as_json=as_json):
        if bool(routes) == (manifest is not None):
            raise UsageError(
                "give route strings or --manifest, not both and not neither",
                "e.g. edgectl routes check 'FROM /messages/* INTO $upstream', "
                "or edgectl routes check --manifest deployment.json",
            )
        results = _check_manifest(manifest) if manifest is not None else _check_texts(routes)
        if as_json:
            print_json(
                {
                    "routes": [r.as_json() for r in results],
                    "summary": {
                        "routes": len(results),
                        "errors": sum(r.error is not None for r in results),
                        "warnings": sum(len(r.warnings) for r in results),
                    },
                }
            )
        else:
            console().print(_human(results), markup=False, end="")
    if any(r.error is not None for r in results):
        raise typer.Exit(ExitCode.FINDINGS)


def _check_texts(texts: list[str]) -> list[_Result]:
    from iotedge_cli.routes import RouteSyntaxError, parse_route

    results = []
    for i, text in enumerate(texts, 1):
        result = _Result(str(i), text, f"route {i}")
        try:
            route = parse_route(text)
        except RouteSyntaxError as exc:
            _fill_error(result, exc)
        else:
            result.warnings = _warnings(route)
        results.append(result)
    return results


def _check_manifest(path: Path) -> list[_Result]:
    from iotedge_cli.cli.routes._shared import load_routes, position

    loaded = load_routes(path)
    results: list[_Result] = []
    ordered = {name: i for i, (name, _, _) in enumerate(loaded.manifest.routes())}
    for spec in loaded.specs:
        line, col = position(loaded.doc, spec.path, None)
        result = _Result(
            spec.name, spec.text, f"{loaded.doc.name}:{line}:{col}: route {spec.name!r}"
        )
        result.line, result.col = line, col
        result.warnings = _warnings(spec.route)
        results.append(result)
    for p in loaded.problems:
        column = p.error.column if p.error is not None else None
        line, col = position(loaded.doc, p.path, column)
        result = _Result(p.name, p.text, f"{loaded.doc.name}:{line}:{col}: route {p.name!r}")
        result.line, result.col = line, col
        if p.error is not None:
            _fill_error(result, p.error)
        else:
            result.error = p.message.removeprefix(f"route {p.name!r}: ")
        results.append(result)
    return sorted(results, key=lambda r: ordered.get(r.name, len(ordered)))


def _fill_error(result: _Result, exc: Any) -> None:
    reason, hint = exc.reason, getattr(exc, "hint", None)
    if hint and reason.endswith(f"; {hint}"):
        reason = reason[: -len(hint) - 2]  # printed on its own line
    elif hint and hint in reason:
        hint = None
    result.error = reason
    result.hint = hint
    result.column = exc.column
    if result.line is None:
        result.where += f" (column {exc.column})"
    end = getattr(exc, "end", None)
    result.end = end + 1 if isinstance(end, int) else exc.column + 1
    result.caret = exc.caret()


def _warnings(route: Any) -> list[str]:
    from iotedge_cli.routes import SourceKind

    found = []
    src = route.source
    if src.kind is SourceKind.NEVER:
        found.append(f"source {src.path!r} can never match: {src.never_reason}")
    elif src.glob_item is not None:
        found.append(
            f"'*' in source {src.path!r} is not a glob: edgeHub strips it and matches the "
            f"prefix {src.normalised_prefix!r}"
        )
    cond = route.condition_expr
    if cond is not None and route.condition_offset is not None:
        found += [
            f"column {route.condition_offset + w.start + 1}: {w.reason}" for w in cond.warnings
        ]
    return found


def _human(results: list[_Result]) -> str:
    out = [line for r in results for line in r.human()]
    errors = sum(r.error is not None for r in results)
    noun = "route" if len(results) == 1 else "routes"
    verdict = f"{errors} with errors" if errors else "no errors"
    if out:
        out.append("")
    out.append(f"{len(results)} {noun} checked: {verdict}.")
    return "\n".join(out) + "\n"
