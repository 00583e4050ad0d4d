"""``edgectl simulate invoke``: call a direct method on a connected module or device."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.cli.simulate._shared import JSON, STATE_DIR, connect, parse_json


def invoke(
    identity: str = typer.Argument(..., help="A module of the edge device, or a leaf device id."),
    method: str = typer.Argument(..., help="The method name."),
    payload: str | None = typer.Option(
        None, "--payload", help="The request payload, as JSON (default: null)."
    ),
    timeout: float = typer.Option(
        30.0, "--timeout", min=0.1, help="Seconds to wait for the response."
    ),
    connect_timeout: float = typer.Option(
        0.0,
        "--connect-timeout",
        min=0.0,
        max=300.0,
        help="Seconds to wait for the target to connect and subscribe to methods, as IoT Hub's "
        "connectTimeoutInSeconds (0: status 404 at once when it is not connected; at most 300).",
    ),
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Invoke METHOD and print the status and the response payload.

    Status 404: the target is not connected (or has no method handler) within --connect-timeout;
    504: no answer within --timeout. Exit code 0 for a 2xx status, 1 otherwise.
    """
    with error_boundary(as_json=as_json):
        value = None if payload is None else parse_json(payload, "--payload")
        result = connect(state_dir).invoke(
            identity, method, value, timeout=timeout, connect_timeout=connect_timeout
        )
        status = result.get("status")
        if as_json:
            print_json({"status": status, "payload": result.get("payload")})
        else:
            typer.echo(f"status: {status}")
            typer.echo("payload: " + json.dumps(result.get("payload"), ensure_ascii=False))
        if not (isinstance(status, int) and 200 <= status < 300):
            raise typer.Exit(1)
