"""Bring your own root CA (made by the openssl CLI, RSA and EC): the chain built on it verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotedge_cli.certs import CertificateInputError, layout
from iotedge_cli.certs.authority import Validity
from iotedge_cli.certs.chain import build_edge_chain, edge_chain_files, load_own_root
from iotedge_cli.certs.profiles import KeyType
from iotedge_cli.certs.store import write_files
from tests.certs.helpers import handshake, now, openssl

KEYS = {
    "rsa": ["-newkey", "rsa:2048"],
    "ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
}


def openssl_root(
    tmp_path: Path, kind: str, *extra: str, password: str | None = None
) -> tuple[Path, Path]:
    cert, key = tmp_path / f"own-{kind}.pem", tmp_path / f"own-{kind}.key"
    openssl(
        "req", "-x509", *KEYS[kind], "-keyout", str(key), "-out", str(cert), "-days", "30",
        "-subj", f"/CN=My Own {kind} Root",
        *(["-passout", f"pass:{password}"] if password else ["-noenc"]),
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        *extra,
    )  # fmt: skip
    return cert, key


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_chain_on_own_root_verifies(tmp_path: Path, kind: str) -> None:
    cert, key = openssl_root(tmp_path, kind, password="pw")
    at = now()
    root = load_own_root(cert, key, "pw", now=at)
    chain = build_edge_chain(
        device_id="edge-1",
        hostname="gw.local",
        validity=Validity.days_from(at, 90),
        key_type=KeyType.ec,
        root=root,
    )
    out = tmp_path / "certs"
    files, _ = edge_chain_files(chain, out)
    write_files(out, files)
    assert not (out / layout.key_file(layout.ROOT)).exists()  # the user's key is not copied
    assert (out / layout.TRUST_BUNDLE).read_bytes() == cert.read_bytes()
    server = layout.server("gw.local")
    run = openssl(
        "verify", "-x509_strict", "-CAfile", str(out / layout.TRUST_BUNDLE),
        "-untrusted", str(out / layout.chain_file(server)), str(out / layout.cert_file(server)),
        check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    # validity never beyond the own root's 30 days
    assert chain.server.cert.not_valid_after_utc <= root.cert.not_valid_after_utc
    assert "validity shortened" in chain.warnings[-1]
    result = handshake(
        server_chain=out / layout.chain_file(server),
        server_key=out / layout.key_file(server),
        client_cafile=cert,
        server_hostname="gw.local",
    )
    assert result.ok, result


def test_own_root_with_small_pathlen_is_refused(tmp_path: Path) -> None:
    cert, key = tmp_path / "r.pem", tmp_path / "r.key"
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc",
        "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=Tight",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1",
    )  # fmt: skip
    root = load_own_root(cert, key, None, now=now())
    with pytest.raises(Exception, match=r"CA 'Tight' has pathlen 1, which leaves no room"):
        build_edge_chain(
            device_id="e", hostname="gw", validity=Validity.days_from(now(), 1), root=root
        )


def test_own_root_checks(tmp_path: Path) -> None:
    cert, key = openssl_root(tmp_path, "ec")
    other_cert, other_key = openssl_root(tmp_path / ".." / tmp_path.name, "rsa")
    with pytest.raises(CertificateInputError, match="does not belong to the certificate"):
        load_own_root(cert, other_key, None, now=now())
    with pytest.raises(CertificateInputError, match="not encrypted, but a password was given"):
        load_own_root(cert, key, "pw", now=now())
    enc_cert, enc_key = openssl_root(tmp_path, "rsa", password="pw")
    with pytest.raises(CertificateInputError, match="the private key is encrypted"):
        load_own_root(enc_cert, enc_key, None, now=now())
    with pytest.raises(CertificateInputError, match="wrong password"):
        load_own_root(enc_cert, enc_key, "nope", now=now())
    assert other_cert.exists()


def test_own_root_must_be_a_ca(tmp_path: Path) -> None:
    cert, key = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc",
        "-keyout", str(key), "-out", str(cert), "-days", "3", "-subj", "/CN=NotACA",
        "-addext", "basicConstraints=critical,CA:FALSE",
    )  # fmt: skip
    with pytest.raises(CertificateInputError, match=r"'NotACA' is not a CA certificate"):
        load_own_root(cert, key, None, now=now())
