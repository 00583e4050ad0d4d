"""The error boundary: one ``error:`` line and a ``hint:`` line, user text never read as markup."""

from __future__ import annotations

import json

import pytest
import typer

from iotedge_cli.cli.common import error_boundary
from iotedge_cli.errors import FindingsError, InputError


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


def test_error_and_hint_lines_are_literal(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exc, error_boundary():
        raise InputError("[red]x.json:1:1: bad [bold]thing[/bold]", "fix [link=y]it[/link]")
    assert exc.value.exit_code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "error: [red]x.json:1:1: bad [bold]thing[/bold]\nhint: fix [link=y]it[/link]\n"


def test_without_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exc, error_boundary():
        raise FindingsError("generated manifest has 2 errors")
    assert exc.value.exit_code == 1
    assert capsys.readouterr().err == "error: generated manifest has 2 errors\n"


def test_as_json_is_one_document_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as exc, error_boundary(as_json=True):
        raise InputError("no such file: [x].json", "check the path")
    assert exc.value.exit_code == 2
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == {
        "error": {"message": "no such file: [x].json", "hint": "check the path", "exit_code": 2}
    }
