"""Options shared by the ``edgectl certs`` commands, and the shared rendering of results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum
from pathlib import Path

import typer

from iotedge_cli.cli.common import console


class KeyTypeChoice(str, Enum):
    ec = "ec"
    rsa = "rsa"


OUT = typer.Option(
    Path("certs"), "--out", "-o", help="Directory of the chain (written by `certs generate`)."
)
DAYS = typer.Option(90, "--days", min=1, help="Validity in days; never beyond the issuer's.")
FORCE = typer.Option(False, "--force", help="Replace existing files (atomically).")
KEY_PASSWORD = typer.Option(
    None,
    "--key-password",
    envvar="EDGECTL_KEY_PASSWORD",
    help="Encrypt the private keys written with this password, and decrypt the CA keys read "
    "from --out with it. Default: keys are unencrypted (mode 0600).",
)
PFX = typer.Option(
    False, "--pfx", help="Also write a PKCS#12 (.pfx) with the key, certificate and chain."
)
PFX_PASSWORD = typer.Option(
    None,
    "--password",
    envvar="EDGECTL_PFX_PASSWORD",
    help="Password of the --pfx file (default: none).",
)


_KEY_TYPE_HELP = "ec (P-256, fast) or rsa (4096-bit CAs, 2048-bit leaves)."
GENERATE_KEY_TYPE = typer.Option(
    KeyTypeChoice.ec, "--key-type", case_sensitive=False, help=_KEY_TYPE_HELP
)
KEY_TYPE = typer.Option(
    None,
    "--key-type",
    case_sensitive=False,
    help=_KEY_TYPE_HELP + " Default: the issuing CA's key type.",
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def show_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        typer.echo(f"wrote {path}")


def warn(messages: Iterable[str]) -> None:
    err = console(stderr=True)
    for message in messages:
        err.print("[bold yellow]warning:[/] ", end="")
        err.print(message, markup=False)
