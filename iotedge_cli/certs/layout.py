"""File names in the output directory (certGen.sh's, so existing docs still apply).

<out>/azure-iot-test-only.root.ca.cert.pem          root CA (the trust anchor)
<out>/trust-bundle.pem                               the same root: aziot's trust_bundle_cert
<out>/<prefix>.cert.pem, <prefix>-full-chain.cert.pem  each certificate, alone and with its issuers
<out>/<prefix>.cert.pfx                              PKCS#12 (key + certificate + chain), with --pfx
<out>/private/<prefix>.key.pem                       private keys, 0600 in a 0700 directory
<out>/config.toml                                    the aziot-edge snippet from `certs generate`
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from iotedge_cli.certs import CertificateInputError, CertificateUsageError
from iotedge_cli.certs.authority import CertificateAuthority, Issued
from iotedge_cli.certs.pem import certs_pem, key_pem, load_ca, read_certificates
from iotedge_cli.certs.pkcs12 import to_pfx
from iotedge_cli.certs.store import OutputFile

ROOT = "azure-iot-test-only.root.ca"
INTERMEDIATE = "azure-iot-test-only.intermediate"
TRUST_BUNDLE = "trust-bundle.pem"
CONFIG = "config.toml"
EDGE_CA_PREFIX = "iot-edge-device-ca-"


def edge_ca(device_id: str) -> str:
    return f"{EDGE_CA_PREFIX}{device_id}"


def server(hostname: str) -> str:
    return f"iot-edge-server-{hostname}"


def device(name: str) -> str:
    return f"iot-device-{name}"


def identity(name: str) -> str:
    return f"iot-edge-device-identity-{name}"


def verification(ca: str) -> str:
    return f"iot-device-verification-code-{ca}"


def cert_file(prefix: str) -> str:
    return f"{prefix}.cert.pem"


def chain_file(prefix: str) -> str:
    return f"{prefix}-full-chain.cert.pem"


def key_file(prefix: str) -> str:
    return f"private/{prefix}.key.pem"


def pfx_file(prefix: str) -> str:
    return f"{prefix}.cert.pfx"


def issued_files(
    issued: Issued,
    prefix: str,
    *,
    key_password: str | None = None,
    pfx: bool = False,
    pfx_password: str | None = None,
    with_key: bool = True,
) -> list[OutputFile]:
    """Certificate, full chain (when it has issuers), key, and optionally a PKCS#12."""
    files = [OutputFile(cert_file(prefix), certs_pem([issued.cert]))]
    if issued.chain:
        files.append(OutputFile(chain_file(prefix), certs_pem(issued.full_chain)))
    if with_key:
        files.append(OutputFile(key_file(prefix), key_pem(issued.key, key_password), secret=True))
    if pfx:
        files.append(OutputFile(pfx_file(prefix), to_pfx(issued, pfx_password), secret=True))
    return files


def load_signer(
    out: Path,
    which: str,
    *,
    now: dt.datetime,
    key_password: str | None = None,
    root_key: Path | None = None,
    root_key_password: str | None = None,
) -> CertificateAuthority:
    """The CA in ``out`` that signs: ``root``, ``intermediate`` or ``edge-ca[:DEVICE_ID]``."""
    if which == "root":
        cert = out / cert_file(ROOT)
        _need(cert, out)
        key = root_key or out / key_file(ROOT)
        if root_key is None and not key.exists():
            raise CertificateUsageError(
                f"{key}: no root CA key in {out} (the chain was built on your own root CA)",
                hint="pass your root CA's key with --root-key F [--root-key-password P]",
            )
        password = root_key_password if root_key is not None else key_password
        return load_ca(cert, key, password, now=now, chain=None)
    if which == "intermediate":
        prefix = INTERMEDIATE
    elif which.startswith("edge-ca"):
        prefix = _edge_ca_prefix(out, which.partition(":")[2] or None)
    else:
        raise ValueError(which)
    full = out / chain_file(prefix)
    _need(full, out)
    return load_ca(full, out / key_file(prefix), key_password, now=now, chain=None)


def root_certificate(out: Path) -> Path:
    path = out / cert_file(ROOT)
    _need(path, out)
    read_certificates(path)
    return path


def _edge_ca_prefix(out: Path, device_id: str | None) -> str:
    if device_id is not None:
        return edge_ca(device_id)
    found = sorted(
        p.name[: -len("-full-chain.cert.pem")]
        for p in out.glob(f"{EDGE_CA_PREFIX}*-full-chain.cert.pem")
    )
    if len(found) == 1:
        return found[0]
    if not found:
        _need(out / chain_file(edge_ca("<device-id>")), out)
    ids = ", ".join(f[len(EDGE_CA_PREFIX) :] for f in found)
    raise CertificateUsageError(
        f"{out} holds edge CAs for several devices ({ids})",
        hint="choose one with --device-id",
    )


def _need(path: Path, out: Path) -> None:
    if not path.exists():
        raise CertificateInputError(
            f"{path}: not found; {out} does not hold a chain made by `edgectl certs generate`",
            hint=f"run `edgectl certs generate --out {out}` first, or pass --out DIR",
        )
