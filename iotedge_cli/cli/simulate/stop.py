"""``edgectl simulate stop``: stop a simulation and remove what it created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import error_boundary
from iotedge_cli.cli.simulate._shared import STATE_DIR


def stop(
    state_dir: Path | None = STATE_DIR,
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.1, help="Seconds to wait for a graceful stop before SIGKILL."
    ),
) -> None:
    """Stop the simulation: the agent removes every container and the network it created
    (found by label — nothing else is touched), then the hub stops.

    Also cleans up after a simulation that crashed. Queued messages, sessions and twins stay
    in the state directory for the next start. With --hub-only simulations, stops the hub
    (admin API shutdown, else SIGTERM).
    """
    with error_boundary():
        from iotedge_cli.cli.simulate import _process
        from iotedge_cli.simulator.agent.supervisor import read_simulation
        from iotedge_cli.simulator.client import not_running
        from iotedge_cli.simulator.state import find_state_dir, read_running

        directory = find_state_dir(state_dir)
        sim = read_simulation(directory)
        if sim is not None:
            _stop_agent(directory, sim, timeout)
            return
        running = read_running(directory)
        if running is None:
            if _sweep(directory, quiet=True):
                return
            raise not_running(directory)
        how = _process.stop(directory, running, timeout=timeout)
        if how == "stale":
            typer.echo(f"the hub (pid {running.pid}) had already exited; cleaned up {directory}")
        else:
            typer.echo(f"stopped the hub (pid {running.pid}) in {directory}")


def _stop_agent(directory: Path, sim: dict[str, Any], timeout: float) -> None:
    from iotedge_cli.cli.simulate import _process
    from iotedge_cli.simulator.state import pid_alive

    pid = sim.get("pid")
    before = _labelled(directory)
    if isinstance(pid, int) and pid_alive(pid) and _process.looks_like_hub(pid):
        import contextlib
        import os
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        # the agent removes its containers (a few seconds), then exits
        if not _process.wait_exit(pid, timeout + 10.0):
            _process.terminate(pid, timeout=2.0)
        typer.echo(f"stopped the simulation (pid {pid}) in {directory}")
    else:
        typer.echo(f"the simulation (pid {pid}) had already exited; cleaning up")
    _sweep(directory, quiet=True)
    left = _labelled(directory)
    gone = [name for name in before[0] if name not in left[0]]
    nets = [name for name in before[1] if name not in left[1]]
    typer.echo(
        f"removed {len(gone)} container(s) ({', '.join(gone) or '-'}) and network(s) "
        f"{', '.join(nets) or '-'}"
    )
    if left[0] or left[1]:
        raise _not_removed(left)


def _labelled(directory: Path) -> tuple[list[str], list[str]]:
    """Names of the containers and networks labelled with this state dir's simulation."""
    from iotedge_cli.simulator.agent.docker_adapter import DockerAdapter, engine
    from iotedge_cli.simulator.agent.supervisor import simulation_id

    return DockerAdapter(engine(), simulation_id(directory)).labelled()


def _not_removed(left: tuple[list[str], list[str]]) -> Exception:
    from iotedge_cli.errors import ServiceUnavailableError

    return ServiceUnavailableError(
        f"could not remove {', '.join(left[0] + left[1])}",
        hint="remove them with `docker rm -f` / `docker network rm`",
    )


def _sweep(directory: Path, *, quiet: bool) -> bool:
    """Remove whatever containers and network carry this state dir's simulation label."""
    from iotedge_cli.errors import ServiceUnavailableError
    from iotedge_cli.simulator.agent.docker_adapter import DockerAdapter, engine
    from iotedge_cli.simulator.agent.supervisor import cleanup_files, simulation_id

    try:
        client = engine()
    except ServiceUnavailableError:
        if quiet:
            return False
        raise
    containers, networks = DockerAdapter(client, simulation_id(directory)).remove_simulation()
    cleanup_files(directory)
    if containers or networks:
        typer.echo(
            f"removed {', '.join(containers) or 'no containers'}; "
            f"network {', '.join(networks) or 'none'}"
        )
        return True
    if not quiet:
        typer.echo("nothing left to remove")
    return False
