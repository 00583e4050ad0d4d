"""What each certificate looks like: constraints, key usage, EKU, SAN, keys, serials, validity."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from iotedge_cli.certs import CertificateUsageError
from iotedge_cli.certs.authority import CertificateAuthority, Validity
from iotedge_cli.certs.chain import build_edge_chain
from iotedge_cli.certs.profiles import EDGE_CA, INTERMEDIATE, TEST_ONLY
from tests.certs.conftest import HOST
from tests.certs.helpers import ChainOnDisk, now


def ext(cert: x509.Certificate, cls: type) -> x509.Extension:  # type: ignore[type-arg]
    return cert.extensions.get_extension_for_class(cls)


def test_ca_profiles(any_chain: ChainOnDisk) -> None:
    chain = any_chain.chain
    for ca, pathlen in ((chain.root, 2), (chain.intermediate, 1), (chain.edge_ca, 0)):
        bc = ext(ca.cert, x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == pathlen
        ku = ext(ca.cert, x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
        assert ku.value.digital_signature


def test_edge_ca_cn_is_device_id_dot_ca(any_chain: ChainOnDisk) -> None:
    assert any_chain.chain.edge_ca.common_name == "edge-1.ca"


def test_server_profile(any_chain: ChainOnDisk) -> None:
    server = any_chain.chain.server.cert
    assert any_chain.chain.server.common_name == HOST
    bc = ext(server, x509.BasicConstraints).value
    assert not bc.ca
    assert list(ext(server, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = ext(server, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOST, "edgeHub"]
    ku = ext(server, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign


def test_ip_server_has_ip_san(any_chain: ChainOnDisk) -> None:
    san = ext(any_chain.leaves["server2"].cert, x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]
    assert san.get_values_for_type(x509.DNSName) == []


@pytest.mark.parametrize("leaf", ["device", "identity", "verify-root", "verify-intermediate"])
def test_client_profile(any_chain: ChainOnDisk, leaf: str) -> None:
    cert = any_chain.leaves[leaf].cert
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not ext(cert, x509.BasicConstraints).value.ca


def test_verification_cert_is_signed_by_the_ca_being_verified(any_chain: ChainOnDisk) -> None:
    chain = any_chain.chain
    any_chain.leaves["verify-root"].cert.verify_directly_issued_by(chain.root.cert)
    any_chain.leaves["verify-intermediate"].cert.verify_directly_issued_by(chain.intermediate.cert)
    assert any_chain.leaves["verify-root"].common_name == "0A1B2C3D4E5F"


def test_every_certificate_has_ski_aki_and_test_only_label(any_chain: ChainOnDisk) -> None:
    chain = any_chain.chain
    issued = [
        chain.root,
        chain.intermediate,
        chain.edge_ca,
        chain.server,
        *any_chain.leaves.values(),
    ]
    for item in issued:
        cert = item.cert
        ski = ext(cert, x509.SubjectKeyIdentifier).value
        aki = ext(cert, x509.AuthorityKeyIdentifier).value
        issuer_ski = ext(item.chain[0] if item.chain else cert, x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == issuer_ski.digest
        assert ski.digest
        org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        assert org == TEST_ONLY


def test_key_sizes(ec_chain: ChainOnDisk, rsa_chain: ChainOnDisk) -> None:
    for item in (ec_chain.chain.root, ec_chain.chain.server):
        key = item.cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    for item, bits in ((rsa_chain.chain.root, 4096), (rsa_chain.chain.edge_ca, 4096)):
        key = item.cert.public_key()
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == bits
    for item in (rsa_chain.chain.server, rsa_chain.leaves["device"]):
        key = item.cert.public_key()
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    # RSA leaves get keyEncipherment, EC leaves do not
    assert ext(rsa_chain.chain.server.cert, x509.KeyUsage).value.key_encipherment
    assert not ext(ec_chain.chain.server.cert, x509.KeyUsage).value.key_encipherment


def test_serials_are_random_and_large(ec_chain: ChainOnDisk, rsa_chain: ChainOnDisk) -> None:
    certs = [
        i.cert
        for c in (ec_chain, rsa_chain)
        for i in (
            c.chain.root,
            c.chain.intermediate,
            c.chain.edge_ca,
            c.chain.server,
            *c.leaves.values(),
        )
    ]
    serials = {c.serial_number for c in certs}
    assert len(serials) == len(certs)
    assert all(0 < s < 2**159 for s in serials)
    assert max(s.bit_length() for s in serials) > 150


def test_all_sha256(any_chain: ChainOnDisk) -> None:
    assert any_chain.chain.server.cert.signature_hash_algorithm.name == "sha256"  # type: ignore[union-attr]


def test_validity_is_days_and_never_beyond_the_issuer() -> None:
    at = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
    root = CertificateAuthority.new_root(Validity.days_from(at, 10))
    assert root.cert.not_valid_after_utc == at + dt.timedelta(days=10)
    assert root.cert.not_valid_before_utc < at
    leaf = root.issue_client("dev", Validity.days_from(at, 30))
    assert leaf.clamped
    assert leaf.cert.not_valid_after_utc == root.cert.not_valid_after_utc
    same = root.issue_client("dev", Validity.days_from(at, 10))
    assert not same.clamped


def test_expired_ca_cannot_issue() -> None:
    at = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    root = CertificateAuthority.new_root(Validity.days_from(at, 1))
    with pytest.raises(CertificateUsageError, match=r"expired on 2030-01-02 00:00 UTC"):
        root.issue_client("dev", Validity.days_from(at + dt.timedelta(days=2), 1))


def test_days_must_be_positive() -> None:
    with pytest.raises(CertificateUsageError, match="--days 0"):
        Validity.days_from(now(), 0)


def test_pathlen_is_enforced_when_issuing() -> None:
    validity = Validity.days_from(now(), 1)
    root = CertificateAuthority.new_root(validity)
    edge = root.issue_ca("x.ca", EDGE_CA, validity)  # pathlen 0
    with pytest.raises(CertificateUsageError, match=r"'x.ca' has pathlen 0"):
        edge.issue_ca("y.ca", EDGE_CA, validity)
    inter = root.issue_ca("i", INTERMEDIATE, validity)  # pathlen 1 -> one more CA fits
    below = inter.issue_ca("e.ca", EDGE_CA, validity)
    assert below.chain == (inter.cert, root.cert)


def test_edge_ca_cn_must_differ_from_hostname() -> None:
    with pytest.raises(CertificateUsageError, match=r"CN 'gw.ca' equals the hostname"):
        build_edge_chain(device_id="gw", hostname="gw.ca", validity=Validity.days_from(now(), 1))


def test_edge_ca_cn_fits_64_characters() -> None:
    with pytest.raises(CertificateUsageError, match=r"edge CA common name '.*' must be 1-64"):
        build_edge_chain(device_id="d" * 62, hostname="gw", validity=Validity.days_from(now(), 1))


def test_ec_chain_uses_ec_keys(ec_chain: ChainOnDisk) -> None:
    chain = ec_chain.chain
    for item in (chain.root, chain.intermediate, chain.edge_ca, chain.server):
        assert isinstance(item.key, ec.EllipticCurvePrivateKey)
