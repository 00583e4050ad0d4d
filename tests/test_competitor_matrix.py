"""competitors.md §(b): the bad-input matrix iotedgedev/iotedgehubdev fail, each caught here.

A minimal solution (template + module.json + .env) is written to a temporary folder; each case
applies one defect and runs the real CLI: `manifest generate` and/or `manifest validate`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iotedge_cli.cli.app import app
from tests.manifest.generate.helpers import agent, filtermodule, routes

PORTS = {"PortBindings": {"5671/tcp": [{"HostPort": "5671"}], "8883/tcp": [{"HostPort": "8883"}]}}
TEMPLATE: dict[str, Any] = {
    "$schema-template": "4.0.0",
    "modulesContent": {
        "$edgeAgent": {
            "properties.desired": {
                "schemaVersion": "1.1",
                "runtime": {
                    "type": "docker",
                    "settings": {
                        "minDockerVersion": "v1.25",
                        "loggingOptions": "",
                        "registryCredentials": {
                            "local": {
                                "username": "$CONTAINER_REGISTRY_USERNAME",
                                "password": "$CONTAINER_REGISTRY_PASSWORD",
                                "address": "localhost:5000",
                            }
                        },
                    },
                },
                "systemModules": {
                    "edgeAgent": {
                        "type": "docker",
                        "settings": {
                            "image": "mcr.microsoft.com/azureiotedge-agent:1.5",
                            "createOptions": {},
                        },
                    },
                    "edgeHub": {
                        "type": "docker",
                        "status": "running",
                        "restartPolicy": "always",
                        "settings": {
                            "image": "mcr.microsoft.com/azureiotedge-hub:1.5",
                            "createOptions": {"HostConfig": PORTS},
                        },
                    },
                },
                "modules": {
                    "tempSensor": {
                        "version": "1.0",
                        "type": "docker",
                        "status": "running",
                        "restartPolicy": "always",
                        "settings": {
                            "image": "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5",
                            "createOptions": {},
                        },
                    },
                    "filtermodule": {
                        "version": "1.0",
                        "type": "docker",
                        "status": "running",
                        "restartPolicy": "always",
                        "env": {"MY_SETTING": {"value": "on"}},
                        "settings": {"image": "${MODULES.filtermodule}", "createOptions": {}},
                    },
                },
            }
        },
        "$edgeHub": {
            "properties.desired": {
                "schemaVersion": "1.2",
                "routes": {
                    "sensorToFilter": "FROM /messages/modules/tempSensor/outputs/temperatureOutput "
                    'INTO BrokeredEndpoint("/modules/filtermodule/inputs/input1")',
                    "filterToIoTHub": "FROM /messages/modules/filtermodule/outputs/* INTO $upstream",
                },
                "storeAndForwardConfiguration": {"timeToLiveSecs": 7200},
            }
        },
        "filtermodule": {"properties.desired": {"TemperatureThreshold": 25}},
    },
}
MODULE_JSON = {
    "$schema-version": "0.0.1",
    "description": "",
    "image": {
        "repository": "localhost:5000/filtermodule",
        "tag": {
            "version": "0.0.1",
            "platforms": {
                "amd64": "./Dockerfile.amd64",
                "amd64.debug": "./Dockerfile.amd64.debug",
                "arm32v7": "./Dockerfile.arm32v7",
            },
        },
        "buildOptions": [],
        "contextPath": "./",
    },
    "language": "python",
}
ENV = "CONTAINER_REGISTRY_USERNAME=demo\nCONTAINER_REGISTRY_PASSWORD=demo-password\n"

Mutation = Callable[[dict[str, Any]], None]


def solution(tmp_path: Path, mutate: Mutation | None = None, text: str | None = None) -> Path:
    template = copy.deepcopy(TEMPLATE)
    if mutate:
        mutate(template)
    (tmp_path / "deployment.template.json").write_text(
        text if text is not None else json.dumps(template, indent=2) + "\n", encoding="utf-8"
    )
    module_dir = tmp_path / "modules" / "filtermodule"
    module_dir.mkdir(parents=True)
    (module_dir / "module.json").write_text(json.dumps(MODULE_JSON, indent=2), encoding="utf-8")
    (tmp_path / ".env").write_text(ENV, encoding="utf-8")
    return tmp_path


def cli(
    args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str] | None = None
) -> Any:
    monkeypatch.chdir(cwd)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(app, args, catch_exceptions=False)


def codes_of(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    result = cli(["manifest", "validate", "--json", *args], cwd, monkeypatch)
    doc = json.loads(result.stdout)
    return result.exit_code, [d["code"] for d in doc["diagnostics"] if d["severity"] == "error"]


def test_baseline_solution_generates_and_validates_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sol = solution(tmp_path)
    result = cli(["manifest", "generate"], sol, monkeypatch)
    assert result.exit_code == 0, result.output
    out = json.loads((sol / "config" / "deployment.amd64.json").read_text())
    assert "$schema-template" not in out
    assert filtermodule(out)["settings"]["image"] == "localhost:5000/filtermodule:0.0.1-amd64"
    assert codes_of(["config/deployment.amd64.json"], sol, monkeypatch) == (0, [])


LINT_CASES: dict[str, tuple[Mutation, list[str]]] = {
    "B1 route without sink": (
        lambda t: routes(t).update(
            filterToIoTHub="FROM /messages/modules/filtermodule/outputs/* INTO"
        ),
        ["E201"],
    ),
    "B2 FORM typo": (
        lambda t: routes(t).update(
            filterToIoTHub="FORM /messages/modules/filtermodule/outputs/* INTO $upstream"
        ),
        ["E201"],
    ),
    "B3 sink module missing": (
        lambda t: routes(t).update(
            sensorToFilter='FROM /messages/* INTO BrokeredEndpoint("/modules/nosuchmodule/inputs/input1")'
        ),
        ["E203"],
    ),
    "C1 createOptions invalid JSON": (
        lambda t: filtermodule(t)["settings"].update(
            createOptions='{"HostConfig": {"PortBindings": '
        ),
        ["E301"],
    ),
    "C2 createOptions not an object": (
        lambda t: filtermodule(t)["settings"].update(createOptions="[1,2]"),
        ["E302"],
    ),
    "C3 createOptions key typo": (
        lambda t: filtermodule(t)["settings"].update(createOptions={"HostConfg": PORTS}),
        ["E308"],
    ),
    "D1 settings without image": (lambda t: filtermodule(t)["settings"].pop("image"), ["E101"]),
    "D3 empty image": (lambda t: filtermodule(t)["settings"].update(image=""), ["E401"]),
    "E $edgeHub missing": (lambda t: t["modulesContent"].pop("$edgeHub"), ["E101"]),
    "F bad restartPolicy and status": (
        lambda t: filtermodule(t).update(restartPolicy="sometimes", status="jogging"),
        ["E103", "E103"],
    ),
    "I module name with a dot": (
        lambda t: agent(t)["modules"].update(
            {"filter.module": agent(t)["modules"].pop("tempSensor")}
        ),
        ["E104"],
    ),
    "J systemModules.edgeHub missing": (
        lambda t: agent(t)["systemModules"].pop("edgeHub"),
        ["E101"],
    ),
}


@pytest.mark.parametrize("case", sorted(LINT_CASES))
def test_defect_is_caught_in_template_and_blocks_generate(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mutate, expected = LINT_CASES[case]
    sol = solution(tmp_path, mutate)
    code, found = codes_of(["deployment.template.json"], sol, monkeypatch)
    assert code == 1
    for c in set(expected):
        assert found.count(c) >= expected.count(c), (case, found)
    result = cli(["manifest", "generate"], sol, monkeypatch)
    assert result.exit_code == 1, result.output
    assert not (sol / "config" / "deployment.amd64.json").exists()


GENERATE_CASES: dict[str, tuple[Mutation, str]] = {
    "D2 unknown module placeholder": (
        lambda t: filtermodule(t)["settings"].update(image="${MODULES.nosuchmodule}"),
        "nosuchmodule",
    ),
    "D4 platform missing from module.json": (
        lambda t: filtermodule(t)["settings"].update(image="${MODULES.filtermodule.arm64v8}"),
        "arm64v8",
    ),
    "G undefined variable": (
        lambda t: filtermodule(t)["env"]["MY_SETTING"].update(value="${NOT_DEFINED_ANYWHERE}"),
        "NOT_DEFINED_ANYWHERE",
    ),
    "H2 createOptions over 4 KB": (
        lambda t: filtermodule(t)["settings"].update(
            createOptions={"Env": [f"K{i}={'x' * 90}" for i in range(50)]}
        ),
        "4",
    ),
}


@pytest.mark.parametrize("case", sorted(GENERATE_CASES))
def test_generate_refuses_with_a_located_error(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mutate, fragment = GENERATE_CASES[case]
    sol = solution(tmp_path, mutate)
    result = cli(["manifest", "generate"], sol, monkeypatch)
    assert result.exit_code == 1, result.output
    assert fragment in result.output
    assert "deployment.template.json:" in result.output
    assert "Traceback" not in result.output
    assert not (sol / "config" / "deployment.amd64.json").exists()


@pytest.mark.parametrize(
    ("leftover", "code"),
    [("${MODULES.nosuchmodule}", "E403"), ("${MODULES.filtermodule.arm64v8}", "E403")],
)
def test_leftover_placeholders_in_a_generated_manifest(
    leftover: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = copy.deepcopy(TEMPLATE)
    del manifest["$schema-template"]
    filtermodule(manifest)["settings"]["image"] = leftover
    filtermodule(manifest)["env"]["MY_SETTING"]["value"] = "${NOT_DEFINED_ANYWHERE}"
    for module in [
        *agent(manifest)["modules"].values(),
        *agent(manifest)["systemModules"].values(),
    ]:
        module["settings"]["createOptions"] = json.dumps(module["settings"]["createOptions"])
    (tmp_path / "deployment.amd64.json").write_text(json.dumps(manifest, indent=2))
    exit_code, found = codes_of(["deployment.amd64.json"], tmp_path, monkeypatch)
    assert exit_code == 1
    assert found.count(code) >= 2  # the image (D2/D4) and the env value (G)


def test_h1_long_create_options_are_chunked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = [f"K{i}={'x' * 40}" for i in range(14)]
    sol = solution(
        tmp_path, lambda t: filtermodule(t)["settings"].update(createOptions={"Env": env})
    )
    assert cli(["manifest", "generate"], sol, monkeypatch).exit_code == 0
    settings = filtermodule(json.loads((sol / "config" / "deployment.amd64.json").read_text()))[
        "settings"
    ]
    assert len(settings["createOptions"]) == 512
    assert json.loads(settings["createOptions"] + settings["createOptions01"]) == {"Env": env}


def test_k_valid_mqtt_broker_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = {
        "authorizations": [
            {
                "identities": ["{{iot:identity}}"],
                "allow": [{"operations": ["mqtt:connect"]}],
            }
        ],
        "bridges": [
            {"endpoint": "$upstream", "settings": [{"direction": "in", "topic": "alerts/#"}]}
        ],
    }
    sol = solution(
        tmp_path,
        lambda t: t["modulesContent"]["$edgeHub"]["properties.desired"].update(mqttBroker=broker),
    )
    assert codes_of(["deployment.template.json"], sol, monkeypatch) == (0, [])
    assert cli(["manifest", "generate"], sol, monkeypatch).exit_code == 0


def test_a_malformed_json_names_file_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(TEMPLATE, indent=2).replace('"4.0.0",', '"4.0.0",,', 1)
    sol = solution(tmp_path, text=text)
    result = cli(["manifest", "generate"], sol, monkeypatch)
    assert result.exit_code == 2
    assert "deployment.template.json:2:" in result.output
    assert "Traceback" not in result.output
    assert (
        cli(["--help"], sol, monkeypatch).exit_code == 0
    )  # iotedgedev crashes even on --help here
    assert codes_of(["deployment.template.json"], sol, monkeypatch)[0] == 2


def test_l_m_shell_variables_never_rewrite_system_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sol = solution(tmp_path)
    result = cli(
        ["manifest", "generate"], sol, monkeypatch, env={"upstream": "oops", "edgeHub": "hub"}
    )
    assert result.exit_code == 0, result.output
    out = json.loads((sol / "config" / "deployment.amd64.json").read_text())
    assert "$edgeHub" in out["modulesContent"]
    assert routes(out)["filterToIoTHub"].endswith("INTO $upstream")


def test_n_values_with_quotes_and_backslashes_stay_valid_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sol = solution(
        tmp_path, lambda t: filtermodule(t)["env"]["MY_SETTING"].update(value="${MY_SETTING}")
    )
    with (sol / ".env").open("a") as f:
        f.write("MY_SETTING='C:\\data \"x\"'\n")
    assert cli(["manifest", "generate"], sol, monkeypatch).exit_code == 0
    out = json.loads((sol / "config" / "deployment.amd64.json").read_text())
    assert filtermodule(out)["env"]["MY_SETTING"]["value"] == 'C:\\data "x"'


def test_o_file_without_modules_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty.json").write_text("{}")
    assert codes_of(["empty.json"], tmp_path, monkeypatch) == (1, ["E002"])


def test_p_missing_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli(["manifest", "generate"], tmp_path, monkeypatch)
    assert result.exit_code == 2
    assert "deployment.template.json" in result.output
    result = cli(["manifest", "generate", "missing.json"], tmp_path, monkeypatch)
    assert result.exit_code == 2
    assert "missing.json" in result.output
