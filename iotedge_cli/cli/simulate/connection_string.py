"""``edgectl simulate connection-string``: the simulator's IoT Hub service connection string."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.cli.simulate._shared import JSON, STATE_DIR


def connection_string(state_dir: Path | None = STATE_DIR, as_json: bool = JSON) -> None:
    """Print the running simulator's service connection string (policy iothubowner: it holds
    the key) for the azure-iot-hub SDK or `edgectl device|deploy --hub-connection-string`.

    Its server certificate chains to the simulation's root CA: point REQUESTS_CA_BUNDLE at it
    (the path is printed on stderr) for other programs; edgectl's --to-simulator does that.
    """
    with error_boundary(as_json=as_json):
        from iotedge_cli.cloud.simulator import simulator_connection

        conn = simulator_connection(state_dir)
        if as_json:
            print_json(
                {
                    "connectionString": conn.connection_string,
                    "hostName": conn.host_name,
                    "caCertificate": str(conn.ca_bundle),
                }
            )
            return
        typer.echo(conn.connection_string)
        sys.stderr.write(f"# trust its CA: export REQUESTS_CA_BUNDLE={conn.ca_bundle}\n")
