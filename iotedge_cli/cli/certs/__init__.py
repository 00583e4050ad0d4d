"""``edgectl certs``: test certificate chains for IoT Edge, and tools to inspect and verify them."""

from __future__ import annotations

import typer

from iotedge_cli.cli.certs.device import device
from iotedge_cli.cli.certs.generate import generate
from iotedge_cli.cli.certs.identity import identity
from iotedge_cli.cli.certs.inspect import inspect
from iotedge_cli.cli.certs.server import server
from iotedge_cli.cli.certs.verification import verification
from iotedge_cli.cli.certs.verify import verify

app = typer.Typer(
    help="Make TEST-ONLY certificate chains for IoT Edge (root, intermediate, edge CA, hub "
    "server, devices), and inspect or verify certificates.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("generate")(generate)
app.command("device")(device)
app.command("identity")(identity)
app.command("server")(server)
app.command("verification")(verification)
app.command("inspect")(inspect)
app.command("verify")(verify)
