"""``edgectl certs identity NAME``: an edge device identity certificate (X.509 attestation)."""

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


def identity(
    name: str = typer.Argument(..., help="The edge device id in IoT Hub (becomes the CN)."),
    out: Path = OUT,
    key_type: KeyTypeChoice | None = KEY_TYPE,
    days: int = DAYS,
    key_password: str | None = KEY_PASSWORD,
    pfx: bool = PFX,
    password: str | None = PFX_PASSWORD,
    force: bool = FORCE,
) -> None:
    """Make a TEST-ONLY edge device identity certificate and print its thumbprints.

    CN = device id, EKU clientAuth, signed by the intermediate CA in --out. For self-signed
    ("thumbprint") registration IoT Hub takes the SHA-1 or SHA-256 thumbprint printed here
    (upper-case hex without colons). In config.toml: [provisioning.authentication]
    method = "x509", identity_cert = the -full-chain file, identity_pk = the key.
    """
    issue_and_write(
        "identity",
        name,
        out=out,
        days=days,
        key_type=key_type,
        key_password=key_password,
        pfx=pfx,
        pfx_password=password,
        force=force,
        thumbprints=True,
    )
