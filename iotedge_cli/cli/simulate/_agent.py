"""``simulate start`` without ``--hub-only``: generate, build, then run the supervisor here or
detached (see :mod:`iotedge_cli.simulator.agent.supervisor`)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from iotedge_cli.errors import FindingsError, ServiceUnavailableError, UsageError

POLL = 0.1


def start_agent(
    *,
    manifest: Path | None,
    solution: Path | None,
    platform: str,
    build: bool,
    base_image: str | None,
    hub_image: str | None,
    detach: bool,
    state_dir: Path | None,
    gateway_host: str | None,
    device_id: str,
    timeout: float,
) -> None:
    from iotedge_cli.certs.hostname import check_hostname
    from iotedge_cli.cli.simulate.start import check_manifest
    from iotedge_cli.manifest.loader import load_file
    from iotedge_cli.manifest.model import Manifest
    from iotedge_cli.simulator import state
    from iotedge_cli.simulator.agent.docker_adapter import engine
    from iotedge_cli.simulator.agent.spec import module_specs
    from iotedge_cli.simulator.agent.supervisor import (
        DEFAULT_HUB_IMAGE,
        Settings,
        Supervisor,
        deployment_path,
        read_simulation,
        settings_path,
        write_json,
    )

    if manifest is not None and solution is not None:
        raise UsageError(
            "--manifest and --solution cannot be used together",
            hint="give the solution folder (its manifest is generated) or a generated manifest",
        )
    if manifest is None and solution is None:
        raise UsageError(
            "nothing to simulate: give --solution DIR or --manifest M",
            hint="edgectl simulate start --solution examples/quickstart --build",
        )
    if build and solution is None:
        raise UsageError(
            "--build needs --solution (the module.json files say what to build)",
            hint="edgectl simulate start --solution DIR --build",
        )
    client = engine()  # exit 3 now, before anything is generated or built
    if solution is not None:
        manifest = _generate(solution, platform)
        if build:
            from iotedge_cli.cli.simulate._build import run_builds
            from iotedge_cli.simulator.build import plan_builds

            jobs = plan_builds(solution, platform, base_image=base_image)
            run_builds(jobs, client, _console())
    assert manifest is not None
    check_manifest(manifest)
    specs = module_specs(Manifest.from_doc(load_file(manifest)))
    home = solution.resolve() if solution is not None else state.solution_dir(manifest)
    directory = state.ensure_state_dir(
        state_dir if state_dir is not None else home / state.STATE_SUBDIR
    )
    _refuse_running(directory, read_simulation(directory))
    gateway = (gateway_host or device_id).lower()
    check_hostname(gateway)
    settings = Settings(
        state_dir=directory,
        device_id=device_id,
        gateway_hostname=gateway,
        hub_image=hub_image or base_image or DEFAULT_HUB_IMAGE,
        backoff_unit=_backoff_unit(),
    )
    supervisor = Supervisor(settings, client, on_event=_echo)
    supervisor.preflight(specs)
    write_private(deployment_path(directory), manifest.read_bytes())
    write_json(settings_path(directory), settings.to_json())
    if detach:
        _detach(directory, timeout)
    else:
        _foreground(supervisor, timeout)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 (a manifest may hold registry passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def _backoff_unit() -> float:
    """``$EDGECTL_SIM_BACKOFF_UNIT``: the restart back-off's unit in seconds (default 10, as
    edgeAgent; tests and demos shorten it)."""
    from iotedge_cli.simulator.agent.reconcile import COOL_OFF_UNIT

    raw = os.environ.get("EDGECTL_SIM_BACKOFF_UNIT")
    if not raw:
        return COOL_OFF_UNIT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 3600.0:
        raise UsageError(
            f"EDGECTL_SIM_BACKOFF_UNIT={raw!r} is not a number of seconds in (0, 3600]",
            hint="unset it (edgeAgent's 10 s) or give e.g. 1",
        )
    return value


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _echo(line: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    typer.echo(f"{stamp} {line}")


def _generate(solution: Path, platform: str) -> Path:
    from iotedge_cli.manifest.generate import GenerateOptions, generate

    template = solution / "deployment.template.json"
    if not template.is_file():
        raise UsageError(
            f"{solution}: no deployment.template.json (not a solution folder)",
            hint="give the folder made by `edgectl new-solution`, or --manifest M",
        )
    result = generate(GenerateOptions(template=template, platform=platform), os.environ)
    if result.errors:
        first = next(d for d in result.diagnostics if d.severity.value == "error")
        where = f"{first.location.file}:{first.location.line}:{first.location.col}"
        raise FindingsError(
            f"{where}: {first.message} [{first.code}] ({result.errors} error(s) in all)",
            hint=f"`edgectl manifest generate {template}` lists them all",
        )
    typer.echo(f"generated {result.output}")
    return Path(result.output)


def _refuse_running(directory: Path, sim: dict[str, Any] | None) -> None:
    from iotedge_cli.cli.simulate._process import looks_like_hub
    from iotedge_cli.simulator.state import pid_alive, read_running

    pid = sim.get("pid") if sim else None
    if isinstance(pid, int) and pid_alive(pid) and looks_like_hub(pid):
        raise UsageError(
            f"a simulation is already running in {directory} (pid {pid})",
            hint=f"stop it first: edgectl simulate stop --state-dir {directory}",
        )
    running = read_running(directory)
    if running is not None and running.alive and looks_like_hub(running.pid):
        raise UsageError(
            f"a hub is already running in {directory} (pid {running.pid})",
            hint=f"stop it first: edgectl simulate stop --state-dir {directory}",
        )


def _foreground(supervisor: Any, timeout: float) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        supervisor.start(timeout=timeout)
        directory = supervisor.settings.state_dir
        _echo(f"running (state {directory}); press Ctrl-C to stop")
        supervisor.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        containers, networks = supervisor.teardown()
        _echo(
            f"stopped: removed {', '.join(containers) or 'no containers'} and "
            f"{', '.join(networks) or 'no network'}"
        )


def log_file(directory: Path) -> Path:
    return directory / "agent.log"


def _detach(directory: Path, timeout: float) -> None:
    from iotedge_cli.cli.simulate._process import spawn_detached, tail, terminate
    from iotedge_cli.simulator.agent.supervisor import read_simulation

    log = log_file(directory)
    process = spawn_detached(
        ["iotedge_cli.simulator.agent.run", "--state-dir", str(directory)], log
    )
    deadline = time.monotonic() + timeout + 15.0  # the hub's timeout + the first pass
    while True:
        code = process.poll()
        if code is not None:
            raise ServiceUnavailableError(
                f"the simulation exited with status {code} while starting{tail(log)}",
                hint=f"the whole log is {log}",
            )
        sim = read_simulation(directory)
        if sim is not None and sim.get("pid") == process.pid and sim.get("ready"):
            break
        if time.monotonic() > deadline:
            terminate(process.pid, timeout=10.0)
            raise ServiceUnavailableError(
                f"the simulation was not ready within {timeout:g} s and was stopped{tail(log)}",
                hint=f"the whole log is {log}",
            )
        time.sleep(POLL)
    typer.echo(f"simulation running in the background (pid {process.pid}, state {directory})")
    typer.echo(f"  network {sim.get('network')}, hub container edgeHub ({sim.get('hubImage')})")
    typer.echo(f"  gateway {sim.get('gatewayHostname')}:8883/443; log {log}")
    typer.echo(f"status: edgectl simulate status --state-dir {directory}")
    typer.echo(f"stop:   edgectl simulate stop --state-dir {directory}")
