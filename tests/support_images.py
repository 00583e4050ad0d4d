"""Local base images for Docker tests: this machine has no registry, so nothing can be pulled.

``ensure_python_base_image()`` debootstraps a minimal Debian bookworm with python3 and pip
(Debian's packages are reachable) and ``docker import``s it, once per machine: the image is
kept and reused by later runs. Needs root and debootstrap (`.ci/run` installs it).
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PYTHON_BASE = "edgectl-test/python-base:bookworm"
MIRROR = "http://deb.debian.org/debian"


def image_exists(tag: str) -> bool:
    return (
        subprocess.run(
            ["docker", "image", "inspect", tag], capture_output=True, check=False
        ).returncode
        == 0
    )


def ensure_python_base_image(tag: str = PYTHON_BASE) -> str:
    """Return ``tag``, building it with debootstrap + docker import if it is missing."""
    if image_exists(tag):
        return tag
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise RuntimeError("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="edgectl-rootfs-") as root:
        subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                "--include=python3,python3-pip,ca-certificates",
                "bookworm",
                root,
                MIRROR,
            ],
            check=True,
            capture_output=True,
        )
        with subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE) as tar:
            subprocess.run(
                ["docker", "import", "-", tag], stdin=tar.stdout, check=True, capture_output=True
            )
        if tar.returncode != 0:
            raise RuntimeError(f"tar of the rootfs failed (exit {tar.returncode})")
    return tag


def python_in_image(tag: str, code: str, *, check: bool) -> subprocess.CompletedProcess[str]:
    """``python3 -c CODE`` in a throw-away container of ``tag``, with no network."""
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", tag, "-c", code],
        capture_output=True,
        text=True,
        check=check,
    )


def image_python_version(tag: str) -> str:
    """``"3.11"``: the python3 inside image ``tag``."""
    out = python_in_image(tag, "import sys; print('%d.%d' % sys.version_info[:2])", check=True)
    return out.stdout.strip()


def wheels_for_image(requirements: Path, dest: Path, python_version: str) -> None:
    """Wheels for ``requirements`` that install on the image's Python, offline.

    ``pip wheel`` builds everything on this machine (paho-mqtt has no wheel on PyPI); wheels
    that are not pure Python are then replaced by the ones for the image's Python version.
    """
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "-q", "-r", str(requirements), "-w", str(dest)], check=True)
    arch = platform.machine()
    for wheel in sorted(dest.glob("*.whl")):
        name, version, *_, tag = wheel.stem.split("-")
        if tag == "any":
            continue
        wheel.unlink()
        subprocess.run(
            [
                *pip,
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                python_version,
                "--platform",
                f"manylinux2014_{arch}",
                "--platform",
                f"manylinux_2_17_{arch}",
                "--platform",
                f"manylinux_2_28_{arch}",
                "-d",
                str(dest),
                f"{name}=={version}",
            ],
            check=True,
        )


def prepare_quickstart(dest: Path, base: str) -> Path:
    """A copy of examples/quickstart in ``dest`` whose modules build offline from ``base``:
    wheels for the base image's Python in each module's ``wheels/`` (as its Dockerfile
    expects when no package index is reachable from the build)."""
    source = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
    solution = dest / "quickstart"
    shutil.copytree(source, solution, ignore=shutil.ignore_patterns(".edgectl", "config", "wheels"))
    wheels = dest / "wheels"
    pyver = image_python_version(base)
    for module in sorted((solution / "modules").iterdir()):
        requirements = module / "requirements.txt"
        if requirements.is_file():
            wheels_for_image(requirements, wheels, pyver)
            shutil.copytree(wheels, module / "wheels", dirs_exist_ok=True)
    return solution
