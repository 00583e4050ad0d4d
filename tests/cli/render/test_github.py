"""GitHub workflow commands: levels, titles and the escaping rules of actions/toolkit."""

from __future__ import annotations

from iotedge_cli.cli.render import github
from iotedge_cli.diagnostics import Diagnostic, Location, Report, Rule, Severity

RULES = {"E100": Rule("E100", "bad-thing", Severity.ERROR, "A bad thing.")}


def _render(*diagnostics: Diagnostic) -> str:
    files = list(dict.fromkeys(d.location.file for d in diagnostics))
    return github.render(Report(files=files, diagnostics=list(diagnostics)), RULES)


def test_levels_and_positions() -> None:
    out = _render(
        Diagnostic("E100", Severity.ERROR, "e", Location("a.json", 1, 2)),
        Diagnostic("W200", Severity.WARNING, "w", Location("a.json", 3, 4)),
        Diagnostic("I300", Severity.INFO, "i", Location("b.json")),
    )
    assert out == (
        "::error file=a.json,line=1,col=2,title=E100 bad-thing::e\n"
        "::warning file=a.json,line=3,col=4,title=W200::w\n"
        "::notice file=b.json,title=I300::i\n"
    )


def test_data_escapes_percent_and_line_breaks_only() -> None:
    out = _render(
        Diagnostic("E100", Severity.ERROR, "100% a,b: c\r\nnext::line", Location("a.json", 1, 1))
    )
    assert out == (
        "::error file=a.json,line=1,col=1,title=E100 bad-thing::100%25 a,b: c%0D%0Anext::line\n"
    )


def test_properties_escape_comma_colon_percent_and_line_breaks() -> None:
    out = _render(Diagnostic("E100", Severity.ERROR, "m", Location("d:/x,y%\nz.json", 7, 1)))
    assert out == ("::error file=d%3A/x%2Cy%25%0Az.json,line=7,col=1,title=E100 bad-thing::m\n")


def test_no_findings_no_output() -> None:
    assert github.render(Report(files=["a.json"]), RULES) == ""
