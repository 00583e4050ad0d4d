"""Manifest linter performance: throughput in-process and CLI cold start.

Prints, side by side in one run:
- manifests/s for load + full lint of every corpus file (target >= 1000/s), beside the bare
  stdlib ``json.loads`` of the same files as a reference;
- cold-start wall time of ``edgectl --help`` and ``edgectl manifest validate <one file>``,
  beside ``python -c pass`` (target: --help within 0.1 s of the bare interpreter).

Usage: python bench/manifest_bench.py [--seconds S] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []
    return files or sorted((ROOT / "examples").rglob("*.json"))


def throughput(files: list[Path], seconds: float) -> tuple[float, float, int]:
    from iotedge_cli.errors import InputError
    from iotedge_cli.manifest.lint import lint_doc
    from iotedge_cli.manifest.loader import load_text

    texts = [(str(f), f.read_text(encoding="utf-8")) for f in files]

    def lint_all() -> int:
        found = 0
        for name, text in texts:
            try:
                found += len(lint_doc(load_text(text, name)))
            except InputError:
                found += 1
        return found

    def stdlib_all() -> int:
        n = 0
        for _, text in texts:
            try:
                json.loads(text)
            except ValueError:
                n += 1
        return n

    findings = lint_all()  # warm-up: imports, compiled schemas and regexes

    def rate(fn: object) -> float:
        assert callable(fn)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            fn()
            done += len(texts)
        return done / (time.perf_counter() - start)

    return rate(lint_all), rate(stdlib_all), findings


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="time per throughput measurement"
    )
    parser.add_argument("--runs", type=int, default=10, help="runs per cold-start measurement")
    args = parser.parse_args()

    files = corpus_files()
    lint_rate, json_rate, findings = throughput(files, args.seconds)
    print(f"corpus: {len(files)} files from {files[0].parent} ({findings} findings per pass)")
    print(f"  edgectl load + lint      {lint_rate:9.0f} manifests/s   (target >= 1000)")
    print(f"  reference json.loads     {json_rate:9.0f} manifests/s")

    edgectl = shutil.which("edgectl", path=str(Path(sys.executable).parent)) or "edgectl"
    one = str(files[0])
    base = wall([sys.executable, "-c", "pass"], args.runs)
    helps = wall([edgectl, "--help"], args.runs)
    val = wall([edgectl, "manifest", "validate", one], args.runs)
    print(f"cold start (median of {args.runs}):")
    print(f"  python -c pass                      {base:6.3f} s")
    print(
        f"  edgectl --help                      {helps:6.3f} s   (+{helps - base:.3f} s; target +0.100)"
    )
    print(f"  edgectl manifest validate <1 file>  {val:6.3f} s   (+{val - base:.3f} s)")


if __name__ == "__main__":
    main()
