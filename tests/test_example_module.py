"""The examples stay in step with edgectl: filtermodule is the Python template rendered, the
quickstart's manifest generates and validates without a finding, and its sensor's tests pass."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iotedge_cli.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart"
# module.json differs on purpose: the examples' repository uses ${CONTAINER_REGISTRY_ADDRESS}.
SAME = [
    "main.py",
    "temperature_filter.py",
    "requirements.txt",
    ".dockerignore",
    "Dockerfile.amd64",
    "Dockerfile.amd64.debug",
    "Dockerfile.arm32v7",
    "Dockerfile.arm64v8",
    "tests/conftest.py",
    "tests/test_main.py",
    "tests/test_temperature_filter.py",
]
# Variables a developer's shell might hold that would change the generated manifest.
SOLUTION_VARIABLES = ("CONTAINER_REGISTRY_ADDRESS", "CONTAINER_TAG", "DEFAULT_PLATFORM")


@pytest.mark.parametrize("example", ["solution", "quickstart"])
def test_example_module_equals_a_fresh_render(example: str, tmp_path: Path) -> None:
    solution = tmp_path / "sol"
    result = CliRunner().invoke(app, ["new-solution", str(solution)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        app, ["new-module", "filtermodule", "--lang", "python", "--solution", str(solution)]
    )
    assert result.exit_code == 0, result.output
    rendered = solution / "modules" / "filtermodule"
    copy = ROOT / "examples" / example / "modules" / "filtermodule"
    differ = [name for name in SAME if not filecmp.cmp(rendered / name, copy / name, shallow=False)]
    assert differ == [], f"regenerate examples/{example}/modules/filtermodule: {differ}"


def test_quickstart_manifest_generates_and_validates_without_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (*SOLUTION_VARIABLES, "SEND_INTERVAL"):
        monkeypatch.delenv(name, raising=False)
    solution = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, solution)
    monkeypatch.chdir(solution)
    runner = CliRunner()
    generated = runner.invoke(app, ["manifest", "generate"], catch_exceptions=False)
    assert generated.exit_code == 0, generated.output
    assert generated.output == (
        "Wrote config/deployment.amd64.json (platform amd64) from deployment.template.json.\n"
        "  image ${MODULES.tempsensor} -> localhost:5000/tempsensor:0.0.1-amd64\n"
        "  image ${MODULES.filtermodule} -> localhost:5000/filtermodule:0.0.1-amd64\n"
        "  createOptions serialised for 4 modules\n"
    )
    validated = runner.invoke(
        app,
        ["manifest", "validate", "--strict", "config/deployment.amd64.json"],
        catch_exceptions=False,
    )
    assert (validated.exit_code, validated.output) == (0, "No problems found in 1 file.\n")

    desired = json.loads((solution / "config" / "deployment.amd64.json").read_text())
    content = desired["modulesContent"]
    agent = content["$edgeAgent"]["properties.desired"]
    assert agent["schemaVersion"] == "1.1"
    for name in ("tempsensor", "filtermodule"):
        module = agent["modules"][name]
        assert (module["status"], module["restartPolicy"]) == ("running", "always")
    assert agent["modules"]["tempsensor"]["env"] == {"SEND_INTERVAL": {"value": "1"}}
    assert content["$edgeHub"]["properties.desired"]["routes"] == {
        "sensorToFilter": "FROM /messages/modules/tempsensor/outputs/temperatureOutput "
        'INTO BrokeredEndpoint("/modules/filtermodule/inputs/input1")',
        "filterToUpstream": "FROM /messages/modules/filtermodule/outputs/* INTO $upstream",
    }
    assert content["filtermodule"]["properties.desired"] == {"TemperatureThreshold": 25}


def test_quickstart_sensor_module_tests_pass() -> None:
    # In a separate interpreter: both example modules have a main.py on their sys.path.
    tests = QUICKSTART / "modules" / "tempsensor" / "tests"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7 passed" in run.stdout
