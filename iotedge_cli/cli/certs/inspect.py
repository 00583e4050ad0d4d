"""``edgectl certs inspect FILE...``: what a certificate or bundle holds, as text or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.certs._options import now
from iotedge_cli.cli.common import error_boundary, print_json


def inspect(
    files: list[Path] = typer.Argument(..., help="PEM (bundles too) or DER certificate files."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show subject, issuer, serial, validity, key, thumbprints and extensions of certificates.

    Thumbprints are upper-case hex without colons, as IoT Hub takes them. For a file with
    several certificates, it also says whether each one is issued by the next (the order a
    full-chain file must have).
    """
    with error_boundary(as_json=as_json):
        from iotedge_cli.certs.inspect import chain_order, describe
        from iotedge_cli.certs.pem import read_certificates

        at = now()
        documents = []
        for path in files:
            certs = read_certificates(path)
            documents.append(
                {
                    "file": str(path),
                    "certificates": [describe(c, at) for c in certs],
                    "chain": chain_order(certs) if len(certs) > 1 else None,
                }
            )
        if as_json:
            print_json({"version": 1, "files": documents})
            return
        for i, document in enumerate(documents):
            if i:
                typer.echo("")
            _render(document)


def _render(document: dict[str, Any]) -> None:
    certs = document["certificates"]
    chain = document["chain"]
    head = f"{document['file']}: {len(certs)} certificate{'s' if len(certs) != 1 else ''}"
    if chain is not None:
        head += ", chain order OK" if chain["ordered"] else ", chain order WRONG"
    typer.echo(head)
    for note in chain["notes"] if chain else []:
        typer.echo(f"  ! {note}")
    for n, c in enumerate(certs, 1):
        key = c["key"]
        key_text = f"{key['type']} {key['size']}" + (f" ({key['curve']})" if "curve" in key else "")
        days = c["days_left"]
        state = (
            "EXPIRED"
            if c["expired"]
            else "NOT YET VALID"
            if c["not_yet_valid"]
            else f"{days} days left"
        )
        bc = c["basic_constraints"]
        if bc is None:
            constraints = "none"
        else:
            constraints = "CA:TRUE" if bc["ca"] else "CA:FALSE"
            if bc["pathlen"] is not None:
                constraints += f", pathlen:{bc['pathlen']}"
            if bc["critical"]:
                constraints += " (critical)"
        rows = [
            ("subject", c["subject"]),
            ("issuer", c["issuer"] + ("  (self-signed)" if c["self_signed"] else "")),
            ("serial", c["serial"]),
            ("valid", f"{c['not_before']} .. {c['not_after']} ({state})"),
            ("key", key_text),
            ("SHA-1", c["sha1"]),
            ("SHA-256", c["sha256"]),
            ("constraints", constraints),
            ("key usage", _list(c["key_usage"])),
            ("ext key usage", _list(c["extended_key_usage"])),
            ("SAN", ", ".join(c["subject_alt_names"]) or "none"),
        ]
        typer.echo(f"[{n}]")
        for label, value in rows:
            typer.echo(f"  {label:<14}{value}")


def _list(values: list[str] | None) -> str:
    return "none" if values is None else ", ".join(values)
