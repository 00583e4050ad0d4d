"""Starting and stopping whole simulations on a real Docker engine (issue 7): stop removes
exactly what edgectl created, also after a crash; bad input fails before anything is created.

A separate file from test_agent.py: container names are the module names (and ``edgeHub``), so
one simulation runs per Docker engine at a time, as one IoT Edge runtime per host.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.docker.test_agent import Sim, edgectl, labelled, manifest, module, wait_for
from tests.support_images import ensure_python_base_image

pytestmark = pytest.mark.docker


def start_detached(root: Path, module_name: str) -> Sim:
    """A one-module simulation started with --detach in ``root``."""
    image = ensure_python_base_image()
    s = Sim(root, image)
    path = root / "m.json"
    path.write_text(json.dumps(manifest({module_name: module(image)})))
    edgectl(
        "simulate", "start", "--manifest", str(path), "--detach", "--hub-image", image, *s.args()
    )
    return s


def test_stop_leaves_no_container_or_network(tmp_path: Path) -> None:
    s = start_detached(tmp_path, "solo")
    label = s.label()
    assert labelled(label)[0]
    started = time.monotonic()
    out = edgectl("simulate", "stop", *s.args()).stdout
    assert "stopped the simulation" in out and "removed 2 container(s)" in out
    assert time.monotonic() - started < 30
    assert labelled(label) == ([], [])
    assert not (s.state / "simulation.json").exists()
    edgectl("simulate", "status", *s.args(), expect=3)


def test_stop_cleans_up_after_a_crashed_agent(tmp_path: Path) -> None:
    s = start_detached(tmp_path, "solo2")
    label = s.label()
    pid = json.loads((s.state / "simulation.json").read_text())["pid"]
    os.kill(pid, 9)
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 10, "agent gone")
    out = edgectl("simulate", "stop", *s.args()).stdout
    assert "already exited" in out
    assert labelled(label) == ([], [])


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def test_missing_image_is_a_clear_error(tmp_path: Path) -> None:
    image = ensure_python_base_image()
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest({"ghost": module("edgectl-test/not-built:1.0")})))
    done = edgectl(
        "simulate",
        "start",
        "--manifest",
        str(path),
        "--hub-image",
        image,
        "--state-dir",
        str(tmp_path / "state"),
        expect=2,
    )
    assert "ghost" in done.stderr and "edgectl-test/not-built:1.0" in done.stderr
    assert "--build" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_engine_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest({"x": module("img:1")})))
    done = edgectl(
        "simulate",
        "start",
        "--manifest",
        str(path),
        "--state-dir",
        str(tmp_path / "s"),
        expect=3,
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"},
    )
    assert done.stderr.count("error:") == 1 and "Docker" in done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_stops_a_foreground_simulation_cleanly(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    image = ensure_python_base_image()
    s = Sim(tmp_path, image)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest({"fg": module(image)})))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iotedge_cli",
            "simulate",
            "start",
            "--manifest",
            str(path),
            "--hub-image",
            image,
            *s.args(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: (
                (s.state / "simulation.json").exists()
                and s.modules().get("fg", {}).get("runtimeStatus") == "running"
            ),
            60,
            "fg running",
        )
        label = s.label()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "fg: created" in out and "stopped: removed" in out
    assert "Traceback" not in err
    assert labelled(label) == ([], [])
