"""What ``edgectl device``, ``deploy`` and ``deployment`` share: which IoT Hub to talk to."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from iotedge_cli.cloud.service import HubService

HUB_CONNECTION_STRING = typer.Option(
    None,
    "--hub-connection-string",
    help="A service connection string of the IoT Hub (policy iothubowner, or one with registry "
    "and service rights). Default: $EDGECTL_HUB_CONNECTION_STRING. Never printed.",
    show_default=False,
)
TO_SIMULATOR = typer.Option(
    False,
    "--to-simulator",
    help="Talk to the running simulator's IoT Hub service API instead (its connection string "
    "and CA come from the state directory).",
)
STATE_DIR = typer.Option(
    None,
    "--state-dir",
    help="With --to-simulator: the simulation's state directory. Default: the nearest "
    ".edgectl/simulate from the working directory upwards.",
    show_default=False,
)
JSON = typer.Option(False, "--json", help="Print one JSON document on stdout.")


def hub_service(
    connection_string: str | None, to_simulator: bool, state_dir: Path | None
) -> HubService:
    """The service for the options given; :class:`UsageError` for contradicting ones."""
    from iotedge_cli.cloud.connection import resolve_connection_string
    from iotedge_cli.cloud.service import HubService
    from iotedge_cli.errors import UsageError

    if to_simulator:
        if connection_string:
            raise UsageError(
                "--to-simulator and --hub-connection-string name two different hubs",
                hint="give one of them",
            )
        from iotedge_cli.cloud.simulator import simulator_connection

        return HubService(simulator_connection(state_dir))
    if state_dir is not None:
        raise UsageError("--state-dir is only used with --to-simulator", hint="add --to-simulator")
    return HubService(resolve_connection_string(connection_string))
