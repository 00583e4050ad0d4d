"""``edgectl certs server HOST``: another TLS server certificate signed by the edge CA."""

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


def server(
    host: str = typer.Argument(..., help="Host name or IP address clients connect to."),
    out: Path = OUT,
    device_id: str | None = typer.Option(
        None, "--device-id", help="Whose edge CA signs, when --out holds several."
    ),
    key_type: KeyTypeChoice | None = KEY_TYPE,
    days: int = DAYS,
    key_password: str | None = KEY_PASSWORD,
    pfx: bool = PFX,
    password: str | None = PFX_PASSWORD,
    force: bool = FORCE,
) -> None:
    """Make a TEST-ONLY server certificate (CN and SAN = HOST, EKU serverAuth).

    Signed by the edge CA in --out. Writes iot-edge-server-HOST.cert.pem, its full chain
    (serve this one) and key.
    """
    issue_and_write(
        "server",
        host,
        out=out,
        days=days,
        key_type=key_type,
        key_password=key_password,
        pfx=pfx,
        pfx_password=password,
        force=force,
        device_id=device_id,
    )
