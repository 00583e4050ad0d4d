"""The body shared by ``certs device|identity|server|verification``: issue, write, report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from iotedge_cli.cli.certs._options import KeyTypeChoice, now, show_paths, warn
from iotedge_cli.cli.common import error_boundary


def issue_and_write(
    kind: str,
    name: str,
    *,
    out: Path,
    days: int,
    key_type: KeyTypeChoice | None,
    key_password: str | None,
    pfx: bool,
    pfx_password: str | None,
    force: bool,
    ca: str = "root",
    device_id: str | None = None,
    root_key: Path | None = None,
    root_key_password: str | None = None,
    thumbprints: bool = False,
) -> None:
    with error_boundary():
        from iotedge_cli.certs.inspect import thumbprint
        from iotedge_cli.certs.leaves import LeafKind, LeafRequest, issue_leaf
        from iotedge_cli.certs.profiles import KeyType
        from iotedge_cli.certs.store import write_files

        request = LeafRequest(
            kind=LeafKind(kind),
            name=name,
            out=out,
            days=days,
            key_type=KeyType(key_type.value) if key_type else None,
            key_password=key_password,
            pfx=pfx,
            pfx_password=pfx_password,
            ca=ca,
            device_id=device_id,
            root_key=root_key,
            root_key_password=root_key_password,
        )
        result = issue_leaf(request, now=now())
        paths = write_files(out, result.files, force=force)
        warn(result.warnings)
        show_paths(paths)
        if thumbprints:
            cert = result.issued.cert
            typer.echo(f"SHA-1 thumbprint:   {thumbprint(cert, 'sha1')}")
            typer.echo(f"SHA-256 thumbprint: {thumbprint(cert, 'sha256')}")


def leaf_command(
    kind: str, argument_help: str, doc: str, *, thumbprints: bool = False
) -> Callable[..., None]:
    """A ``certs <kind> NAME`` command whose options are the common leaf options."""
    from iotedge_cli.cli.certs._options import (
        DAYS,
        FORCE,
        KEY_PASSWORD,
        KEY_TYPE,
        OUT,
        PFX,
        PFX_PASSWORD,
    )

    def command(
        name: str = typer.Argument(..., help=argument_help),
        out: Path = OUT,
        key_type: KeyTypeChoice | None = KEY_TYPE,
        days: int = DAYS,
        key_password: str | None = KEY_PASSWORD,
        pfx: bool = PFX,
        password: str | None = PFX_PASSWORD,
        force: bool = FORCE,
    ) -> None:
        issue_and_write(
            kind,
            name,
            out=out,
            days=days,
            key_type=key_type,
            key_password=key_password,
            pfx=pfx,
            pfx_password=password,
            force=force,
            thumbprints=thumbprints,
        )

    command.__name__ = kind
    command.__doc__ = doc
    return command
