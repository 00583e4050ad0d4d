"""Issue 2 acceptance on ../shared/corpus (real public manifests; skipped when absent).

- every file lints without a crash;
- errors appear only where the corpus notes (INDEX.tsv) describe a real defect, each with
  the right code at the right place; every other file has no error at all.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from iotedge_cli.diagnostics import Severity
from iotedge_cli.manifest.lint import lint_paths

pytestmark = pytest.mark.corpus

# file -> (code, line:col) of every error; the comment is the defect the notes describe.
EXPECTED_ERRORS: dict[str, list[tuple[str, str]]] = {
    # "INVALID on purpose: restartPolicy on-failured, empty system-module images, bogus route
    # syntax, no runtime section"
    "cliext__test_edge_deployment_malformed.json": [
        ("E101", "6:39"),  # no runtime
        ("E401", "12:42"),  # edgeAgent image ""
        ("E401", "21:42"),  # edgeHub image ""
        ("E103", "31:46"),  # on-failured
        ("E201", "44:35"),  # "FROM device messages ..."
    ],
    # "template-2.0 schema: '$edgeHub' is a required property"
    "iiiot__publisher.deployment.template.json": [("E101", "3:21")],
    # "INVALID on purpose (schema errors test asset)"; not named *template*, so its ${...}
    # and $VAR values are leftovers of a generated manifest; "routes name modules not in manifest"
    "iotedgedev__deployment.manifest_invalid_schema.json": [
        ("E403", "5:28"),
        ("E101", "12:25"),
        ("E102", "13:33"),
        ("E403", "17:35"),
        ("E403", "18:35"),
        ("E405", "19:34"),
        ("E403", "28:26"),
        ("E403", "36:26"),
        ("E403", "57:28"),
        ("E203", "59:37"),
    ],
    # competitors.md: the template routes to 'filtermodule', which it never deploys
    "iotedgedev__deployment.template.non_str_placeholder.json": [("E203", "71:37")],
    # "routes name modules not in manifest: cmodule,csharp" (the module is CMODULE)
    "schemastore__test_deployment-1.0_deployment.json": [("E203", "75:30")],
    "schemastore__test_deployment-2.0_deployment.json": [("E203", "78:30")],
}

# Defects the notes describe that are warnings (the file still deploys).
EXPECTED_WARNINGS: list[tuple[str, str, str]] = [
    ("customvision_rpi__deployment.template.json", "W202", "106:38"),  # route from CameraCaptureGA
    ("schemastore__test_deployment-1.0_deployment.json", "W202", "74:29"),  # csharp
    ("schemastore__test_deployment-2.0_deployment.json", "W202", "77:29"),  # csharp
    ("modbus__deployment.template.json", "W003", "2:3"),  # legacy moduleContent root
]


def test_corpus_errors_are_exactly_the_real_defects(corpus_dir: Path) -> None:
    files = sorted(corpus_dir.glob("*.json"))
    report = lint_paths(files)
    assert report.unreadable == []
    errors: dict[str, list[tuple[str, str]]] = {}
    for d in report:
        if d.severity is Severity.ERROR:
            errors.setdefault(Path(d.location.file).name, []).append(
                (d.code, f"{d.location.line}:{d.location.col}")
            )
    present = {f.name for f in files}
    assert errors == {k: v for k, v in EXPECTED_ERRORS.items() if k in present}


def test_corpus_warnings_for_described_defects(corpus_dir: Path) -> None:
    report = lint_paths(sorted(corpus_dir.glob("*.json")))
    found = {
        (Path(d.location.file).name, d.code, f"{d.location.line}:{d.location.col}") for d in report
    }
    for row in EXPECTED_WARNINGS:
        if (corpus_dir / row[0]).exists():
            assert row in found


def test_files_the_notes_call_valid_have_no_error(corpus_dir: Path) -> None:
    """Independent of the table above: '...: ok' for every checked section and no defect noted."""
    index = corpus_dir / "INDEX.tsv"
    with index.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    valid = [
        r["file"]
        for r in rows
        if (corpus_dir / r["file"]).exists()
        and r["kind"] == "generated"
        and "$edgeAgent 1." in r["notes"]
        and "err" not in r["notes"]
        and "INVALID" not in r["notes"]
        and "not in manifest" not in r["notes"]
        and all(
            part.split(":")[-1].strip() == "ok" for part in r["notes"].split(";") if "$edge" in part
        )
    ]
    assert len(valid) >= 15
    report = lint_paths([corpus_dir / f for f in valid])
    assert [
        (d.location.file, d.code, d.message) for d in report if d.severity is Severity.ERROR
    ] == []
