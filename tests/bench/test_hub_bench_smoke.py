"""``bench/hub_bench.py`` runs end to end with tiny durations and prints every figure."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed")

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "hub_bench.py"


@pytest.mark.skipif(not Path("/proc/self/schedstat").exists(), reason="needs Linux /proc")
def test_hub_bench_prints_the_figures() -> None:
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    transport = "plain" if mosquitto else "none"
    argv = [sys.executable, str(SCRIPT), "--seconds", "0.5", "--rounds", "1"]
    argv += ["--latency-seconds", "0.3", "--clients", "3", "--bind", "127.0.0.29"]
    argv += ["--mosquitto-transport", transport]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in (
        "throughput, QoS 1 msgs/s, median of 1",
        "server CPU per message, us",
        "latency at 1000 msg/s, p50 ms",
        "p99 ms",
        "hub <= 10 ms:",
        "RSS idle after start, MB",
        "RSS with 3 connected clients, MB",
        "peak RSS (VmHWM), MB",
    ):
        assert line in out, out
    if mosquitto:
        assert "mosquitto" in out.splitlines()[2] and "x mosquitto (>= 0.5x)" in out, out

    # every message sent in the throughput and the latency runs arrived
    def numbers(label: str) -> list[str]:
        line = next(x for x in out.splitlines() if label in x)
        return [word for word in line.split() if word.isdigit()]

    assert numbers("messages sent, all rounds") == numbers("messages received (unique)"), out
