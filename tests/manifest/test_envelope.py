"""E0xx (the file and its envelope) driven by tests/fixtures/manifest/envelope/."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotedge_cli.manifest.lint import LintOptions, lint_paths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "manifest" / "envelope"


def _cases(kind: str) -> list[Path]:
    return sorted(p for p in (FIXTURES / kind).iterdir() if p.suffix != ".expected")


def _expected(path: Path) -> list[str]:
    sibling = path.with_suffix(".expected") if path.suffix == ".json" else Path(f"{path}.expected")
    return sibling.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.mark.parametrize("path", _cases("negative"), ids=lambda p: p.name)
def test_negative(path: Path) -> None:
    report = lint_paths([path], LintOptions(select=("E0", "W0")))
    assert [f"{d.code} {d.location.line}:{d.location.col}" for d in report] == _expected(path)


@pytest.mark.parametrize("path", _cases("positive"), ids=lambda p: p.name)
def test_positive(path: Path) -> None:
    assert list(lint_paths([path], LintOptions(select=("E0", "W0")))) == []
