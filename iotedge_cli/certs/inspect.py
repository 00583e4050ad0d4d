"""What a certificate file holds, as plain data (the CLI renders it as text or JSON)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from iotedge_cli.certs.pem import is_self_signed

_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}
_KU_FIELDS = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def thumbprint(cert: x509.Certificate, algorithm: str = "sha256") -> str:
    """Upper-case hex without colons, as IoT Hub takes X.509 thumbprints."""
    digest = hashes.SHA1() if algorithm == "sha1" else hashes.SHA256()
    return cert.fingerprint(digest).hex().upper()


def key_description(cert: x509.Certificate) -> dict[str, Any]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return {"type": "RSA", "size": key.key_size}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"type": "EC", "size": key.curve.key_size, "curve": key.curve.name}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"type": "Ed25519", "size": 256}
    if isinstance(key, ed448.Ed448PublicKey):
        return {"type": "Ed448", "size": 456}
    return {"type": type(key).__name__, "size": None}


def key_usage(cert: x509.Certificate) -> list[str] | None:
    ext = _ext(cert, x509.KeyUsage)
    if ext is None:
        return None
    return [label for attr, label in _KU_FIELDS if getattr(ext, attr)]


def extended_key_usage(cert: x509.Certificate) -> list[str] | None:
    ext = _ext(cert, x509.ExtendedKeyUsage)
    if ext is None:
        return None
    return [_EKU_NAMES.get(oid, oid.dotted_string) for oid in ext]


def subject_alt_names(cert: x509.Certificate) -> list[str]:
    ext = _ext(cert, x509.SubjectAlternativeName)
    if ext is None:
        return []
    names: list[str] = []
    for general in ext:
        if isinstance(general, x509.DNSName):
            names.append(f"DNS:{general.value}")
        elif isinstance(general, x509.IPAddress):
            names.append(f"IP:{general.value}")
        elif isinstance(general, x509.RFC822Name):
            names.append(f"email:{general.value}")
        elif isinstance(general, x509.UniformResourceIdentifier):
            names.append(f"URI:{general.value}")
        else:
            names.append(str(general.value))
    return names


def describe(cert: x509.Certificate, now: dt.datetime) -> dict[str, Any]:
    bc = _ext(cert, x509.BasicConstraints)
    not_after = cert.not_valid_after_utc
    days_left = (not_after - now).total_seconds() / 86400
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "X"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": math.floor(days_left),
        "expired": not_after <= now,
        "not_yet_valid": cert.not_valid_before_utc > now,
        "self_signed": is_self_signed(cert),
        "key": key_description(cert),
        "signature_algorithm": _signature_name(cert),
        "sha1": thumbprint(cert, "sha1"),
        "sha256": thumbprint(cert, "sha256"),
        "basic_constraints": None
        if bc is None
        else {
            "ca": bc.ca,
            "pathlen": bc.path_length,
            "critical": _critical(cert, x509.BasicConstraints),
        },
        "key_usage": key_usage(cert),
        "extended_key_usage": extended_key_usage(cert),
        "subject_alt_names": subject_alt_names(cert),
        "subject_key_identifier": _ski(cert),
        "authority_key_identifier": _aki(cert),
    }


def chain_order(certs: list[x509.Certificate]) -> dict[str, Any]:
    """Is each certificate issued by the next one (leaf first, root last), as TLS wants?"""
    notes: list[str] = []
    for i, (child, parent) in enumerate(itertools.pairwise(certs)):
        if not _issued_by(child, parent):
            notes.append(
                f"certificate {i + 1} is not issued by certificate {i + 2}: a chain file must "
                "list the certificate first and then each issuer in turn"
            )
    return {"ordered": not notes, "notes": notes}


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _signature_name(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    return getattr(oid, "_name", None) or oid.dotted_string


def _ext(cert: x509.Certificate, cls: type[Any]) -> Any:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def _critical(cert: x509.Certificate, cls: type[Any]) -> bool:
    return bool(cert.extensions.get_extension_for_class(cls).critical)


def _ski(cert: x509.Certificate) -> str | None:
    ext = _ext(cert, x509.SubjectKeyIdentifier)
    return None if ext is None else ext.digest.hex(":").upper()


def _aki(cert: x509.Certificate) -> str | None:
    ext = _ext(cert, x509.AuthorityKeyIdentifier)
    if ext is None or ext.key_identifier is None:
        return None
    return str(ext.key_identifier.hex(":").upper())
