"""PKCS#12 (.pfx) files: the key, the certificate and its issuers, for .NET and Windows tools."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from iotedge_cli.certs.authority import Issued


def to_pfx(issued: Issued, password: str | None) -> bytes:
    """Encrypted with AES-256/PBKDF2 when ``password`` is set (``openssl pkcs12`` reads both)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(
        issued.common_name.encode("utf-8"),
        issued.key,
        issued.cert,
        list(issued.chain) or None,
        encryption,
    )
