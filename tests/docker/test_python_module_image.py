"""The scaffolded Python module builds on a LOCAL base image, with no network in the build.

Issue 5: the Python sample is the module the simulator runs for real, so its Dockerfile must
build from a base image that only has python3 and pip (BASE_IMAGE), installing the SDK from
wheels placed in the build context.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iotedge_cli.cli.app import app
from tests.support_images import (
    ensure_python_base_image,
    image_python_version,
    python_in_image,
    wheels_for_image,
)

pytestmark = pytest.mark.docker


def test_python_module_builds_offline_from_a_local_base_image(tmp_path: Path) -> None:
    base = ensure_python_base_image()
    solution = tmp_path / "sol"
    result = CliRunner().invoke(app, ["new-solution", str(solution), "--module", "filter"])
    assert result.exit_code == 0, result.output
    module = solution / "modules" / "filter"
    # As the Dockerfile says: wheels for the image's Python (this run's may differ).
    wheels_for_image(module / "requirements.txt", module / "wheels", image_python_version(base))
    tag = f"edgectl-test/filter:{uuid.uuid4().hex[:12]}"
    try:
        build = subprocess.run(
            [
                "docker",
                "build",
                "--network",
                "none",
                "-q",
                "-f",
                "Dockerfile.amd64",
                "--build-arg",
                f"BASE_IMAGE={base}",
                "-t",
                tag,
                ".",
            ],
            cwd=module,
            capture_output=True,
            text=True,
            check=False,
        )
        assert build.returncode == 0, build.stdout + build.stderr
        probe = python_in_image(
            tag,
            "from azure.iot.device.aio import IoTHubModuleClient; import main, temperature_filter;"
            " import os; print(os.getuid())",
            check=False,
        )
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.strip() == "10001"  # runs as the unprivileged user
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
