"""``path:line:col: CODE message``, grouped by file, then one summary line (flake8 style)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iotedge_cli.diagnostics import Report, Severity

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(report: Report) -> str:
    files = _plural(len(report.files), "file")
    if not report.diagnostics:
        return f"No problems found in {files}."
    parts = [_plural(report.errors, "error"), _plural(report.warnings, "warning")]
    infos = report.count(Severity.INFO)
    if infos:
        parts.append(_plural(infos, "note"))
    return f"Found {', '.join(parts)} in {files}."


def render(report: Report, out: Console) -> None:
    from rich.text import Text

    current: str | None = None
    for d in report:
        if current is not None and d.location.file != current:
            out.print()
        current = d.location.file
        line = Text()
        line.append(str(d.location), style="bold")
        line.append(": ")
        line.append(d.code, style=_STYLE[d.severity])
        line.append(" ")
        line.append(d.message)
        out.print(line)
    if report.diagnostics:
        out.print()
    out.print(Text(summary(report), style="bold" if report.errors else ""))
