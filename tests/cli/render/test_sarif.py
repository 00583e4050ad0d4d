"""SARIF 2.1.0 output: valid against the official schema, and exact about rules and places."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli import __version__
from iotedge_cli.cli.render import sarif
from iotedge_cli.diagnostics import Diagnostic, Location, Report, Rule, Severity
from iotedge_cli.manifest.lint import all_rules, lint_paths
from tests.cli.helpers import BROKEN, CLEAN, DUPLICATE, LEGACY, invoke, sarif_errors, write

# RFC 3986 URI-reference: only these characters, and '%' only as a well-formed escape.
_URI = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-F]{2})*$")


def _valid(document: Any) -> Any:
    assert sarif_errors(document) == []
    for run in document["runs"]:
        uris = [a["location"]["uri"] for a in run["artifacts"]]
        uris += [
            loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in run["results"]
            for loc in result["locations"]
        ]
        for uri in uris:
            assert _URI.match(uri), uri
    return document


def _cli(args: list[str]) -> tuple[int, Any]:
    run = invoke(["manifest", "validate", "--format", "sarif", *args])
    assert run.stderr == ""
    return run.exit_code, _valid(json.loads(run.stdout))


@pytest.fixture
def samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(
        tmp_path,
        {
            "deployment.json": CLEAN,
            "dup.json": DUPLICATE,
            "legacy.json": LEGACY,
            "broken.json": BROKEN,
            "config/my deployment [1].json": LEGACY,
        },
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_clean_run(samples: Path) -> None:
    code, document = _cli(["deployment.json"])
    assert code == 0
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["artifacts"] == [{"location": {"uri": "deployment.json", "uriBaseId": "%SRCROOT%"}}]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("edgectl", __version__)
    assert driver["informationUri"].startswith("https://")


def test_every_rule_is_described(samples: Path) -> None:
    _, document = _cli(["deployment.json"])
    rules = all_rules()
    descriptors = document["runs"][0]["tool"]["driver"]["rules"]
    assert [d["id"] for d in descriptors] == list(rules)
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    for descriptor, rule in zip(descriptors, rules.values(), strict=True):
        assert descriptor == {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.help or rule.summary},
            "help": {"text": rule.help or rule.summary},
            "defaultConfiguration": {"level": level[rule.severity]},
        }


def test_results_and_artifacts(samples: Path) -> None:
    code, document = _cli(
        ["dup.json", "legacy.json", "broken.json", "config/my deployment [1].json"]
    )
    assert code == 2
    (run,) = document["runs"]
    index = {d["id"]: i for i, d in enumerate(run["tool"]["driver"]["rules"])}
    assert run["invocations"] == [{"executionSuccessful": False}]
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["artifacts"] == [
        {"location": {"uri": "dup.json", "uriBaseId": "%SRCROOT%"}},
        {"location": {"uri": "legacy.json", "uriBaseId": "%SRCROOT%"}},
        {"location": {"uri": "broken.json", "uriBaseId": "%SRCROOT%"}},
        {"location": {"uri": "config/my%20deployment%20%5B1%5D.json", "uriBaseId": "%SRCROOT%"}},
    ]

    def physical(uri: str, i: int, line: int, col: int) -> dict[str, Any]:
        return {
            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%", "index": i},
            "region": {"startLine": line, "startColumn": col},
        }

    legacy_message = "`moduleContent` is the legacy root name; rename it to `modulesContent`"
    assert run["results"] == [
        {
            "ruleId": "W004",
            "ruleIndex": index["W004"],
            "level": "warning",
            "message": {
                "text": "duplicate key 'schemaVersion' (first at line 5); the last value wins: "
                "remove or merge the other"
            },
            "locations": [{"physicalLocation": physical("dup.json", 0, 6, 9)}],
        },
        {
            "ruleId": "W003",
            "ruleIndex": index["W003"],
            "level": "warning",
            "message": {"text": legacy_message},
            "locations": [
                {
                    "physicalLocation": physical("legacy.json", 1, 2, 3),
                    "logicalLocations": [{"fullyQualifiedName": "/moduleContent"}],
                }
            ],
        },
        {
            "ruleId": "E001",
            "ruleIndex": index["E001"],
            "level": "error",
            "message": {"text": "invalid JSON: unexpected end of file: object not closed"},
            "locations": [{"physicalLocation": physical("broken.json", 2, 56, 1)}],
        },
        {
            "ruleId": "W003",
            "ruleIndex": index["W003"],
            "level": "warning",
            "message": {"text": legacy_message},
            "locations": [
                {
                    "physicalLocation": physical("config/my%20deployment%20%5B1%5D.json", 3, 2, 3),
                    "logicalLocations": [{"fullyQualifiedName": "/moduleContent"}],
                }
            ],
        },
    ]


def test_absolute_paths_become_file_uris(samples: Path) -> None:
    path = samples / "legacy.json"
    _, document = _cli([str(path)])
    (run,) = document["runs"]
    assert run["artifacts"] == [{"location": {"uri": path.as_uri()}}]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": path.as_uri(), "index": 0}


def test_a_missing_file_has_no_region(samples: Path) -> None:
    code, document = _cli(["missing.json"])
    assert code == 2
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "E001"
    assert result["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "missing.json", "uriBaseId": "%SRCROOT%", "index": 0}
            }
        }
    ]


# --- the reporter on hand-made reports --------------------------------------------------------

RULES = {
    "E100": Rule("E100", "some-error", Severity.ERROR, "An error.", "Fix it."),
    "I200": Rule("I200", "some-note", Severity.INFO, "A note."),
}


def _render(*diagnostics: Diagnostic, files: list[str] | None = None) -> Any:
    report = Report(files=files or [], diagnostics=list(diagnostics))
    return _valid(json.loads(sarif.render(report, RULES)))


def test_levels_unknown_rules_and_help_fallback() -> None:
    document = _render(
        Diagnostic("I200", Severity.INFO, "note", Location("a.json", 3, 4, ("x", 0))),
        Diagnostic("X999", Severity.WARNING, "from elsewhere", Location("a.json", 5, 1)),
        files=["a.json"],
    )
    run = document["runs"][0]
    assert run["tool"]["driver"]["rules"][1]["help"] == {"text": "A note."}
    assert run["tool"]["driver"]["rules"][1]["defaultConfiguration"] == {"level": "note"}
    first, second = run["results"]
    assert (first["ruleIndex"], first["level"]) == (1, "note")
    assert first["locations"][0]["logicalLocations"] == [{"fullyQualifiedName": "/x/0"}]
    assert "ruleIndex" not in second
    assert second["level"] == "warning"


@pytest.mark.parametrize(
    ("file", "location"),
    [
        ("a.json", {"uri": "a.json", "uriBaseId": "%SRCROOT%"}),
        ("./a.json", {"uri": "a.json", "uriBaseId": "%SRCROOT%"}),
        ("config\\a.json", {"uri": "config/a.json", "uriBaseId": "%SRCROOT%"}),
        ("../up/a.json", {"uri": "../up/a.json", "uriBaseId": "%SRCROOT%"}),
        ("a:b.json", {"uri": "./a:b.json", "uriBaseId": "%SRCROOT%"}),
        ("50%.json", {"uri": "50%25.json", "uriBaseId": "%SRCROOT%"}),
        ("/abs/x y.json", {"uri": "file:///abs/x%20y.json"}),
        ("C:\\work\\a.json", {"uri": "file:///C:/work/a.json"}),
    ],
)
def test_artifact_locations(file: str, location: dict[str, str]) -> None:
    assert sarif.artifact_location(file) == location
    document = _render(Diagnostic("E100", Severity.ERROR, "m", Location(file, 1, 1)), files=[file])
    assert document["runs"][0]["artifacts"] == [{"location": location}]


def test_files_named_only_by_findings_are_artifacts_too() -> None:
    document = _render(
        Diagnostic("E100", Severity.ERROR, "m", Location("b.json")), files=["a.json"]
    )
    run = document["runs"][0]
    assert [a["location"]["uri"] for a in run["artifacts"]] == ["a.json", "b.json"]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["index"] == 1


def test_non_ascii_text_is_kept() -> None:
    document = _render(
        Diagnostic("E100", Severity.ERROR, "clé «x» ✓", Location("ü.json", 1, 2)), files=["ü.json"]
    )
    result = document["runs"][0]["results"][0]
    assert result["message"]["text"] == "clé «x» ✓"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "%C3%BC.json"


@pytest.mark.corpus
def test_the_whole_corpus_gives_valid_sarif(corpus_dir: Path) -> None:
    files = sorted(corpus_dir.glob("*.json")) + sorted(corpus_dir.glob("*.y*ml"))
    assert files
    report = lint_paths(files)
    document = _valid(json.loads(sarif.render(report, all_rules())))
    run = document["runs"][0]
    assert len(run["results"]) == len(report.diagnostics)
    assert len(run["artifacts"]) == len(files)
    assert run["invocations"] == [{"executionSuccessful": not report.unreadable}]
