"""Device identities: new SAS keys, certificate thumbprints, and keys kept out of output.

Keys are made here (32 random bytes, base64, like IoT Hub's own), so that creating a device
behaves the same on every hub. :func:`without_keys` is applied to everything shown unless the
user asks for keys (``--show-keys``, ``device connection-string``).
"""

from __future__ import annotations

import base64
import copy
import secrets
from pathlib import Path
from typing import Any

from iotedge_cli.cloud.connection import REDACTED
from iotedge_cli.errors import InputError, UsageError

__all__ = [
    "AUTH_KINDS",
    "auth_type",
    "is_edge",
    "new_keys",
    "primary_key",
    "thumbprint_of",
    "without_keys",
]

AUTH_KINDS = ("sas", "x509-thumbprint", "x509-ca")
_KEY_FIELDS = ("primaryKey", "secondaryKey")


def new_keys() -> tuple[str, str]:
    """A primary and a secondary key."""
    return tuple(base64.b64encode(secrets.token_bytes(32)).decode("ascii") for _ in range(2))  # type: ignore[return-value]


def thumbprint_of(path: Path) -> str:
    """The SHA-1 thumbprint (upper-case hex, as IoT Hub shows it) of the first certificate in
    ``path`` (PEM or DER)."""
    from iotedge_cli.certs.inspect import thumbprint
    from iotedge_cli.certs.pem import read_certificates

    if not path.is_file():
        raise InputError(f"{path}: no such certificate file", hint="give the device's certificate")
    certificates = read_certificates(path)
    if not certificates:
        raise InputError(f"{path}: holds no certificate", hint="give a PEM or DER certificate")
    return thumbprint(certificates[0], "sha1")


def check_auth(auth: str, cert: Path | None) -> None:
    if auth not in AUTH_KINDS:
        raise UsageError(f"--auth {auth!r} is unknown", hint="use sas, x509-thumbprint or x509-ca")
    if auth == "x509-thumbprint" and cert is None:
        raise UsageError(
            "--auth x509-thumbprint needs --cert FILE (the device's certificate)",
            hint="make a test one with `edgectl certs device NAME`",
        )
    if auth != "x509-thumbprint" and cert is not None:
        raise UsageError(
            f"--cert is only used with --auth x509-thumbprint, not --auth {auth}",
            hint="drop --cert, or pass --auth x509-thumbprint",
        )


def without_keys(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a device or module document with its SAS keys replaced by ``<redacted>``."""
    result = copy.deepcopy(document)
    symmetric = (result.get("authentication") or {}).get("symmetricKey")
    if isinstance(symmetric, dict):
        for name in _KEY_FIELDS:
            if symmetric.get(name):
                symmetric[name] = REDACTED
    return result


def primary_key(document: dict[str, Any]) -> str | None:
    """The device's primary SAS key; None for an X.509 device."""
    symmetric = (document.get("authentication") or {}).get("symmetricKey")
    key = symmetric.get("primaryKey") if isinstance(symmetric, dict) else None
    return key if isinstance(key, str) and key else None


def auth_type(document: dict[str, Any]) -> str:
    """``sas``, ``selfSigned`` (thumbprint) or ``certificateAuthority``, as IoT Hub names them."""
    value = (document.get("authentication") or {}).get("type")
    return value if isinstance(value, str) else "?"


def is_edge(document: dict[str, Any]) -> bool:
    return bool((document.get("capabilities") or {}).get("iotEdge"))
