"""``edgectl routes test``: whole outputs (human, -v, JSON), notes and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import invoke, write
from tests.cli.routes.samples import FLOW, manifest

FILTER = ["routes", "test", "-m", "flow.json", "-s", "/messages/modules/filter/outputs/out1"]
JSON_BODY = ["--content-type", "application/json", "--content-encoding", "utf-8"]
HOT = '{"kind": "\\"hot\\" <x>"}'


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"flow.json": FLOW, "hot.json": HOT})
    monkeypatch.chdir(tmp_path)


def test_human_output() -> None:
    run = invoke([*FILTER, "--body", HOT, *JSON_BODY])
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == (
        "message source: /messages/modules/filter/outputs/out1\n"
        "\n"
        "routes (5):\n"
        "  sensorToFilter  -          source does not match\n"
        "  filterToCloud   true       selected -> $upstream\n"
        "  leafToCloud     false\n"
        "  twins           -          source does not match\n"
        "  never           -          source does not match\n"
        "\n"
        "deliveries (1):\n"
        "  $upstream  via filterToCloud  priority 0  ttl 60 s\n"
    )


def test_body_file_gives_the_same_result() -> None:
    by_file = invoke([*FILTER, "--body-file", "hot.json", *JSON_BODY])
    assert by_file == invoke([*FILTER, "--body", HOT, *JSON_BODY])


def test_verbose_shows_every_sub_expression() -> None:
    run = invoke([*FILTER, "--body", HOT, *JSON_BODY, "-v"])
    assert run.exit_code == 0
    assert run.stdout == (
        "message source: /messages/modules/filter/outputs/out1\n"
        "\n"
        "routes (5):\n"
        "  sensorToFilter  -          source does not match\n"
        "      FROM /messages/modules/sensor/outputs/temperatureOutput INTO "
        'BrokeredEndpoint("/modules/filter/inputs/input1")\n'
        "  filterToCloud   true       selected -> $upstream\n"
        '      FROM /messages/modules/filter/outputs/* WHERE $body.kind = "\\"hot\\" <x>" '
        "INTO $upstream\n"
        "        $body.kind  =>  '\"hot\" <x>'\n"
        '        "\\"hot\\" <x>"  =>  \'"hot" <x>\'\n'
        '        $body.kind = "\\"hot\\" <x>"  =>  true\n'
        "  leafToCloud     false\n"
        "      FROM /messages/* WHERE NOT is_defined($connectionModuleId) AND "
        "$connectionDeviceId <> 'thermostat-0001' INTO $upstream\n"
        "        $connectionModuleId  =>  'filter'\n"
        "        is_defined($connectionModuleId)  =>  true\n"
        "        NOT is_defined($connectionModuleId)  =>  false\n"
        "        $connectionDeviceId  =>  undefined\n"
        "        'thermostat-0001'  =>  'thermostat-0001'\n"
        "        $connectionDeviceId <> 'thermostat-0001'  =>  undefined\n"
        "        NOT is_defined($connectionModuleId) AND $connectionDeviceId <> "
        "'thermostat-0001'  =>  false\n"
        "  twins           -          source does not match\n"
        '      FROM /twinChangeNotifications INTO BrokeredEndpoint("/modules/ghost/inputs/twin")\n'
        "  never           -          source does not match\n"
        "      FROM /messages/events INTO $upstream\n"
        "\n"
        "deliveries (1):\n"
        "  $upstream  via filterToCloud  priority 0  ttl 60 s\n"
    )


def test_body_without_content_type_is_undefined_with_a_note() -> None:
    run = invoke([*FILTER, "--body", HOT])
    assert run.exit_code == 0
    assert "  filterToCloud   undefined\n" in run.stdout
    assert run.stdout.endswith(
        "deliveries: none (no route selected the message; edgeHub drops it)\n"
    )
    assert run.stderr == (
        "note: 'filterToCloud' queries $body, which edgeHub reads only when contentType is "
        "application/json and contentEncoding is utf-8, utf-16 or utf-32: here $body is "
        "undefined; add --content-type application/json --content-encoding utf-8\n"
    )


def test_leaf_device_json_document() -> None:
    run = invoke(
        [
            "routes",
            "test",
            "-m",
            "flow.json",
            "-s",
            "/messages",
            "--sys",
            "connectionDeviceId=leaf1",
            "--json",
        ]
    )
    assert (run.exit_code, run.stderr) == (0, "")
    doc = json.loads(run.stdout)
    assert doc == {
        "routes": [
            {
                "name": "sensorToFilter",
                "route": "FROM /messages/modules/sensor/outputs/temperatureOutput INTO "
                'BrokeredEndpoint("/modules/filter/inputs/input1")',
                "sourceMatched": False,
                "condition": None,
                "selected": False,
            },
            {
                "name": "filterToCloud",
                "route": 'FROM /messages/modules/filter/outputs/* WHERE $body.kind = "\\"hot\\" <x>" '
                "INTO $upstream",
                "sourceMatched": False,
                "condition": None,
                "selected": False,
            },
            {
                "name": "leafToCloud",
                "route": "FROM /messages/* WHERE NOT is_defined($connectionModuleId) AND "
                "$connectionDeviceId <> 'thermostat-0001' INTO $upstream",
                "sourceMatched": True,
                "condition": "true",
                "selected": True,
            },
            {
                "name": "twins",
                "route": 'FROM /twinChangeNotifications INTO BrokeredEndpoint("/modules/ghost/inputs/twin")',
                "sourceMatched": False,
                "condition": None,
                "selected": False,
            },
            {
                "name": "never",
                "route": "FROM /messages/events INTO $upstream",
                "sourceMatched": False,
                "condition": None,
                "selected": False,
            },
        ],
        "deliveries": [
            {"route": "leafToCloud", "sink": "$upstream", "priority": 2000000000, "ttl": 7200}
        ],
    }


def test_priority_loser_and_infinite_ttl(tmp_path: Path) -> None:
    routes = {
        "hot": {
            "route": "FROM /messages/* WHERE as_number(temperature) > 30 INTO $upstream",
            "priority": 1,
        },
        "all": {"route": "FROM /messages/* INTO $upstream", "priority": 0},
        "alert": "FROM /messages/* WHERE alert = 'yes' INTO BrokeredEndpoint(\"/modules/f/inputs/in\")",
    }
    write(tmp_path, {"m.json": manifest(routes, ttl=-1)})
    args = [
        "routes",
        "test",
        "-m",
        "m.json",
        "-s",
        "/messages/modules/sensor",
        "--prop",
        "temperature=35",
        "--prop",
        "ALERT=yes",
    ]
    run = invoke(args)
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == (
        "message source: /messages/modules/sensor\n"
        "\n"
        "routes (3):\n"
        "  hot    true       not selected: 'all' (priority 0) wins for $upstream\n"
        "  all    true       selected -> $upstream\n"
        "  alert  true       selected -> /modules/f/inputs/in\n"
        "\n"
        "deliveries (2):\n"
        "  $upstream             via all  priority 0  ttl infinite\n"
        "  /modules/f/inputs/in  via alert  priority default  ttl infinite\n"
    )
    deliveries = json.loads(invoke([*args, "--json"]).stdout)["deliveries"]
    assert [d["ttl"] for d in deliveries] == [None, None]


def test_broken_route_is_reported_and_exits_1(tmp_path: Path) -> None:
    routes = {
        "ok": "FROM /messages/* INTO $upstream",
        "bad": "FROM /messages/* WHERE a == 'b' INTO $upstream",
    }
    write(tmp_path, {"m.json": manifest(routes)})
    run = invoke(["routes", "test", "-m", "m.json", "-s", "/messages"])
    assert run.exit_code == 1
    assert run.stdout.endswith(
        "deliveries (1):\n  $upstream  via ok  priority default  ttl 7200 s\n"
    )
    assert run.stderr.startswith("error: m.json:40:44: route 'bad': '==' is not an operator")
    assert run.stderr.endswith(
        "; edgeHub rejects the whole route configuration (the other routes are shown as if it "
        "were fixed)\n"
    )


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (["--prop", "temperature"], "error: --prop 'temperature' is not KEY=VALUE\n"),
        (["--sys", "=x"], "error: --sys '=x' is not KEY=VALUE\n"),
        (
            ["--body", "x", "--body-file", "hot.json"],
            "error: give --body or --body-file, not both\n",
        ),
        (
            ["--body-file", "nope.json"],
            "error: cannot read the body file nope.json: No such file or directory\n",
        ),
    ],
)
def test_bad_options_exit_2(extra: list[str], error: str) -> None:
    run = invoke([*FILTER, *extra])
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr.startswith(error)
    assert "\nhint: " in run.stderr or "not both" in error


@pytest.mark.parametrize(
    "source", ["/messages/foo", "messages", "/messages/modules/a/outputs", "/*"]
)
def test_bad_source_exits_2(source: str) -> None:
    run = invoke(["routes", "test", "-m", "flow.json", "-s", source])
    assert run.exit_code == 2
    assert run.stderr.startswith(
        f"error: --source {source!r} is not a message source edgeHub creates\n"
    )


def test_unreadable_manifest_exits_2() -> None:
    run = invoke(["routes", "test", "-m", "nope.json", "-s", "/messages"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: nope.json: no such file")
