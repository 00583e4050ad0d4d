"""``edgectl simulate device add``: a leaf (downstream) device that connects through the hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.cli.simulate._shared import JSON, STATE_DIR, connect

app = typer.Typer(
    help="Leaf devices that connect through the simulator's hub.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="The device id."),
    x509: bool = typer.Option(
        False,
        "--x509",
        help="Authenticate with a client certificate (CN = NAME) made from the simulation's "
        "CA, instead of a SAS key.",
    ),
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Register leaf device NAME with the running hub and print how it connects."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.certs.hostname import check_device_id

        check_device_id(name)
        client = connect(state_dir)
        doc: dict[str, Any] = {}
        if x509:
            from iotedge_cli.simulator.state import device_certificate

            cert = device_certificate(client.state_dir, name)
            doc["certificate"] = {
                "cert": str(cert.cert),
                "chain": str(cert.chain),
                "key": str(cert.key),
                "thumbprint": cert.thumbprint,
            }
        result = client.add_device(name, x509=x509)
        doc = {**result, **doc}
        if as_json:
            print_json(doc)
            return
        typer.echo(f"added device {name}" + (" (X.509)" if x509 else ""))
        for key, value in result.items():
            if not isinstance(value, (dict, list)):
                typer.echo(f"  {key}: {value}")
        if "certificate" in doc:
            for key, value in doc["certificate"].items():
                typer.echo(f"  {key}: {value}")
