"""The root command: version, help of every command, usage errors through ``main``."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer

from iotedge_cli import __version__
from iotedge_cli.cli.app import app
from tests.cli.helpers import PYTHON, invoke, subprocess_env


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths += _command_paths(sub, (*prefix, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def _main(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "iotedge_cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=subprocess_env(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_the_command_tree_is_discovered() -> None:
    assert {("manifest", "validate"), ("manifest", "generate"), ("manifest", "schema")} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str) -> None:
    run = invoke([flag])
    assert (run.exit_code, run.stdout, run.stderr) == (0, f"edgectl {__version__}\n", "")


def test_python_dash_m_version() -> None:
    proc = _main("--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"edgectl {__version__}\n", "")


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "edgectl")
def test_help_of_every_command(path: tuple[str, ...]) -> None:
    for flag in ("--help", "-h"):
        run = invoke([*path, flag])
        assert run.exit_code == 0, run
        assert run.stdout.startswith(f"Usage: {' '.join(('edgectl', *path))} ")
        assert run.stderr == ""


def test_no_arguments_shows_help() -> None:
    proc = _main()
    assert "Usage: edgectl" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "fragment", "command"),
    [
        (
            ["manifest", "validate", "--bogus", "x.json"],
            "No such option: --bogus",
            "manifest validate",
        ),
        (["manifest", "validate"], "Missing argument 'paths'", "manifest validate"),
        (
            ["manifest", "validate", "--format", "xml", "x.json"],
            "'xml' is not one of",
            "manifest validate",
        ),
        (["frobnicate"], "No such command 'frobnicate'", ""),
    ],
)
def test_usage_error_is_one_error_and_one_hint_line(
    args: list[str], fragment: str, command: str
) -> None:
    # The wording of a usage error is Typer's; what is ours is its shape and the exit code.
    proc = _main(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    error, hint = proc.stderr.splitlines()
    assert error.startswith("error: ")
    assert fragment in error
    assert hint == f"hint: see '{' '.join(('edgectl', command)).strip()} --help'"


def test_unreadable_input_through_main_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    proc = _main("manifest", "validate", "bad.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout.startswith("bad.json:1:2: E001 ")
    assert proc.stderr == ""
