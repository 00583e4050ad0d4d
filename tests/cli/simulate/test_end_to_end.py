"""``edgectl simulate`` against the real hub, with a real SDK module (azure-iot-device).

Generates the example solution's manifest in a temporary copy, starts a detached hub on
127.0.0.9 with a free admin port, and drives every command: status, modulecred, send, monitor,
twin --set (the module receives the patch), invoke (the module answers; 404 when offline),
device add, stop.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import invoke, subprocess_env

REPO = Path(__file__).resolve().parents[3]
BIND = "127.0.0.9"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def simulation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    solution = tmp_path_factory.mktemp("e2e") / "solution"
    shutil.copytree(REPO / "examples" / "solution", solution)
    env = {
        "CONTAINER_REGISTRY_USERNAME": "u",
        "CONTAINER_REGISTRY_PASSWORD": "p",
        "CONTAINER_REGISTRY_ADDRESS": "localhost:5000",
    }
    generated = subprocess.run(
        [sys.executable, "-m", "iotedge_cli", "manifest", "generate"],
        cwd=solution,
        env={**subprocess_env(), **env},
        capture_output=True,
        text=True,
    )
    assert generated.returncode == 0, generated.stderr
    manifest = solution / "config" / "deployment.amd64.json"
    state_dir = solution / ".edgectl" / "simulate"
    run = invoke(
        [
            "simulate", "start", "--manifest", str(manifest), "--hub-only", "--detach",
            "--bind", BIND, "--admin-port", str(_free_port()),
        ]
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("hub ready (pid ")
    assert f"  mqtt       {BIND}:8883" in run.stdout.splitlines()
    try:
        yield state_dir
    finally:
        stopped = invoke(["simulate", "stop", "--state-dir", str(state_dir)])
        assert stopped.exit_code == 0, stopped.stderr
        assert not (state_dir / "hub.json").exists()


def sim(state_dir: Path, *args: str) -> Any:
    return invoke(["simulate", *args, "--state-dir", str(state_dir)])


def test_state_dir_is_next_to_the_solution(simulation: Path) -> None:
    assert simulation.stat().st_mode & 0o777 == 0o700
    config = json.loads((simulation / "config.json").read_text())
    assert config["gateway_hostname"] == BIND
    assert config["bind"] == BIND


def test_a_second_start_is_refused(simulation: Path) -> None:
    run = invoke(
        [
            "simulate",
            "start",
            "--module",
            "m",
            "-i",
            "a",
            "--hub-only",
            "--state-dir",
            str(simulation),
        ]
    )
    assert run.exit_code == 2
    assert "a simulation is already running" in run.stderr


def test_status_json(simulation: Path) -> None:
    run = sim(simulation, "status", "--json")
    assert run.exit_code == 0, run.stderr
    doc = json.loads(run.stdout)
    names = {item["name"]: item for item in doc["listeners"]}
    assert names["mqtt"]["available"] is True
    assert {"listeners", "identities", "clients", "queues", "upstream"} <= set(doc)


def test_offline_module(simulation: Path) -> None:
    run = sim(simulation, "invoke", "tempSensor", "reset", "--timeout", "1", "--json")
    assert run.exit_code == 1
    assert json.loads(run.stdout)["status"] == 404
    run = sim(simulation, "send", "--module", "tempSensor", "--input", "in1", "--data", "x")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "sent 1 bytes to tempSensor/in1\n"


def test_unknown_module_is_a_one_line_error(simulation: Path) -> None:
    run = sim(simulation, "twin", "nosuch")
    assert run.exit_code == 2
    assert run.stderr.startswith("error: ")
    assert "nosuch" in run.stderr.splitlines()[0]


def test_device_add(simulation: Path) -> None:
    run = sim(simulation, "device", "add", "leaf1", "--json")
    assert run.exit_code == 0, run.stderr
    assert "DeviceId=leaf1;" in json.loads(run.stdout)["connectionString"]
    run = sim(simulation, "device", "add", "leaf2", "--x509", "--json")
    assert run.exit_code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["x509"] is True
    assert Path(doc["certificate"]["chain"]).is_file()


@pytest.mark.filterwarnings("ignore:ssl.PROTOCOL_TLSv1_2 is deprecated:DeprecationWarning")
def test_an_sdk_module_with_modulecred(simulation: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    device = pytest.importorskip("azure.iot.device")
    run = sim(simulation, "modulecred", "filtermodule", "--json")
    assert run.exit_code == 0, run.stderr
    creds = json.loads(run.stdout)
    assert list(creds) == ["EdgeHubConnectionString", "EdgeModuleCACertificateFile"]
    for key, value in creds.items():
        monkeypatch.setenv(key, value)
    client = device.IoTHubModuleClient.create_from_edge_environment()
    client.connect()
    patches: list[dict[str, Any]] = []
    try:

        def on_method(request: Any) -> None:
            response = device.MethodResponse.create_from_method_request(
                request, 200, {"got": request.payload}
            )
            client.send_method_response(response)

        client.on_method_request_received = on_method
        client.on_twin_desired_properties_patch_received = patches.append
        monitor = subprocess.Popen(
            [sys.executable, "-m", "iotedge_cli", "simulate", "monitor", "--json", "--count",
             "1", "--timeout", "30", "--state-dir", str(simulation)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )  # fmt: skip
        time.sleep(1.5)  # monitor shows only messages that arrive after it started
        client.send_message_to_output('{"temperature": 30}', "output1")
        out, err = monitor.communicate(timeout=40)
        assert monitor.returncode == 0, err
        message = json.loads(out)
        assert message["connectionModuleId"] == "filtermodule"
        assert message["outputName"] == "output1"
        assert message["body"] == '{"temperature": 30}'

        run = sim(simulation, "invoke", "filtermodule", "reset", "--payload", '{"x": 1}', "--json")
        assert run.exit_code == 0, run.stderr
        assert json.loads(run.stdout) == {"status": 200, "payload": {"got": {"x": 1}}}

        run = sim(simulation, "twin", "filtermodule", "--set", '{"TemperatureThreshold": 31}')
        assert run.exit_code == 0, run.stderr
        assert '    "TemperatureThreshold": 31' in run.stdout.splitlines()
        deadline = time.monotonic() + 10
        while not patches and time.monotonic() < deadline:
            time.sleep(0.05)
        assert patches and patches[0]["TemperatureThreshold"] == 31

        status = json.loads(sim(simulation, "status", "--json").stdout)
        assert [c["clientId"] for c in status["clients"]] == ["edgectl-device/filtermodule"]
    finally:
        client.shutdown()
