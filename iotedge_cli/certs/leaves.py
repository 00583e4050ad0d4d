"""``certs device|identity|server|verification``: one leaf, signed by a CA of the chain in ``out``.

| kind         | signed by                 | CN                  | EKU        | file prefix |
| device       | intermediate CA           | device id           | clientAuth | iot-device-<id> |
| identity     | intermediate CA           | edge device id      | clientAuth | iot-edge-device-identity-<id> |
| server       | edge CA                   | hostname (SAN too)  | serverAuth | iot-edge-server-<host> |
| verification | root or intermediate CA   | verification code   | clientAuth | iot-device-verification-code-<ca> |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from iotedge_cli.certs import layout
from iotedge_cli.certs.authority import Issued, Validity
from iotedge_cli.certs.hostname import check_common_name, check_device_id, check_hostname
from iotedge_cli.certs.profiles import KeyType, key_type_of
from iotedge_cli.certs.store import OutputFile


class LeafKind(str, Enum):
    device = "device"
    identity = "identity"
    server = "server"
    verification = "verification"


@dataclass(frozen=True)
class LeafResult:
    issued: Issued
    prefix: str
    files: list[OutputFile]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class LeafRequest:
    kind: LeafKind
    name: str
    out: Path
    days: int
    key_type: KeyType | None = None
    key_password: str | None = None
    pfx: bool = False
    pfx_password: str | None = None
    ca: str = "root"  # verification: which CA is being verified (root | intermediate)
    device_id: str | None = None  # server: whose edge CA signs, when out holds several
    root_key: Path | None = None
    root_key_password: str | None = None


def issue_leaf(request: LeafRequest, *, now: dt.datetime) -> LeafResult:
    kind, name = request.kind, request.name
    warnings: list[str] = []
    if kind is LeafKind.server:
        warnings += check_hostname(name).warnings
        signer_name = "edge-ca" + (f":{request.device_id}" if request.device_id else "")
        prefix = layout.server(name)
    elif kind is LeafKind.verification:
        check_common_name(name, what="verification code")
        signer_name = request.ca
        prefix = layout.verification(request.ca)
    else:
        check_device_id(name)
        signer_name = "intermediate"
        prefix = layout.device(name) if kind is LeafKind.device else layout.identity(name)
    signer = layout.load_signer(
        request.out,
        signer_name,
        now=now,
        key_password=request.key_password,
        root_key=request.root_key,
        root_key_password=request.root_key_password,
    )
    key_type = request.key_type or key_type_of(signer.key) or KeyType.ec
    validity = Validity.days_from(now, request.days)
    if kind is LeafKind.server:
        issued = signer.issue_server(name, validity, key_type=key_type)
    else:
        issued = signer.issue_client(name, validity, key_type=key_type)
    if issued.clamped:
        warnings.append(
            f"validity shortened to the issuing CA's: the certificate expires on "
            f"{issued.cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    files = layout.issued_files(
        issued,
        prefix,
        key_password=request.key_password,
        pfx=request.pfx,
        pfx_password=request.pfx_password,
    )
    return LeafResult(issued, prefix, files, tuple(warnings))
