"""Identities the hub serves, their keys and connection strings, and the CONNECT check.

One identity per user module of ``$edgeAgent``, plus ``$edgeAgent`` and ``$edgeHub`` (module
identities of the edge device), plus leaf devices. Keys are 32 random bytes, base64; the
caller passes ``existing`` keys (from the state directory) so restarts keep them.

The CONNECT check follows edgeHub (hub-protocol §3.1/§3.2): a username that does not parse
gives CONNACK 3 (server unavailable, the SDK retries); everything else that fails to
authenticate (client id not matching the username, unknown identity, no password, a bad or
expired SAS token) gives CONNACK 5 (not authorized, the SDK gives up).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from urllib.parse import unquote

from iotedge_cli.errors import InputError
from iotedge_cli.manifest.model import AGENT, HUB, Manifest
from iotedge_cli.simulator.hub.iothub.sas import SasResult, verify_token

__all__ = [
    "CONNECTION_STRING_KEYS",
    "ConnackCode",
    "ConnectResult",
    "ConnectionString",
    "ConnectionStringError",
    "Identity",
    "IdentityRegistry",
    "Username",
    "UsernameError",
    "build_connection_string",
    "check_connect",
    "generate_key",
    "identities_from_manifest",
    "parse_connection_string",
    "parse_username",
]

# The keys azure-iot-device accepts in a connection string (case-sensitive).
CONNECTION_STRING_KEYS = (
    "HostName",
    "SharedAccessKeyName",
    "SharedAccessKey",
    "SharedAccessSignature",
    "DeviceId",
    "ModuleId",
    "GatewayHostName",
    "x509",
)


def generate_key(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A new shared access key: 32 random bytes, base64 (44 characters)."""
    return base64.b64encode(random_bytes(32)).decode("ascii")


def _valid_key(key: str) -> bool:
    try:
        return bool(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True)
class Identity:
    """A device (``module_id`` None) or module identity with its two keys.

    ``x509``: a leaf device that authenticates with a client certificate (CN = device id)
    instead of, or as well as, a SAS token.
    """

    device_id: str
    module_id: str | None
    primary_key: str
    secondary_key: str
    x509: bool = False

    def __post_init__(self) -> None:
        for name in ("primary_key", "secondary_key"):
            if not _valid_key(getattr(self, name)):
                raise ValueError(f"{name} of {self.id} is not a base64 key")

    @property
    def id(self) -> str:
        """``d/m`` or ``d``: also the MQTT client id the SDK uses."""
        return self.device_id if self.module_id is None else f"{self.device_id}/{self.module_id}"

    client_id = id

    @property
    def is_module(self) -> bool:
        return self.module_id is not None

    def connection_string(self, host_name: str, gateway_host_name: str | None = None) -> str:
        return build_connection_string(
            host_name=host_name,
            gateway_host_name=gateway_host_name,
            device_id=self.device_id,
            module_id=self.module_id,
            shared_access_key=self.primary_key,
        )


@dataclass
class IdentityRegistry:
    """Identities by client id (``d/m`` or ``d``), as given."""

    by_id: dict[str, Identity] = field(default_factory=dict)

    def add(self, identity: Identity) -> None:
        if identity.id in self.by_id:
            raise ValueError(f"identity {identity.id!r} exists already")
        self.by_id[identity.id] = identity

    def get(self, device_id: str, module_id: str | None = None) -> Identity | None:
        return self.by_id.get(device_id if module_id is None else f"{device_id}/{module_id}")

    def __iter__(self) -> Iterator[Identity]:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)


def identities_from_manifest(
    manifest: Manifest,
    device_id: str,
    *,
    leaf_devices: Iterable[str | tuple[str, bool]] = (),
    existing: Mapping[str, tuple[str, str]] | None = None,
    new_key: Callable[[], str] = generate_key,
) -> IdentityRegistry:
    """``$edgeAgent``, ``$edgeHub`` and one module identity per user module of the manifest
    (in manifest order), then the leaf devices (a name, or ``(name, x509)``).

    ``existing`` maps a client id to ``(primary, secondary)``; identities not in it get fresh
    keys from ``new_key``.
    """
    keys = existing or {}

    def make(dev: str, mod: str | None, x509: bool = False) -> Identity:
        cid = dev if mod is None else f"{dev}/{mod}"
        primary, secondary = keys.get(cid) or (new_key(), new_key())
        return Identity(dev, mod, primary, secondary, x509)

    registry = IdentityRegistry()
    modules = [AGENT, HUB]
    modules += [m.name for m in manifest.modules() if not m.system and m.name not in modules]
    for module in modules:
        registry.add(make(device_id, module))
    for leaf in leaf_devices:
        name, x509 = (leaf, False) if isinstance(leaf, str) else leaf
        if name == device_id:
            raise ValueError(f"leaf device {name!r} has the edge device's own id; rename it")
        registry.add(make(name, None, x509))
    return registry


