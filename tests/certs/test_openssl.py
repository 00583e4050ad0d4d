"""The real openssl binary accepts what edgectl makes: strict chain checks, PKCS#12, thumbprints."""

from __future__ import annotations

import json

import pytest

from iotedge_cli.certs import layout
from tests.certs.helpers import ChainOnDisk, openssl

HOST_PREFIX = layout.server("edge-gw.contoso.local")
EDGE_CA = layout.edge_ca("edge-1")
CERTS = [
    layout.INTERMEDIATE,
    EDGE_CA,
    HOST_PREFIX,
    "device",
    "identity",
    "server2",
    "verify-root",
    "verify-intermediate",
]


@pytest.mark.parametrize("name", CERTS)
def test_openssl_verify_x509_strict(any_chain: ChainOnDisk, name: str) -> None:
    run = openssl(
        "verify",
        "-x509_strict",
        "-CAfile",
        str(any_chain.root),
        "-untrusted",
        str(any_chain.intermediates),
        str(any_chain.cert(name)),
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith(": OK")


@pytest.mark.parametrize(("name", "purpose"), [(HOST_PREFIX, "sslserver"), ("device", "sslclient")])
def test_openssl_verify_purpose(any_chain: ChainOnDisk, name: str, purpose: str) -> None:
    run = openssl(
        "verify",
        "-x509_strict",
        "-purpose",
        purpose,
        "-CAfile",
        str(any_chain.root),
        "-untrusted",
        str(any_chain.full_chain(name)),
        str(any_chain.cert(name)),
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_openssl_rejects_a_chain_under_another_root(
    ec_chain: ChainOnDisk, rsa_chain: ChainOnDisk
) -> None:
    run = openssl(
        "verify",
        "-x509_strict",
        "-CAfile",
        str(rsa_chain.root),
        "-untrusted",
        str(ec_chain.intermediates),
        str(ec_chain.cert("device")),
        check=False,
    )
    assert run.returncode != 0
    assert "unable to get local issuer certificate" in run.stdout + run.stderr


@pytest.mark.parametrize("name", ["device", "identity", "server2"])
def test_openssl_reads_the_pfx_with_its_chain(any_chain: ChainOnDisk, name: str) -> None:
    pfx = any_chain.out / layout.pfx_file(name)
    run = openssl("pkcs12", "-info", "-noout", "-passin", "pass:s3cret", "-in", str(pfx))
    assert "Shrouded Keybag" in run.stdout + run.stderr
    # key + certificate + the issuers (intermediate, root; and the edge CA for server2)
    dump = openssl("pkcs12", "-nokeys", "-passin", "pass:s3cret", "-in", str(pfx)).stdout
    expected = len(any_chain.leaves[name].full_chain)
    assert dump.count("-----BEGIN CERTIFICATE-----") == expected
    wrong = openssl(
        "pkcs12", "-info", "-noout", "-passin", "pass:nope", "-in", str(pfx), check=False
    )
    assert wrong.returncode != 0


def test_openssl_reads_the_server_pfx_without_password(ec_chain: ChainOnDisk) -> None:
    pfx = ec_chain.out / layout.pfx_file(HOST_PREFIX)
    # edge_chain_files was given pfx_password="s3cret"; a passwordless one is made here.
    from iotedge_cli.certs.pkcs12 import to_pfx

    plain = ec_chain.out / "plain.pfx"
    plain.write_bytes(to_pfx(ec_chain.chain.server, None))
    assert pfx.exists()
    run = openssl("pkcs12", "-info", "-noout", "-passin", "pass:", "-in", str(plain))
    assert "Key bag" in run.stdout + run.stderr


@pytest.mark.parametrize("name", [HOST_PREFIX, "identity", layout.ROOT])
def test_inspect_json_thumbprints_equal_openssl_fingerprints(
    any_chain: ChainOnDisk, name: str
) -> None:
    from tests.cli.helpers import invoke

    path = any_chain.cert(name)
    run = invoke(["certs", "inspect", "--json", str(path)])
    assert run.exit_code == 0, run.stderr
    info = json.loads(run.stdout)["files"][0]["certificates"][0]
    for algorithm in ("sha1", "sha256"):
        out = openssl("x509", "-noout", "-fingerprint", f"-{algorithm}", "-in", str(path)).stdout
        fingerprint = out.strip().split("=", 1)[1].replace(":", "")
        assert info[algorithm] == fingerprint
    serial = openssl("x509", "-noout", "-serial", "-in", str(path)).stdout.strip().split("=")[1]
    assert int(info["serial"], 16) == int(serial, 16)


def test_openssl_reads_encrypted_keys(tmp_path: object) -> None:
    from pathlib import Path

    from iotedge_cli.certs.authority import CertificateAuthority, Validity
    from iotedge_cli.certs.pem import key_pem
    from tests.certs.helpers import now

    ca = CertificateAuthority.new_root(Validity.days_from(now(), 1))
    assert isinstance(tmp_path, Path)
    key = tmp_path / "k.pem"
    key.write_bytes(key_pem(ca.key, "pw"))
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    run = openssl("pkey", "-in", str(key), "-passin", "pass:pw", "-noout")
    assert run.returncode == 0
