"""Reading certificates and keys (PEM or DER), and turning them back into PEM bytes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from iotedge_cli.certs import CertificateInputError
from iotedge_cli.certs.authority import CertificateAuthority, common_name
from iotedge_cli.certs.profiles import PrivateKey


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CertificateInputError(
            f"{path}: no such file",
            hint="check the path (certificates made by "
            "`edgectl certs generate` are in --out, default 'certs')",
        ) from None
    except OSError as exc:
        raise CertificateInputError(f"{path}: cannot read: {exc.strerror}") from None


def parse_certificates(data: bytes, name: str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one in a DER file."""
    try:
        if b"-----BEGIN" in data:
            if b"-----BEGIN CERTIFICATE-----" not in data:
                raise ValueError("no CERTIFICATE block")
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise CertificateInputError(
            f"{name}: not a certificate ({exc})",
            hint="pass a PEM file with '-----BEGIN CERTIFICATE-----' blocks, or a DER file",
        ) from None


def read_certificates(path: Path) -> list[x509.Certificate]:
    return parse_certificates(read_bytes(path), str(path))


def read_private_key(path: Path, password: str | None) -> PrivateKey:
    data = read_bytes(path)
    secret = password.encode() if password is not None else None
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, secret)
        else:
            key = serialization.load_der_private_key(data, secret)
    except TypeError:
        if password is None:
            raise CertificateInputError(
                f"{path}: the private key is encrypted",
                hint="pass its password (--root-key-password or --key-password)",
            ) from None
        raise CertificateInputError(
            f"{path}: the private key is not encrypted, but a password was given",
            hint="drop the password option",
        ) from None
    except ValueError:
        raise CertificateInputError(
            f"{path}: cannot read the private key (wrong password, or not a PEM/DER key)",
            hint="check the file and its password",
        ) from None
    if not isinstance(
        key,
        (
            rsa.RSAPrivateKey,
            ec.EllipticCurvePrivateKey,
            ed25519.Ed25519PrivateKey,
            ed448.Ed448PrivateKey,
        ),
    ):
        raise CertificateInputError(
            f"{path}: unsupported key type {type(key).__name__}", hint="use an RSA or EC key"
        )
    return key


def load_ca(
    cert_path: Path,
    key_path: Path,
    password: str | None,
    *,
    now: dt.datetime,
    chain: tuple[x509.Certificate, ...] | None = None,
) -> CertificateAuthority:
    """A CA from files, checked: the key matches, it is a CA that may sign, and is valid at ``now``.

    ``chain`` is its issuers up to the root; ``None`` means the file itself holds them after
    the CA certificate (a full-chain file), or that it is a self-signed root.
    """
    certs = read_certificates(cert_path)
    cert = certs[0]
    if chain is None:
        chain = tuple(certs[1:])
    key = read_private_key(key_path, password)
    name = common_name(cert)
    if public_der(key.public_key()) != public_der(cert.public_key()):
        raise CertificateInputError(
            f"{key_path}: this key does not belong to the certificate '{name}' in {cert_path}",
            hint="pass the private key that was made with this certificate",
        )
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise CertificateInputError(
            f"{cert_path}: '{name}' is not a CA certificate (basicConstraints CA:TRUE is missing)",
            hint="pass a CA certificate, e.g. one made with `openssl req -x509 -addext "
            "basicConstraints=critical,CA:TRUE`",
        )
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.key_cert_sign:
            raise CertificateInputError(
                f"{cert_path}: CA '{name}' may not sign certificates (keyUsage lacks keyCertSign)",
                hint="use a CA certificate whose keyUsage includes keyCertSign",
            )
    except x509.ExtensionNotFound:
        pass
    if cert.not_valid_after_utc <= now:
        raise CertificateInputError(
            f"{cert_path}: CA '{name}' expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
            hint="renew it, or make a new chain with `edgectl certs generate --force`",
        )
    return CertificateAuthority(cert, key, chain)


def is_self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def public_der(key: object) -> bytes:
    assert isinstance(
        key,
        (
            rsa.RSAPublicKey,
            ec.EllipticCurvePublicKey,
            ed25519.Ed25519PublicKey,
            ed448.Ed448PublicKey,
        ),
    )
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def certs_pem(certs: list[x509.Certificate] | tuple[x509.Certificate, ...]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key: PrivateKey, password: str | None) -> bytes:
    """PKCS#8 PEM, encrypted (AES-256, scrypt or PBKDF2) only when a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
