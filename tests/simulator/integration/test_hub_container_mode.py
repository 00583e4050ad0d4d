"""The hub as the agent mode runs it in its container: ``python -m iotedge_cli.simulator.hub.run``
with the workload API on 0.0.0.0, the admin API on a unix socket and a foreign owner pid.

The wildcard bind happens inside a private network namespace (``unshare -rn``: only a loopback
interface, 127.0.0.99 for the gateway), so the test never listens on a real interface. The host
side talks to the hub the way the supervisor does: through the socket file in the state dir.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotedge_cli.simulator.client import AdminClient
from tests.simulator.integration.harness import ROUTES, make_state

IP = "127.0.0.99"
WORKLOAD_PORT = 15580


def _namespaces_work() -> bool:
    if not all(shutil.which(tool) for tool in ("unshare", "nsenter", "ip")):
        return False
    probe = subprocess.run(
        ["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True, check=False
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _namespaces_work(), reason="needs unshare -rn (user + network namespaces), nsenter, ip"
)


def _in_namespace(pid: int, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-U", "-n", "--preserve-credentials", *command],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _listening(pid: int, port: int) -> set[str]:
    """Local addresses (hex, as /proc shows them) with a TCP listener on ``port`` in the
    network namespace of process ``pid``."""
    found = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, hex_port = fields[1].split(":")
        if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(address)
    return found


@pytest.fixture
def hub_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    config = make_state(
        tmp_path,
        IP,
        admin_socket=tmp_path / "admin.sock",
        workload_bind="0.0.0.0",
        workload_port=WORKLOAD_PORT,
        owner_pid=os.getpid(),
    )
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config.to_json()), encoding="utf-8")
    script = 'ip link set lo up && exec "$0" -m iotedge_cli.simulator.hub.run --config "$1"'
    with (tmp_path / "hub.log").open("wb") as log:
        process = subprocess.Popen(
            ["unshare", "-rn", "sh", "-c", script, sys.executable, str(config_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[3],
        )
    try:
        deadline = time.monotonic() + 30
        while not config.runtime_file.exists() and process.poll() is None:
            assert time.monotonic() < deadline, "the hub did not start"
            time.sleep(0.1)
        assert process.poll() is None, (tmp_path / "hub.log").read_text()
        yield process, tmp_path
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(10)


def test_workload_on_every_interface_and_hub_json_for_the_host(
    hub_process: tuple[subprocess.Popen[bytes], Path],
) -> None:
    process, state = hub_process
    runtime = json.loads((state / "hub.json").read_text())
    assert runtime["pid"] == os.getpid() != process.pid  # the owner, not the hub process
    assert runtime["admin"] == f"unix://{state / 'admin.sock'}"
    listeners = {e["name"]: e for e in runtime["listeners"]}
    workload = listeners["workload"]
    assert workload["available"], workload["error"]
    assert (workload["address"], workload["port"]) == ("0.0.0.0", WORKLOAD_PORT)
    # modules reach it by the gateway host name (the hub container's network alias)
    assert workload["uri"] == f"http://{IP}:{WORKLOAD_PORT}/"
    assert _listening(process.pid, WORKLOAD_PORT) == {"00000000"}

    ca = (state / "certs" / "trust-bundle.pem").read_text()
    fetch = (
        "import json, sys, urllib.request\n"
        "url = f'http://{sys.argv[1]}:{sys.argv[2]}/trust-bundle?api-version=2022-08-03'\n"
        "print(json.load(urllib.request.urlopen(url, timeout=10))['certificate'], end='')\n"
    )
    for host in ("127.0.0.1", IP):  # any address of the namespace answers
        done = _in_namespace(process.pid, sys.executable, "-c", fetch, host, str(WORKLOAD_PORT))
        assert done.returncode == 0, done.stderr
        assert done.stdout == ca

    # the host side: the admin API through the socket in the state dir, across namespaces
    client = AdminClient(runtime["admin"], state_dir=state)
    assert {e["name"] for e in client.status()["listeners"]} >= {"mqtt", "admin", "workload"}
    assert client.deploy(json.loads((state / "deployment.json").read_text())) == {
        "added": [],
        "removed": [],
        "desiredChanged": [],
        "routes": len(ROUTES),
    }
    client.shutdown()
    assert process.wait(15) == 0
    assert not (state / "hub.json").exists()
