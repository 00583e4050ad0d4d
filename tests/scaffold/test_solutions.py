"""Every generated solution passes `edgectl manifest generate` and `validate` with no finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotedge_cli.routes import parse_route
from tests.cli.helpers import invoke
from tests.scaffold.helpers import LANGUAGES, MODULE, ok, scaffold, tree


def assert_clean(solution: Path) -> None:
    for debug, name in (
        (False, "deployment.template.json"),
        (True, "deployment.debug.template.json"),
    ):
        template = solution / name
        args = ["manifest", "generate", str(template)] + (["--debug"] if debug else [])
        run = ok(args)
        assert "warning" not in run.stdout.lower(), run.stdout
        out = (
            solution
            / "config"
            / ("deployment.debug.amd64.json" if debug else "deployment.amd64.json")
        )
        run = ok(["manifest", "validate", str(template), str(out)])
        assert "No problems found in 2 files." in run.stdout, run.stdout


def test_empty_solution_is_clean(tmp_path: Path) -> None:
    ok(["new-solution", str(tmp_path / "empty")])
    assert (tmp_path / "empty" / "modules").is_dir()
    assert_clean(tmp_path / "empty")


@pytest.mark.parametrize("language", LANGUAGES)
def test_solution_with_a_module_is_clean(tmp_path: Path, language: str) -> None:
    solution = tmp_path / "sol"
    ok(["new-solution", str(solution), "--module", MODULE, "--lang", language])
    assert_clean(solution)
    manifest = json.loads((solution / "config" / "deployment.amd64.json").read_text())
    desired = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]
    assert (
        desired["modules"][MODULE]["settings"]["image"] == "localhost:5000/filtermodule:0.0.1-amd64"
    )
    routes = manifest["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]
    assert (
        routes[f"{MODULE}ToIoTHub"] == f"FROM /messages/modules/{MODULE}/outputs/* INTO $upstream"
    )
    for text in routes.values():
        parse_route(text)


def test_new_solution_with_module_equals_new_solution_then_new_module(tmp_path: Path) -> None:
    ok(["new-solution", str(tmp_path / "demo"), "--module", MODULE])
    one = tree(tmp_path / "demo")
    two = tree(scaffold(tmp_path / "other", "python"))
    assert one == two


def test_three_modules_of_different_languages_are_clean(tmp_path: Path) -> None:
    solution = scaffold(tmp_path, "python")
    ok(["new-module", "Second", "--lang", "node", "--solution", str(solution)])
    ok(["new-module", "third_one", "--solution", str(solution)])
    assert_clean(solution)
    template = (solution / "deployment.template.json").read_text()
    assert '"image": "${MODULES.third_one}"' in template
    debug = (solution / "deployment.debug.template.json").read_text()
    assert '"image": "${MODULES.third_one.debug}"' in debug


def test_runtime_1_4(tmp_path: Path) -> None:
    ok(["new-solution", str(tmp_path / "s"), "--runtime-version", "1.4", "-m", MODULE])
    text = (tmp_path / "s" / "deployment.template.json").read_text()
    assert "mcr.microsoft.com/azureiotedge-agent:1.4" in text
    assert "mcr.microsoft.com/azureiotedge-hub:1.4" in text
    assert "azureiotedge-simulated-temperature-sensor:1.4" in text
    assert_clean(tmp_path / "s")


def test_remote_registry_gets_credentials_from_env(tmp_path: Path) -> None:
    solution = tmp_path / "s"
    ok(["new-solution", str(solution), "--registry", "myacr.azurecr.io", "-m", MODULE])
    env = (solution / ".env").read_text()
    assert "CONTAINER_REGISTRY_ADDRESS=myacr.azurecr.io\n" in env
    data = json.loads((solution / "deployment.template.json").read_text())
    creds = data["modulesContent"]["$edgeAgent"]["properties.desired"]["runtime"]["settings"][
        "registryCredentials"
    ]
    assert creds == {
        "myacr": {
            "username": "$CONTAINER_REGISTRY_USERNAME",
            "password": "$CONTAINER_REGISTRY_PASSWORD",
            "address": "$CONTAINER_REGISTRY_ADDRESS",
        }
    }
    # Out of the box the credentials are blank: generate says so (E405) and writes nothing.
    run = invoke(["manifest", "generate", str(solution / "deployment.template.json")])
    assert run.exit_code == 1
    assert "E405" in run.stdout
    (solution / ".env").write_text(
        env.replace("CONTAINER_REGISTRY_USERNAME=\n", "CONTAINER_REGISTRY_USERNAME=me\n").replace(
            "CONTAINER_REGISTRY_PASSWORD=\n", "CONTAINER_REGISTRY_PASSWORD=secret\n"
        )
    )
    assert_clean(solution)
    # a second module from the same registry reuses the entry
    ok(["new-module", "Other", "--solution", str(solution)])
    assert (solution / "deployment.template.json").read_text().count('"myacr"') == 1
    assert_clean(solution)


def test_env_is_private_and_ignored(tmp_path: Path) -> None:
    ok(["new-solution", str(tmp_path / "s")])
    assert (tmp_path / "s" / ".env").stat().st_mode & 0o077 == 0
    ignored = (tmp_path / "s" / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert "config/" in ignored
