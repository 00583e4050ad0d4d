"""Local base images for Docker tests: this machine has no registry, so nothing can be pulled.

``ensure_python_base_image()`` debootstraps a minimal Debian bookworm with python3 and pip
(Debian's packages are reachable) and ``docker import``s it, once per machine: the image is
kept and reused by later runs. Needs root and debootstrap (`.ci/run` installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile

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
