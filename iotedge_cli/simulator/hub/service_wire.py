"""IoT Hub's service API on the wire: error answers (``{"Message": "ErrorCode:<code>;<text>",
"ExceptionMessage": "..."}`` with an ``iothub-errorcode`` header), JSON bodies, etags and the
``If-Match`` check (412 on a mismatch)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

from iotedge_cli.simulator.hub.http import Request, Response
from iotedge_cli.simulator.hub.iothub.twin import TwinPatchError, parse_patch

__all__ = [
    "NEVER",
    "ServiceError",
    "check_if_match",
    "checked_object",
    "error_response",
    "etag_of",
    "json_body",
    "json_response",
    "twin_etag",
    "utc_now",
]

NEVER = "0001-01-01T00:00:00Z"  # IoT Hub's "no time yet"


class ServiceError(Exception):
    """An IoT Hub error answer: HTTP status, IoT Hub error code, one-line message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def utc_now() -> str:
    return (
        dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def json_response(status: int, data: Any, etag: str | None = None) -> Response:
    headers = [("Content-Type", "application/json; charset=utf-8")]
    if etag is not None:
        headers.append(("ETag", f'"{etag}"'))
    return Response(status, json.dumps(data).encode("utf-8"), headers)


def error_response(exc: ServiceError) -> Response:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "Message": f"ErrorCode:{exc.code};{exc.message}",
        "ExceptionMessage": f"Tracking ID:{uuid.uuid4().hex}-G:0-TimeStamp:{stamp}",
    }
    response = json_response(exc.status, body)
    response.headers.append(("iothub-errorcode", exc.code))
    return response


def etag_of(version: int) -> str:
    """A device or configuration etag (opaque, base64 like IoT Hub's)."""
    return base64.b64encode(str(version).encode()).decode()


def twin_etag(version: int) -> str:
    return base64.b64encode(version.to_bytes(8, "big")).decode()


def check_if_match(request: Request, current: str) -> None:
    raw = request.header("if-match")
    if raw is None or raw.strip() in ("*", '"*"'):  # the SDK quotes its default "*"
        return
    wanted = raw.strip()
    if wanted.startswith("W/"):
        wanted = wanted[2:]
    if wanted.strip('"') != current:
        raise ServiceError(
            412,
            "PreconditionFailed",
            f"Precondition failed: the etag {raw!r} does not match the current {current!r}",
        )


def json_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(400, "ArgumentInvalid", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ServiceError(400, "ArgumentInvalid", "the body must be a JSON object")
    return data


def checked_object(value: Any, what: str) -> dict[str, Any]:
    """A tags or desired-properties object checked with IoT Hub's twin rules."""
    if value is None:
        return {}
    try:
        return parse_patch(json.dumps(value).encode("utf-8"), what)
    except TwinPatchError as exc:
        raise ServiceError(400, "ArgumentInvalid", str(exc)) from None
