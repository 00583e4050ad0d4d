"""The edgectl demo on examples/ (run it with `./dev demo`).

1. copies examples/solution to a temporary folder and generates its deployment manifest;
2. lints the generated manifest (it must be clean);
3. lints the broken manifests in examples/broken (they must fail with findings, exit 1).

Exits non-zero if any step does not behave as described.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(args: list[str], cwd: Path, expect: int) -> None:
    shown = " ".join(["edgectl", *args])
    print(f"\n$ {shown}", flush=True)
    code = subprocess.run(
        [sys.executable, "-m", "iotedge_cli", *args], cwd=cwd, check=False
    ).returncode
    if code != expect:
        print(f"demo: `{shown}` exited {code}, expected {expect}", file=sys.stderr)
        sys.exit(1)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="edgectl-demo-") as tmp:
        solution = Path(tmp) / "solution"
        shutil.copytree(HERE / "solution", solution)
        run(["manifest", "generate"], solution, 0)
        run(["manifest", "validate", "config/deployment.amd64.json"], solution, 0)
        run(["manifest", "generate", "--platform", "arm64v8"], solution, 0)
    broken = sorted(str(p.relative_to(HERE)) for p in (HERE / "broken").glob("*.json"))
    run(["manifest", "validate", *broken], HERE, 1)
    print("\ndemo: all steps behaved as expected")


if __name__ == "__main__":
    main()
