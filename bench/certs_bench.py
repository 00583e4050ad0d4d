"""Certificate chain performance: edgectl (in-process) against the openssl CLI, in one run.

A "full chain" is five certificates: root CA, intermediate CA, edge CA, edge hub server and one
leaf device, written to disk with keys, full-chain files and PFX files. edgectl makes it with
``build_edge_chain`` + one leaf + ``write_files``; the baseline is ``bench/certgen_openssl.sh``,
which makes the same five with the openssl command line the way certGen.sh does (RSA 4096 CAs,
2048 leaves, one openssl process per step). The baseline also runs with EC keys for reference.

Targets (issue 4): RSA no slower than the openssl baseline; EC at least 10x faster than it.
RSA key generation time varies a lot from run to run (prime search), so medians are reported.

Usage: python bench/certs_bench.py [--runs N] [--ec-runs N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "bench" / "certgen_openssl.sh"
sys.path.insert(0, str(ROOT))


def edgectl_chain(key_type: str, out: Path) -> None:
    from iotedge_cli.certs import layout
    from iotedge_cli.certs.authority import Validity
    from iotedge_cli.certs.chain import build_edge_chain, edge_chain_files
    from iotedge_cli.certs.profiles import KeyType
    from iotedge_cli.certs.store import write_files

    now = dt.datetime.now(dt.timezone.utc)
    validity = Validity.days_from(now, 30)
    kt = KeyType(key_type)
    chain = build_edge_chain(
        device_id="edge-1", hostname="edge-gw.local", validity=validity, key_type=kt
    )
    device = chain.intermediate.issue_client("sensor-1", validity, key_type=kt)
    files, _ = edge_chain_files(chain, out, pfx=True)
    files += layout.issued_files(device, layout.device("sensor-1"), pfx=True)
    write_files(out, files)


def openssl_chain(key_type: str, out: Path) -> None:
    subprocess.run(["bash", str(BASELINE), str(out), key_type], check=True, capture_output=True)


def timed(fn: Callable[[str, Path], None], key_type: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            fn(key_type, Path(tmp) / "certs")
            times.append(time.perf_counter() - start)
    return times


def fmt(times: list[float]) -> str:
    med = statistics.median(times)
    return f"median {med * 1000:8.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, n={len(times)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="RSA and openssl runs (default 5)")
    parser.add_argument("--ec-runs", type=int, default=30, help="edgectl EC runs (default 30)")
    args = parser.parse_args()
    if shutil.which("openssl") is None:
        print("certs_bench: the openssl binary is needed for the baseline", file=sys.stderr)
        return 2
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    edgectl_chain("ec", Path(tempfile.mkdtemp()) / "warm")  # imports, OpenSSL initialisation

    results = {
        "edgectl EC P-256": timed(edgectl_chain, "ec", args.ec_runs),
        "edgectl RSA 4096/2048": timed(edgectl_chain, "rsa", args.runs),
        "openssl CLI RSA (certGen.sh way)": timed(openssl_chain, "rsa", args.runs),
        "openssl CLI EC (same steps)": timed(openssl_chain, "ec", args.runs),
    }
    print(f"Full chain (root, intermediate, edge CA, server, leaf) written to disk; {version}")
    for name, times in results.items():
        print(f"  {name:<34} {fmt(times)}")
    ec = statistics.median(results["edgectl EC P-256"])
    rsa = statistics.median(results["edgectl RSA 4096/2048"])
    base = statistics.median(results["openssl CLI RSA (certGen.sh way)"])
    base_ec = statistics.median(results["openssl CLI EC (same steps)"])
    print(f"  RSA: edgectl / openssl CLI = {rsa / base:.2f}x time (target <= 1.0x): "
          f"{'OK' if rsa <= base else 'MISSED'}")  # fmt: skip
    print(f"  EC:  openssl CLI (RSA) / edgectl EC = {base / ec:.0f}x faster (target >= 10x): "
          f"{'OK' if base / ec >= 10 else 'MISSED'}; vs openssl CLI with EC keys: {base_ec / ec:.0f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
