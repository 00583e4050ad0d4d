"""``edgectl routes graph``: the whole Mermaid, dot and text output for a small manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import invoke, write
from tests.cli.routes.samples import FLOW, manifest

MERMAID = (
    "flowchart LR\n"
    '    leaf(["leaf devices"])\n'
    '    twin(["twin change notifications"])\n'
    '    m_sensor["sensor"]\n'
    '    m_filter["filter"]\n'
    '    m_ghost["ghost (not deployed)"]\n'
    '    upstream[("$upstream")]\n'
    '    m_sensor -->|"sensorToFilter [temperatureOutput -#gt; input1]"| m_filter\n'
    '    m_filter -->|"filterToCloud [any output] WHERE $body.kind = #quot;\\#quot;hot\\#quot; #lt;x#gt;#quot; (priority 0)"| upstream\n'
    '    leaf -->|"leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn..."| upstream\n'
    '    m_sensor -->|"leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn..."| upstream\n'
    '    m_filter -->|"leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn..."| upstream\n'
    '    twin -->|"twins [-#gt; twin]"| m_ghost\n'
    "    classDef missing stroke-dasharray: 5 5\n"
    "    class m_ghost missing\n"
)

DOT = (
    "digraph routes {\n"
    "    rankdir=LR;\n"
    "    node [shape=box];\n"
    '    "leaf" [label="leaf devices", shape=oval];\n'
    '    "twin" [label="twin change notifications", shape=oval];\n'
    '    "m_sensor" [label="sensor"];\n'
    '    "m_filter" [label="filter"];\n'
    '    "m_ghost" [label="ghost (not deployed)", style=dashed];\n'
    '    "upstream" [label="$upstream", shape=cylinder];\n'
    '    "m_sensor" -> "m_filter" [label="sensorToFilter [temperatureOutput -> input1]"];\n'
    '    "m_filter" -> "upstream" [label="filterToCloud [any output] WHERE $body.kind = \\"\\\\\\"hot\\\\\\" <x>\\" (priority 0)"];\n'
    '    "leaf" -> "upstream" [label="leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn..."];\n'
    '    "m_sensor" -> "upstream" [label="leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn..."];\n'
    '    "m_filter" -> "upstream" [label="leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn..."];\n'
    '    "twin" -> "m_ghost" [label="twins [-> twin]"];\n'
    "}\n"
)

TEXT = (
    "nodes:\n"
    "  leaf devices\n"
    "  twin change notifications\n"
    "  sensor\n"
    "  filter\n"
    "  ghost (not deployed)\n"
    "  $upstream\n"
    "routes:\n"
    "  sensor -> filter: sensorToFilter [temperatureOutput -> input1]\n"
    '  filter -> $upstream: filterToCloud [any output] WHERE $body.kind = "\\"hot\\" <x>" (priority 0)\n'
    "  leaf devices -> $upstream: leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn...\n"
    "  sensor -> $upstream: leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn...\n"
    "  filter -> $upstream: leafToCloud WHERE NOT is_defined($connectionModuleId) AND $conn...\n"
    "  twin change notifications -> ghost (not deployed): twins [-> twin]\n"
    "skipped:\n"
    "  never: source /messages/events can never match\n"
)


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"flow.json": FLOW})
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("fmt", "expected"), [("mermaid", MERMAID), ("dot", DOT), ("text", TEXT)])
def test_whole_output(fmt: str, expected: str) -> None:
    run = invoke(["routes", "graph", "--manifest", "flow.json", "--format", fmt])
    assert (run.exit_code, run.stdout, run.stderr) == (0, expected, "")


def test_mermaid_is_the_default_and_output_is_deterministic() -> None:
    first = invoke(["routes", "graph", "-m", "flow.json"])
    assert first.stdout == MERMAID
    assert invoke(["routes", "graph", "-m", "flow.json"]).stdout == first.stdout


def test_output_file(tmp_path: Path) -> None:
    run = invoke(["routes", "graph", "-m", "flow.json", "-f", "text", "-o", "flow.txt"])
    assert (run.exit_code, run.stdout, run.stderr) == (0, "", "")
    assert (tmp_path / "flow.txt").read_text(encoding="utf-8") == TEXT


def test_fan_in_from_every_module_and_case_insensitive_sources(tmp_path: Path) -> None:
    routes = {
        "all": "FROM /messages/modules/* INTO $upstream",
        "one": 'FROM /messages/modules/SENSOR INTO BrokeredEndpoint("/modules/Filter/inputs/in")',
    }
    write(tmp_path, {"m.json": manifest(routes, modules=("sensor", "filter", "third"))})
    run = invoke(["routes", "graph", "-m", "m.json", "-f", "text"])
    assert run.exit_code == 0
    assert run.stdout == (
        "nodes:\n"
        "  sensor\n"
        "  filter\n"
        "  third\n"
        "  Filter (not deployed)\n"
        "  $upstream\n"
        "routes:\n"
        "  sensor -> $upstream: all\n"
        "  filter -> $upstream: all\n"
        "  third -> $upstream: all\n"
        "  sensor -> Filter (not deployed): one [-> in]\n"
    )


def test_broken_routes_are_left_out_and_exit_1(tmp_path: Path) -> None:
    routes = {"ok": "FROM /messages/* INTO $upstream", "bad": "FROM /messages/* INTO upstream"}
    write(tmp_path, {"m.json": manifest(routes, modules=())})
    run = invoke(["routes", "graph", "-m", "m.json", "-f", "text"])
    assert run.exit_code == 1
    assert run.stdout == (
        "nodes:\n  leaf devices\n  any module\n  $upstream\n"
        "routes:\n  leaf devices -> $upstream: ok\n  any module -> $upstream: ok\n"
    )
    assert run.stderr == (
        "error: m.json:19:41: route 'bad': the system endpoint must be written $upstream, "
        "found 'upstream'; left out of the graph\n"
    )


def test_unreadable_manifest_exits_2() -> None:
    run = invoke(["routes", "graph", "-m", "missing.json"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: ")
    assert run.stdout == ""
