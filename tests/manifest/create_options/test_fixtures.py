"""Fixture manifests: positive/ files have no E3xx/W3xx finding; negative/ files have exactly
the findings their sibling ``.expected`` file lists (``CODE line:col message-fragment``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotedge_cli.diagnostics import Diagnostic
from iotedge_cli.manifest.lint import lint_doc
from iotedge_cli.manifest.loader import load_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "manifest" / "create_options"
POSITIVE = sorted((FIXTURES / "positive").glob("*.json"))
NEGATIVE = sorted((FIXTURES / "negative").glob("*.json"))


def _family(path: Path) -> list[Diagnostic]:
    return [d for d in lint_doc(load_file(path)) if d.code[1:2] == "3"]


@pytest.mark.parametrize("path", POSITIVE, ids=lambda p: p.name)
def test_positive(path: Path) -> None:
    assert [f"{d.location} {d.code} {d.message}" for d in _family(path)] == []


def _expected(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.with_suffix(".expected").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, pos, *fragment = line.split(" ", 2)
            rows.append((code, pos, fragment[0] if fragment else ""))
    return rows


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.name)
def test_negative(path: Path) -> None:
    found = _family(path)
    expected = _expected(path)
    got = [(d.code, f"{d.location.line}:{d.location.col}") for d in found]
    assert got == [(code, pos) for code, pos, _ in expected]
    for d, (_, _, fragment) in zip(found, expected, strict=True):
        assert fragment in d.message


def test_every_negative_fixture_declares_findings() -> None:
    assert NEGATIVE, "no fixtures found"
    for path in NEGATIVE:
        assert path.with_suffix(".expected").is_file(), path.name
