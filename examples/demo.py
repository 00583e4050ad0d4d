"""The edgectl demo on examples/ (run it with `./dev demo`): a real offline simulation.

1. Generates the example solution's deployment manifest (in a temporary copy) and lints it,
   then lints the broken manifests in examples/broken (they must fail with exit 1).
2. Starts the simulator's hub for that manifest (`edgectl simulate start --hub-only`), runs
   the example's Python module (modules/filtermodule, the official azure-iot-device SDK) on
   this machine with the credentials `edgectl simulate modulecred` prints, and then:
   sends it a hot and a cold reading, shows the hot one arriving at $upstream (the cold one is
   filtered out), reads the module twin, invokes the module's `reset` method, and stops.

Everything listens on 127.0.0.61 only. Exits non-zero if any step does not behave as described.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIND = "127.0.0.61"
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def simulate(solution: Path) -> None:
    state = ["--state-dir", str(solution / ".edgectl" / "simulate")]
    run(
        [
            "simulate",
            "start",
            "--manifest",
            "config/deployment.amd64.json",
            "--hub-only",
            "--detach",
            "--bind",
            BIND,
            "--admin-port",
            str(free_port()),
            *state,
        ],
        solution,
    )
    module_proc: subprocess.Popen[bytes] | None = None
    try:
        creds = json.loads(
            run(
                ["simulate", "modulecred", "filtermodule", "--json", *state], solution, capture=True
            )
        )
        module_dir = solution / "modules" / "filtermodule"
        print(
            f"\n$ (cd {module_dir.relative_to(solution.parent)} && python main.py)  "
            "# with EdgeHubConnectionString and EdgeModuleCACertificateFile set",
            flush=True,
        )
        module_proc = subprocess.Popen(
            [sys.executable, "-u", "main.py"], cwd=module_dir, env={**os.environ, **creds}
        )
        wait_for_client(solution, state, "filtermodule", 30)
        for temperature in (40.5, 20.0):
            body = json.dumps({"machine": {"temperature": temperature}})
            run(
                [
                    "simulate",
                    "send",
                    "--module",
                    "filtermodule",
                    "--input",
                    "input1",
                    "--data",
                    body,
                    "--content-type",
                    "application/json",
                    "--content-encoding",
                    "utf-8",
                    *state,
                ],
                solution,
            )
        out = run(
            [
                "simulate",
                "monitor",
                "--from-start",
                "--json",
                "--count",
                "1",
                "--timeout",
                "20",
                *state,
            ],
            solution,
            capture=True,
        )
        message = json.loads(out.splitlines()[0])
        if json.loads(message["body"])["machine"]["temperature"] != 40.5:
            fail("the hot reading did not reach $upstream")
        time.sleep(1.0)
        late = run(
            ["simulate", "monitor", "--from-start", "--json", "--timeout", "1", *state],
            solution,
            capture=True,
        )
        if len(late.splitlines()) != 1:
            fail("the cold reading should have been filtered out by the module")
        run(["simulate", "twin", "filtermodule", *state], solution)
        run(["simulate", "invoke", "filtermodule", "reset", *state], solution)
    finally:
        if module_proc is not None:
            module_proc.send_signal(signal.SIGTERM)
            try:
                module_proc.wait(10)
            except subprocess.TimeoutExpired:
                module_proc.kill()
        run(["simulate", "stop", *state], solution)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="edgectl-demo-") as tmp:
        solution = Path(tmp) / "solution"
        shutil.copytree(
            HERE / "solution", solution, ignore=shutil.ignore_patterns("config", ".edgectl")
        )
        lint(solution)
        simulate(solution)
    print("\ndemo: all steps behaved as expected")


if __name__ == "__main__":
    main()
