"""A simulation's state directory: where it is, its certificates, its config, whether it runs.

Layout (the hub reads it through :class:`~iotedge_cli.simulator.hub.config.HubConfig`)::

    <state>/                 0700
      config.json            HubConfig.to_json(), rewritten by every `simulate start`
      certs/                 root -> intermediate -> edge CA -> server certificate(s), keys 0600
      hub.sqlite             the hub's store (sessions, queues, $upstream, twins, keys)
      hub.json               {"pid", "listeners", "admin"} while the hub runs
      hub.log                output of a detached hub

The default state directory is ``<solution>/.edgectl/simulate``: for ``start --manifest M`` the
solution is M's directory (or its parent when M sits in a ``config/`` folder next to the
deployment templates, where ``edgectl manifest generate`` writes); for every other command it is
the nearest directory, from the working directory upwards, that holds a simulation, else the
working directory. Nothing here prints; certificate work imports ``cryptography`` lazily.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotedge_cli.errors import InputError, UsageError
from iotedge_cli.simulator.hub.config import DEFAULT_DEVICE_ID, DEFAULT_IOTHUB_HOSTNAME, HubConfig

__all__ = [
    "CERT_DAYS",
    "STATE_SUBDIR",
    "DeviceCert",
    "Running",
    "StateCerts",
    "default_gateway_host",
    "device_certificate",
    "ensure_certs",
    "ensure_state_dir",
    "find_state_dir",
    "read_running",
    "remove_runtime_file",
    "solution_dir",
    "write_config",
]

STATE_SUBDIR = Path(".edgectl") / "simulate"
DIR_MODE = 0o700
CERT_DAYS = 365
# A server certificate closer than this to expiry is replaced at the next start.
RENEW_BEFORE = dt.timedelta(days=7)


def solution_dir(manifest: Path | None, cwd: Path | None = None) -> Path:
    """The directory a simulation belongs to (see the module docstring)."""
    base = (cwd or Path.cwd()).resolve()
    if manifest is None:
        return base
    folder = (base / manifest).resolve().parent
    if folder.name == "config" and any(folder.parent.glob("deployment*.template.json")):
        return folder.parent
    return folder


def find_state_dir(state_dir: Path | None, cwd: Path | None = None) -> Path:
    """``--state-dir`` as given, else the nearest simulation from ``cwd`` upwards, else
    ``cwd/.edgectl/simulate``."""
    if state_dir is not None:
        return state_dir.resolve()
    base = (cwd or Path.cwd()).resolve()
    for folder in (base, *base.parents):
        candidate = folder / STATE_SUBDIR
        if (candidate / "config.json").is_file():
            return candidate
    return base / STATE_SUBDIR


def ensure_state_dir(state_dir: Path) -> Path:
    """Create the state directory (and a missing ``.edgectl`` parent) with mode 0700."""
    state_dir = state_dir.resolve()
    if state_dir.exists() and not state_dir.is_dir():
        raise InputError(
            f"{state_dir}: exists and is not a directory",
            hint="choose another --state-dir",
        )
    missing: list[Path] = []
    folder = state_dir
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=DIR_MODE)
        state_dir.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask; tighten an old one too
        for folder in missing:
            folder.chmod(DIR_MODE)
    except OSError as exc:
        raise InputError(
            f"{state_dir}: cannot create the state directory: {exc.strerror or exc}",
            hint="choose a writable --state-dir",
        ) from None
    return state_dir


def default_gateway_host(bind: str) -> str:
    """The host name modules connect to: ``localhost`` for 127.0.0.1 (and the wildcard
    addresses), else the bind address itself (the server certificate gets an IP SAN)."""
    if bind in ("127.0.0.1", "0.0.0.0", "::", ""):
        return "localhost"
    return bind


def check_bind(bind: str) -> str:
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        raise UsageError(
            f"--bind {bind!r} is not an IP address",
            hint="give the address to listen on, e.g. --bind 127.0.0.1",
        ) from None
    return bind


# --- certificates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StateCerts:
    certs_dir: Path
    server_cert: Path  # full chain: server, edge CA, intermediate, root
    server_key: Path
    ca_cert: Path  # the root CA: what modules trust (EdgeModuleCACertificateFile)
    created: tuple[Path, ...]  # files written by this call (empty when all were reused)


def ensure_certs(
    state_dir: Path,
    *,
    device_id: str,
    gateway_hostname: str,
    now: dt.datetime | None = None,
    days: int = CERT_DAYS,
    extra_dns: tuple[str, ...] = (),
) -> StateCerts:
    """Reuse the chain in ``state_dir/certs``, or make one; make sure a server certificate for
    ``gateway_hostname`` (SAN: the name or IP, plus ``edgeHub`` and ``extra_dns``) exists, names
    all of them and is not about to expire."""
    from iotedge_cli.certs import layout
    from iotedge_cli.certs.authority import Validity
    from iotedge_cli.certs.chain import EDGE_HUB_SAN, build_edge_chain, edge_chain_files
    from iotedge_cli.certs.hostname import check_hostname
    from iotedge_cli.certs.pem import read_certificates
    from iotedge_cli.certs.store import write_files

    check_hostname(gateway_hostname)
    now = now or dt.datetime.now(dt.timezone.utc)
    certs = state_dir / "certs"
    root = certs / layout.cert_file(layout.ROOT)
    prefix = layout.server(gateway_hostname)
    server_chain = certs / layout.chain_file(prefix)
    server_key = certs / layout.key_file(prefix)
    edge = layout.edge_ca(device_id)
    created: list[Path] = []
    intermediate = certs / layout.chain_file(layout.INTERMEDIATE)
    if root.exists() and intermediate.exists() and not (certs / layout.chain_file(edge)).exists():
        # another device of the same simulated hub (`simulate start --device-id`): its own
        # edge CA, issued by the chain's intermediate, as IoT Edge gives each device one
        from iotedge_cli.certs.hostname import check_common_name, check_device_id
        from iotedge_cli.certs.profiles import EDGE_CA

        check_device_id(device_id)
        signer = layout.load_signer(certs, "intermediate", now=now)
        edge_cn = check_common_name(f"{device_id}.ca", what="edge CA common name")
        issued_ca = signer.issue_ca(edge_cn, EDGE_CA, Validity.days_from(now, days))
        created += write_files(certs, layout.issued_files(issued_ca, edge))
    if not root.exists() or not (certs / layout.chain_file(edge)).exists():
        if certs.exists() and any(certs.iterdir()):
            raise InputError(
                f"{certs}: holds an incomplete certificate chain (no root or no edge CA for "
                f"device '{device_id}')",
                hint=f"delete {certs} to let `simulate start` make a new chain",
            )
        chain = build_edge_chain(
            device_id=device_id,
            hostname=gateway_hostname,
            validity=Validity.days_from(now, days),
        )
        files, _ = edge_chain_files(chain, certs)
        created += write_files(certs, files)
    names = (EDGE_HUB_SAN, *extra_dns)
    if not _fresh(server_chain, server_key, now, read_certificates, names, f"{device_id}.ca"):
        signer = layout.load_signer(certs, f"edge-ca:{device_id}", now=now)
        issued = signer.issue_server(
            gateway_hostname,
            Validity.days_from(now, days),
            extra_dns=tuple(dict.fromkeys((EDGE_HUB_SAN, *extra_dns))),
        )
        created += write_files(certs, layout.issued_files(issued, prefix), force=True)
    return StateCerts(certs, server_chain, server_key, root, tuple(created))


def _fresh(
    chain: Path,
    key: Path,
    now: dt.datetime,
    read: Any,
    names: tuple[str, ...] = (),
    issuer_cn: str | None = None,
) -> bool:
    """The server certificate exists, is not about to expire, names every DNS ``names`` and
    (when given) was issued by the edge CA ``issuer_cn`` (the device's own)."""
    if not chain.exists() or not key.exists():
        return False
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = read(chain)[0]
    if issuer_cn is not None:
        cns = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not cns or cns[0].value != issuer_cn:
            return False
    not_after: dt.datetime = cert.not_valid_after_utc
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
    except x509.ExtensionNotFound:
        dns = set()
    return bool(not_after - now > RENEW_BEFORE) and all(n.lower() in dns for n in names)


@dataclass(frozen=True)
class DeviceCert:
    cert: Path  # the device certificate alone
    chain: Path  # with its issuers (what the client presents)
    key: Path
    thumbprint: str  # SHA-1, upper-case hex, as IoT Hub shows it
    created: bool


def device_certificate(
    state_dir: Path, device_id: str, *, now: dt.datetime | None = None
) -> DeviceCert:
    """A leaf device certificate (CN = device id, signed by the chain's intermediate CA, as
    ``edgectl certs device`` makes it) in ``state_dir/certs``; reused when it exists."""
    from iotedge_cli.certs import layout
    from iotedge_cli.certs.hostname import check_device_id
    from iotedge_cli.certs.inspect import thumbprint
    from iotedge_cli.certs.leaves import LeafKind, LeafRequest, issue_leaf
    from iotedge_cli.certs.pem import read_certificates
    from iotedge_cli.certs.store import write_files

    check_device_id(device_id)
    certs = state_dir / "certs"
    prefix = layout.device(device_id)
    paths = (
        certs / layout.cert_file(prefix),
        certs / layout.chain_file(prefix),
        certs / layout.key_file(prefix),
    )
    created = False
    if not all(p.exists() for p in paths):
        now = now or dt.datetime.now(dt.timezone.utc)
        request = LeafRequest(kind=LeafKind.device, name=device_id, out=certs, days=CERT_DAYS)
        result = issue_leaf(request, now=now)
        write_files(certs, result.files, force=True)
        created = True
    cert = read_certificates(paths[0])[0]
    return DeviceCert(*paths, thumbprint=thumbprint(cert, "sha1"), created=created)


# --- config and the running hub -------------------------------------------------------------


def make_config(
    state_dir: Path,
    certs: StateCerts,
    *,
    gateway_hostname: str,
    bind: str = "127.0.0.1",
    device_id: str = DEFAULT_DEVICE_ID,
    iothub_hostname: str = DEFAULT_IOTHUB_HOSTNAME,
    mqtt_port: int = 8883,
    https_port: int = 443,
    admin_port: int = 53000,
    manifest: Path | None = None,
    single_module: tuple[str, tuple[str, ...]] | None = None,
) -> HubConfig:
    return HubConfig(
        state_dir=state_dir,
        device_id=device_id,
        iothub_hostname=iothub_hostname,
        gateway_hostname=gateway_hostname,
        server_cert=certs.server_cert,
        server_key=certs.server_key,
        ca_cert=certs.ca_cert,
        bind=bind,
        mqtt_port=mqtt_port,
        https_port=https_port,
        admin_port=admin_port,
        manifest=None if manifest is None else manifest.resolve(),
        single_module=single_module,
    )


def config_path(state_dir: Path) -> Path:
    return state_dir / "config.json"


def write_config(config: HubConfig) -> Path:
    """Write ``config.json`` atomically (0600: it names key files)."""
    path = config_path(config.state_dir)
    tmp = path.with_name(".config.json.tmp")
    text = json.dumps(config.to_json(), indent=2) + "\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(path)
    return path


def read_config(state_dir: Path) -> HubConfig | None:
    from iotedge_cli.simulator.hub.config import load_config

    path = config_path(state_dir)
    return load_config(path) if path.exists() else None


@dataclass(frozen=True)
class Running:
    """What ``hub.json`` says about a running hub."""

    pid: int
    admin: str  # http://127.0.0.1:PORT
    listeners: list[dict[str, Any]]
    alive: bool  # the pid exists (the hub may still be starting or stopping)


def runtime_file(state_dir: Path) -> Path:
    return state_dir / "hub.json"


def read_running(state_dir: Path) -> Running | None:
    """The hub's ``hub.json``, or None when there is none (or it cannot be read yet)."""
    try:
        data = json.loads(runtime_file(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid, admin = data.get("pid"), data.get("admin")
    if not isinstance(pid, int) or not isinstance(admin, str):
        return None
    listeners = data.get("listeners")
    return Running(pid, admin, listeners if isinstance(listeners, list) else [], pid_alive(pid))


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def remove_runtime_file(state_dir: Path) -> bool:
    try:
        runtime_file(state_dir).unlink()
    except FileNotFoundError:
        return False
    return True
