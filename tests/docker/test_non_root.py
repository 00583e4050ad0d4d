"""A developer who is in the `docker` group but not root runs a whole simulation (issue 7).

Run as root (as CI is), the test makes such a user and runs the real CLI as that user: the hub's
container runs as the user's uid:gid and still listens on 443 inside (a namespaced sysctl),
every file in the state directory is the user's, and the user removes the state directory
afterwards without root. Run as a non-root user, the rest of the suite already is this test.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.docker.test_agent import manifest, module, wait_for
from tests.support_images import ensure_python_base_image

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
USER = "edgectl-nonroot"
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _site_packages() -> Path:
    return Path(next(p for p in sys.path if p.endswith("site-packages")))


@pytest.fixture(scope="module")
def user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("not root: the suite itself runs as a non-root user here")
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} is needed to run edgectl as another user")
    version = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(
            f"{SYSTEM_PYTHON} is Python {version}; the test venv's packages are for another"
        )
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--groups", "docker", USER], check=True)
        entry = pwd.getpwnam(USER)
    readable = as_user(entry, f"test -r {shlex.quote(str(ROOT / 'iotedge_cli' / '__init__.py'))}")
    if readable.returncode != 0:
        pytest.skip(f"{ROOT} is not readable by other users (its parent folders are private)")
    return entry


def as_user(entry: pwd.struct_passwd, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["su", entry.pw_name, "-s", "/bin/sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def edgectl_as(entry: pwd.struct_passwd, *args: str, expect: int = 0) -> str:
    path = f"{ROOT}:{_site_packages()}"
    command = (
        f"cd {shlex.quote(entry.pw_dir)} && EDGECTL_SIM_BACKOFF_UNIT=1 PYTHONPATH={shlex.quote(path)} "
        f"{SYSTEM_PYTHON} -m iotedge_cli " + " ".join(shlex.quote(a) for a in args)
    )
    done = as_user(entry, command)
    assert done.returncode == expect, (args, done.stdout, done.stderr)
    return done.stdout


def test_a_docker_group_user_runs_and_removes_a_simulation(user: pwd.struct_passwd) -> None:
    image = ensure_python_base_image()
    home = Path(user.pw_dir)
    work = home / f"sim-{os.getpid()}"
    as_user(user, f"mkdir -p {shlex.quote(str(work))}")
    path = work / "m.json"
    as_user(
        user,
        f"cat > {shlex.quote(str(path))} <<'EOF'\n{json.dumps(manifest({'nr': module(image)}))}\nEOF",
    )
    state = work / "state"
    try:
        edgectl_as(
            user,
            "simulate",
            "start",
            "--manifest",
            str(path),
            "--detach",
            "--hub-image",
            image,
            "--state-dir",
            str(state),
        )

        def status() -> dict[str, Any]:
            out = edgectl_as(user, "simulate", "status", "--json", "--state-dir", str(state))
            return dict(json.loads(out))

        doc = wait_for(
            lambda: (
                (d := status()).get("modules", {}).get("nr", {}).get("runtimeStatus") == "running"
                and d
            ),
            60,
            "the module running",
        )
        https = next(e for e in doc["listeners"] if e["name"] == "https")
        assert https["available"] and https["port"] == 443  # inside the container, as the user
        owners = {p.stat().st_uid for p in state.rglob("*")}
        assert owners == {user.pw_uid}, owners
    finally:
        edgectl_as(user, "simulate", "stop", "--state-dir", str(state))
    removed = as_user(user, f"rm -rf {shlex.quote(str(work))}")
    assert removed.returncode == 0 and not work.exists(), removed.stderr
