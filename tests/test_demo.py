"""The README's main job: `./dev demo` runs examples/demo.py. Keep it working on every commit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_a_real_simulation_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "demo: all steps behaved as expected" in done.stdout
    assert "filtered readings" not in done.stderr
    assert "status: 200" in done.stdout  # the module answered its reset method
