"""``edgectl certs verification CODE``: IoT Hub's proof-of-possession certificate."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from iotedge_cli.cli.certs._leaf import issue_and_write
from iotedge_cli.cli.certs._options import (
    DAYS,
    FORCE,
    KEY_PASSWORD,
    KEY_TYPE,
    OUT,
    PFX,
    PFX_PASSWORD,
    KeyTypeChoice,
)


class CaChoice(str, Enum):
    root = "root"
    intermediate = "intermediate"


def verification(
    code: str = typer.Argument(..., help="The verification code IoT Hub shows for the CA."),
    ca: CaChoice = typer.Option(CaChoice.root, "--ca", help="The CA being verified."),
    out: Path = OUT,
    root_key: Path | None = typer.Option(
        None, "--root-key", help="Your own root CA's key (when --out was built on it)."
    ),
    root_key_password: str | None = typer.Option(
        None, "--root-key-password", envvar="EDGECTL_ROOT_KEY_PASSWORD", help="Its password."
    ),
    key_type: KeyTypeChoice | None = KEY_TYPE,
    days: int = DAYS,
    key_password: str | None = KEY_PASSWORD,
    pfx: bool = PFX,
    password: str | None = PFX_PASSWORD,
    force: bool = FORCE,
) -> None:
    """Make a verification certificate: CN = CODE, signed by the CA being verified.

    Upload iot-device-verification-code-<ca>.cert.pem in IoT Hub's certificate page to prove
    you hold the CA's key.
    """
    issue_and_write(
        "verification",
        code,
        out=out,
        days=days,
        key_type=key_type,
        key_password=key_password,
        pfx=pfx,
        pfx_password=password,
        force=force,
        ca=ca.value,
        root_key=root_key,
        root_key_password=root_key_password,
    )
