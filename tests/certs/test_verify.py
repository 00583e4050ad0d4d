"""``certs verify`` in the domain: each kind of failure is named, warnings for near expiry."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.x509.oid import NameOID

from iotedge_cli.certs.authority import CertificateAuthority, Validity, _aki, _build
from iotedge_cli.certs.profiles import CLIENT, KeyType, Profile, generate_key
from iotedge_cli.certs.verify import verify
from tests.certs.conftest import HOST
from tests.certs.helpers import ChainOnDisk, now


def run(chain: ChainOnDisk, cert: x509.Certificate, **kw: object):  # type: ignore[no-untyped-def]
    c = chain.chain
    return verify(
        cert,
        untrusted=[c.intermediate.cert, c.edge_ca.cert],
        roots=[c.root.cert],
        now=kw.pop("at", now()),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_valid_server(any_chain: ChainOnDisk) -> None:
    result = run(any_chain, any_chain.chain.server.cert, hostname=HOST, purpose="server")
    assert result.ok and result.warnings == []
    assert [p.subject for p in result.path] == [
        any_chain.chain.server.cert.subject,
        any_chain.chain.edge_ca.cert.subject,
        any_chain.chain.intermediate.cert.subject,
        any_chain.chain.root.cert.subject,
    ]


def test_valid_client(ec_chain: ChainOnDisk) -> None:
    assert run(ec_chain, ec_chain.leaves["device"].cert, purpose="client").ok


def test_ip_hostname(ec_chain: ChainOnDisk) -> None:
    assert run(ec_chain, ec_chain.leaves["server2"].cert, hostname="10.1.2.3").ok
    result = run(ec_chain, ec_chain.leaves["server2"].cert, hostname="10.1.2.4")
    assert result.problems == ["'10.1.2.3': hostname '10.1.2.4' not in SAN (IP:10.1.2.3)"]


def test_expired_and_not_yet_valid(ec_chain: ChainOnDisk) -> None:
    cert = ec_chain.chain.server.cert
    late = cert.not_valid_after_utc + dt.timedelta(days=1)
    result = run(ec_chain, cert, at=late)
    assert len(result.problems) == 4  # the whole chain has the same end
    assert result.problems[0].startswith(f"'{HOST}' expired on ")
    early = cert.not_valid_before_utc - dt.timedelta(days=1)
    assert run(ec_chain, cert, at=early).problems[0].startswith(f"'{HOST}' is not yet valid")


def test_warns_within_seven_days(ec_chain: ChainOnDisk) -> None:
    cert = ec_chain.chain.server.cert
    result = run(ec_chain, cert, at=cert.not_valid_after_utc - dt.timedelta(days=3))
    assert result.ok
    assert result.warnings[0].startswith(f"'{HOST}' expires in less than 7 days")


def test_wrong_issuer(ec_chain: ChainOnDisk, rsa_chain: ChainOnDisk) -> None:
    c = rsa_chain.chain
    result = verify(
        ec_chain.chain.server.cert,
        untrusted=[c.intermediate.cert],
        roots=[c.root.cert],
        now=now(),
    )
    assert result.problems == [
        f"'{HOST}': wrong issuer: 'O=edgectl TEST ONLY - not for production,CN=edge-1.ca' is "
        "neither in --ca nor in the chain; pass the issuing CA with --chain and the root with --ca"
    ]


def test_wrong_signature_same_names(ec_chain: ChainOnDisk, rsa_chain: ChainOnDisk) -> None:
    # Both chains use the same CA names; the RSA root did not sign the EC intermediate.
    result = verify(
        ec_chain.chain.intermediate.cert, untrusted=[], roots=[rsa_chain.chain.root.cert], now=now()
    )
    assert len(result.problems) == 1
    assert "wrong signature" in result.problems[0]


def test_untrusted_self_signed_root(ec_chain: ChainOnDisk, rsa_chain: ChainOnDisk) -> None:
    c = ec_chain.chain
    result = verify(
        c.server.cert,
        untrusted=[c.edge_ca.cert, c.intermediate.cert, c.root.cert],
        roots=[rsa_chain.chain.root.cert],
        now=now(),
    )
    assert result.problems == [
        "'edgectl Test-Only Root CA' is a self-signed root that is not trusted: pass it with --ca "
        "if you trust it (a different root with the same name is trusted)"
    ]


def test_not_a_ca() -> None:
    validity = Validity.days_from(now(), 30)
    root = CertificateAuthority.new_root(validity)
    leaf = root.issue_client("leaf", validity)
    # A leaf used as a CA: wrap the leaf's certificate and key in a CA object.
    grandchild = CertificateAuthority(leaf.cert, leaf.key, leaf.chain).issue_client("gc", validity)
    result = verify(grandchild.cert, untrusted=[leaf.cert], roots=[root.cert], now=now())
    assert result.problems == [
        "'leaf' is not a CA (basicConstraints CA:TRUE missing) but signed 'gc'"
    ]


def test_pathlen_exceeded() -> None:
    """root -> a (pathlen 0) -> b (CA) -> leaf: 'a' has one CA below it."""
    validity = Validity.days_from(now(), 30)
    root = CertificateAuthority.new_root(validity)
    a = root.issue_ca("a", Profile("a", ca=True, pathlen=0), validity)
    # edgectl refuses to issue below a pathlen 0 CA, so build 'b' by hand, signed by 'a'.
    b_key = generate_key(KeyType.ec, ca=True)
    b_cert = _build(
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "b")]),
        issuer=a.cert.subject,
        public_key=b_key.public_key(),
        signing_key=a.key,
        profile=Profile("b", ca=True),
        validity=validity,
        aki=_aki(a.cert),
        sans=(),
    )
    b = CertificateAuthority(b_cert, b_key, tuple(a.full_chain))
    leaf = b.issue_client("leaf", validity)
    result = verify(leaf.cert, untrusted=[a.cert, b.cert], roots=[root.cert], now=now())
    assert result.problems == [
        "'a': pathlen exceeded: its pathlen is 0 but 1 CA certificate(s) follow it in the chain"
    ]


def test_missing_eku(ec_chain: ChainOnDisk) -> None:
    result = run(ec_chain, ec_chain.leaves["device"].cert, purpose="server")
    assert result.problems == [
        "'sensor-1': missing EKU serverAuth: its extendedKeyUsage does not allow server "
        "authentication"
    ]
    validity = Validity.days_from(now(), 30)
    root = CertificateAuthority.new_root(validity)
    no_eku = root._leaf("bare", Profile("bare", ca=False), validity, KeyType.ec, ())
    result = verify(no_eku.cert, untrusted=[], roots=[root.cert], now=now(), purpose="client")
    assert result.problems == [
        "'bare': missing EKU: no extendedKeyUsage; a client certificate needs clientAuth"
    ]
    assert CLIENT.eku


def test_hostname_not_in_san(ec_chain: ChainOnDisk) -> None:
    result = run(ec_chain, ec_chain.chain.server.cert, hostname="edge-1.ca")
    assert result.problems == [
        f"'{HOST}': hostname 'edge-1.ca' not in SAN (DNS:{HOST}, DNS:edgeHub)"
    ]
    result = run(ec_chain, ec_chain.leaves["device"].cert, hostname="sensor-1")
    assert result.problems == [
        "'sensor-1': hostname 'sensor-1' not in SAN: the certificate has no subjectAltName, "
        "and TLS clients ignore the CN"
    ]


def test_hostname_is_case_insensitive(ec_chain: ChainOnDisk) -> None:
    assert run(ec_chain, ec_chain.chain.server.cert, hostname=HOST.upper()).ok
