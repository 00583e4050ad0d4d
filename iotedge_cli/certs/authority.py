"""Certificate authorities as in-memory objects that issue children.

A :class:`CertificateAuthority` holds a CA certificate, its private key and its issuer chain; it
issues CAs (which can issue in turn) and leaves (:class:`Issued`). Nothing touches the disk or the
clock: validity is a :class:`Validity` built from a ``now`` passed in, or given explicitly
(``not_before``/``not_after``, e.g. in the past for tests of expired certificates). A child never
outlives its issuer: its ``not_after`` is clamped to the issuer's and :attr:`Issued.clamped` says so.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from iotedge_cli.certs import CertificateUsageError
from iotedge_cli.certs.profiles import (
    CLIENT,
    DEFAULT_DAYS,
    ROOT,
    ROOT_CN,
    SERVER,
    TEST_ONLY,
    KeyType,
    PrivateKey,
    Profile,
    generate_key,
)

# Clients whose clocks run a little behind still accept a certificate issued "now".
BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Validity:
    not_before: dt.datetime
    not_after: dt.datetime

    @classmethod
    def days_from(cls, now: dt.datetime, days: int = DEFAULT_DAYS) -> Validity:
        if days < 1:
            raise CertificateUsageError(f"--days {days}: validity must be at least 1 day")
        now = now.replace(microsecond=0)
        return cls(now - BACKDATE, now + dt.timedelta(days=days))


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key and its issuers (nearest first, the root last)."""

    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()
    clamped: bool = field(default=False, compare=False)

    @property
    def full_chain(self) -> list[x509.Certificate]:
        """The certificate followed by its issuers up to and including the root."""
        return [self.cert, *self.chain]

    @property
    def common_name(self) -> str:
        return common_name(self.cert)


class CertificateAuthority(Issued):
    """An :class:`Issued` CA certificate that can sign children."""

    @classmethod
    def new_root(
        cls,
        validity: Validity,
        *,
        key_type: KeyType = KeyType.ec,
        common_name: str = ROOT_CN,
        key: PrivateKey | None = None,
    ) -> CertificateAuthority:
        key = key or generate_key(key_type, ca=True)
        name = _name(common_name)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = _build(
            subject=name,
            issuer=name,
            public_key=key.public_key(),
            signing_key=key,
            profile=ROOT,
            validity=validity,
            aki=x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
            sans=(),
        )
        return cls(cert, key, ())

    def issue_ca(
        self,
        common_name: str,
        profile: Profile,
        validity: Validity,
        *,
        key_type: KeyType = KeyType.ec,
    ) -> CertificateAuthority:
        key = generate_key(key_type, ca=True)
        cert, clamped = self._sign(common_name, key, profile, validity, ())
        return CertificateAuthority(cert, key, (self.cert, *self.chain), clamped)

    def issue_server(
        self,
        hostname: str,
        validity: Validity,
        *,
        key_type: KeyType = KeyType.ec,
        extra_dns: tuple[str, ...] = (),
    ) -> Issued:
        """CN = hostname; SAN = IP or DNS of the hostname plus ``extra_dns``; EKU serverAuth."""
        sans: list[x509.GeneralName] = []
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(hostname)))
        except ValueError:
            sans.append(x509.DNSName(hostname))
        sans += [x509.DNSName(d) for d in extra_dns if d != hostname]
        return self._leaf(hostname, SERVER, validity, key_type, tuple(sans))

    def issue_client(
        self, common_name: str, validity: Validity, *, key_type: KeyType = KeyType.ec
    ) -> Issued:
        """CN = the device id (or verification code); EKU clientAuth."""
        return self._leaf(common_name, CLIENT, validity, key_type, ())

    def _leaf(
        self,
        cn: str,
        profile: Profile,
        validity: Validity,
        key_type: KeyType,
        sans: tuple[x509.GeneralName, ...],
    ) -> Issued:
        key = generate_key(key_type, ca=False)
        cert, clamped = self._sign(cn, key, profile, validity, sans)
        return Issued(cert, key, (self.cert, *self.chain), clamped)

    def _sign(
        self,
        cn: str,
        key: PrivateKey,
        profile: Profile,
        validity: Validity,
        sans: tuple[x509.GeneralName, ...],
    ) -> tuple[x509.Certificate, bool]:
        limit = self.cert.not_valid_after_utc
        if validity.not_before >= limit:
            raise CertificateUsageError(
                f"CA '{self.common_name}' expired on {limit:%Y-%m-%d %H:%M} UTC and cannot issue "
                "certificates",
                hint="make a new chain with `edgectl certs generate --force`",
            )
        # Report only a real shortening, not the seconds between issuing a CA and its child.
        clamped = validity.not_after - limit > dt.timedelta(days=1)
        if validity.not_after > limit:
            validity = Validity(validity.not_before, limit)
        if profile.ca:
            # The new CA sits j + 1 CAs below the j-th issuer up the chain (self is j = 0).
            for j, ancestor in enumerate(self.full_chain):
                pathlen = _pathlen(ancestor)
                if pathlen is not None and pathlen < j + 1:
                    raise CertificateUsageError(
                        f"CA '{common_name(ancestor)}' has pathlen {pathlen}, which leaves no "
                        f"room for the {profile.name} '{cn}' {j + 1} level(s) below it",
                        hint="use a CA without a path length constraint, or one that allows "
                        "an intermediate and an edge CA below it (pathlen >= 2)",
                    )
        cert = _build(
            subject=_name(cn),
            issuer=self.cert.subject,
            public_key=key.public_key(),
            signing_key=self.key,
            profile=profile,
            validity=validity,
            aki=_aki(self.cert),
            sans=sans,
        )
        return cert, clamped


def common_name(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if values:
        value = values[0].value
        return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return cert.subject.rfc4514_string()


def signature_hash(key: PrivateKey) -> hashes.SHA256 | None:
    """SHA-256 for RSA and ECDSA; Ed25519/Ed448 sign without a separate hash."""
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    return hashes.SHA256()


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ONLY),
        ]
    )


def _pathlen(cert: x509.Certificate) -> int | None:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None
    return bc.path_length


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        public = issuer.public_key()
        assert isinstance(
            public,
            (
                rsa.RSAPublicKey,
                ec.EllipticCurvePublicKey,
                ed25519.Ed25519PublicKey,
                ed448.Ed448PublicKey,
            ),
        )
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(public)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _build(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: object,
    signing_key: PrivateKey,
    profile: Profile,
    validity: Validity,
    aki: x509.AuthorityKeyIdentifier,
    sans: tuple[x509.GeneralName, ...],
) -> x509.Certificate:
    assert isinstance(
        public_key,
        (
            rsa.RSAPublicKey,
            ec.EllipticCurvePublicKey,
            ed25519.Ed25519PublicKey,
            ed448.Ed448PublicKey,
        ),
    )
    rsa_leaf = isinstance(public_key, rsa.RSAPublicKey) and not profile.ca
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity.not_before)
        .not_valid_after(validity.not_after)
        .add_extension(
            x509.BasicConstraints(ca=profile.ca, path_length=profile.pathlen), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=rsa_leaf,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=profile.ca,
                crl_sign=profile.ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(aki, critical=False)
    )
    if profile.eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(profile.eku)), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(signing_key, signature_hash(signing_key))
