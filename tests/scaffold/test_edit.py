"""Adding modules to a template the user has edited keeps every byte of the user's edits."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from iotedge_cli.manifest.loader import load_text
from iotedge_cli.routes import parse_route
from iotedge_cli.scaffold.edit import ModuleAddition, add_module
from tests.cli.helpers import invoke
from tests.scaffold.helpers import ok, tree

# Four-space indentation, comments (one trailing the last route), keys in an unusual order,
# extra keys, a one-line object, a bare placeholder and no SimulatedTemperatureSensor.
USER_TEMPLATE = """\
// Deployment for the plant floor; owned by the OT team.
{
    "modulesContent": {
        "$edgeHub": {
            "properties.desired": {
                "routes": {
                    /* telemetry goes upstream */
                    "all": "FROM /messages/* INTO $upstream" // keep this one
                },
                "schemaVersion": "1.2",
                "storeAndForwardConfiguration": { "timeToLiveSecs": ${TTL} }
            }
        },
        "$edgeAgent": {
            "properties.desired": {
                "schemaVersion": "1.1",
                "runtime": {
                    "type": "docker",
                    "settings": { "minDockerVersion": "v1.25" }
                },
                "systemModules": {
                    "edgeHub": {
                        "type": "docker",
                        "status": "running",
                        "restartPolicy": "always",
                        "settings": {
                            "image": "mcr.microsoft.com/azureiotedge-hub:1.5",
                            "createOptions": {}
                        }
                    },
                    "edgeAgent": {
                        "type": "docker",
                        "settings": { "image": "mcr.microsoft.com/azureiotedge-agent:1.5", "createOptions": {} }
                    }
                },
                "modules": {
                    "opcPublisher": {
                        "settings": {
                            "image": "mcr.microsoft.com/iotedge/opc-publisher:2.9",
                            "createOptions": {}
                        },
                        "type": "docker",
                        "version": "1.0",
                        "status": "running",
                        "restartPolicy": "always",
                        "x-owner": "ot-team"
                    }
                }
            }
        }
    }
}
"""


def only_insertions(old: str, new: str) -> None:
    """``new`` is ``old`` plus insertions: ``old`` is a subsequence of ``new``, and line by
    line every old line survives whole or gains only a comma."""
    chars = iter(new)
    assert all(ch in chars for ch in old), "a character of the original was changed or removed"
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":  # the previous last member gains its comma
            for before in old.splitlines()[i1:i2]:
                assert any(
                    line.replace(",", "", 1) == before or line == before
                    for line in new.splitlines()[j1:j2]
                ), before
        else:
            assert tag in ("equal", "insert"), (tag, old.splitlines()[i1:i2])


def make_solution(tmp_path: Path, text: str) -> Path:
    solution = tmp_path / "plant"
    solution.mkdir()
    (solution / "deployment.template.json").write_text(text, newline="")
    (solution / "deployment.debug.template.json").write_text(text, newline="")
    (solution / ".env").write_text("CONTAINER_REGISTRY_ADDRESS=localhost:5000\nTTL=7200\n")
    return solution


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_two_modules_then_a_third_keep_the_users_edits(tmp_path: Path, newline: str) -> None:
    original = USER_TEMPLATE.replace("\n", newline)
    solution = make_solution(tmp_path, original)
    ok(["new-module", "Alpha", "--solution", str(solution)])
    ok(["new-module", "beta-2", "--lang", "node", "--solution", str(solution)])
    middle = (solution / "deployment.template.json").read_bytes().decode()
    ok(["new-module", "Gamma", "--solution", str(solution)])
    final = (solution / "deployment.template.json").read_bytes().decode()

    only_insertions(original, final)
    only_insertions(middle, final)
    assert "\r\n" not in final.replace("\r\n", "") or newline == "\n"
    if newline == "\r\n":
        assert "\n" not in final.replace("\r\n", "")
    # new members use the file's four-space indentation, at the right depth
    assert (
        f'{newline}                    "Gamma": {{{newline}'
        f'                        "version": "1.0",{newline}' in final
    )
    # the trailing comment stays on the line of the member it belongs to
    assert '"all": "FROM /messages/* INTO $upstream", // keep this one' in final

    doc = load_text(final, "deployment.template.json")
    assert doc.comments  # comments survived and the file still parses as a template
    desired = doc.data["modulesContent"]["$edgeAgent"]["properties.desired"]
    assert list(desired["modules"]) == ["opcPublisher", "Alpha", "beta-2", "Gamma"]
    assert desired["modules"]["opcPublisher"]["x-owner"] == "ot-team"
    routes = doc.data["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]
    assert list(routes) == ["all", "AlphaToIoTHub", "beta-2ToIoTHub", "GammaToIoTHub"]
    for text in routes.values():
        parse_route(text)
    debug = (solution / "deployment.debug.template.json").read_bytes().decode()
    only_insertions(original, debug)
    assert '"image": "${MODULES.Gamma.debug}"' in debug
    assert sorted(p.name for p in (solution / "modules").iterdir()) == ["Alpha", "Gamma", "beta-2"]


def test_tabs_and_empty_objects(tmp_path: Path) -> None:
    text = (
        '{\n\t"modulesContent": {\n\t\t"$edgeAgent": {\n\t\t\t"properties.desired": {\n'
        '\t\t\t\t"modules": {}\n\t\t\t}\n\t\t},\n\t\t"$edgeHub": {\n\t\t\t"properties.desired": {\n'
        '\t\t\t\t"routes": {\n\t\t\t\t}\n\t\t\t}\n\t\t}\n\t}\n}\n'
    )
    new = add_module(text, "t.json", ModuleAddition("M", "${MODULES.M}"))
    assert '\t\t\t\t"modules": {\n\t\t\t\t\t"M": {\n\t\t\t\t\t\t"version": "1.0",' in new
    assert '\t\t\t\t"routes": {\n\t\t\t\t\t"MToIoTHub": ' in new
    assert json.loads(new)["modulesContent"]["M"] == {
        "properties.desired": {"TemperatureThreshold": 25}
    }


def test_compact_objects_get_compact_members() -> None:
    text = '{"modulesContent": {"$edgeAgent": {"properties.desired": {"modules": {"a": {}}}}, "$edgeHub": {"properties.desired": {"routes": {"r": "FROM /messages/* INTO $upstream"}}}}}'
    new = add_module(text, "t.json", ModuleAddition("M", "${MODULES.M}"))
    chars = iter(new)
    assert all(ch in chars for ch in text)  # only insertions
    assert "\n" not in new
    assert list(
        json.loads(new)["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    ) == ["a", "M"]


def test_a_module_already_in_the_template_is_refused_and_nothing_written(tmp_path: Path) -> None:
    solution = make_solution(tmp_path, USER_TEMPLATE)
    before = tree(solution)
    run = invoke(["new-module", "OPCPUBLISHER", "--solution", str(solution)])
    assert run.exit_code == 2
    assert "module 'opcPublisher' is already in the template" in run.stderr
    assert tree(solution) == before
    assert not (solution / "modules").exists()


def test_a_module_folder_that_exists_is_refused(tmp_path: Path) -> None:
    solution = make_solution(tmp_path, USER_TEMPLATE)
    (solution / "modules" / "filtermodule").mkdir(parents=True)
    before = tree(solution)
    run = invoke(["new-module", "FilterModule", "--solution", str(solution)])
    assert run.exit_code == 2
    assert "already exists; edgectl never overwrites a module" in run.stderr
    assert tree(solution) == before


def test_a_template_without_modules_content_is_refused(tmp_path: Path) -> None:
    solution = make_solution(tmp_path, '{"content": {"modules": {}}}\n')
    run = invoke(["new-module", "M", "--solution", str(solution)])
    assert run.exit_code == 2
    assert "not a full deployment template with modulesContent" in run.stderr
    assert not (solution / "modules").exists()
