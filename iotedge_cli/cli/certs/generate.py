"""``edgectl certs generate``: a whole TEST-ONLY chain for one edge device, and its config.toml."""

from __future__ import annotations

from pathlib import Path

import typer

from iotedge_cli.cli.certs._options import (
    DAYS,
    FORCE,
    GENERATE_KEY_TYPE,
    KEY_PASSWORD,
    OUT,
    PFX,
    PFX_PASSWORD,
    KeyTypeChoice,
    now,
    show_paths,
    warn,
)
from iotedge_cli.cli.common import error_boundary
from iotedge_cli.errors import UsageError


def generate(
    out: Path = OUT,
    device_id: str = typer.Option(
        "edge-device", "--device-id", help="The edge device id; the edge CA's CN is ID.ca."
    ),
    hostname: str | None = typer.Option(
        None,
        "--hostname",
        help="The name clients use to reach the edge hub (config.toml 'hostname'). "
        "Default: this machine's hostname.",
    ),
    key_type: KeyTypeChoice = GENERATE_KEY_TYPE,
    days: int = DAYS,
    root_cert: Path | None = typer.Option(
        None, "--root-cert", help="Build on your own root CA: its certificate (PEM or DER)."
    ),
    root_key: Path | None = typer.Option(None, "--root-key", help="Your root CA's private key."),
    root_key_password: str | None = typer.Option(
        None,
        "--root-key-password",
        envvar="EDGECTL_ROOT_KEY_PASSWORD",
        help="Password of --root-key, if it is encrypted.",
    ),
    key_password: str | None = KEY_PASSWORD,
    pfx: bool = PFX,
    password: str | None = PFX_PASSWORD,
    force: bool = FORCE,
) -> None:
    """Make a TEST-ONLY chain: root CA, intermediate CA, edge CA and edge hub server certificate.

    The edge CA (CN "ID.ca", never the hostname) is for aziot-edge's [edge_ca]; the server
    certificate has CN = hostname and SAN = the hostname plus DNS:edgeHub, EKU serverAuth.
    Also written: full-chain files, trust-bundle.pem (the root) and a config.toml snippet
    (printed too). Keys are written with mode 0600 in a 0700 private/ directory. Existing files
    are kept unless --force; nothing is written when anything fails.

    With --root-cert/--root-key the chain is built on your own CA, whose key is not copied.
    """
    with error_boundary():
        import socket

        from iotedge_cli.certs.authority import Validity
        from iotedge_cli.certs.chain import build_edge_chain, edge_chain_files, load_own_root
        from iotedge_cli.certs.profiles import KeyType
        from iotedge_cli.certs.store import write_files

        if (root_cert is None) != (root_key is None):
            raise UsageError(
                "--root-cert and --root-key go together",
                hint="pass both your root CA's certificate and its private key",
            )
        start = now()
        root = None
        if root_cert is not None and root_key is not None:
            root = load_own_root(root_cert, root_key, root_key_password, now=start)
        chain = build_edge_chain(
            device_id=device_id,
            hostname=hostname if hostname is not None else socket.gethostname(),
            validity=Validity.days_from(start, days),
            key_type=KeyType(key_type.value),
            root=root,
        )
        files, toml = edge_chain_files(
            chain, out, key_password=key_password, pfx=pfx, pfx_password=password
        )
        paths = write_files(out, files, force=force)
        warn(chain.warnings)
        show_paths(paths)
        typer.echo(f"\nconfig.toml for aziot-edge (also in {out / 'config.toml'}):\n")
        typer.echo(toml, nl=False)
