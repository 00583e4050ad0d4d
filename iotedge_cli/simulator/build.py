"""Build a solution's module images: ``edgectl simulate start --build``.

:func:`plan_builds` finds the modules exactly as ``edgectl manifest generate`` does: it expands
the ``${MODULES.<dir>}`` / ``${MODULEDIR<path>}`` placeholders of ``deployment.template.json``
with the same :class:`ModuleIndex` (``.env`` overlaid by the environment), so every planned tag
is the image the generated manifest names, and modules the template does not use are not
built. Each module.json gives the Dockerfile for the platform, the build context
(``contextPath``) and ``buildOptions``; only the options edgectl can pass to the engine
(``--build-arg``, ``--label``, ``--target``) are accepted, any other is an error rather than
silently dropped.

:func:`build_images` streams each build through the Docker SDK's low-level API and reports
typed :class:`BuildEvent` s; a failed step raises :class:`BuildError`. ``docker`` is imported
lazily, inside the functions that talk to the engine.
"""

from __future__ import annotations

import gc
import os
import re
import shlex
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from iotedge_cli.errors import InputError, ServiceUnavailableError
from iotedge_cli.manifest.dotenv import load_dotenv
from iotedge_cli.manifest.images import ImageRefError, parse_image
from iotedge_cli.manifest.jsonparse import Placeholder
from iotedge_cli.manifest.loader import load_file, load_text, read_text
from iotedge_cli.manifest.modulejson import (
    BAD_MODULE_JSON,
    UNKNOWN_MODULE,
    UNKNOWN_PLATFORM,
    ModuleImage,
    ModuleIndex,
)
from iotedge_cli.manifest.placeholders import Expander

TEMPLATE = "deployment.template.json"
SUPPORTED_OPTIONS = ("--build-arg", "--label", "--target")
TAIL_LINES = 8  # output lines kept for a failed build's hint
_IMAGE_CODES = frozenset({UNKNOWN_MODULE, UNKNOWN_PLATFORM, BAD_MODULE_JSON})
_STEP = re.compile(r"Step (\d+)/(\d+) : (.*)")
_NOISE = (" ---> ", "Removing intermediate container")

EventKind = Literal["start", "step", "output", "done"]


@dataclass(frozen=True)
class BuildJob:
    """One image to build. ``module`` is the module's folder name (``modules/<module>``)."""

    module: str
    image: str
    dockerfile: Path
    context: Path
    build_args: dict[str, str]
    labels: dict[str, str]
    target: str | None


@dataclass(frozen=True)
class BuildEvent:
    """Progress of one build: ``start``, each ``step`` n of m, its ``output`` lines, ``done``."""

    module: str
    kind: EventKind
    text: str
    step: int | None = None
    steps: int | None = None


class BuildError(InputError):
    """A module's image did not build; the hint holds the last lines of the build's output."""

    def __init__(
        self, message: str, hint: str | None = None, *, module: str, step: int | None
    ) -> None:
        super().__init__(message, hint)
        self.module = module
        self.step = step


# --- planning -------------------------------------------------------------------------------


