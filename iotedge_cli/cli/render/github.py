"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` per finding."""

from __future__ import annotations

from collections.abc import Mapping

from iotedge_cli.diagnostics import Report, Rule, Severity

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, rules: Mapping[str, Rule]) -> str:
    lines = []
    for d in report:
        loc = d.location
        props = [f"file={_escape_property(loc.file)}"]
        if loc.line:
            props += [f"line={loc.line}", f"col={loc.col}"]
        title = f"{d.code} {rules[d.code].name}" if d.code in rules else d.code
        props.append(f"title={_escape_property(title)}")
        lines.append(f"::{_LEVEL[d.severity]} {','.join(props)}::{_escape_data(d.message)}")
    return "".join(line + "\n" for line in lines)
