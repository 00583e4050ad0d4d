"""The service API's credentials: the ``iothubowner`` policy key of a state directory, the
connection string built on it, and the check of the service SAS tokens signed with it.

``sr`` must be a name of this hub: its IoT Hub hostname, its gateway hostname, its bind
address, or the ``Host`` the client used (the SDK signs its connection string's ``HostName``,
a port included).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote

from iotedge_cli.simulator.hub.iothub.identity import generate_key
from iotedge_cli.simulator.hub.iothub.sas import MAX_CLOCK_SKEW, parse_token

__all__ = [
    "KEY_FILE",
    "POLICY_NAME",
    "check_service_token",
    "load_or_create_policy_key",
    "service_connection_string",
]

POLICY_NAME = "iothubowner"
KEY_FILE = "service.key"


def service_connection_string(host: str, key: str) -> str:
    """The ``iothubowner`` connection string of a hub reachable at ``host`` (a name or an
    address, ``:port`` included when it is not 443)."""
    return f"HostName={host};SharedAccessKeyName={POLICY_NAME};SharedAccessKey={key}"


def load_or_create_policy_key(state_dir: Path) -> str:
    """The policy key in ``state_dir/service.key``, created (32 random bytes, base64, mode
    0600) when missing; an unreadable or invalid file raises ``ValueError``."""
    path = state_dir / KEY_FILE
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate_key() + "\n")
    key = path.read_text(encoding="ascii").strip()
    try:
        if len(base64.b64decode(key, validate=True)) < 16:
            raise ValueError("too short")
    except (binascii.Error, ValueError):
        raise ValueError(
            f"{path} does not hold a base64 key of at least 16 bytes; delete it to get a new one"
        ) from None
    return key


def check_service_token(
    authorization: str | None, *, key: str, hosts: Iterable[str], now: float
) -> str | None:
    """None when ``authorization`` is a valid ``iothubowner`` token for one of ``hosts``;
    otherwise why not (one line)."""
    if not authorization:
        return "the request has no Authorization header; send a SharedAccessSignature"
    try:
        token = parse_token(authorization)
    except ValueError as exc:
        return str(exc)
    if token.skn is None or unquote(token.skn) != POLICY_NAME:
        return f"the token must be signed with the {POLICY_NAME!r} policy key (skn={POLICY_NAME})"
    audience = token.audience.lower().rstrip("/")
    names = {h.lower() for h in hosts if h}
    if audience not in names and audience.rsplit(":", 1)[0] not in names:
        return (
            f"the token's audience {token.audience!r} is not this hub ({', '.join(sorted(names))})"
        )
    digest = hmac.new(
        base64.b64decode(key), f"{token.sr}\n{token.se}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(base64.b64encode(digest), token.sig.encode("utf-8", "replace")):
        return "signature mismatch: the token was not signed with this hub's iothubowner key"
    if token.expiry + MAX_CLOCK_SKEW < now:
        return f"the token expired at se={token.expiry}; renew it"
    return None
