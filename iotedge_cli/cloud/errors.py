"""What the service SDK raises, as one-line :class:`EdgectlError` s with a hint.

Exit codes (documented in the README's "From simulator to fleet"):

* **2** — the request was wrong: 400 (invalid), 404 (no such device or deployment), 409 (it
  exists already), 412 (changed meanwhile: the etag no longer matches).
* **3** — the hub could not be used: 401/403 (the policy's key or rights were refused), 429
  (throttled), 5xx, connection refused, a name that does not resolve, a TLS failure, a timeout.

The SDK (msrest on requests) raises ``HttpOperationError`` with ``.response`` for an HTTP
answer and ``ClientRequestError`` with ``.inner_exception`` for a transport failure; both are
recognised by their attributes so this module needs no import of them. Every text taken from an
exception passes through :func:`~iotedge_cli.cloud.connection.redact`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from iotedge_cli.cloud.connection import HubConnection, redact
from iotedge_cli.errors import EdgectlError, ServiceUnavailableError, UsageError

__all__ = ["HubRequestError", "HubUnavailableError", "service_error"]


class HubRequestError(UsageError):
    """IoT Hub refused the request as wrong (exit 2)."""

    def __init__(self, message: str, hint: str | None = None, *, status: int) -> None:
        super().__init__(message, hint)
        self.status = status


class HubUnavailableError(ServiceUnavailableError):
    """IoT Hub could not be reached or used (exit 3)."""

    def __init__(self, message: str, hint: str | None = None, *, status: int | None) -> None:
        super().__init__(message, hint)
        self.status = status


_ERROR_CODE = re.compile(r"ErrorCode:(\w+)")


def service_error(
    exc: BaseException, *, action: str, conn: HubConnection, subject: str | None = None
) -> EdgectlError | None:
    """The :class:`EdgectlError` for ``exc`` raised while doing ``action`` (e.g. "get device
    'x'"); None when ``exc`` is none of the SDK's request failures."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return _http_error(status, _detail(response, conn), action, conn, subject)
    inner = getattr(exc, "inner_exception", None)
    if type(exc).__name__ == "ClientRequestError" or inner is not None:
        return _transport_error(inner if isinstance(inner, BaseException) else exc, action, conn)
    return None


def _http_error(
    status: int, detail: str, action: str, conn: HubConnection, subject: str | None
) -> EdgectlError:
    where = f"IoT Hub {conn.host_name}"
    what = subject or "it"
    suffix = f": {detail}" if detail else ""
    if status == 404:
        return HubRequestError(
            f"{action}: {what} was not found on {where} (404){suffix}",
            "check the name; `edgectl device list` and `edgectl deployment list` show what exists",
            status=status,
        )
    if status == 409:
        return HubRequestError(
            f"{action}: {what} exists already on {where} (409){suffix}",
            "pick another name, or delete the existing one first",
            status=status,
        )
    if status == 412:
        return HubRequestError(
            f"{action}: {what} changed on {where} meanwhile (412 precondition failed){suffix}",
            "read it again and repeat the command",
            status=status,
        )
    if status in (401, 403):
        return HubUnavailableError(
            f"{action}: {where} refused the credentials from {conn.source} "
            f"({status} {'unauthorized' if status == 401 else 'forbidden'}){suffix}",
            f"check that the key of policy '{conn.key_name}' is current and that the policy "
            "has registry read/write and service connect rights (iothubowner has them)",
            status=status,
        )
    if status == 429:
        return HubUnavailableError(
            f"{action}: {where} is throttling requests (429){suffix}",
            "wait a minute and try again; the hub's tier limits operations per second",
            status=status,
        )
    if status >= 500:
        return HubUnavailableError(
            f"{action}: {where} failed ({status}){suffix}",
            "try again later; if it persists, check the hub's health in the portal",
            status=status,
        )
    return HubRequestError(
        f"{action}: {where} rejected the request ({status}){suffix}",
        "check the values given (names, JSON, target condition)",
        status=status,
    )


def _detail(response: Any, conn: HubConnection) -> str:
    """The service's own message: ``ErrorCode:X; message`` bodies shortened to one line."""
    try:
        text = str(response.text or "")
    except Exception:  # an undecodable body: the status alone says enough
        return ""
    message = text
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        found = body.get("Message") or body.get("message") or body.get("error")
        if isinstance(found, dict):
            found = found.get("message")
        if isinstance(found, str):
            message = found
            try:  # IoT Hub nests a JSON document in "Message"
                inner = json.loads(found)
            except ValueError:
                inner = None
            if isinstance(inner, dict) and isinstance(inner.get("Message"), str):
                message = inner["Message"]
    message = " ".join(message.split())
    code = _ERROR_CODE.search(message)
    if code:
        rest = message.split(";", 1)[1].strip() if ";" in message else ""
        message = f"{code.group(1)}: {rest}" if rest else code.group(1)
    if len(message) > 300:
        message = message[:297] + "..."
    return redact(message, conn.key)


def _transport_error(exc: BaseException, action: str, conn: HubConnection) -> EdgectlError:
    """No HTTP answer: refused, unresolvable, TLS, timeout (all exit 3)."""
    chain = _causes(exc)
    names = {type(e).__name__ for e in chain}
    text = redact(" ".join(str(e) for e in chain), conn.key)
    where = f"IoT Hub {conn.host_name}"
    if "SSLError" in names or "CERTIFICATE_VERIFY_FAILED" in text or "SSLCertVerif" in text:
        reason = "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in text else "TLS"
        trust = (
            f"the simulator's root CA ({conn.ca_bundle}) did not verify its server certificate; "
            "restart the simulator to renew it"
            if conn.ca_bundle
            else "the server's certificate is not trusted: for a hub behind a TLS-inspecting "
            "proxy or the simulator, set REQUESTS_CA_BUNDLE to its CA certificate file"
        )
        return HubUnavailableError(
            f"{action}: TLS with {where} failed ({reason})", trust, status=None
        )
    if "Timeout" in " ".join(names) or "timed out" in text:
        return HubUnavailableError(
            f"{action}: {where} did not answer in time",
            "check the network (and proxy settings) and try again",
            status=None,
        )
    if "Name or service not known" in text or "NameResolution" in text or "getaddrinfo" in text:
        return HubUnavailableError(
            f"{action}: the host name {conn.host_name} does not resolve",
            f"check HostName in the connection string from {conn.source}",
            status=None,
        )
    if "refused" in text.lower():
        hint = (
            "is the simulator running? `edgectl simulate status`"
            if conn.ca_bundle
            else f"check HostName in the connection string from {conn.source}, and the network"
        )
        return HubUnavailableError(f"{action}: {where} refused the connection", hint, status=None)
    if "RetryError" in names or "too many" in text.lower():
        return HubUnavailableError(
            f"{action}: {where} kept failing (retries exhausted)",
            "it may be throttling or failing: wait a minute and try again",
            status=None,
        )
    short = text.splitlines()[0] if text else type(exc).__name__
    return HubUnavailableError(
        f"{action}: cannot reach {where}: {short[:200]}",
        "check the network, proxy settings and HostName",
        status=None,
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``inner_exception``, ``__cause__``, urllib3's ``reason``)."""
    seen: list[BaseException] = []
    current: Any = exc
    while isinstance(current, BaseException) and current not in seen and len(seen) < 10:
        seen.append(current)
        current = (
            getattr(current, "inner_exception", None)
            or getattr(current, "reason", None)
            or current.__cause__
            or current.__context__
            or (current.args[0] if current.args else None)
        )
    return seen
