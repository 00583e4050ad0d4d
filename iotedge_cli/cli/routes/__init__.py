"""``edgectl routes``: check, test and draw edgeHub routes."""

from __future__ import annotations

import typer

from iotedge_cli.cli.routes.check import check
from iotedge_cli.cli.routes.graph import graph
from iotedge_cli.cli.routes.test import test

app = typer.Typer(
    help="Check edgeHub routes, test a message against them, and draw the message flow.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("check")(check)
app.command("test")(test)
app.command("graph")(graph)
