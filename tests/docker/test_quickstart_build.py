"""The quickstart's module images build with edgectl's planner and builder, offline.

A copy of examples/quickstart gets wheels for each module (for the base image's Python), and
the builds run on the local base image with no network in their RUN steps: the tags planned
are the images that exist afterwards. A broken Dockerfile step is a BuildError naming the
module and the step, with the step's output in the hint.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.simulator.build import (
    BuildError,
    BuildEvent,
    build_images,
    docker_client,
    plan_builds,
)
from tests.support_images import ensure_python_base_image, image_python_version, wheels_for_image

pytestmark = pytest.mark.docker

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.fixture(scope="module")
def base_image() -> str:
    return ensure_python_base_image()


@pytest.fixture(scope="module")
def wheels(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One set of wheels: both modules have the same requirements (checked here)."""
    requirements = {
        (QUICKSTART / "modules" / m / "requirements.txt").read_text()
        for m in ("tempsensor", "filtermodule")
    }
    assert len(requirements) == 1
    dest = tmp_path_factory.mktemp("wheels")
    wheels_for_image(
        QUICKSTART / "modules" / "tempsensor" / "requirements.txt",
        dest,
        image_python_version(base_image),
    )
    return dest


@pytest.fixture
def solution(tmp_path: Path, wheels: Path) -> Path:
    copy = tmp_path / "quickstart"
    shutil.copytree(
        QUICKSTART, copy, ignore=shutil.ignore_patterns("__pycache__", "config", ".edgectl")
    )
    for module in ("tempsensor", "filtermodule"):
        shutil.copytree(wheels, copy / "modules" / module / "wheels")
    return copy


@pytest.fixture
def client() -> Iterator[Any]:
    engine = docker_client()
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def registry() -> Iterator[str]:
    """A unique repository prefix; every image under it is removed afterwards."""
    prefix = f"edgectl-test-{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        listed = subprocess.run(
            ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        ours = [i for i in listed.stdout.split() if i.startswith(prefix + "/")]
        if ours:
            subprocess.run(["docker", "rmi", "-f", *ours], capture_output=True, check=False)


def test_quickstart_images_build_offline_with_the_planned_tags(
    solution: Path, base_image: str, client: Any, registry: str
) -> None:
    jobs = plan_builds(
        solution, "amd64", base_image=base_image, env={"CONTAINER_REGISTRY_ADDRESS": registry}
    )
    tags = [f"{registry}/tempsensor:0.0.1-amd64", f"{registry}/filtermodule:0.0.1-amd64"]
    assert [job.image for job in jobs] == tags
    events: list[BuildEvent] = []
    built = build_images(jobs, client=client, on_event=events.append, network_mode="none")
    assert built == tags
    for tag in tags:
        client.images.get(tag)  # raises ImageNotFound if the build did not tag it
    for module in ("tempsensor", "filtermodule"):
        mine = [e for e in events if e.module == module]
        assert mine[0].kind == "start" and mine[-1].kind == "done"
        steps = [e.step for e in mine if e.kind == "step"]
        assert steps == list(range(1, len(steps) + 1)) and steps[-1] == mine[-1].steps
    # The sensor's code and the SDK are in the image, which runs as the unprivileged user.
    probe = subprocess.run(
        [
            "docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", tags[0],
            "-c", "import azure.iot.device.aio, main, readings, os; print(os.getuid())",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert (probe.returncode, probe.stdout.strip()) == (0, "10001"), probe.stderr


def test_a_broken_dockerfile_step_is_a_build_error_naming_module_and_step(
    solution: Path, base_image: str, client: Any, registry: str
) -> None:
    module = solution / "modules" / "tempsensor"
    (module / "Dockerfile.amd64").write_text(
        "ARG BASE_IMAGE\n"
        "FROM ${BASE_IMAGE}\n"
        "WORKDIR /app\n"
        "RUN echo checking-the-sources && exit 7\n"
        "COPY *.py ./\n"
    )
    jobs = plan_builds(
        solution, base_image=base_image, env={"CONTAINER_REGISTRY_ADDRESS": registry}
    )
    with pytest.raises(BuildError) as info:
        build_images(jobs, client=client, network_mode="none")
    error = info.value
    assert (error.module, error.step) == ("tempsensor", 4)
    assert error.message.startswith(
        "module tempsensor: the image build failed at step 4/5 of "
        f"{module / 'Dockerfile.amd64'} (RUN echo checking-the-sources && exit 7): "
    )
    assert "returned a non-zero code: 7" in error.message
    assert error.hint is not None and "checking-the-sources" in error.hint
    assert "\n" not in error.message
    from docker.errors import ImageNotFound

    with pytest.raises(ImageNotFound):  # neither the broken module nor the next one was built
        client.images.get(jobs[0].image)
