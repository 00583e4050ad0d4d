"""The documentation that is generated from code stays in sync with it."""

from __future__ import annotations

from pathlib import Path

from iotedge_cli.cli.manifest.rules import rules_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_docs_rules_md_is_current() -> None:
    expected = rules_markdown()
    actual = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/rules.md is stale: run `edgectl manifest rules --markdown > docs/rules.md`"
    )


def test_every_rule_has_help_and_a_well_formed_code() -> None:
    from iotedge_cli.manifest.lint import all_rules

    for code, rule in all_rules().items():
        assert code[0] in "EWI" and code[1:].isdigit() and len(code) == 4, code
        assert code[0] == rule.severity.value[0].upper() or code[0] == "I", code
        assert rule.summary and rule.help, code
