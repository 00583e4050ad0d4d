"""``edgectl simulate modulecred``: the settings a module needs to reach the simulator's hub."""

from __future__ import annotations

from pathlib import Path

import typer

from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.cli.simulate._shared import JSON, STATE_DIR, connect

KEYS = ("EdgeHubConnectionString", "EdgeModuleCACertificateFile")


def modulecred(
    name: str = typer.Argument(..., help="The module's name in the manifest."),
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Print EdgeHubConnectionString and EdgeModuleCACertificateFile for module NAME.

    As shell `export` lines (eval "$(edgectl simulate modulecred NAME)"), or with --json as one
    object with exactly those two keys. IoTHubModuleClient.create_from_edge_environment() then
    connects to the simulator.
    """
    with error_boundary(as_json=as_json):
        info = connect(state_dir).credentials(name)
        values = {key: str(info.get(key, "")) for key in KEYS}
        if as_json:
            print_json(values)
            return
        for key, value in values.items():
            typer.echo(f'export {key}="{shell_escape(value)}"')


def shell_escape(value: str) -> str:
    """Escape for a double-quoted POSIX shell string."""
    for char in ("\\", '"', "$", "`"):
        value = value.replace(char, "\\" + char)
    return value
