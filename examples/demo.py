"""The edgectl demo on examples/ (run it with `./dev demo`): a real offline simulation.

1. Generates the example solution's deployment manifest (in a temporary copy) and lints it,
   then lints the broken manifests in examples/broken (they must fail with exit 1).
2. Runs examples/quickstart as a whole simulation on this machine's Docker engine (the
   README's main job): `edgectl simulate start --solution ... --build` builds the temperature
   sensor and filter module images (from a local base image, no registry), starts the hub's
   container and one container per module, and then: shows the status, watches filtered
   readings arrive at $upstream (all above the threshold 25), raises the threshold to 28 with a
   twin update and sees the effect, invokes the filter's `reset` method, prints its logs, and
   stops (every container and the network removed).

Needs a Docker engine. Exits non-zero if any step does not behave as described.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EDGECTL = [sys.executable, "-m", "iotedge_cli"]


def run(args: list[str], cwd: Path, expect: int = 0, *, capture: bool = False) -> str:
    print(f"\n$ edgectl {' '.join(args)}", flush=True)
    done = subprocess.run(
        [*EDGECTL, *args], cwd=cwd, check=False, text=True, capture_output=capture
    )
    if capture:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
    if done.returncode != expect:
        fail(f"`edgectl {' '.join(args)}` exited {done.returncode}, expected {expect}")
    return done.stdout if capture else ""


def fail(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr)
    raise SystemExit(1)


def wait_for_client(solution: Path, state: list[str], module: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = subprocess.run(
            [*EDGECTL, "simulate", "status", "--json", *state],
            cwd=solution,
            check=False,
            text=True,
            capture_output=True,
        )
        if done.returncode == 0 and any(
            c.get("clientId", "").endswith(f"/{module}") for c in json.loads(done.stdout)["clients"]
        ):
            return
        time.sleep(0.3)
    fail(f"module {module} did not connect within {seconds:.0f} s")


def lint(solution: Path) -> None:
    run(["manifest", "generate"], solution)
    run(["manifest", "validate", "config/deployment.amd64.json"], solution)
    broken = sorted(str(p.relative_to(HERE)) for p in (HERE / "broken").glob("*.json"))
    run(["manifest", "validate", *broken], HERE, expect=1)


def base_image() -> str:
    """The image module Dockerfiles build FROM (build arg BASE_IMAGE) and the hub runs in.

    ``$EDGECTL_BASE_IMAGE`` when set (e.g. python:3.11-slim-bookworm where a registry is
    reachable); otherwise a minimal Debian with python3 built here once with debootstrap and
    ``docker import`` (no registry needed; about a minute the first time).
    """
    chosen = os.environ.get("EDGECTL_BASE_IMAGE")
    if chosen:
        return chosen
    sys.path.insert(0, str(HERE.parent))
    from tests.support_images import ensure_python_base_image

    print("\n# building the local base image (debootstrap; once per machine)", flush=True)
    return ensure_python_base_image()


def simulate(work: Path) -> None:
    """examples/quickstart as containers: build, start, watch, change, stop."""
    sys.path.insert(0, str(HERE.parent))
    from tests.support_images import prepare_quickstart

    base = base_image()
    print(
        "\n# a copy of examples/quickstart, with the SDK's wheels in each module's build context"
        " (no package index is reachable from the build)",
        flush=True,
    )
    solution = prepare_quickstart(work, base)
    state = ["--state-dir", str(solution / ".edgectl" / "simulate")]
    run(
        [
            "simulate",
            "start",
            "--solution",
            str(solution),
            "--build",
            "--base-image",
            base,
            "--detach",
            *state,
        ],
        work,
    )
    try:
        wait_for_client(solution, state, "filtermodule", 60)
        wait_for_client(solution, state, "tempsensor", 60)
        run(["simulate", "status", *state], work)
        hot = monitor(work, state, 3)
        if not all(t > 25 for t in hot):
            fail(f"the filter passed readings at or below its threshold 25: {hot}")
        run(
            ["simulate", "twin", "filtermodule", "--set", '{"TemperatureThreshold": 28}', *state],
            work,
        )
        time.sleep(2.0)  # readings already routed used the old threshold
        hotter = monitor(work, state, 2)
        if not all(t > 28 for t in hotter):
            fail(f"the new threshold 28 did not take effect: {hotter}")
        run(["simulate", "invoke", "filtermodule", "reset", *state], work)
        run(["simulate", "logs", "filtermodule", "--tail", "5", *state], work)
    finally:
        run(["simulate", "stop", *state], work)


def monitor(work: Path, state: list[str], count: int) -> list[float]:
    out = run(
        ["simulate", "monitor", "--json", "--count", str(count), "--timeout", "60", *state],
        work,
        capture=True,
    )
    temps = []
    for line in out.splitlines():
        body = json.loads(line)["body"]
        temps.append(float(json.loads(body)["machine"]["temperature"]))
    return temps


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="edgectl-demo-") as tmp:
        solution = Path(tmp) / "solution"
        shutil.copytree(
            HERE / "solution", solution, ignore=shutil.ignore_patterns("config", ".edgectl")
        )
        lint(solution)
        simulate(Path(tmp))
    print("\ndemo: all steps behaved as expected")


if __name__ == "__main__":
    main()
