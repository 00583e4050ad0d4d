"""The root ``edgectl`` command and the process entry point."""

from __future__ import annotations

import sys
from typing import Any

import typer

from iotedge_cli import __version__
from iotedge_cli.cli.certs import app as certs_app
from iotedge_cli.cli.manifest import app as manifest_app
from iotedge_cli.cli.routes import app as routes_app
from iotedge_cli.errors import ExitCode

HELP = """\
edgectl: build, lint and run Azure IoT Edge solutions, offline and in CI.

Exit codes: 0 ok, 1 findings (lint/verify failed), 2 usage error or unreadable input,
3 a service is unavailable (Docker, IoT Hub), 70 internal error, 130 interrupted.
"""

app = typer.Typer(
    name="edgectl",
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's help renderer costs ~0.12 s of start-up
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(manifest_app, name="manifest")
app.add_typer(routes_app, name="routes")
app.add_typer(certs_app, name="certs")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"edgectl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """edgectl: build, lint and run Azure IoT Edge solutions, offline and in CI."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: usage errors as ``error:``/``hint:``, never a traceback."""
    try:
        result: Any = app(args=argv, prog_name="edgectl", standalone_mode=False)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # the one crash handler
        code = getattr(exc, "exit_code", None)
        if hasattr(exc, "format_message") and isinstance(code, int):  # Click's usage errors
            ctx = getattr(exc, "ctx", None)
            command = ctx.command_path if ctx is not None else "edgectl"
            sys.stderr.write(f"error: {exc.format_message()}\n")
            sys.stderr.write(f"hint: see '{command} --help'\n")
            sys.exit(ExitCode.USAGE if code == 2 else code)
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        sys.stderr.write(
            "hint: this is a bug in edgectl; please report it with the command you ran\n"
        )
        sys.exit(ExitCode.INTERNAL)
    sys.exit(result if isinstance(result, int) else 0)
