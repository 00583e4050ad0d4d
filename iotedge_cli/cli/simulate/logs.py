"""``edgectl simulate logs`` and ``edgectl simulate restart``: one module's container."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import error_boundary
from iotedge_cli.cli.simulate._shared import STATE_DIR


def _module_container(state_dir: Path | None, module: str) -> tuple[Any, Path]:
    """The Docker adapter of the simulation in ``state_dir``, after checking that ``module``
    is one of its containers (``edgeHub`` included)."""
    from iotedge_cli.errors import UsageError
    from iotedge_cli.simulator.agent.docker_adapter import DockerAdapter, engine
    from iotedge_cli.simulator.agent.supervisor import simulation_id
    from iotedge_cli.simulator.state import find_state_dir

    directory = find_state_dir(state_dir)
    docker = DockerAdapter(engine(), simulation_id(directory))
    if not docker.is_ours(module):
        names = sorted(o.name for o in docker.observe(()) if o.owned)
        raise UsageError(
            f"no container of module '{module}' in the simulation in {directory}",
            hint="its containers: "
            + (
                ", ".join(["edgeHub", *names])
                if names
                else "none (is it running? `edgectl simulate status`)"
            ),
        )
    return docker, directory


def logs(
    module: str = typer.Argument(..., help="The module (or edgeHub, the simulator's hub)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new output."),
    tail: int | None = typer.Option(
        None, "--tail", "-n", min=0, help="Only the last N lines (default: all)."
    ),
    state_dir: Path | None = STATE_DIR,
) -> None:
    """Print a module container's output (stdout and stderr), as `docker logs` would."""
    import sys

    with error_boundary():
        docker, _ = _module_container(state_dir, module)
        out = sys.stdout.buffer
        try:
            for chunk in docker.logs(module, follow=follow, tail=tail):
                out.write(chunk)
                out.flush()
        except KeyboardInterrupt:
            return


def restart(
    module: str = typer.Argument(..., help="The module to restart."),
    state_dir: Path | None = STATE_DIR,
) -> None:
    """Restart a module's container (stop with SIGTERM, then start), as `iotedge restart`.

    The agent does not count it against the module's restart back-off.
    """
    with error_boundary():
        from iotedge_cli.simulator.agent.docker_adapter import HUB_CONTAINER

        docker, _ = _module_container(state_dir, module)
        if module != HUB_CONTAINER:
            _refuse_stopped(state_dir, module)
        docker.restart(module)
        typer.echo(f"restarted {module}")


def _refuse_stopped(state_dir: Path | None, module: str) -> None:
    from iotedge_cli.cli.simulate._shared import connect
    from iotedge_cli.errors import UsageError

    twin = connect(state_dir).twin("$edgeAgent")
    desired = (twin.get("desired") or {}).get("modules") or {}
    if (desired.get(module) or {}).get("status") == "stopped":
        raise UsageError(
            f"module '{module}' has desired status stopped; the agent would stop it again",
            hint="set its status to running in the manifest and `edgectl simulate deploy` it",
        )
