"""``edgectl manifest validate``: exit codes, filtering, and the whole output of each format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import BROKEN, CLEAN, COMMENT, DUPLICATE, LEGACY, invoke, with_defect, write

DUP_MSG = "duplicate key 'schemaVersion' (first at line 5); the last value wins: remove or merge the other"
LEGACY_MSG = "`moduleContent` is the legacy root name; rename it to `modulesContent`"
COMMENT_MSG = "comment in JSON: IoT Hub and az iot edge reject it; remove it"
E002_MSG = (
    'no "modulesContent" object found; a deployment manifest looks like '
    '{"modulesContent": {"$edgeAgent": {...}, "$edgeHub": {...}}}'
)
BROKEN_MSG = "invalid JSON: unexpected end of file: object not closed"


@pytest.fixture(autouse=True)
def _samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in a directory holding one sample of each kind, named by relative path."""
    write(
        tmp_path,
        {
            "deployment.json": CLEAN,
            "dup.json": DUPLICATE,
            "legacy.json": LEGACY,
            "comment.json": COMMENT,
            "broken.json": BROKEN,
            "empty.json": "{}",
        },
    )
    monkeypatch.chdir(tmp_path)


# --- exit codes ---------------------------------------------------------------------------


def test_clean_manifest_exits_0() -> None:
    run = invoke(["manifest", "validate", "deployment.json"])
    assert (run.exit_code, run.stdout, run.stderr) == (0, "No problems found in 1 file.\n", "")


def test_warnings_alone_exit_0() -> None:
    run = invoke(["manifest", "validate", "dup.json", "legacy.json"])
    assert run.exit_code == 0
    assert run.stdout == (
        f"dup.json:6:9: W004 {DUP_MSG}\n"
        "\n"
        f"legacy.json:2:3: W003 {LEGACY_MSG}\n"
        "\n"
        "Found 0 errors, 2 warnings in 2 files.\n"
    )


def test_strict_makes_warnings_fail() -> None:
    assert invoke(["manifest", "validate", "--strict", "dup.json"]).exit_code == 1
    assert invoke(["manifest", "validate", "--strict", "deployment.json"]).exit_code == 0


def test_errors_exit_1() -> None:
    # --generated: a comment is an error in a manifest (only a template may hold one).
    run = invoke(["manifest", "validate", "--generated", "comment.json", "deployment.json"])
    assert run.exit_code == 1
    assert run.stdout == (
        f"comment.json:2:3: E005 {COMMENT_MSG}\n\nFound 1 error, 0 warnings in 2 files.\n"
    )
    assert run.stderr == ""


def test_comments_are_allowed_in_templates() -> None:
    run = invoke(["manifest", "validate", "--template", "comment.json"])
    assert run.exit_code == 0
    assert run.stdout == "No problems found in 1 file.\n"
    assert invoke(["manifest", "validate", "--template", "--strict", "comment.json"]).exit_code == 0


def test_not_a_manifest_is_an_error() -> None:
    run = invoke(["manifest", "validate", "--select", "E0", "empty.json"])
    assert run.exit_code == 1
    assert (
        run.stdout == f"empty.json:1:1: E002 {E002_MSG}\n\nFound 1 error, 0 warnings in 1 file.\n"
    )


def test_unparseable_file_exits_2_and_the_others_are_still_checked() -> None:
    run = invoke(["manifest", "validate", "broken.json", "dup.json"])
    assert run.exit_code == 2
    assert run.stdout == (
        f"broken.json:56:1: E001 {BROKEN_MSG}\n"
        "\n"
        f"dup.json:6:9: W004 {DUP_MSG}\n"
        "\n"
        "Found 1 error, 1 warning in 2 files.\n"
    )


def test_missing_file_exits_2() -> None:
    run = invoke(["manifest", "validate", "missing.json"])
    assert run.exit_code == 2
    assert run.stdout.startswith("missing.json: E001 ")
    assert run.stdout.endswith("\n\nFound 1 error, 0 warnings in 1 file.\n")


def test_unreadable_wins_over_findings() -> None:
    run = invoke(["manifest", "validate", "--generated", "comment.json", "broken.json"])
    assert run.exit_code == 2


def test_files_are_reported_in_the_order_given() -> None:
    run = invoke(["manifest", "validate", "legacy.json", "dup.json"])
    assert run.stdout.index("legacy.json:") < run.stdout.index("dup.json:")


# --- --select / --ignore -------------------------------------------------------------------

ALL = ["dup.json", "legacy.json", "comment.json"]


def _codes(args: list[str]) -> list[str]:
    run = invoke(["manifest", "validate", "--generated", "--format", "json", *args, *ALL])
    return [d["code"] for d in json.loads(run.stdout)["diagnostics"]]


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        ([], ["W004", "W003", "E005"]),
        (["--select", "W004"], ["W004"]),
        (["--select", "w004"], ["W004"]),  # codes are case-insensitive
        (["--select", "W"], ["W004", "W003"]),  # a prefix selects a family
        (["--select", "W003,E005"], ["W003", "E005"]),  # comma list
        (["--select", "W003", "--select", "E"], ["W003", "E005"]),  # repeated
        (["--select", " W003 , ,E005 "], ["W003", "E005"]),  # blanks are ignored
        (["--ignore", "W"], ["E005"]),
        (["--ignore", "W004,E0"], ["W003"]),
        (["--ignore", "W004", "--ignore", "W003"], ["E005"]),
        (["--select", "W", "--ignore", "W003"], ["W004"]),  # ignore applies after select
        (["--select", "E9"], []),
    ],
)
def test_select_and_ignore(options: list[str], codes: list[str]) -> None:
    assert _codes(options) == codes


