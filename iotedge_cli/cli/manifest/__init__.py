"""``edgectl manifest``: generate, validate and describe deployment manifests."""

from __future__ import annotations

import typer

from iotedge_cli.cli.manifest.generate import generate
from iotedge_cli.cli.manifest.rules import rules
from iotedge_cli.cli.manifest.schema import schema
from iotedge_cli.cli.manifest.validate import validate

app = typer.Typer(
    help="Generate deployment manifests from templates and lint them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.command("generate")(generate)
app.command("validate")(validate)
app.command("schema")(schema)
app.command("rules")(rules)
