"""The human reporter: flake8-style lines grouped by file, a summary, no markup interpretation."""

from __future__ import annotations

import pytest

from iotedge_cli.cli.common import console
from iotedge_cli.cli.render import human
from iotedge_cli.diagnostics import Diagnostic, Location, Report, Severity


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


def _render(report: Report, capsys: pytest.CaptureFixture[str]) -> str:
    human.render(report, console())
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_grouped_by_file_in_the_given_order(capsys: pytest.CaptureFixture[str]) -> None:
    report = Report(
        files=["b.json", "a.json"],
        diagnostics=[
            Diagnostic("W200", Severity.WARNING, "w", Location("a.json", 3, 1)),
            Diagnostic("E100", Severity.ERROR, "e2", Location("b.json", 9, 2)),
            Diagnostic("E100", Severity.ERROR, "e1", Location("b.json", 2, 5)),
            Diagnostic("I300", Severity.INFO, "i", Location("a.json")),
        ],
    )
    assert _render(report, capsys) == (
        "b.json:2:5: E100 e1\n"
        "b.json:9:2: E100 e2\n"
        "\n"
        "a.json: I300 i\n"
        "a.json:3:1: W200 w\n"
        "\n"
        "Found 2 errors, 1 warning, 1 note in 2 files.\n"
    )


def test_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert _render(Report(files=["a.json"]), capsys) == "No problems found in 1 file.\n"


def test_markup_and_long_lines_are_printed_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    message = "[bold]not bold[/bold] :smile: [link=x]y[/link] " + "long " * 60
    report = Report(
        files=["[red]x.json"],
        diagnostics=[Diagnostic("E100", Severity.ERROR, message, Location("[red]x.json", 1, 1))],
    )
    assert _render(report, capsys) == (
        f"[red]x.json:1:1: E100 {message}\n\nFound 1 error, 0 warnings in 1 file.\n"
    )
