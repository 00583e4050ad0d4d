"""Shared helpers of the scaffolding tests: run the CLI, list languages, read trees."""

from __future__ import annotations

from pathlib import Path

from iotedge_cli.scaffold.templates import module_languages, template_root
from tests.cli.helpers import Run, invoke

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
LANGUAGES = module_languages()
MODULE = "FilterModule"


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (relative POSIX path → bytes), caches excluded."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }


def scaffold(tmp: Path, language: str, *, name: str = "demo", module: str = MODULE) -> Path:
    """``new-solution`` then ``new-module`` (both through the CLI); the solution folder."""
    solution = tmp / name
    run = invoke(["new-solution", str(solution)])
    assert run.exit_code == 0, run.stderr
    run = invoke(["new-module", module, "--lang", language, "--solution", str(solution)])
    assert run.exit_code == 0, run.stderr
    return solution


def ok(args: list[str]) -> Run:
    run = invoke(args)
    assert run.exit_code == 0, (args, run.stdout, run.stderr)
    return run


__all__ = ["GOLDEN", "LANGUAGES", "MODULE", "ROOT", "scaffold", "template_root", "tree"]
