"""``edgectl certs verify CERT``: exit 0 when the certificate is valid for its use, else 1."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from iotedge_cli.cli.certs._options import now
from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.errors import ExitCode, UsageError

DEFAULT_TRUST = Path("certs") / "trust-bundle.pem"


class Purpose(str, Enum):
    server = "server"
    client = "client"


def verify(
    cert: Path = typer.Argument(
        ..., help="The certificate; later certificates in the file are its chain."
    ),
    chain: list[Path] = typer.Option(
        [], "--chain", help="Intermediate CA certificates (a PEM bundle); repeatable."
    ),
    ca: list[Path] = typer.Option(
        [],
        "--ca",
        help=f"Trusted root certificates; repeatable. Default: {DEFAULT_TRUST} when it exists.",
    ),
    hostname: str | None = typer.Option(
        None, "--hostname", help="Check that this name (or IP) is in the subjectAltName."
    ),
    purpose: Purpose | None = typer.Option(
        None, "--purpose", help="Check the extended key usage: serverAuth or clientAuth."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Verify a certificate chain as strict verifiers do; name everything that is wrong.

    Checks: the chain reaches a --ca root with valid signatures; every certificate is within
    its validity (warning when one expires within 7 days); issuers are CAs with keyCertSign
    and their pathlen holds; with --purpose, the EKU allows it; with --hostname, the name is
    in the SAN (TLS clients ignore the CN). Exit 0 when valid, 1 when not.
    """
    with error_boundary(as_json=as_json):
        from iotedge_cli.certs.authority import common_name
        from iotedge_cli.certs.pem import read_certificates
        from iotedge_cli.certs.verify import verify as run_verify

        roots_files = ca or ([DEFAULT_TRUST] if DEFAULT_TRUST.exists() else [])
        if not roots_files:
            raise UsageError(
                "no trusted root: pass --ca ROOT",
                hint=f"e.g. --ca {DEFAULT_TRUST} (written by `edgectl certs generate`)",
            )
        certs = read_certificates(cert)
        untrusted = certs[1:] + [c for f in chain for c in read_certificates(f)]
        roots = [c for f in roots_files for c in read_certificates(f)]
        result = run_verify(
            certs[0],
            untrusted=untrusted,
            roots=roots,
            now=now(),
            hostname=hostname,
            purpose=purpose.value if purpose else None,
        )
        names = [common_name(c) for c in result.path]
        if as_json:
            print_json(
                {
                    "version": 1,
                    "file": str(cert),
                    "valid": result.ok,
                    "path": names,
                    "problems": result.problems,
                    "warnings": result.warnings,
                }
            )
        else:
            for problem in result.problems:
                typer.echo(f"{cert}: error: {problem}")
            for warning in result.warnings:
                typer.echo(f"{cert}: warning: {warning}")
            if result.ok:
                typer.echo(f"{cert}: OK: " + " <- ".join(f"'{n}'" for n in names))
            else:
                count = len(result.problems)
                typer.echo(f"{cert}: FAILED ({count} problem{'s' if count != 1 else ''})")
    if not result.ok:
        raise typer.Exit(int(ExitCode.FINDINGS))