# --- connection strings ----------------------------------------------------------------


class ConnectionStringError(InputError):
    """A connection string that cannot be used; the message names the field."""


@dataclass(frozen=True)
class ConnectionString:
    host_name: str
    device_id: str
    module_id: str | None = None
    shared_access_key: str | None = None
    gateway_host_name: str | None = None
    shared_access_key_name: str | None = None
    shared_access_signature: str | None = None
    x509: bool = False

    def __str__(self) -> str:
        return build_connection_string(
            host_name=self.host_name,
            gateway_host_name=self.gateway_host_name,
            device_id=self.device_id,
            module_id=self.module_id,
            shared_access_key=self.shared_access_key,
        )


def build_connection_string(
    *,
    host_name: str,
    device_id: str,
    shared_access_key: str | None,
    module_id: str | None = None,
    gateway_host_name: str | None = None,
) -> str:
    """``HostName=…;GatewayHostName=…;DeviceId=…;ModuleId=…;SharedAccessKey=…`` (absent
    parts left out)."""
    parts = [("HostName", host_name), ("GatewayHostName", gateway_host_name)]
    parts += [("DeviceId", device_id), ("ModuleId", module_id)]
    parts += [("SharedAccessKey", shared_access_key)]
    for name, value in parts:
        if value is not None and (";" in value or not value):
            raise ValueError(f"{name} {value!r} cannot go in a connection string (empty or ';')")
    return ";".join(f"{k}={v}" for k, v in parts if v is not None)


def parse_connection_string(
    text: str, *, edge_module: bool = False, source: str = "connection string"
) -> ConnectionString:
    """Parse as azure-iot-device does: ``;``-separated ``Key=Value`` (split on the first ``=``,
    not URL-decoded, keys case-sensitive). ``edge_module``: the ``EdgeHubConnectionString``
    form, which also needs ``ModuleId`` and ``GatewayHostName``.

    Raises :class:`ConnectionStringError` naming the missing, unknown or bad field.
    """
    fields: dict[str, str] = {}
    for segment in text.strip().split(";"):
        if not segment.strip():
            continue
        key, eq, value = segment.partition("=")
        key = key.strip()
        if not eq:
            raise ConnectionStringError(
                f"{source}: {segment!r} is not Key=Value",
                "write fields as HostName=...;DeviceId=...;SharedAccessKey=...",
            )
        if key not in CONNECTION_STRING_KEYS:
            near = [k for k in CONNECTION_STRING_KEYS if k.lower() == key.lower()]
            hint = (
                f"keys are case-sensitive: write {near[0]}"
                if near
                else ("allowed keys: " + ", ".join(CONNECTION_STRING_KEYS))
            )
            raise ConnectionStringError(f"{source}: unknown field {key!r}", hint)
        if key in fields:
            raise ConnectionStringError(f"{source}: field {key} appears twice", "keep one")
        if not value:
            raise ConnectionStringError(f"{source}: field {key} is empty", f"give {key} a value")
        fields[key] = value
    required = ["HostName", "DeviceId"] + (["ModuleId", "GatewayHostName"] if edge_module else [])
    for key in required:
        if key not in fields:
            raise ConnectionStringError(
                f"{source}: missing field {key}",
                "an EdgeHubConnectionString needs HostName, GatewayHostName, DeviceId, ModuleId "
                "and SharedAccessKey"
                if edge_module
                else f"add {key}=... to the connection string",
            )
    x509_text = fields.get("x509")
    if x509_text is not None and x509_text.lower() not in ("true", "false"):
        raise ConnectionStringError(f"{source}: x509={x509_text!r} is not true or false")
    x509 = x509_text is not None and x509_text.lower() == "true"
    key_value = fields.get("SharedAccessKey")
    if key_value is not None and not _valid_key(key_value):
        raise ConnectionStringError(
            f"{source}: SharedAccessKey is not valid base64",
            "copy the key again; it is 44 characters ending in '='",
        )
    if key_value is None and "SharedAccessSignature" not in fields and not x509:
        raise ConnectionStringError(
            f"{source}: missing field SharedAccessKey",
            "give SharedAccessKey (or SharedAccessSignature, or x509=true)",
        )
    return ConnectionString(
        host_name=fields["HostName"],
        device_id=fields["DeviceId"],
        module_id=fields.get("ModuleId"),
        shared_access_key=key_value,
        gateway_host_name=fields.get("GatewayHostName"),
        shared_access_key_name=fields.get("SharedAccessKeyName"),
        shared_access_signature=fields.get("SharedAccessSignature"),
        x509=x509,
    )


