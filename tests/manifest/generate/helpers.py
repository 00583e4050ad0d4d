"""A throw-away copy of the fixture solution, and JSON helpers, for the generate tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "generate" / "solution"
TEMPLATE = "deployment.template.json"

Edit = Callable[[dict[str, Any]], None]


def make_solution(tmp_path: Path, edit: Edit | None = None) -> Path:
    """Copy the fixture solution to ``tmp_path/sol`` and apply ``edit`` to its template data."""
    sol = tmp_path / "sol"
    shutil.copytree(FIXTURE, sol)
    if edit is not None:
        path = sol / TEMPLATE
        data = json.loads(path.read_text("utf-8"))
        edit(data)
        path.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    return sol


def agent(t: dict[str, Any]) -> dict[str, Any]:
    desired: dict[str, Any] = t["modulesContent"]["$edgeAgent"]["properties.desired"]
    return desired


def filtermodule(t: dict[str, Any]) -> dict[str, Any]:
    module: dict[str, Any] = agent(t)["modules"]["filtermodule"]
    return module


def routes(t: dict[str, Any]) -> dict[str, Any]:
    r: dict[str, Any] = t["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]
    return r


def line_col_of(path: Path, needle: str, nth: int = 0) -> str:
    """``line:col`` (1-based) of the ``nth`` occurrence of ``needle`` in the file."""
    text = path.read_text("utf-8")
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return f"{line}:{col}"
