"""How fast a whole simulation starts and stops (issue 7's target: start <= 3 s).

Measures, on this machine's Docker engine, with images already built:
- start: from `edgectl simulate start --manifest M --detach` until every module of a 3-module
  manifest (examples/quickstart's tempsensor and filtermodule, plus a second filter) is
  connected to the hub (polled through the admin API every 20 ms);
- stop: `edgectl simulate stop` until it returns (every container and the network removed).
Reference, in the same run: the floor those numbers stand on — the same three images started
with plain docker-py (create + start) running `python3 -c "import azure.iot.device.aio"`, until
all three have exited, then removed. No registry is needed: the base image is built locally
(debootstrap) and the module images from it with wheels, as the tests do.

Usage: python bench/simulate_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EDGECTL = [sys.executable, "-m", "iotedge_cli"]
MODULES = ("tempsensor", "filtermodule", "filter2")


def run(*args: str) -> str:
    done = subprocess.run([*EDGECTL, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"edgectl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def three_module_manifest(solution: Path, base: str, out: Path) -> list[str]:
    """Build the quickstart's images (once) and write a manifest with a third module."""
    from iotedge_cli.simulator.build import build_images, docker_client, plan_builds

    jobs = plan_builds(solution, "amd64", base_image=base)
    build_images(jobs, client=docker_client())
    generated = json.loads(
        run("manifest", "generate", str(solution / "deployment.template.json"), "--json")
    )
    manifest = json.loads(Path(generated["output"]).read_text())
    desired = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]
    desired["modules"]["filter2"] = dict(desired["modules"]["filtermodule"])
    routes = manifest["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]
    routes["sensorToFilter2"] = (
        "FROM /messages/modules/tempsensor/outputs/temperatureOutput INTO "
        'BrokeredEndpoint("/modules/filter2/inputs/input1")'
    )
    out.write_text(json.dumps(manifest, indent=2))
    return [job.image for job in jobs]


def connected(state: Path) -> set[str]:
    from iotedge_cli.errors import EdgectlError
    from iotedge_cli.simulator.client import AdminClient
    from iotedge_cli.simulator.state import read_running

    running = read_running(state)
    if running is None:
        return set()
    try:
        doc = AdminClient(running.admin, state_dir=state, timeout=2.0).status()
    except EdgectlError:
        return set()
    return {str(c["clientId"]).split("/")[-1] for c in doc.get("clients") or []}


def one_run(manifest: Path, state: Path, base: str) -> tuple[float, float, float]:
    started = time.perf_counter()
    run(
        "simulate",
        "start",
        "--manifest",
        str(manifest),
        "--detach",
        "--hub-image",
        base,
        "--state-dir",
        str(state),
    )
    returned = time.perf_counter() - started
    deadline = time.monotonic() + 60
    while not set(MODULES) <= connected(state):
        if time.monotonic() > deadline:
            raise SystemExit(f"modules did not connect within 60 s: {connected(state)}")
        time.sleep(0.02)
    all_connected = time.perf_counter() - started
    started = time.perf_counter()
    run("simulate", "stop", "--state-dir", str(state))
    return returned, all_connected, time.perf_counter() - started


def reference(images: list[str]) -> float:
    """docker-py create + start of three containers importing the SDK, until all exited."""
    from iotedge_cli.simulator.build import docker_client

    api = docker_client().api
    started = time.perf_counter()
    ids: list[Any] = []
    for image in (images[0], images[1], images[1]):
        cid = api.create_container(
            image, command=["python3", "-c", "import azure.iot.device.aio"], user="10001:10001"
        )["Id"]
        api.start(cid)
        ids.append(cid)
    for cid in ids:
        api.wait(cid)
    elapsed = time.perf_counter() - started
    for cid in ids:
        api.remove_container(cid, force=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from tests.support_images import ensure_python_base_image, prepare_quickstart

    os.environ.setdefault("EDGECTL_SIM_BACKOFF_UNIT", "10")
    base = ensure_python_base_image()
    with tempfile.TemporaryDirectory(prefix="edgectl-simbench-") as tmp:
        solution = prepare_quickstart(Path(tmp), base)
        manifest = Path(tmp) / "three.json"
        images = three_module_manifest(solution, base, manifest)
        results = [one_run(manifest, Path(tmp) / f"state{i}", base) for i in range(args.runs)]
        refs = [reference(images) for _ in range(args.runs)]
    med = [statistics.median(r[i] for r in results) for i in range(3)]
    print(
        f"simulate bench ({args.runs} runs, median; 3 modules, images built, {os.cpu_count()} "
        "cores)"
    )
    print(f"  start command returns (hub ready, modules created):  {med[0]:6.2f} s")
    print(
        f"  start -> all 3 modules connected to the hub:         {med[1]:6.2f} s  (target <= 3 s)"
    )
    print(f"  stop (all containers + network removed):             {med[2]:6.2f} s")
    print("  reference: docker-py create+start 3 containers that")
    print(
        f"    import the SDK, until all exited:                  {statistics.median(refs):6.2f} s"
    )
    print("  runs: " + "; ".join(f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in results))


if __name__ == "__main__":
    main()
