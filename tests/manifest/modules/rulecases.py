"""Run one rule family over fixture manifests: ``negative/*.json`` files declare their findings
in a sibling ``*.expected`` file (one ``CODE line:col`` per line); ``positive/*.json`` files must
produce none of the family's findings."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from iotedge_cli.diagnostics import Diagnostic
from iotedge_cli.manifest.lint.context import Context, LintOptions
from iotedge_cli.manifest.loader import SourceDoc, load_file, load_text
from iotedge_cli.manifest.model import Manifest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "manifest"


def run(rules: ModuleType, doc: SourceDoc, options: LintOptions | None = None) -> list[Diagnostic]:
    """The findings of one rule module (``RULES`` + ``check``) for ``doc``, in file order."""
    ctx = Context(
        Manifest.from_doc(doc), options or LintOptions(), {r.code: r for r in rules.RULES}
    )
    rules.check(ctx)
    return sorted(ctx.diagnostics, key=Diagnostic.sort_key)


def run_file(rules: ModuleType, path: Path) -> list[Diagnostic]:
    return run(rules, load_file(path))


def run_text(
    rules: ModuleType, text: str, name: str = "deployment.json", **options: object
) -> list[Diagnostic]:
    return run(rules, load_text(text, name), LintOptions(**options))  # type: ignore[arg-type]


def cases(family: str, kind: str) -> list[Path]:
    return sorted((FIXTURES / family / kind).rglob("*.json"))


def expected(path: Path) -> list[str]:
    lines = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def summary(found: list[Diagnostic]) -> list[str]:
    return [f"{d.code} {d.location.line}:{d.location.col}" for d in found]


def case_id(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()
