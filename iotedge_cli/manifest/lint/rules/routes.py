"""(being written)"""

from __future__ import annotations

from iotedge_cli.diagnostics import Rule
from iotedge_cli.manifest.lint.context import Context

RULES: list[Rule] = []


def check(ctx: Context) -> None:
    return None
