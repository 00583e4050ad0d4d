"""Direct methods: the HTTPS ``invoke_method`` request and response shapes (hub-protocol §5),
and the JSON carried by the MQTT method request/response.

A module calls ``POST /twins/{d}/modules/{m}/methods?api-version=2019-10-01`` (or
``/twins/{d}/methods`` for a device target) on the gateway with ``x-ms-edge-moduleId: d/m``,
its own SAS token in ``Authorization`` and a body
``{"methodName", "payload", "responseTimeoutInSeconds", "connectTimeoutInSeconds"}``. The hub
answers ``200 {"status", "payload"}``, ``404 {"message": "Client {id} not found"}``, ``504``
on timeout, ``400``/``401`` for bad requests, all as ``application/json; charset=utf-8``.

As IoT Hub, a target that is not connected (or not subscribed to methods) is waited for up to
``connectTimeoutInSeconds`` (default 0: 404 at once; at most 300); the response timeout starts
once the request is sent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus, urlsplit

from iotedge_cli.simulator.hub.iothub.sas import verify_token

if TYPE_CHECKING:
    from iotedge_cli.simulator.hub.iothub.identity import Identity, IdentityRegistry

__all__ = [
    "API_VERSION",
    "CONTENT_TYPE",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_RESPONSE_TIMEOUT",
    "MAX_CONNECT_TIMEOUT",
    "HttpResult",
    "InvokeError",
    "InvokeRequest",
    "InvokeTarget",
    "authenticate_invoke",
    "bad_request",
    "decode_response_payload",
    "encode_request_payload",
    "not_found",
    "parse_actor_header",
    "parse_invoke_body",
    "parse_invoke_path",
    "result",
    "timed_out",
    "unauthorized",
]

API_VERSION = "2019-10-01"
CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_RESPONSE_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 0.0
MAX_CONNECT_TIMEOUT = 300.0  # IoT Hub's limit for connectTimeoutInSeconds
ACTOR_HEADER = "x-ms-edge-moduleId"


@dataclass(frozen=True)
class HttpResult:
    """An HTTP response of the invoke API: status code and JSON body."""

    status: int
    body: dict[str, Any]

    def encode(self) -> bytes:
        return json.dumps(self.body).encode("utf-8")

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", CONTENT_TYPE)]


class InvokeError(Exception):
    """A request the hub refuses; ``response`` is what to send back."""

    def __init__(self, response: HttpResult) -> None:
        super().__init__(response.body.get("message", ""))
        self.response = response


def bad_request(message: str) -> HttpResult:
    return HttpResult(400, {"message": message})


def unauthorized(message: str) -> HttpResult:
    return HttpResult(401, {"message": message})


def not_found(target_id: str, waited: float = 0.0) -> HttpResult:
    """The target is not connected or has not subscribed to methods (``waited``: the connect
    timeout that passed without it doing so)."""
    message = f"Client {target_id} not found"
    if waited > 0:
        message += f": not connected and subscribed to methods within {waited:g} s"
    return HttpResult(404, {"message": message})


def timed_out(target_id: str, method_name: str, seconds: float) -> HttpResult:
    return HttpResult(
        504,
        {
            "message": f"Timed out waiting for device to respond to method request "
            f"{method_name!r} on {target_id} after {seconds:g} s"
        },
    )


def result(status: int, payload: Any) -> HttpResult:
    """``200 {"status": <the target's status>, "payload": <its JSON or null>}``."""
    return HttpResult(200, {"status": status, "payload": payload})


@dataclass(frozen=True)
class InvokeTarget:
    device_id: str
    module_id: str | None

    @property
    def id(self) -> str:
        return self.device_id if self.module_id is None else f"{self.device_id}/{self.module_id}"


def parse_invoke_path(target: str) -> InvokeTarget | None:
    """``/twins/{d}[/modules/{m}]/methods[?api-version=...]`` -> the target (ids were
    ``quote_plus``-ed by the SDK), or None when the path is not a method invocation."""
    path = urlsplit(target).path
    parts = path.split("/")
    if len(parts) == 4 and parts[:2] == ["", "twins"] and parts[3] == "methods" and parts[2]:
        return InvokeTarget(unquote_plus(parts[2]), None)
    if (
        len(parts) == 6
        and parts[:2] == ["", "twins"]
        and parts[3] == "modules"
        and parts[5] == "methods"
        and parts[2]
        and parts[4]
    ):
        return InvokeTarget(unquote_plus(parts[2]), unquote_plus(parts[4]))
    return None


def parse_actor_header(value: str | None) -> tuple[str, str]:
    """``x-ms-edge-moduleId: d/m`` -> ``(d, m)``; raises :class:`InvokeError` (400)."""
    parts = (value or "").split("/")
    if len(parts) != 2 or not all(parts):
        raise InvokeError(bad_request(f"Invalid header value for {ACTOR_HEADER}"))
    return parts[0], parts[1]


def authenticate_invoke(
    actor_header: str | None,
    authorization: str | None,
    *,
    registry: IdentityRegistry,
    edge_device_id: str,
    iothub_hostname: str,
    gateway_hostname: str,
    now: float,
) -> Identity:
    """The calling module, checked as edgeHub's ``HttpRequestAuthenticator`` does: a well-formed
    ``x-ms-edge-moduleId`` (else 400), a module of the edge device (else 401) whose own SAS
    token is in ``Authorization`` (else 401). Raises :class:`InvokeError`."""
    device_id, module_id = parse_actor_header(actor_header)
    if device_id != edge_device_id:
        raise InvokeError(unauthorized("Only modules on the same device can invoke DirectMethods"))
    identity = registry.get(device_id, module_id)
    if identity is None:
        raise InvokeError(unauthorized(f"Unknown module {device_id}/{module_id}"))
    if not authorization:
        raise InvokeError(unauthorized("Authorization header with a SAS token is required"))
    sas = verify_token(
        authorization,
        device_id=device_id,
        module_id=module_id,
        primary_key=identity.primary_key,
        secondary_key=identity.secondary_key,
        hostnames=(iothub_hostname, gateway_hostname),
        now=now,
    )
    if not sas.ok:
        raise InvokeError(unauthorized(f"Unable to authenticate {identity.id}: {sas.reason}"))
    return identity


@dataclass(frozen=True)
class InvokeRequest:
    method_name: str
    payload: Any
    response_timeout: float = DEFAULT_RESPONSE_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    def to_json(self) -> dict[str, Any]:
        """The body as the SDK sends it."""
        return {
            "methodName": self.method_name,
            "payload": self.payload,
            "responseTimeoutInSeconds": self.response_timeout,
            "connectTimeoutInSeconds": self.connect_timeout,
        }


def _seconds(body: dict[str, Any], key: str, default: float, high: float = math.inf) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvokeError(bad_request(f"{key} must be a number of seconds, not {value!r}"))
    if value < 0:
        raise InvokeError(bad_request(f"{key} must not be negative, got {value}"))
    if value > high:
        raise InvokeError(bad_request(f"{key} must be at most {high:g}, got {value}"))
    return float(value)


def parse_invoke_body(body: bytes) -> InvokeRequest:
    """Parse the request body; raises :class:`InvokeError` (400) naming the bad field.

    ``methodName`` is required, ``payload`` is any JSON, ``responseTimeoutInSeconds``
    defaults to 30 and ``connectTimeoutInSeconds`` to 0 (at most 300).
    """
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise InvokeError(bad_request(f"the request body is not JSON: {exc}")) from None
    if not isinstance(data, dict):
        raise InvokeError(bad_request("the request body must be a JSON object with methodName"))
    name = data.get("methodName")
    if not isinstance(name, str) or not name:
        raise InvokeError(bad_request("methodName is required and must be a non-empty string"))
    return InvokeRequest(
        name,
        data.get("payload"),
        _seconds(data, "responseTimeoutInSeconds", DEFAULT_RESPONSE_TIMEOUT),
        _seconds(data, "connectTimeoutInSeconds", DEFAULT_CONNECT_TIMEOUT, MAX_CONNECT_TIMEOUT),
    )


def encode_request_payload(payload: Any) -> bytes:
    """The MQTT payload of a method request: always valid JSON (``null`` for None)."""
    return json.dumps(payload).encode("utf-8")


def decode_response_payload(payload: bytes) -> Any:
    """A method response's MQTT payload as JSON; empty is None and bytes that are not JSON
    are returned as text, so a sloppy module still completes the call."""
    if not payload.strip():
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")
