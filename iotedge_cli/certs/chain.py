"""``certs generate``: root CA -> intermediate CA -> edge CA -> edge hub server certificate.

:func:`build_edge_chain` makes the certificates in memory (on a fresh root, or on the user's
own root CA); :func:`edge_chain_files` turns them into the files to write, including the
``config.toml`` snippet for aziot-edge.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path

from iotedge_cli.certs import CertificateInputError, CertificateUsageError, layout
from iotedge_cli.certs.authority import CertificateAuthority, Issued, Validity, common_name
from iotedge_cli.certs.hostname import check_common_name, check_device_id, check_hostname
from iotedge_cli.certs.pem import certs_pem, is_self_signed, key_pem, load_ca
from iotedge_cli.certs.profiles import EDGE_CA, INTERMEDIATE, INTERMEDIATE_CN, KeyType
from iotedge_cli.certs.store import OutputFile

EDGE_HUB_SAN = "edgeHub"


@dataclass(frozen=True)
class EdgeChain:
    root: CertificateAuthority
    intermediate: CertificateAuthority
    edge_ca: CertificateAuthority
    server: Issued
    device_id: str
    hostname: str
    own_root: bool
    warnings: tuple[str, ...] = ()


def build_edge_chain(
    *,
    device_id: str,
    hostname: str,
    validity: Validity,
    key_type: KeyType = KeyType.ec,
    root: CertificateAuthority | None = None,
) -> EdgeChain:
    """The whole chain; ``root`` is the user's own CA, or ``None`` for a new test-only root."""
    host = check_hostname(hostname)
    check_device_id(device_id)
    edge_cn = check_common_name(f"{device_id}.ca", what="edge CA common name")
    if edge_cn.lower() == hostname.lower():
        raise CertificateUsageError(
            f"the edge CA's CN '{edge_cn}' equals the hostname; IoT Edge requires them to differ",
            hint="choose another --hostname or --device-id",
        )
    own_root = root is not None
    if root is None:
        root = CertificateAuthority.new_root(validity, key_type=key_type)
    intermediate = root.issue_ca(INTERMEDIATE_CN, INTERMEDIATE, validity, key_type=key_type)
    edge_ca = intermediate.issue_ca(edge_cn, EDGE_CA, validity, key_type=key_type)
    server = edge_ca.issue_server(hostname, validity, key_type=key_type, extra_dns=(EDGE_HUB_SAN,))
    warnings = list(host.warnings)
    if server.clamped:
        warnings.append(
            f"validity shortened to the root CA's: certificates expire on "
            f"{server.cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    return EdgeChain(
        root, intermediate, edge_ca, server, device_id, hostname, own_root, tuple(warnings)
    )


def edge_chain_files(
    chain: EdgeChain,
    out: Path,
    *,
    key_password: str | None = None,
    pfx: bool = False,
    pfx_password: str | None = None,
) -> tuple[list[OutputFile], str]:
    """The files of a chain under ``out`` and the text of the ``config.toml`` snippet."""
    # The user's own CA may come with its issuers (the file given, up to a self-signed root).
    files = [OutputFile(layout.cert_file(layout.ROOT), certs_pem(chain.root.full_chain))]
    if not chain.own_root:  # never copy the user's own root key
        files.append(
            OutputFile(layout.key_file(layout.ROOT), key_pem(chain.root.key, key_password), True)
        )
    files.append(OutputFile(layout.TRUST_BUNDLE, certs_pem(chain.root.full_chain[-1:])))
    files += layout.issued_files(chain.intermediate, layout.INTERMEDIATE, key_password=key_password)
    edge = layout.edge_ca(chain.device_id)
    files += layout.issued_files(chain.edge_ca, edge, key_password=key_password)
    files += layout.issued_files(
        chain.server,
        layout.server(chain.hostname),
        key_password=key_password,
        pfx=pfx,
        pfx_password=pfx_password,
    )
    toml = config_toml(chain, out, encrypted=key_password is not None)
    files.append(OutputFile(layout.CONFIG, toml.encode("utf-8")))
    return files, toml


def config_toml(chain: EdgeChain, out: Path, *, encrypted: bool = False) -> str:
    base = out.resolve()
    edge = layout.edge_ca(chain.device_id)

    def uri(name: str) -> str:
        return toml_string((base / name).as_uri())

    lines = [
        "# aziot-edge: TEST-ONLY certificates made by `edgectl certs generate`.",
        "# Merge into /etc/aziot/config.toml, then run `sudo iotedge config apply`.",
        "# The files must be readable by aziot (e.g. copy them to /var/aziot/ and chown).",
        f"hostname = {toml_string(chain.hostname)}",
        f"trust_bundle_cert = {uri(layout.TRUST_BUNDLE)}",
        "",
        "[edge_ca]",
        f"cert = {uri(layout.chain_file(edge))}",
        f"pk = {uri(layout.key_file(edge))}",
    ]
    if encrypted:
        lines.insert(
            3, "# aziot cannot read encrypted keys: decrypt the edge CA key (pk) before use."
        )
    return "\n".join(lines) + "\n"


def toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def load_own_root(
    cert: Path, key: Path, password: str | None, *, now: dt.datetime
) -> CertificateAuthority:
    """The user's own CA (``--root-cert/--root-key``), checked; its file may hold its issuers."""
    ca = load_ca(cert, key, password, now=now, chain=None)
    if not is_self_signed(ca.full_chain[-1]):
        raise CertificateInputError(
            f"{cert}: '{common_name(ca.full_chain[-1])}' is not self-signed, so the chain cannot "
            "reach a trust anchor",
            hint="pass a root CA, or append the CA's issuers up to the root to the --root-cert file",
        )
    for child, parent in itertools.pairwise(ca.full_chain):
        if child.issuer != parent.subject:
            raise CertificateInputError(
                f"{cert}: '{common_name(child)}' is not issued by the next certificate "
                f"'{common_name(parent)}'",
                hint="order the file: your CA first, then each issuer up to the root",
            )
    return ca
