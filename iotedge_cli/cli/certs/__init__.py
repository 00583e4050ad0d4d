"""``edgectl certs`` (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="(being written)", no_args_is_help=True, rich_markup_mode=None)
