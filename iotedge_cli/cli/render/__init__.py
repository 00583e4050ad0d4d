"""Reporters: turn a :class:`~iotedge_cli.diagnostics.Report` into output for people or tools.

Each non-human reporter is a pure function ``render(report, rules) -> str``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from iotedge_cli.diagnostics import Report, Rule

if TYPE_CHECKING:
    from rich.console import Console

    from iotedge_cli.cli.common import OutputFormat


def emit(report: Report, fmt: OutputFormat, rules: Mapping[str, Rule], out: Console) -> None:
    """Write ``report`` in ``fmt``: human text via rich, the others as plain text on stdout."""
    import sys

    from iotedge_cli.cli.render import human

    if fmt.value == "human":
        human.render(report, out)
        return
    if fmt.value == "json":
        from iotedge_cli.cli.render.json import render as render_json

        text = render_json(report, rules)
    elif fmt.value == "github":
        from iotedge_cli.cli.render.github import render as render_github

        text = render_github(report, rules)
    else:
        from iotedge_cli.cli.render.sarif import render as render_sarif

        text = render_sarif(report, rules)
    sys.stdout.write(text)
    sys.stdout.flush()
