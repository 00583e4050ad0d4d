"""What the ``simulate`` commands share: the ``--state-dir`` option and reaching the running hub."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from iotedge_cli.simulator.client import AdminClient

STATE_DIR = typer.Option(
    None,
    "--state-dir",
    help="The simulation's state directory. Default: the nearest .edgectl/simulate from the "
    "working directory upwards (start: next to the manifest's solution).",
    show_default=False,
)
JSON = typer.Option(False, "--json", help="Print one JSON document on stdout.")


def connect(state_dir: Path | None, *, timeout: float = 10.0) -> AdminClient:
    """The admin client of the hub running in the state directory; exit 3 when none runs."""
    from iotedge_cli.simulator.client import AdminClient, not_running
    from iotedge_cli.simulator.state import find_state_dir, read_running

    directory = find_state_dir(state_dir)
    running = read_running(directory)
    if running is None:
        raise not_running(directory)
    if not running.alive:
        raise not_running(directory, f"its hub, pid {running.pid}, has exited")
    return AdminClient(running.admin, state_dir=directory, timeout=timeout)


def parse_json(text: str, option: str) -> object:
    """A JSON value given on the command line; ``UsageError`` naming the option."""
    import json

    from iotedge_cli.errors import UsageError

    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(
            f"{option} {text!r} is not JSON: {exc}",
            hint=f"""quote it for the shell, e.g. {option} '{{"key": 1}}'""",
        ) from None
