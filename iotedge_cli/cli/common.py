"""What every command shares: consoles, the error boundary, output formats.

Typer's CliRunner calls commands directly (bypassing :func:`iotedge_cli.cli.app.main`), so
failures are rendered here, inside the command, by :func:`error_boundary`; tests then see
exactly what users see. rich is imported lazily so that ``edgectl --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from iotedge_cli.errors import EdgectlError, ExitCode

if TYPE_CHECKING:
    from rich.console import Console


class OutputFormat(str, Enum):
    human = "human"
    json = "json"
    github = "github"
    sarif = "sarif"


def console(*, stderr: bool = False) -> Console:
    """A rich console; colour only on a terminal and never when ``NO_COLOR`` is set."""
    from rich.console import Console

    return Console(
        stderr=stderr,
        highlight=False,
        soft_wrap=True,
        no_color=bool(os.environ.get("NO_COLOR")),
        emoji=False,
    )


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail(message: str, hint: str | None = None, *, as_json: bool = False, code: int = 2) -> None:
    """Render a failure as ``error:`` + ``hint:`` (stderr), or as JSON on stdout."""
    if as_json:
        print_json({"error": {"message": message, "hint": hint, "exit_code": int(code)}})
        return
    err = console(stderr=True)
    err.print("[bold red]error:[/] ", end="")
    err.print(message, markup=False)
    if hint:
        err.print("[bold]hint:[/] ", end="")
        err.print(hint, markup=False)


@contextmanager
def error_boundary(*, as_json: bool = False) -> Iterator[None]:
    """Turn an :class:`EdgectlError` into one ``error:`` line, a ``hint:`` and its exit code."""
    try:
        yield
    except EdgectlError as exc:
        fail(exc.message, exc.hint, as_json=as_json, code=exc.exit_code)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        fail("interrupted", as_json=as_json, code=ExitCode.INTERRUPTED)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