# --- CONNECT ---------------------------------------------------------------------------


class ConnackCode(IntEnum):
    """MQTT 3.1.1 CONNACK return codes."""

    ACCEPTED = 0
    UNACCEPTABLE_PROTOCOL_VERSION = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_USERNAME_OR_PASSWORD = 4
    NOT_AUTHORIZED = 5


class UsernameError(ValueError):
    pass


@dataclass(frozen=True)
class Username:
    """A parsed MQTT username ``{host}/{device}[/{module}]/?{query}`` (query values decoded)."""

    host: str
    device_id: str
    module_id: str | None
    query: dict[str, str]

    @property
    def client_id(self) -> str:
        return self.device_id if self.module_id is None else f"{self.device_id}/{self.module_id}"

    @property
    def api_version(self) -> str:
        return self.query["api-version"]


def parse_username(username: str) -> Username:
    """Parse as edgeHub's ``MqttUsernameParser``: split on ``/``; with a final ``?query``
    segment there are 3 (device) or 4 (module) segments; the legacy form has the query as
    the last segment without ``?``. ``api-version`` is required; the host is not checked."""
    parts = username.split("/")
    last = parts[-1]
    if last.startswith("?"):
        query_text = last[1:]
    elif "api-version=" in last:
        query_text = last
    else:
        raise UsernameError(
            f"username {username!r} has no '?api-version=...' segment; expected "
            "{host}/{device}[/{module}]/?api-version=..."
        )
    ids = parts[1:-1]
    if len(parts) not in (3, 4) or not all(ids) or not parts[0]:
        raise UsernameError(
            f"username {username!r} must be {{host}}/{{device}}/?query or "
            "{host}/{device}/{module}/?query"
        )
    query: dict[str, str] = {}
    for entry in query_text.split("&"):
        if entry:
            key, _, value = entry.partition("=")
            query[unquote(key)] = unquote(value)
    if "api-version" not in query:
        raise UsernameError(f"username {username!r} lacks api-version in its query")
    return Username(parts[0], ids[0], ids[1] if len(ids) == 2 else None, query)


@dataclass(frozen=True)
class ConnectResult:
    code: ConnackCode
    reason: str
    identity: Identity | None = None
    username: Username | None = None
    sas: SasResult | None = None

    @property
    def accepted(self) -> bool:
        return self.code is ConnackCode.ACCEPTED


def check_connect(
    *,
    client_id: str,
    username: str | None,
    password: bytes | str | None,
    registry: IdentityRegistry,
    iothub_hostname: str,
    gateway_hostname: str,
    now: float,
    certificate_cn: str | None = None,
) -> ConnectResult:
    """Decide the CONNACK code for a CONNECT, as edgeHub does.

    ``certificate_cn``: the CN of a client certificate the TLS layer has already verified
    against the edge CA (X.509 leaf devices); it replaces the password for an identity
    marked ``x509`` when the password is empty.
    """
    not_authorized = ConnackCode.NOT_AUTHORIZED
    if username is None:
        return ConnectResult(not_authorized, "no username; the SDK always sends one")
    try:
        user = parse_username(username)
    except UsernameError as exc:
        return ConnectResult(ConnackCode.SERVER_UNAVAILABLE, str(exc))
    if client_id != user.client_id:
        return ConnectResult(
            not_authorized,
            f"client id {client_id!r} does not match the username's {user.client_id!r}",
            username=user,
        )
    identity = registry.get(user.device_id, user.module_id)
    if identity is None:
        kind = "module" if user.module_id is not None else "device"
        return ConnectResult(
            not_authorized, f"unknown {kind} identity {user.client_id!r}", username=user
        )
    secret = password.decode("utf-8", "replace") if isinstance(password, bytes) else password
    if not secret:
        if certificate_cn is not None and identity.x509:
            if certificate_cn == identity.device_id:
                return ConnectResult(
                    ConnackCode.ACCEPTED, "ok (X.509)", identity=identity, username=user
                )
            return ConnectResult(
                not_authorized,
                f"client certificate CN {certificate_cn!r} is not device {identity.device_id!r}",
                identity=identity,
                username=user,
            )
        return ConnectResult(
            not_authorized, "no password (SAS token) and no client certificate", username=user
        )
    sas = verify_token(
        secret,
        device_id=identity.device_id,
        module_id=identity.module_id,
        primary_key=identity.primary_key,
        secondary_key=identity.secondary_key,
        hostnames=(iothub_hostname, gateway_hostname),
        now=now,
    )
    code = ConnackCode.ACCEPTED if sas.ok else not_authorized
    return ConnectResult(code, sas.reason, identity=identity, username=user, sas=sas)
