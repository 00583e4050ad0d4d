"""``edgectl simulate``: run an offline IoT Edge simulation and talk to its hub."""

from __future__ import annotations

import typer

from iotedge_cli.cli.simulate.connection_string import connection_string
from iotedge_cli.cli.simulate.deploy import deploy
from iotedge_cli.cli.simulate.device import app as device_app
from iotedge_cli.cli.simulate.invoke import invoke
from iotedge_cli.cli.simulate.logs import logs, restart
from iotedge_cli.cli.simulate.modulecred import modulecred
from iotedge_cli.cli.simulate.monitor import monitor
from iotedge_cli.cli.simulate.send import send
from iotedge_cli.cli.simulate.start import start
from iotedge_cli.cli.simulate.status import status
from iotedge_cli.cli.simulate.stop import stop
from iotedge_cli.cli.simulate.twin import twin

app = typer.Typer(
    help="Run an offline simulation of an IoT Edge device on Docker: an agent runs the "
    "modules as containers, a hub that SDK modules use unchanged.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("start")(start)
app.command("stop")(stop)
app.command("status")(status)
app.command("logs")(logs)
app.command("restart")(restart)
app.command("deploy")(deploy)
app.command("modulecred")(modulecred)
app.command("send")(send)
app.command("monitor")(monitor)
app.command("twin")(twin)
app.command("invoke")(invoke)
app.command("connection-string")(connection_string)
app.add_typer(device_app, name="device")
