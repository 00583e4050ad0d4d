"""The simulator's agent on a real Docker engine, through the real CLI (issue 7).

Modules here are small Python programs run from the locally built base image (no SDK; the
quickstart end-to-end test runs real SDK modules). The restart back-off unit is shortened to
1 s with EDGECTL_SIM_BACKOFF_UNIT so a growing back-off is seen in seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support_images import ensure_python_base_image

pytestmark = pytest.mark.docker

EDGECTL = [sys.executable, "-m", "iotedge_cli"]
SCRIPT = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
    "print('hello from', os.environ['IOTEDGE_MODULEID'], os.environ.get('GREETING', ''),"
    " os.environ['IOTEDGE_GATEWAYHOSTNAME'], flush=True)\n"
    "time.sleep(100000)\n"
)


def module(image: str, *, status: str = "running", policy: str = "always", **env: str) -> Any:
    options = {"Cmd": ["python3", "-u", "-c", SCRIPT], "Labels": {"team": "edge"}}
    return {
        "type": "docker",
        "status": status,
        "restartPolicy": policy,
        "version": "1.0",
        "env": {k: {"value": v} for k, v in env.items()},
        "settings": {"image": image, "createOptions": json.dumps(options)},
    }


def with_options(spec: Any, root: Path) -> Any:
    """``spec`` with createOptions that edgeAgent merges or passes through: Env (wins over the
    manifest's env), Binds (kept, the CA's appended), and keys edgectl does not interpret."""
    data = root / "data"
    data.mkdir(exist_ok=True)
    (data / "hello.txt").write_text("hi")
    options = json.loads(spec["settings"]["createOptions"])
    options.update(
        {
            "Env": ["GREETING=from-options", "EXTRA=1"],
            "Hostname": "opts-host",
            "WorkingDir": "/tmp",
            "StopSignal": "SIGINT",
            "HostConfig": {"Binds": [f"{data}:/data:ro"], "ShmSize": 67108864},
        }
    )
    spec["settings"]["createOptions"] = json.dumps(options)
    return spec


def manifest(modules: dict[str, Any]) -> dict[str, Any]:
    return {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "runtime": {"type": "docker", "settings": {}},
                    "systemModules": {
                        "edgeAgent": {
                            "type": "docker",
                            "settings": {"image": "mcr.microsoft.com/azureiotedge-agent:1.5"},
                        },
                        "edgeHub": {
                            "type": "docker",
                            "status": "running",
                            "restartPolicy": "always",
                            "settings": {"image": "mcr.microsoft.com/azureiotedge-hub:1.5"},
                        },
                    },
                    "modules": modules,
                }
            },
            "$edgeHub": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "routes": {"up": "FROM /messages/* INTO $upstream"},
                    "storeAndForwardConfiguration": {"timeToLiveSecs": 7200},
                }
            },
        }
    }


def edgectl(*args: str, expect: int | None = 0, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run(
        [*EDGECTL, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "EDGECTL_SIM_BACKOFF_UNIT": "1", **(env or {})},
        check=False,
    )
    if expect is not None:
        assert done.returncode == expect, (args, done.stdout, done.stderr)
    return done


def docker_json(*args: str) -> Any:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def env_of(info: dict[str, Any]) -> dict[str, str]:
    """A container's environment (``docker inspect``'s Config.Env) as a mapping."""
    return dict(item.split("=", 1) for item in info["Config"]["Env"])


def labelled(sim_label: str) -> tuple[list[str], list[str]]:
    containers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={sim_label}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    networks = subprocess.run(
        ["docker", "network", "ls", "-q", "--filter", f"label={sim_label}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return containers, networks


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.2)


class Sim:
    def __init__(self, root: Path, image: str) -> None:
        self.root = root
        self.state = root / "state"
        self.image = image

    def args(self) -> list[str]:
        return ["--state-dir", str(self.state)]

    def status(self) -> dict[str, Any]:
        return json.loads(edgectl("simulate", "status", "--json", *self.args()).stdout)

    def modules(self) -> dict[str, Any]:
        return self.status().get("modules") or {}

    def label(self) -> str:
        sim = json.loads((self.state / "simulation.json").read_text())
        return f"edgectl.simulation={sim['simulationId']}"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    image = ensure_python_base_image()
    root = tmp_path_factory.mktemp("agent")
    s = Sim(root, image)
    first = root / "deployment.json"
    first.write_text(
        json.dumps(
            manifest(
                {
                    "alpha": module(image, GREETING="one"),
                    "beta": module(image, policy="never"),
                    "idle": module(image, status="stopped"),
                    "opts": with_options(module(image, GREETING="from-env"), root),
                }
            )
        )
    )
    edgectl(
        "simulate",
        "start",
        "--manifest",
        str(first),
        "--detach",
        "--hub-image",
        image,
        *s.args(),
    )
    try:
        yield s
    finally:
        edgectl("simulate", "stop", *s.args(), expect=None)


def test_modules_run_as_containers_with_the_agents_environment(sim: Sim) -> None:
    modules = wait_for(
        lambda: (m := sim.modules()) and m["alpha"]["runtimeStatus"] == "running" and m,
        30,
        "alpha running",
    )
    assert modules["beta"]["runtimeStatus"] == "running"
    assert isinstance(modules["alpha"]["uptimeSeconds"], int)
    # desired status stopped: created, never started
    assert modules["idle"]["runtimeStatus"] == "stopped"
    assert docker_json("inspect", "idle")[0]["State"]["Status"] == "created"
    info = docker_json("inspect", "alpha")[0]
    env = env_of(info)
    assert env["IOTEDGE_MODULEID"] == "alpha"
    assert env["IOTEDGE_DEVICEID"] == "edgectl-device"
    assert env["IOTEDGE_WORKLOADURI"] == "http://edgectl-device:15580/"
    assert env["IOTEDGE_APIVERSION"] and env["IOTEDGE_MODULEGENERATIONID"]
    assert env["RuntimeLogLevel"] == "Information" and env["GREETING"] == "one"
    labels = info["Config"]["Labels"]
    assert labels["team"] == "edge"  # createOptions labels kept, edgectl's added
    assert labels["net.azure-devices.edge.owner"] == "edgectl"
    # the hub is the gateway hostname on the simulation's network
    hub = docker_json("inspect", "edgeHub")[0]
    network = json.loads((sim.state / "simulation.json").read_text())["network"]
    assert "edgectl-device" in hub["NetworkSettings"]["Networks"][network]["Aliases"]
    logs = wait_for(
        lambda: (
            "hello from alpha" in (out := edgectl("simulate", "logs", "alpha", *sim.args()).stdout)
            and out
        ),
        10,
        "alpha's output",
    )
    assert "edgectl-device" in logs


def test_create_options_are_passed_whole_and_merged_as_edge_agent_does(sim: Sim) -> None:
    wait_for(lambda: sim.modules().get("opts", {}).get("runtimeStatus") == "running", 30, "opts")
    info = docker_json("inspect", "opts")[0]
    env = env_of(info)
    assert env["GREETING"] == "from-options" and env["EXTRA"] == "1"  # createOptions.Env wins
    assert env["IOTEDGE_MODULEID"] == "opts"
    assert info["Config"]["Hostname"] == "opts-host"
    assert info["Config"]["WorkingDir"] == "/tmp"
    assert info["Config"]["StopSignal"] == "SIGINT"
    assert info["HostConfig"]["ShmSize"] == 67108864
    binds = info["HostConfig"]["Binds"]
    assert binds[0].endswith(":/data:ro") and binds[1].endswith(":/run/edgectl/ca.pem:ro")
    done = subprocess.run(
        ["docker", "exec", "opts", "cat", "/data/hello.txt", "/run/edgectl/ca.pem"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("hi-----BEGIN CERTIFICATE-----")


def test_edge_agent_twin_reports_module_status(sim: Sim) -> None:
    twin = json.loads(edgectl("simulate", "twin", "$edgeAgent", "--json", *sim.args()).stdout)
    reported = twin["reported"]
    assert reported["modules"]["alpha"]["runtimeStatus"] == "running"
    assert reported["lastDesiredVersion"] == twin["desired"]["$version"]
    assert reported["systemModules"]["edgeHub"]["runtimeStatus"] == "running"
    human = edgectl("simulate", "status", *sim.args()).stdout
    assert "alpha" in human and "RESTARTS" in human


def test_killed_module_restarts_with_a_growing_back_off(sim: Sim) -> None:
    wait_for(lambda: sim.modules()["alpha"]["runtimeStatus"] == "running", 20, "alpha")
    before = sim.modules()["alpha"]["restartCount"]
    gaps = []
    for n in range(2):
        killed = time.monotonic()
        subprocess.run(["docker", "kill", "alpha"], check=True, capture_output=True)
        wait_for(
            lambda n=n: (
                (m := sim.modules()["alpha"])["restartCount"] == before + n + 1
                and m["runtimeStatus"] == "running"
            ),
            30,
            f"restart {n + 1}",
        )
        gaps.append(time.monotonic() - killed)
    # back-off unit 1 s: the first restart waits >= 1 s * 2^before, the next twice that
    assert gaps[0] >= 2**before * 0.9
    assert gaps[1] >= 2 ** (before + 1) * 0.9
    assert gaps[1] > gaps[0]


def test_never_policy_module_stays_down(sim: Sim) -> None:
    subprocess.run(["docker", "kill", "beta"], check=True, capture_output=True)
    state = wait_for(
        lambda: (m := sim.modules()["beta"])["runtimeStatus"] in ("failed", "stopped") and m,
        15,
        "beta down",
    )
    assert state["exitCode"] == 137
    time.sleep(2.5)
    assert docker_json("inspect", "beta")[0]["State"]["Status"] == "exited"


def test_restart_command(sim: Sim) -> None:
    started = docker_json("inspect", "alpha")[0]["State"]["StartedAt"]
    out = edgectl("simulate", "restart", "alpha", *sim.args()).stdout
    assert "restarted alpha" in out
    assert docker_json("inspect", "alpha")[0]["State"]["StartedAt"] != started
    bad = edgectl("simulate", "restart", "nosuch", *sim.args(), expect=2)
    assert "nosuch" in bad.stderr and "Traceback" not in bad.stderr


def test_deploy_recreates_only_the_changed_module(sim: Sim) -> None:
    ids = {n: docker_json("inspect", n)[0]["Id"] for n in ("alpha", "idle")}
    second = sim.root / "deployment2.json"
    second.write_text(
        json.dumps(
            manifest(
                {
                    "alpha": module(sim.image, GREETING="two"),  # changed env -> recreate
                    "idle": module(sim.image, status="stopped"),  # unchanged
                    "gamma": module(sim.image),  # new
                }  # beta removed
            )
        )
    )
    out = json.loads(edgectl("simulate", "deploy", str(second), "--json", *sim.args()).stdout)
    assert out["converged"] is True
    assert docker_json("inspect", "alpha")[0]["Id"] != ids["alpha"]
    assert docker_json("inspect", "idle")[0]["Id"] == ids["idle"]
    assert docker_json("inspect", "gamma")[0]["State"]["Status"] == "running"
    gone = subprocess.run(["docker", "inspect", "beta"], capture_output=True, check=False)
    assert gone.returncode != 0
    env = env_of(docker_json("inspect", "alpha")[0])
    assert env["GREETING"] == "two"
    modules = sim.modules()
    assert set(modules) == {"alpha", "idle", "gamma"}


def test_a_second_start_is_refused_without_touching_the_running_one(
    sim: Sim, tmp_path: Path
) -> None:
    path = sim.root / "deployment.json"
    again = edgectl(
        "simulate",
        "start",
        "--manifest",
        str(path),
        "--detach",
        "--hub-image",
        sim.image,
        *sim.args(),
        expect=2,
    )
    assert "already running" in again.stderr and "Traceback" not in again.stderr
    other = edgectl(
        "simulate",
        "start",
        "--manifest",
        str(path),
        "--detach",
        "--hub-image",
        sim.image,
        "--state-dir",
        str(tmp_path / "other"),
        expect=2,
    )
    assert "exists and is not part of this simulation" in other.stderr
    assert docker_json("inspect", "edgeHub")[0]["State"]["Status"] == "running"
