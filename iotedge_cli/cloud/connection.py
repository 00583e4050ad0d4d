"""IoT Hub service connection strings: parse, check, rebuild, redact.

``HostName=<hub>.azure-devices.net;SharedAccessKeyName=<policy>;SharedAccessKey=<base64>`` is
what the service SDK needs (a *shared access policy* of the hub, e.g. ``iothubowner``). A device
or module connection string (``DeviceId=``) authenticates a device, not the registry, so it is
refused with a hint rather than handed to the SDK to fail later with a 401.

The key never reaches a message: errors describe *which part* is wrong, and :func:`redact`
scrubs keys and SAS signatures from any text (an exception's, a URL) before it is shown.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from iotedge_cli.errors import UsageError

__all__ = [
    "ENV_VAR",
    "HubConnection",
    "device_connection_string",
    "parse_connection_string",
    "redact",
    "resolve_connection_string",
]

ENV_VAR = "EDGECTL_HUB_CONNECTION_STRING"
REDACTED = "<redacted>"

_HOST_NAME = "HostName"
_KEY_NAME = "SharedAccessKeyName"
_KEY = "SharedAccessKey"
_KNOWN = {_HOST_NAME, _KEY_NAME, _KEY, "DeviceId", "ModuleId", "GatewayHostName"}
# Secrets as they appear in connection strings, SAS tokens and URLs.
_SECRET = re.compile(
    r"(?P<name>SharedAccessKey|SharedAccessSignature|PrimaryKey|SecondaryKey|sig|primaryKey|"
    r"secondaryKey)(?P<sep>\"?\s*[=:]\s*\"?)(?P<value>[^;&\s\"',]+)"
)
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")

_WHERE_TO_FIND = (
    "use a shared access policy's connection string: `az iot hub connection-string show "
    "--hub-name HUB --policy-name iothubowner`, or the portal's Shared access policies"
)


@dataclass(frozen=True)
class HubConnection:
    """A checked service connection. ``key`` stays out of ``repr`` and of every message."""

    host_name: str
    key_name: str
    key: str = field(repr=False)
    source: str  # where it came from, for messages: "--hub-connection-string", ...
    ca_bundle: Path | None = None  # CA certificates to trust (the simulator's root); None: system

    @property
    def connection_string(self) -> str:
        """The normalised string the SDK gets (contains the key: never print or log it)."""
        return f"{_HOST_NAME}={self.host_name};{_KEY_NAME}={self.key_name};{_KEY}={self.key}"

    @property
    def hub_name(self) -> str:
        """``myhub`` for ``myhub.azure-devices.net``; the host itself for an IP address."""
        host = self.host_name.rsplit(":", 1)[0]
        return host if host.replace(".", "").isdigit() else host.split(".", 1)[0]


def parse_connection_string(
    text: str, *, source: str, ca_bundle: Path | None = None
) -> HubConnection:
    """Check ``text`` and return its parts; :class:`UsageError` (never quoting it) when bad."""

    def bad(problem: str, hint: str = _WHERE_TO_FIND) -> UsageError:
        return UsageError(f"the IoT Hub connection string from {source} {problem}", hint=hint)

    parts: dict[str, str] = {}
    for item in text.strip().strip(";").split(";"):
        name, sep, value = item.strip().partition("=")
        if not sep or not name:
            raise bad("is not of the form HostName=...;SharedAccessKeyName=...;SharedAccessKey=...")
        if name not in _KNOWN:
            raise bad(f"has an unknown part {name!r} (names are case-sensitive)")
        if name in parts:
            raise bad(f"has {name} twice")
        parts[name] = value.strip()
    if "DeviceId" in parts or "ModuleId" in parts:
        raise bad(
            "is a device or module connection string; managing devices and deployments needs "
            "a service connection string"
        )
    for name in (_HOST_NAME, _KEY_NAME, _KEY):
        if not parts.get(name):
            raise bad(f"has no {name}")
    host = parts[_HOST_NAME]
    if not _HOST.match(host):
        raise bad(f"has an invalid HostName {host!r}")
    try:
        base64.b64decode(parts[_KEY], validate=True)
    except (binascii.Error, ValueError):
        raise bad(
            "has a SharedAccessKey that is not base64 (it may be truncated)",
            hint="copy the whole connection string again; " + _WHERE_TO_FIND,
        ) from None
    return HubConnection(host, parts[_KEY_NAME], parts[_KEY], source, ca_bundle)


def resolve_connection_string(
    option: str | None, environ: dict[str, str] | os._Environ[str] | None = None
) -> HubConnection:
    """The connection from ``--hub-connection-string``, else ``$EDGECTL_HUB_CONNECTION_STRING``."""
    env = os.environ if environ is None else environ
    if option:
        return parse_connection_string(option, source="--hub-connection-string")
    value = env.get(ENV_VAR)
    if value:
        return parse_connection_string(value, source=f"${ENV_VAR}")
    raise UsageError(
        "no IoT Hub to talk to",
        hint=f"set ${ENV_VAR} (or pass --hub-connection-string) to a service connection "
        "string, or use --to-simulator for the local simulator",
    )


def device_connection_string(host_name: str, device_id: str, key: str | None) -> str:
    """A device's connection string: its SAS key, or ``x509=true`` for certificate devices."""
    if key is None:
        return f"HostName={host_name};DeviceId={device_id};x509=true"
    return f"HostName={host_name};DeviceId={device_id};SharedAccessKey={key}"


def redact(text: str, *secrets: str) -> str:
    """``text`` with keys, SAS signatures and each of ``secrets`` replaced by ``<redacted>``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _SECRET.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)
