"""Planning module image builds (no Docker): the quickstart's tags are generate's, options
are parsed or refused by name; the engine's build stream becomes events and errors."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from iotedge_cli.cli.simulate._build import run_builds
from iotedge_cli.errors import ExitCode, InputError, ServiceUnavailableError
from iotedge_cli.manifest.generate import GenerateOptions, generate
from iotedge_cli.simulator.build import (
    BuildError,
    BuildEvent,
    BuildJob,
    build_images,
    docker_client,
    plan_builds,
)

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.fixture
def solution(tmp_path: Path) -> Path:
    copy = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, copy, ignore=shutil.ignore_patterns("__pycache__", "config"))
    return copy


def edit_module_json(solution: Path, module: str, **image: Any) -> Path:
    path = solution / "modules" / module / "module.json"
    data = json.loads(path.read_text())
    data["image"].update(image)
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.mark.parametrize("platform", ["amd64", "arm64v8"])
@pytest.mark.parametrize(
    "env",
    [{}, {"CONTAINER_REGISTRY_ADDRESS": "myregistry.azurecr.io", "CONTAINER_TAG": "ci7"}],
)
def test_planned_tags_are_the_images_of_the_generated_manifest(
    solution: Path, tmp_path: Path, platform: str, env: dict[str, str]
) -> None:
    result = generate(
        GenerateOptions(
            template=solution / "deployment.template.json",
            platform=platform,
            output=tmp_path / "out" / f"deployment.{platform}.json",
        ),
        env,
    )
    assert result.errors == 0 and result.written
    jobs = plan_builds(solution, platform, env=env)
    assert [job.image for job in jobs] == list(result.images.values())
    manifest = json.loads(Path(result.output).read_text())
    modules = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    assert {job.module: job.image for job in jobs} == {
        name: m["settings"]["image"] for name, m in modules.items()
    }


def test_a_job_has_the_platforms_dockerfile_and_the_context(solution: Path) -> None:
    jobs = plan_builds(solution, "arm32v7", env={})
    assert jobs == [
        BuildJob(
            module=name,
            image=f"localhost:5000/{name}:0.0.1-arm32v7",
            dockerfile=(solution / "modules" / name / "Dockerfile.arm32v7").resolve(),
            context=(solution / "modules" / name).resolve(),
            build_args={},
            labels={},
            target=None,
        )
        for name in ("tempsensor", "filtermodule")
    ]
    with_base = plan_builds(solution, "arm32v7", base_image="my/python:3.11", env={})
    assert {tuple(job.build_args.items()) for job in with_base} == {
        (("BASE_IMAGE", "my/python:3.11"),)
    }


def test_only_modules_the_template_uses_are_built(solution: Path) -> None:
    shutil.copytree(solution / "modules" / "tempsensor", solution / "modules" / "unused")
    template = solution / "deployment.template.json"
    template.write_text(template.read_text().replace("${MODULES.filtermodule}", "alpine:3"))
    assert [job.module for job in plan_builds(solution, env={})] == ["tempsensor"]


def test_build_options_become_args_labels_and_target(solution: Path) -> None:
    edit_module_json(
        solution,
        "tempsensor",
        buildOptions=[
            "--build-arg VERSION=1.2",
            "--build-arg='GREETING=hello world'",
            "--label=org.example.team=edge",
            "--label",
            "registry=${CONTAINER_REGISTRY_ADDRESS}",
            "--target runtime",
        ],
    )
    (job, _) = plan_builds(solution, base_image="base:1", env={"CONTAINER_REGISTRY_ADDRESS": "r:1"})
    assert job.build_args == {"VERSION": "1.2", "GREETING": "hello world", "BASE_IMAGE": "base:1"}
    assert job.labels == {"org.example.team": "edge", "registry": "r:1"}
    assert job.target == "runtime"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--no-cache"], "image.buildOptions: '--no-cache' is not supported"),
        (["--add-host=github.com:192.30.255.112"], "'--add-host=github.com:192.30.255.112'"),
        (["-t other:1"], "'-t' is not supported"),
        (["--build-arg FOO"], "--build-arg 'FOO' is not KEY=VALUE"),
        (["--target"], "--target needs a stage name"),
        ("--target x", "image.buildOptions must be a list of strings"),
        (["--label 'unclosed"], "cannot split"),
    ],
)
def test_bad_build_options_name_the_module_json_and_the_option(
    solution: Path, options: Any, expected: str
) -> None:
    path = edit_module_json(solution, "filtermodule", buildOptions=options)
    with pytest.raises(InputError) as info:
        plan_builds(solution, env={})
    assert info.value.message.startswith(f"{path}: ")
    assert expected in info.value.message
    assert info.value.exit_code == ExitCode.USAGE


def test_a_missing_platform_names_the_module_json_and_its_platforms(solution: Path) -> None:
    with pytest.raises(InputError) as info:
        plan_builds(solution, "windows-amd64", env={})
    message = info.value.message
    assert "modules/tempsensor/module.json" in message
    assert "'windows-amd64'" in message and "(has: amd64, arm32v7, arm64v8)" in message


def test_a_missing_dockerfile_names_the_module_json_and_its_platforms(solution: Path) -> None:
    (solution / "modules" / "filtermodule" / "Dockerfile.arm64v8").unlink()
    with pytest.raises(InputError) as info:
        plan_builds(solution, "arm64v8", env={})
    assert info.value.message == (
        f"{solution / 'modules' / 'filtermodule' / 'module.json'}: the Dockerfile for platform "
        "'arm64v8', ./Dockerfile.arm64v8, does not exist "
        "(platforms: amd64, amd64.debug, arm32v7, arm64v8)"
    )


def test_a_missing_context_or_module_folder_or_template_is_an_input_error(
    solution: Path,
) -> None:
    edit_module_json(solution, "tempsensor", contextPath="../nowhere")
    with pytest.raises(InputError, match=r"the build context \.\./nowhere"):
        plan_builds(solution, env={})
    shutil.rmtree(solution / "modules" / "tempsensor")
    with pytest.raises(InputError, match="no module folder 'tempsensor'"):
        plan_builds(solution, env={})
    with pytest.raises(InputError, match=r"deployment\.template\.json: no such file"):
        plan_builds(solution / "modules", env={})


# --- the build stream -----------------------------------------------------------------------


class FakeAPI:
    """docker's low-level ``APIClient.build``: replays a recorded stream (the engine is absent)."""

    def __init__(self, chunks: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def build(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return iter(self.chunks)


class FakeClient:
    def __init__(self, api: FakeAPI) -> None:
        self.api = api


def job(name: str = "tempsensor") -> BuildJob:
    return BuildJob(
        module=name,
        image=f"localhost:5000/{name}:0.0.1-amd64",
        dockerfile=Path("/sol/modules") / name / "Dockerfile.amd64",
        context=Path("/sol/modules") / name,
        build_args={"BASE_IMAGE": "base:1"},
        labels={},
        target=None,
    )


OK = [
    {"stream": "Step 1/3 : ARG BASE_IMAGE"},
    {"stream": "\n"},
    {"stream": "Step 2/3 : FROM ${BASE_IMAGE}\n"},
    {"stream": " ---> 2809c3e9c17e\n"},
    {"stream": "Step 3/3 : RUN pip install -r requirements.txt\n"},
    {"stream": " ---> Running in 89d47d42f1b4\n"},
    {"stream": "Installing collected packages: paho-mqtt\nSuccessfully installed paho-mqtt\n"},
    {"stream": "Removing intermediate container 89d47d42f1b4\n"},
    {"aux": {"ID": "sha256:0123"}},
    {"stream": "Successfully built 0123\n"},
]


def test_the_stream_becomes_start_step_output_done_events() -> None:
    api = FakeAPI(OK)
    events: list[BuildEvent] = []
    assert build_images([job()], client=FakeClient(api), on_event=events.append) == [
        "localhost:5000/tempsensor:0.0.1-amd64"
    ]
    assert [(e.kind, e.text, e.step, e.steps) for e in events] == [
        ("start", "localhost:5000/tempsensor:0.0.1-amd64", None, None),
        ("step", "ARG BASE_IMAGE", 1, 3),
        ("step", "FROM ${BASE_IMAGE}", 2, 3),
        ("output", " ---> 2809c3e9c17e", 2, 3),
        ("step", "RUN pip install -r requirements.txt", 3, 3),
        ("output", " ---> Running in 89d47d42f1b4", 3, 3),
        ("output", "Installing collected packages: paho-mqtt", 3, 3),
        ("output", "Successfully installed paho-mqtt", 3, 3),
        ("output", "Removing intermediate container 89d47d42f1b4", 3, 3),
        ("output", "Successfully built 0123", 3, 3),
        ("done", "localhost:5000/tempsensor:0.0.1-amd64", 3, 3),
    ]
    (call,) = api.calls
    assert call == {
        "path": "/sol/modules/tempsensor",
        "dockerfile": "/sol/modules/tempsensor/Dockerfile.amd64",
        "tag": "localhost:5000/tempsensor:0.0.1-amd64",
        "buildargs": {"BASE_IMAGE": "base:1"},
        "labels": None,
        "target": None,
        "network_mode": None,
        "decode": True,
        "rm": True,
        "forcerm": True,
    }


def test_a_failed_step_is_a_build_error_with_the_last_output_in_the_hint() -> None:
    failing = [
        *OK[:6],
        {"stream": "ERROR: No matching distribution found for azure-iot-device~=2.14\n"},
        {
            "errorDetail": {"code": 1, "message": "The command '/bin/sh -c pip' returned 1"},
            "error": "The command '/bin/sh -c pip' returned 1",
        },
    ]
    with pytest.raises(BuildError) as info:
        build_images([job(), job("filtermodule")], client=FakeClient(FakeAPI(failing)))
    error = info.value
    assert (error.module, error.step, error.exit_code) == ("tempsensor", 3, ExitCode.USAGE)
    assert error.message == (
        "module tempsensor: the image build failed at step 3/3 of "
        "/sol/modules/tempsensor/Dockerfile.amd64 (RUN pip install -r requirements.txt): "
        "The command '/bin/sh -c pip' returned 1"
    )
    assert error.hint == (
        "the build's last output lines:\n"
        "  ERROR: No matching distribution found for azure-iot-device~=2.14"
    )


def test_a_missing_base_image_hints_at_base_image() -> None:
    failing = [*OK[:3], {"error": "pull access denied for base, repository does not exist"}]
    with pytest.raises(BuildError) as info:
        build_images([job()], client=FakeClient(FakeAPI(failing)))
    assert "at step 2/3 of" in info.value.message
    assert info.value.hint is not None
    assert info.value.hint.startswith("the base image base:1 is not on this machine")
    assert "--base-image" in info.value.hint


def test_an_engine_refusal_before_the_first_step_is_a_build_error() -> None:
    from docker.errors import APIError

    refused = APIError("500 Server Error", explanation="Cannot locate specified Dockerfile")
    with pytest.raises(BuildError) as info:
        build_images([job()], client=FakeClient(FakeAPI([], refused)))
    assert info.value.message == (
        "module tempsensor: the image build failed before its first step, "
        "/sol/modules/tempsensor/Dockerfile.amd64: Cannot locate specified Dockerfile"
    )


def test_an_unreachable_engine_is_exit_3_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/edgectl-test.sock")
    with pytest.raises(ServiceUnavailableError) as info:
        docker_client(timeout=2)
    assert info.value.exit_code == ExitCode.UNAVAILABLE == 3
    assert info.value.message == (
        "cannot reach the Docker engine (unix:///nonexistent/edgectl-test.sock: "
        "no such file or directory)"
    )
    assert (
        info.value.hint == "start Docker, or check DOCKER_HOST and that you are in the docker group"
    )


# --- the CLI's progress ---------------------------------------------------------------------


def test_run_builds_prints_one_line_per_start_and_done_off_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    run_builds([job(), job("filtermodule")], FakeClient(FakeAPI(OK)), console)
    assert out.getvalue() == (
        "building tempsensor (localhost:5000/tempsensor:0.0.1-amd64)\n"
        "built tempsensor (localhost:5000/tempsensor:0.0.1-amd64, 3 steps)\n"
        "building filtermodule (localhost:5000/filtermodule:0.0.1-amd64)\n"
        "built filtermodule (localhost:5000/filtermodule:0.0.1-amd64, 3 steps)\n"
    )


def test_run_builds_shows_a_row_per_module_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, no_color=True)
    failing = [*OK[:5], {"error": "boom"}]

    class OneFails(FakeAPI):
        def build(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
            self.chunks = failing if "filtermodule" in kwargs["tag"] else OK
            return super().build(**kwargs)

    with pytest.raises(BuildError, match="module filtermodule"):
        run_builds([job(), job("filtermodule")], FakeClient(OneFails([])), console)
    final = out.getvalue().rsplit("\x1b[2K", 2)  # the last frame: one line per row
    rows = [line for line in "".join(final[-2:]).splitlines() if line.strip()]
    assert any("tempsensor" in r and "done" in r and "localhost:5000/tempsensor" in r for r in rows)
    assert any("filtermodule" in r and "failed" in r for r in rows)


def test_run_builds_says_so_when_there_is_nothing_to_build() -> None:
    out = io.StringIO()
    run_builds([], FakeClient(FakeAPI([])), Console(file=out, force_terminal=False))
    assert out.getvalue() == (
        "no module images to build (the template names no ${MODULES.<dir>})\n"
    )
