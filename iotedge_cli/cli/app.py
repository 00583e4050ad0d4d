"""The root ``edgectl`` command and the process entry point."""

from __future__ import annotations

import functools
import importlib
import os
import sys
from typing import Any

import typer

from iotedge_cli import __version__
from iotedge_cli.errors import ExitCode

HELP = """\
edgectl: build, lint and run Azure IoT Edge solutions, offline and in CI.

Exit codes: 0 ok, 1 findings (lint/verify failed), 2 usage error or unreadable input,
3 a service is unavailable (Docker, IoT Hub), 70 internal error, 130 interrupted.
"""

# Command groups: name -> (module defining ``app``, one-line help). A run imports only the
# group it invokes; `edgectl --help` imports none (their help line comes from here).
GROUPS: dict[str, tuple[str, str]] = {
    "manifest": (
        "iotedge_cli.cli.manifest",
        "Generate deployment manifests from templates and lint them.",
    ),
    "routes": (
        "iotedge_cli.cli.routes",
        "Check edgeHub routes, test a message against them, and draw the message flow.",
    ),
    "certs": (
        "iotedge_cli.cli.certs",
        "Make TEST-ONLY certificate chains for IoT Edge and inspect or verify certificates.",
    ),
    "templates": (
        "iotedge_cli.cli.templates",
        "List the module templates that 'edgectl new-module --lang' offers.",
    ),
    "simulate": (
        "iotedge_cli.cli.simulate",
        "Run an offline simulation of an IoT Edge hub that SDK modules use unchanged.",
    ),
    "device": (
        "iotedge_cli.cli.device",
        "Create, show, list and delete device identities in IoT Hub; read and tag their twins.",
    ),
    "deployment": (
        "iotedge_cli.cli.deploy",
        "List, show and delete automatic and layered IoT Edge deployments.",
    ),
}

# Top-level commands, imported lazily like the groups: name -> (module, function, help line).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "new-solution": (
        "iotedge_cli.cli.scaffold",
        "new_solution",
        "Create an IoT Edge solution (templates, .env, modules/), offline.",
    ),
    "new-module": (
        "iotedge_cli.cli.scaffold",
        "new_module",
        "Add a module from a template to a solution and its deployment templates.",
    ),
    "deploy": (
        "iotedge_cli.cli.deploy",
        "deploy",
        "Deploy a manifest through IoT Hub (or the simulator): to a device, or at scale.",
    ),
}


def make_app(only: str | None = None) -> typer.Typer:
    """The root command. With ``only``, every other group is a help-only stub (not imported)."""
    root = typer.Typer(
        name="edgectl",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode=None,  # plain help: rich's help renderer costs ~0.12 s of start-up
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    root.callback()(_root)
    for name, (module, help_line) in GROUPS.items():
        if only is None or name == only:
            group: typer.Typer = importlib.import_module(module).app
        else:
            group = typer.Typer(rich_markup_mode=None)
        root.add_typer(group, name=name, help=help_line)
    for name, (module, function, help_line) in COMMANDS.items():
        if only is None or name == only:
            root.command(name)(getattr(importlib.import_module(module), function))
        else:
            root.command(name, help=help_line, add_help_option=False)(_stub)
    return root


def _stub() -> None:
    """A help-only stand-in for a command that this run does not invoke."""


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"edgectl {__version__}\n")
        raise typer.Exit(0)


def _root(
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


def _invoked_group(args: list[str]) -> str | None:
    """The group a command line invokes; ``""`` for none (help, version, a typo)."""
    if "_EDGECTL_COMPLETE" in os.environ:
        return None  # shell completion walks every command
    first = next((a for a in args if not a.startswith("-")), "")
    return first if first in GROUPS or first in COMMANDS else ""


@functools.cache
def full_app() -> typer.Typer:
    """The complete command tree (every group imported), built once."""
    return make_app()


def __getattr__(name: str) -> Any:
    """``app`` is :func:`full_app` (for tests and tools), built on first use."""
    if name == "app":
        return full_app()
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: usage errors as ``error:``/``hint:``, never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    try:
        application = make_app(_invoked_group(args))
        result: Any = application(args=args, prog_name="edgectl", standalone_mode=False)
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
