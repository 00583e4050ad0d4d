"""Shared access signature (SAS) tokens: build them as azure-iot-device does, verify them as
edgeHub does (hub-protocol §3.3).

A token is ``SharedAccessSignature sr={quote(resource_uri, safe='')}&sig={quote(b64 hmac)}&se={expiry}``
where the HMAC-SHA256 (keyed with the base64-decoded device or module key) covers
``sr + "\\n" + se``. Verification computes the HMAC over ``sr`` and ``se`` *exactly as they
appear in the token* (still percent-encoded, whatever the case of the escapes), tries the
primary key and then the secondary key, allows 300 s of clock skew past ``se``, and checks the
audience: the decoded ``sr`` must be ``host/devices/{d}`` or ``host/devices/{d}/modules/{m}``
for the connecting identity, with ``host`` the IoT Hub hostname or the gateway hostname (case
ignored). Time is always passed in (``now``, seconds since the epoch).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote, unquote

__all__ = [
    "DEFAULT_TTL",
    "MAX_CLOCK_SKEW",
    "SasFailure",
    "SasResult",
    "SasToken",
    "build_token",
    "generate_token",
    "parse_token",
    "resource_uri",
    "sign",
    "verify_token",
]

MAX_CLOCK_SKEW = 300  # seconds; edgeHub's SharedAccessSignature MaxClockSkew
DEFAULT_TTL = 3600  # the SDK's default sastoken_ttl
_PREFIX = "SharedAccessSignature "


class SasFailure(Enum):
    MALFORMED = "malformed"
    EXPIRED = "expired"
    SIGNATURE_MISMATCH = "signature mismatch"
    WRONG_AUDIENCE = "wrong audience"
    POLICY_KEY = "policy key"


@dataclass(frozen=True)
class SasToken:
    """A parsed token; ``sr`` and ``se`` exactly as sent, ``sig`` URL-decoded."""

    sr: str
    sig: str
    se: str
    skn: str | None
    expiry: int

    @property
    def audience(self) -> str:
        """``sr`` URL-decoded: ``host/devices/{d}[/modules/{m}]``."""
        return unquote(self.sr)


@dataclass(frozen=True)
class SasResult:
    """The outcome of :func:`verify_token`; ``reason`` is one line naming what was wrong."""

    ok: bool
    reason: str
    failure: SasFailure | None = None
    key: str | None = None  # "primary" | "secondary" when ok
    expiry: int | None = None

    def __bool__(self) -> bool:
        return self.ok


class _Malformed(ValueError):
    pass


def resource_uri(host: str, device_id: str, module_id: str | None = None) -> str:
    """``{host}/devices/{d}`` or ``{host}/devices/{d}/modules/{m}`` (not yet encoded)."""
    uri = f"{host}/devices/{device_id}"
    return uri if module_id is None else f"{uri}/modules/{module_id}"


def _key_bytes(key: str) -> bytes:
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"shared access key {key[:6]!r}... is not valid base64") from exc


def sign(key: str, string_to_sign: str) -> str:
    """``base64(HMAC-SHA256(b64decode(key), utf8(string_to_sign)))``."""
    digest = hmac.new(_key_bytes(key), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def build_token(uri: str, key: str, expiry: int, key_name: str | None = None) -> str:
    """A token for ``uri`` (unencoded resource URI) valid until ``expiry`` (epoch seconds)."""
    sr = quote(uri, safe="")
    se = str(expiry)
    sig = quote(sign(key, f"{sr}\n{se}"), safe="")
    token = f"{_PREFIX}sr={sr}&sig={sig}&se={se}"
    return token if key_name is None else f"{token}&skn={quote(key_name, safe='')}"


def generate_token(
    host: str,
    device_id: str,
    module_id: str | None,
    key: str,
    *,
    now: float,
    ttl: int = DEFAULT_TTL,
) -> str:
    """The token the SDK sends: audience ``host/devices/{d}[/modules/{m}]``,
    ``se = int(now + ttl)``."""
    return build_token(resource_uri(host, device_id, module_id), key, int(now + ttl))


def parse_token(token: str) -> SasToken:
    """Split a token into its fields. Raises ValueError naming what is wrong."""
    if not token.startswith(_PREFIX):
        raise _Malformed("the token must start with 'SharedAccessSignature ' (one space)")
    fields: dict[str, str] = {}
    for entry in token[len(_PREFIX) :].split("&"):
        name, eq, value = entry.partition("=")
        if not eq or not name or name != name.strip():
            raise _Malformed(f"token field {entry!r} is not name=value")
        lowered = name.lower()
        if lowered in fields:
            raise _Malformed(f"token field {name!r} appears twice")
        fields[lowered] = value
    missing = [f for f in ("sr", "sig", "se") if not fields.get(f)]
    if missing:
        raise _Malformed(f"token lacks {', '.join(missing)}; it needs sr, sig and se")
    try:
        expiry = int(fields["se"])
    except ValueError:
        raise _Malformed(f"se={fields['se']!r} is not an integer expiry time") from None
    skn = fields.get("skn")
    return SasToken(fields["sr"], unquote(fields["sig"]), fields["se"], skn, expiry)


def _audience_error(
    token: SasToken, device_id: str, module_id: str | None, hosts: list[str]
) -> str | None:
    parts = token.audience.split("/")
    expected = resource_uri("{host}", device_id, module_id)
    if len(parts) == 3 and parts[1].lower() == "devices":
        token_device, token_module = parts[2], None
    elif len(parts) == 5 and parts[1].lower() == "devices" and parts[3].lower() == "modules":
        token_device, token_module = parts[2], parts[4]
    else:
        return f"audience {token.audience!r} is not host/devices/<d>[/modules/<m>]; expected {expected}"
    if parts[0].lower() not in hosts:
        return (
            f"audience host {parts[0]!r} is neither the IoT Hub nor the gateway hostname "
            f"({' or '.join(hosts)})"
        )
    if (
        token_device.lower() != device_id.lower()
        or (token_module or "").lower() != (module_id or "").lower()
    ):
        return f"audience {token.audience!r} is not this identity's; expected {expected}"
    return None


def verify_token(
    token: str,
    *,
    device_id: str,
    module_id: str | None,
    primary_key: str,
    secondary_key: str | None,
    hostnames: Iterable[str],
    now: float,
) -> SasResult:
    """Verify ``token`` for the identity ``device_id``/``module_id`` as edgeHub does.

    ``hostnames`` are the accepted audience hosts (the IoT Hub hostname and the gateway
    hostname). A token naming a shared access policy (``skn``) is refused: only device and
    module keys exist in the simulator.
    """
    try:
        parsed = parse_token(token)
    except ValueError as exc:
        return SasResult(False, str(exc), SasFailure.MALFORMED)
    if parsed.skn is not None:
        return SasResult(
            False,
            f"the token is signed with policy key {unquote(parsed.skn)!r} (skn); "
            "sign it with the device or module key instead",
            SasFailure.POLICY_KEY,
        )
    hosts = [h.lower() for h in hostnames if h]
    problem = _audience_error(parsed, device_id, module_id, hosts)
    if problem is not None:
        return SasResult(False, problem, SasFailure.WRONG_AUDIENCE)
    message = f"{parsed.sr}\n{parsed.se}".encode()
    given = parsed.sig.encode("utf-8", "replace")
    which = None
    for name, key in (("primary", primary_key), ("secondary", secondary_key)):
        if key and hmac.compare_digest(
            base64.b64encode(hmac.new(_key_bytes(key), message, hashlib.sha256).digest()), given
        ):
            which = name
            break
    if which is None:
        return SasResult(
            False,
            "signature mismatch: the token was not signed with this identity's primary or "
            "secondary key",
            SasFailure.SIGNATURE_MISMATCH,
        )
    if parsed.expiry + MAX_CLOCK_SKEW < now:
        return SasResult(
            False,
            f"the token expired at se={parsed.expiry} ({int(now) - parsed.expiry} s ago, "
            f"more than the {MAX_CLOCK_SKEW} s allowed skew); renew it",
            SasFailure.EXPIRED,
            expiry=parsed.expiry,
        )
    return SasResult(True, "ok", None, which, parsed.expiry)
