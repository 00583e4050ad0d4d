"""``edgectl simulate stop``: stop the hub of a simulation."""

from __future__ import annotations

from pathlib import Path

import typer

from iotedge_cli.cli.common import error_boundary
from iotedge_cli.cli.simulate._shared import STATE_DIR


def stop(
    state_dir: Path | None = STATE_DIR,
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.1, help="Seconds to wait for a graceful stop before SIGKILL."
    ),
) -> None:
    """Stop the simulation's hub: a graceful shutdown through the admin API, else SIGTERM.

    Queued messages, sessions and twins stay in the state directory for the next start.
    """
    with error_boundary():
        from iotedge_cli.cli.simulate import _process
        from iotedge_cli.simulator.client import not_running
        from iotedge_cli.simulator.state import find_state_dir, read_running

        directory = find_state_dir(state_dir)
        running = read_running(directory)
        if running is None:
            raise not_running(directory)
        how = _process.stop(directory, running, timeout=timeout)
        if how == "stale":
            typer.echo(f"the hub (pid {running.pid}) had already exited; cleaned up {directory}")
        else:
            typer.echo(f"stopped the hub (pid {running.pid}) in {directory}")
