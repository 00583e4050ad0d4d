"""The README's main job, end to end on a real Docker engine (issue 7's "Must show").

examples/quickstart is built from the locally made base image (SDK wheels put into each
module's build context: no registry, no network in the build), started with
`edgectl simulate start --solution ... --build`, and driven through the real CLI: filtered
messages reach $upstream (`simulate monitor --json`), a new threshold set with `simulate twin
--set` takes effect, the filter's `reset` method answers, a killed module comes back and
reconnects, and `simulate stop` leaves nothing behind. The modules are the real
azure-iot-device SDK in IoT Edge mode (IOTEDGE_* variables, workload API, the gateway
hostname on 8883).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docker.test_agent import edgectl, labelled, wait_for
from tests.support_images import ensure_python_base_image, prepare_quickstart

pytestmark = pytest.mark.docker


class Quick:
    def __init__(self, solution: Path) -> None:
        self.solution = solution
        self.state = solution / ".edgectl" / "simulate"

    def args(self) -> list[str]:
        return ["--state-dir", str(self.state)]

    def status(self) -> dict[str, Any]:
        return json.loads(edgectl("simulate", "status", "--json", *self.args()).stdout)

    def connected(self) -> set[str]:
        return {c["clientId"].split("/")[-1] for c in self.status().get("clients") or []}

    def upstream(self, seconds: float) -> list[dict[str, Any]]:
        out = edgectl(
            "simulate", "monitor", "--json", "--timeout", str(seconds), *self.args()
        ).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def temperature(message: dict[str, Any]) -> float:
    body = message.get("body")
    if isinstance(body, str):
        body = json.loads(body)
    return float(body["machine"]["temperature"])


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quick]:
    base = ensure_python_base_image()
    solution = prepare_quickstart(tmp_path_factory.mktemp("e2e"), base)
    q = Quick(solution)
    done = edgectl(
        "simulate",
        "start",
        "--solution",
        str(solution),
        "--build",
        "--base-image",
        base,
        "--detach",
        expect=None,
    )
    try:
        assert done.returncode == 0, (done.stdout, done.stderr)
        yield q
    finally:
        edgectl("simulate", "stop", *q.args(), expect=None)


def test_modules_connect_and_filtered_messages_reach_upstream(quick: Quick) -> None:
    wait_for(lambda: {"tempsensor", "filtermodule"} <= quick.connected(), 60, "both modules")
    messages = wait_for(lambda: quick.upstream(4.0), 30, "messages at $upstream")
    temps = [temperature(m) for m in messages]
    assert temps and all(t > 25 for t in temps), temps
    assert all(m.get("connectionModuleId", "filtermodule") == "filtermodule" for m in messages)


def test_threshold_change_takes_effect(quick: Quick) -> None:
    edgectl(
        "simulate",
        "twin",
        "filtermodule",
        "--set",
        '{"TemperatureThreshold": 29}',
        *quick.args(),
    )

    def reported() -> bool:
        twin = json.loads(
            edgectl("simulate", "twin", "filtermodule", "--json", *quick.args()).stdout
        )
        return "29" in json.dumps(twin.get("reported", {}))

    wait_for(reported, 20, "the filter to report the new threshold")
    time.sleep(1.0)  # messages already in flight used the old threshold
    messages = wait_for(lambda: quick.upstream(6.0), 30, "messages above 29")
    temps = [temperature(m) for m in messages]
    assert temps and all(t > 29 for t in temps), temps


def test_reset_method(quick: Quick) -> None:
    out = json.loads(
        edgectl("simulate", "invoke", "filtermodule", "reset", "--json", *quick.args()).stdout
    )
    assert out["status"] == 200


def test_killed_module_is_restarted_and_reconnects(quick: Quick) -> None:
    subprocess.run(["docker", "kill", "tempsensor"], check=True, capture_output=True)
    wait_for(lambda: quick.status()["modules"]["tempsensor"]["restartCount"] >= 1, 60, "restart")
    wait_for(lambda: "tempsensor" in quick.connected(), 60, "reconnect")
    assert quick.status()["modules"]["tempsensor"]["runtimeStatus"] == "running"


def test_stop_leaves_nothing(quick: Quick) -> None:
    label = (
        "edgectl.simulation="
        + json.loads((quick.state / "simulation.json").read_text())["simulationId"]
    )
    edgectl("simulate", "stop", *quick.args())
    assert labelled(label) == ([], [])