def test_filtered_out_errors_do_not_fail_the_run() -> None:
    run = invoke(["manifest", "validate", "--generated", "--ignore", "E005", "comment.json"])
    assert (run.exit_code, run.stdout) == (0, "No problems found in 1 file.\n")
    run = invoke(["manifest", "validate", "--strict", "--select", "E", "dup.json", "legacy.json"])
    assert (run.exit_code, run.stdout) == (0, "No problems found in 2 files.\n")


# --- json ----------------------------------------------------------------------------------


def test_json_is_exactly_one_document() -> None:
    run = invoke(["manifest", "validate", "--format", "json", "dup.json", "broken.json"])
    assert run.exit_code == 2
    assert run.stderr == ""
    assert json.loads(run.stdout) == {
        "version": 1,
        "files": ["dup.json", "broken.json"],
        "unreadable": ["broken.json"],
        "summary": {"files": 2, "errors": 1, "warnings": 1, "infos": 0},
        "diagnostics": [
            {
                "code": "W004",
                "rule": "duplicate-key",
                "severity": "warning",
                "message": DUP_MSG,
                "file": "dup.json",
                "line": 6,
                "column": 9,
                "path": "",
            },
            {
                "code": "E001",
                "rule": "unreadable-file",
                "severity": "error",
                "message": BROKEN_MSG,
                "file": "broken.json",
                "line": 56,
                "column": 1,
                "path": "",
            },
        ],
    }


def test_json_flag_is_format_json() -> None:
    a = invoke(["manifest", "validate", "--json", "legacy.json"])
    b = invoke(["manifest", "validate", "-f", "json", "legacy.json"])
    assert (a.exit_code, a.stdout) == (b.exit_code, b.stdout)
    assert json.loads(a.stdout)["diagnostics"][0]["path"] == "/moduleContent"


def test_json_clean_run() -> None:
    run = invoke(["manifest", "validate", "--json", "deployment.json"])
    assert run.exit_code == 0
    document = json.loads(run.stdout)
    assert document["diagnostics"] == []
    assert document["summary"] == {"files": 1, "errors": 0, "warnings": 0, "infos": 0}


# --- github --------------------------------------------------------------------------------


def test_github_annotations() -> None:
    run = invoke(
        ["manifest", "validate", "--generated", "--format", "github", "dup.json", "comment.json"]
    )
    assert run.exit_code == 1
    assert run.stdout == (
        f"::warning file=dup.json,line=6,col=9,title=W004 duplicate-key::{DUP_MSG}\n"
        f"::error file=comment.json,line=2,col=3,title=E005 json-comment::{COMMENT_MSG}\n"
    )


def test_github_escapes_properties_and_data(tmp_path: Path) -> None:
    # A file name with ',', ':' and '%', and a message carrying '%' (the duplicated key's name).
    name = "a,b:c%d.json"
    write(tmp_path, {name: with_defect('"runtime": {', '"x%y": 1, "x%y": 2, "runtime": {')})
    run = invoke(["manifest", "validate", "--format", "github", "--select", "W004", name])
    assert run.stdout == (
        "::warning file=a%2Cb%3Ac%25d.json,line=6,col=19,title=W004 duplicate-key::"
        "duplicate key 'x%25y' (first at line 6); the last value wins: remove or merge the other\n"
    )


def test_github_clean_run_prints_nothing() -> None:
    run = invoke(["manifest", "validate", "--format", "github", "deployment.json"])
    assert (run.exit_code, run.stdout, run.stderr) == (0, "", "")


# --- rich markup in user text is printed literally -----------------------------------------


def test_markup_in_file_names_and_messages_is_literal(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "[red]x.json": COMMENT,
            "[bold]y.json": with_defect('"runtime": {', '"[bold]": 1, "[bold]": 2, "runtime": {'),
        },
    )
    run = invoke(
        [
            "manifest",
            "validate",
            "--generated",
            "--select",
            "E005,W004",
            "[red]x.json",
            "[bold]y.json",
        ]
    )
    assert run.stdout == (
        f"[red]x.json:2:3: E005 {COMMENT_MSG}\n"
        "\n"
        "[bold]y.json:6:22: W004 duplicate key '[bold]' (first at line 6); "
        "the last value wins: remove or merge the other\n"
        "\n"
        "Found 1 error, 1 warning in 2 files.\n"
    )


def test_markup_in_an_unreadable_file_name_is_literal() -> None:
    run = invoke(["manifest", "validate", "[red]gone.json"])
    assert run.exit_code == 2
    assert run.stdout.startswith("[red]gone.json: E001 ")
