"""``edgectl certs device NAME``: a leaf device certificate for CA-signed authentication."""

from __future__ import annotations

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


def device(
    name: str = typer.Argument(..., help="The device id in IoT Hub (becomes the CN)."),
    out: Path = OUT,
    key_type: KeyTypeChoice | None = KEY_TYPE,
    days: int = DAYS,
    key_password: str | None = KEY_PASSWORD,
    pfx: bool = PFX,
    password: str | None = PFX_PASSWORD,
    force: bool = FORCE,
) -> None:
    """Make a TEST-ONLY device certificate (CN = device id, EKU clientAuth).

    Signed by the intermediate CA in --out; register the device in IoT Hub with
    "X.509 CA signed" authentication. Writes iot-device-NAME.cert.pem, its full chain and key.
    """
    issue_and_write(
        "device",
        name,
        out=out,
        days=days,
        key_type=key_type,
        key_password=key_password,
        pfx=pfx,
        pfx_password=password,
        force=force,
    )
