"""``edgectl routes check``: whole outputs (human and JSON) and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import invoke, write
from tests.cli.routes.samples import FLOW, manifest

OK = "FROM /messages/* INTO $upstream"
NO_DOLLAR = "FROM /messages/* INTO upstream"


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"flow.json": FLOW})
    monkeypatch.chdir(tmp_path)


def test_valid_routes_exit_0() -> None:
    run = invoke(["routes", "check", OK, "FROM /twinChangeNotifications INTO $upstream"])
    assert (run.exit_code, run.stdout, run.stderr) == (0, "2 routes checked: no errors.\n", "")


def test_syntax_error_prints_the_route_with_a_caret() -> None:
    run = invoke(["routes", "check", OK, NO_DOLLAR])
    assert run.exit_code == 1
    assert run.stdout == (
        "route 2 (column 23): error: the system endpoint must be written $upstream, "
        "found 'upstream'\n"
        "    FROM /messages/* INTO upstream\n"
        "                          ^\n"
        "\n"
        "2 routes checked: 1 with errors.\n"
    )
    assert run.stderr == ""


def test_warnings_do_not_fail() -> None:
    run = invoke(["routes", "check", "FROM /messages/modules/filter* INTO $upstream"])
    assert run.exit_code == 0
    assert run.stdout == (
        "route 1: warning: '*' in source '/messages/modules/filter*' is not a glob: edgeHub "
        "strips it and matches the prefix '/messages/modules/filter/'\n"
        "\n"
        "1 route checked: no errors.\n"
    )


def test_json_document() -> None:
    run = invoke(["routes", "check", "--json", OK, NO_DOLLAR])
    assert run.exit_code == 1
    assert json.loads(run.stdout) == {
        "routes": [
            {"name": "1", "route": OK, "valid": True, "error": None, "warnings": []},
            {
                "name": "2",
                "route": NO_DOLLAR,
                "valid": False,
                "error": {
                    "message": "the system endpoint must be written $upstream, found 'upstream'",
                    "column": 23,
                    "end": 24,
                    "hint": None,
                },
                "warnings": [],
            },
        ],
        "summary": {"routes": 2, "errors": 1, "warnings": 0},
    }


def test_manifest_routes_in_manifest_order_with_file_positions(tmp_path: Path) -> None:
    routes = {
        "good": OK,
        "bad": NO_DOLLAR,
        "object": {"route": OK, "priority": 12},
        "never": "FROM /messages/events INTO $upstream",
    }
    write(tmp_path, {"m.json": manifest(routes)})
    run = invoke(["routes", "check", "--manifest", "m.json"])
    assert run.exit_code == 1
    assert run.stdout == (
        "m.json:40:41: route 'bad': error: the system endpoint must be written $upstream, "
        "found 'upstream'\n"
        "    FROM /messages/* INTO upstream\n"
        "                          ^\n"
        "m.json:43:25: route 'object': error: priority 12 must be an integer 0-9\n"
        "m.json:45:20: route 'never': warning: source '/messages/events' can never match: "
        "below /messages only /messages/modules/<module>[/outputs/<output>] exists\n"
        "\n"
        "4 routes checked: 2 with errors.\n"
    )
    doc = json.loads(invoke(["routes", "check", "-m", "m.json", "--json"]).stdout)
    assert [(r["name"], r["valid"], r["line"], r["column"]) for r in doc["routes"]] == [
        ("good", True, 39, 19),
        ("bad", False, 40, 41),
        ("object", False, 43, 25),
        ("never", True, 45, 20),
    ]


def test_clean_manifest() -> None:
    run = invoke(["routes", "check", "-m", "flow.json"])
    assert run.exit_code == 0
    assert run.stdout.endswith("\n5 routes checked: no errors.\n")


@pytest.mark.parametrize(
    "args",
    [
        ["routes", "check"],
        ["routes", "check", OK, "--manifest", "flow.json"],
    ],
)
def test_routes_or_manifest_exactly_one(args: list[str]) -> None:
    run = invoke(args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.startswith("error: give route strings or --manifest")


def test_unreadable_manifest_exits_2() -> None:
    run = invoke(["routes", "check", "-m", "nope.json"])
    assert (run.exit_code, run.stdout) == (2, "")
    assert (
        run.stderr
        == "error: nope.json: no such file\nhint: check the path and the current directory\n"
    )
    run = invoke(["routes", "check", "-m", "nope.json", "--json"])
    assert run.exit_code == 2
    assert json.loads(run.stdout)["error"]["exit_code"] == 2


def test_condition_errors_underline_the_span_and_print_the_hint() -> None:
    run = invoke(
        [
            "routes",
            "check",
            "FROM /messages/* WHERE temperature > 30 INTO $upstream",
            "FROM /messages/* WHERE a-b = 'x' INTO $upstream",
        ]
    )
    assert run.exit_code == 1
    assert run.stdout == (
        "route 1 (column 24): error: Invalid operands to binary operator '>': have 'string' "
        "and 'number', expected 'string' and 'string'\n"
        "    FROM /messages/* WHERE temperature > 30 INTO $upstream\n"
        "                           ^^^^^^^^^^^\n"
        "    hint: compare numbers: as_number(temperature) > 30\n"
        "route 2: warning: column 24: 'a-b' is read as one property name; operators need "
        "spaces around them: write 'a - b'\n"
        "\n"
        "2 routes checked: 1 with errors.\n"
    )


def test_condition_error_json_has_span_and_hint() -> None:
    run = invoke(
        ["routes", "check", "--json", "FROM /messages/* WHERE lenght($x) > 3 INTO $upstream"]
    )
    assert run.exit_code == 1
    [route] = json.loads(run.stdout)["routes"]
    assert route["error"] == {
        "message": "Invalid built-in function 'lenght'",
        "column": 24,
        "end": 30,
        "hint": "did you mean length()?",
    }


def test_condition_error_in_a_manifest_points_inside_the_string(tmp_path: Path) -> None:
    routes = {"hot": 'FROM /messages/* WHERE $x = "\u00e9" AND temperature > 30 INTO $upstream'}
    text = manifest(routes).replace("\u00e9", "\\u00e9")  # escaped in the file
    write(tmp_path, {"m.json": text})
    run = invoke(["routes", "check", "-m", "m.json"])
    assert run.exit_code == 1
    col = text.split("\n")[38].index("temperature > 30") + 1
    assert "\\u00e9" in text.split("\n")[38]
    assert run.stdout.startswith(f"m.json:39:{col}: route 'hot': error: Invalid operands")