def plan_builds(
    solution: Path,
    platform: str = "amd64",
    *,
    base_image: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[BuildJob]:
    """The images ``solution``'s deployment template uses, in the order it first names them.

    ``env`` is the process environment (default ``os.environ``); it wins over ``.env``.
    ``base_image`` becomes the build argument ``BASE_IMAGE`` of every job. Raises
    :class:`InputError` for a missing template, module folder, platform, Dockerfile or
    context, and for build options edgectl cannot pass on.
    """
    template = solution / TEMPLATE
    if not template.is_file():
        raise InputError(
            f"{template}: no such file",
            hint="--solution names a solution folder with a deployment.template.json "
            "(edgectl new-solution creates one)",
        )
    values = _environment(solution, os.environ if env is None else env)
    index = ModuleIndex(solution / "modules", solution, values, platform)
    expander = Expander(values, index)
    for node in _strings(load_file(template).data):
        if isinstance(node, Placeholder):
            _, issues = expander.value(node)
        elif "${MODULE" in node:
            _, issues = expander.expand(node)
        else:
            continue
        for issue in issues:
            if issue.code in _IMAGE_CODES:
                raise InputError(
                    f"{template}: {issue.token}: {issue.message}",
                    hint="every ${MODULES.<dir>} needs modules/<dir>/module.json with the "
                    "platform's Dockerfile",
                )
    jobs: dict[str, BuildJob] = {}
    for image, module_platform in index.resolved.values():
        tag = image.tag(module_platform, index.container_tag)
        if tag not in jobs:
            jobs[tag] = _job(image, module_platform, tag, values, base_image)
    return list(jobs.values())


def _environment(solution: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """``.env`` values overlaid by the process environment, as ``manifest generate`` does."""
    dotenv = solution / ".env"
    values = load_dotenv(dotenv, str(dotenv), environ) if dotenv.is_file() else {}
    values.update(environ)
    return values


def _strings(node: Any) -> Iterator[str | Placeholder]:
    if isinstance(node, (str, Placeholder)):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _job(
    image: ModuleImage,
    platform: str,
    tag: str,
    env: Mapping[str, str],
    base_image: str | None,
) -> BuildJob:
    where = image.display
    try:
        parse_image(tag)
    except ImageRefError as exc:
        raise InputError(
            f"{where}: the image tag {tag!r} is invalid: {exc}",
            hint="fix image.repository or image.tag.version (and CONTAINER_TAG)",
        ) from None
    data = load_text(read_text(image.directory / "module.json", where), where).data
    section = data["image"]  # the index has checked that it is an object
    expand = _Strings(Expander(env), where)
    platforms = ", ".join(image.platforms)
    dockerfile_value = image.platforms[platform]
    if not isinstance(dockerfile_value, str) or not dockerfile_value:
        raise InputError(
            f"{where}: image.tag.platforms.{platform} must name a Dockerfile "
            f"(platforms: {platforms})",
            hint='e.g. "amd64": "./Dockerfile.amd64"',
        )
    dockerfile = (image.directory / expand(dockerfile_value, "image.tag.platforms")).resolve()
    if not dockerfile.is_file():
        raise InputError(
            f"{where}: the Dockerfile for platform {platform!r}, {dockerfile_value}, does not "
            f"exist (platforms: {platforms})",
            hint=f"create it, or fix image.tag.platforms.{platform} in {where}",
        )
    context_value = section.get("contextPath", "./")
    if not isinstance(context_value, str) or not context_value:
        raise InputError(
            f"{where}: image.contextPath must be a folder path", hint='e.g. "contextPath": "./"'
        )
    context = (image.directory / expand(context_value, "image.contextPath")).resolve()
    if not context.is_dir():
        raise InputError(
            f"{where}: the build context {context_value} (image.contextPath) is not a folder",
            hint=f"fix image.contextPath in {where}; it is relative to the module's folder",
        )
    build_args, labels, target = _build_options(section.get("buildOptions", []), where, expand)
    if base_image is not None:
        build_args["BASE_IMAGE"] = base_image
    return BuildJob(image.directory.name, tag, dockerfile, context, build_args, labels, target)


class _Strings:
    """Expands ``$VAR`` in module.json strings; an undefined variable is an error."""

    def __init__(self, expander: Expander, where: str) -> None:
        self.expander = expander
        self.where = where

    def __call__(self, text: str, field: str) -> str:
        value, issues = self.expander.expand(text)
        if issues:
            raise InputError(
                f"{self.where}: {field}: {issues[0].message}",
                hint="define the variable in .env or the environment",
            )
        return value


def _build_options(
    options: Any, where: str, expand: _Strings
) -> tuple[dict[str, str], dict[str, str], str | None]:
    """``buildOptions`` → build args, labels and target; anything else is an :class:`InputError`."""
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise InputError(
            f"{where}: image.buildOptions must be a list of strings",
            hint='e.g. "buildOptions": ["--build-arg VERSION=1"]',
        )
    tokens: list[str] = []
    for option in options:
        try:
            tokens += shlex.split(expand(option, "image.buildOptions"))
        except ValueError as exc:
            raise InputError(
                f"{where}: image.buildOptions: cannot split {option!r}: {exc}",
                hint="close the quotes",
            ) from None
    build_args: dict[str, str] = {}
    labels: dict[str, str] = {}
    target: str | None = None
    supported = ", ".join(SUPPORTED_OPTIONS)
    it = iter(tokens)
    for token in it:
        name, eq, value = token.partition("=")
        if name not in SUPPORTED_OPTIONS:
            raise InputError(
                f"{where}: image.buildOptions: {token!r} is not supported (edgectl passes "
                f"{supported} to the engine)",
                hint="remove the option from buildOptions, or build this image yourself "
                "with docker build",
            )
        if not eq:
            value = next(it, "")
        if name == "--target":
            if not value:
                raise InputError(f"{where}: image.buildOptions: --target needs a stage name")
            target = value
            continue
        key, eq, item = value.partition("=")
        if not key or not eq:
            raise InputError(
                f"{where}: image.buildOptions: {name} {value!r} is not KEY=VALUE",
                hint=f"write {name} KEY=VALUE",
            )
        (build_args if name == "--build-arg" else labels)[key] = item
    return build_args, labels, target


# --- building -------------------------------------------------------------------------------


def build_images(
    jobs: Iterable[BuildJob],
    *,
    client: Any,
    on_event: Callable[[BuildEvent], None] | None = None,
    network_mode: str | None = None,
) -> list[str]:
    """Build each job's image with ``client`` (a ``docker.DockerClient``); the tags built.

    ``network_mode`` is the network of the build's RUN steps (``"none"``: no network).
    Raises :class:`BuildError` when a build fails (earlier images stay built) and
    :class:`ServiceUnavailableError` when the engine goes away.
    """
    emit = on_event or (lambda event: None)
    built: list[str] = []
    for job in jobs:
        emit(BuildEvent(job.module, "start", job.image))
        steps = _build_one(job, client, emit, network_mode)
        emit(BuildEvent(job.module, "done", job.image, steps, steps))
        built.append(job.image)
    return built


def _build_one(
    job: BuildJob, client: Any, emit: Callable[[BuildEvent], None], network_mode: str | None
) -> int | None:
    """Run one build; the number of steps it had."""
    from docker.errors import APIError, DockerException

    progress = _Progress(job, emit)
    try:
        stream = client.api.build(
            path=str(job.context),
            dockerfile=str(job.dockerfile),
            tag=job.image,
            buildargs=dict(job.build_args),
            labels=dict(job.labels) or None,
            target=job.target,
            network_mode=network_mode,
            decode=True,
            rm=True,
            forcerm=True,
        )
        # Read to the end even after an error (the engine's last message): an abandoned
        # stream would keep its connection open.
        for chunk in stream:
            progress.feed(chunk)
    except APIError as exc:
        raise progress.failure(str(exc.explanation or exc)) from None
    except DockerException as exc:  # e.g. an invalid tag, caught before anything is sent
        raise progress.failure(str(exc)) from None
    except OSError as exc:
        if _from_http_client(exc):  # requests' exceptions are OSErrors too
            raise ServiceUnavailableError(
                f"lost the Docker engine while building {job.module} ({_cause(exc)})",
                hint="check that Docker is running, then try again",
            ) from None
        raise progress.failure(f"cannot read the build context: {exc}") from None
    if progress.error is not None:
        raise progress.failure(progress.error)
    return progress.steps


class _Progress:
    """Turns the engine's JSON stream into :class:`BuildEvent` s and remembers the last step."""

    def __init__(self, job: BuildJob, emit: Callable[[BuildEvent], None]) -> None:
        self.job = job
        self.emit = emit
        self.step: int | None = None
        self.steps: int | None = None
        self.instruction = ""
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.error: str | None = None  # the engine's error message, once it sent one

    def feed(self, chunk: Any) -> None:
        if not isinstance(chunk, dict) or self.error is not None:
            return
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail")
            message = detail.get("message") if isinstance(detail, dict) else None
            self.error = str(message or chunk.get("error") or "unknown error")
            return
        text = chunk.get("stream")
        if not isinstance(text, str):
            status = chunk.get("status")  # pulling a base image; per-layer lines have an id
            if not isinstance(status, str) or chunk.get("id"):
                return
            text = status
        for line in text.splitlines():
            self._line(line.rstrip())

    def _line(self, line: str) -> None:
        if not line.strip():
            return
        m = _STEP.match(line)
        if m is not None:
            self.step, self.steps = int(m.group(1)), int(m.group(2))
            self.instruction = m.group(3)
            self.emit(BuildEvent(self.job.module, "step", self.instruction, self.step, self.steps))
            return
        if not line.startswith(_NOISE):
            self.tail.append(line)
        self.emit(BuildEvent(self.job.module, "output", line, self.step, self.steps))

    def failure(self, error: str) -> BuildError:
        error = " ".join(error.split())
        where = _show(self.job.dockerfile)
        if self.step is None:
            at = f"before its first step, {where}"
        else:
            instruction = self.instruction
            if len(instruction) > 60:
                instruction = instruction[:59] + "…"
            at = f"at step {self.step}/{self.steps} of {where} ({instruction})"
        hints: list[str] = []
        if self.instruction.upper().startswith("FROM"):
            base = self.job.build_args.get("BASE_IMAGE")
            which = f"the base image {base}" if base else "the base image"
            hints.append(
                f"{which} is not on this machine and cannot be pulled: pass --base-image "
                "with a local image that has python3 and pip"
            )
        if self.tail:
            hints.append(
                "the build's last output lines:\n" + "\n".join(f"  {t}" for t in self.tail)
            )
        return BuildError(
            f"module {self.job.module}: the image build failed {at}: {error}",
            "\n".join(hints) or None,
            module=self.job.module,
            step=self.step,
        )


def _from_http_client(exc: BaseException) -> bool:
    """Whether ``exc`` is requests' (the engine went away), not the context's (a file)."""
    return type(exc).__module__.partition(".")[0] in ("requests", "urllib3")


def _show(path: Path) -> str:
    """``path`` relative to the current directory when below it (as users typed it)."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --- the engine -----------------------------------------------------------------------------


def docker_client(*, timeout: float = 5.0) -> Any:
    """A ``docker.DockerClient`` from the environment, once the engine answered a ping.

    The ping waits at most ``timeout`` seconds; the client returned has Docker's default
    timeout (builds have none). Raises :class:`ServiceUnavailableError` (exit 3) when the
    engine cannot be reached.
    """
    import docker
    from docker.errors import DockerException

    failure: ServiceUnavailableError | None = None
    # docker-py leaves the socket of a failed connect to the garbage collector: collect it
    # here, quietly, and raise outside the except clause so nothing keeps it alive.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            probe = docker.from_env(timeout=timeout)  # asks the engine for its API version
            try:
                probe.ping()
                version = probe.api.api_version
            finally:
                probe.close()
        except (DockerException, OSError) as exc:
            failure = _unreachable(exc)
        if failure is not None:
            gc.collect()
    if failure is not None:
        raise failure
    return docker.from_env(version=version)


def _unreachable(exc: BaseException) -> ServiceUnavailableError:
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return ServiceUnavailableError(
        f"cannot reach the Docker engine ({host}: {_cause(exc)})",
        hint="start Docker, or check DOCKER_HOST and that you are in the docker group",
    )


def _cause(exc: BaseException) -> str:
    """The innermost operating-system reason in an exception chain, else its first line."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, OSError) and item.strerror:
            return item.strerror[:1].lower() + item.strerror[1:]
        if type(item).__name__ in ("ReadTimeout", "ConnectTimeout", "TimeoutError"):
            return "no answer in time"
        todo += [*item.args, item.__cause__, item.__context__]
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    return first[:160]
