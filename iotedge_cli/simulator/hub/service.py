"""The subset of IoT Hub's *service* REST API that ``azure-iot-hub`` uses for the registry
manager (devices, module identities, device and module twins) and the configuration
manager (configurations, ``applyConfigurationContent``), on the hub's HTTPS port.

Shapes are IoT Hub's (api-version 2021-04-12, what the SDK's msrest models (de)serialize),
errors too: ``{"Message": "ErrorCode:<code>;<text>", "ExceptionMessage": "..."}`` with an
``iothub-errorcode`` header; 401 for a missing or bad policy token, 404, 409 (create what
exists), 412 (``If-Match`` etag mismatch), 400 (bad body).

Authentication: a service SAS signed with the ``iothubowner`` policy key, which the hub
creates once per state directory in ``<state_dir>/service.key`` (0600). ``sr`` must be a
name of this hub: its IoT Hub hostname, its gateway hostname, its bind address, or the
``Host`` the client used (the SDK signs its connection string's ``HostName``, a port
included).

Devices: the simulator's own edge device (always present, cannot be deleted), the hub's
leaf devices (``simulate device add``), and devices created through this API (stored;
they cannot connect to the simulator). Only the simulator's device runs modules: content
applied to another edge device is stored and its module twins are readable.

Deployments: applying content to the simulator's device calls ``Hub.apply_deployment``.
Automatic and layered deployments are re-evaluated at once whenever a configuration or a
device's tags change (IoT Hub does it asynchronously, within minutes), see
:mod:`iotedge_cli.simulator.hub.iothub.deployments`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from iotedge_cli.simulator.hub.http import Request, Response, Router
from iotedge_cli.simulator.hub.iothub import deployments as deploys
from iotedge_cli.simulator.hub.iothub.identity import generate_key
from iotedge_cli.simulator.hub.iothub.sas import MAX_CLOCK_SKEW, parse_token
from iotedge_cli.simulator.hub.iothub.twin import (
    Twin,
    TwinPatchError,
    diff_patch,
    merge_patch,
    parse_patch,
)
from iotedge_cli.simulator.hub.service_store import ServiceStore

if TYPE_CHECKING:
    from iotedge_cli.simulator.hub.config import HubConfig
    from iotedge_cli.simulator.hub.hub import Hub

__all__ = [
    "API_VERSION",
    "KEY_FILE",
    "POLICY_NAME",
    "ServiceApi",
    "ServiceError",
    "check_service_token",
    "load_or_create_policy_key",
    "mount_service",
    "service_connection_string",
]

log = logging.getLogger(__name__)

API_VERSION = "2021-04-12"
POLICY_NAME = "iothubowner"
KEY_FILE = "service.key"
NEVER = "0001-01-01T00:00:00Z"  # IoT Hub's "no time yet"
_DEVICE_ID = re.compile(r"^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$")
_THUMBPRINT = re.compile(r"^(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$")
_AUTH_TYPES = ("sas", "selfSigned", "certificateAuthority")
_SYSTEM_MODULES = ("$edgeAgent", "$edgeHub")


# --- keys, connection strings, tokens ---------------------------------------------------


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


# --- errors and small helpers -----------------------------------------------------------


class ServiceError(Exception):
    """An IoT Hub error answer: HTTP status, IoT Hub error code, one-line message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _now() -> str:
    return (
        dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _json(status: int, data: Any, etag: str | None = None) -> Response:
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
    response = _json(exc.status, body)
    response.headers.append(("iothub-errorcode", exc.code))
    return response


def _etag(version: int) -> str:
    """A device or configuration etag (opaque, base64 like IoT Hub's)."""
    return base64.b64encode(str(version).encode()).decode()


def _twin_etag(version: int) -> str:
    return base64.b64encode(version.to_bytes(8, "big")).decode()


def _check_if_match(request: Request, current: str) -> None:
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


def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError(400, "ArgumentInvalid", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ServiceError(400, "ArgumentInvalid", "the body must be a JSON object")
    return data


def _checked(value: Any, what: str) -> dict[str, Any]:
    """A tags or desired-properties object checked with IoT Hub's twin rules."""
    if value is None:
        return {}
    try:
        return parse_patch(json.dumps(value).encode("utf-8"), what)
    except TwinPatchError as exc:
        raise ServiceError(400, "ArgumentInvalid", str(exc)) from None


def _auth_from_body(body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """The ``authentication`` object of a device create/update, keys generated when absent."""
    raw = body.get("authentication") or {}
    if not isinstance(raw, dict):
        raise ServiceError(400, "ArgumentInvalid", "authentication must be an object")
    kind = raw.get("type") or "sas"
    if kind not in _AUTH_TYPES:
        raise ServiceError(
            400, "ArgumentInvalid", f"authentication type {kind!r} is not one of {_AUTH_TYPES}"
        )
    symmetric: dict[str, Any] = {"primaryKey": None, "secondaryKey": None}
    thumbprint: dict[str, Any] = {"primaryThumbprint": None, "secondaryThumbprint": None}
    if kind == "sas":
        given = raw.get("symmetricKey") or {}
        previous = (old or {}).get("symmetricKey") or {}
        for name in ("primaryKey", "secondaryKey"):
            value = given.get(name) or previous.get(name) or generate_key()
            try:
                size = len(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError, TypeError):
                size = 0
            if not 16 <= size <= 64:
                raise ServiceError(
                    400, "ArgumentInvalid", f"{name} must be a base64 key of 16 to 64 bytes"
                )
            symmetric[name] = value
    elif kind == "selfSigned":
        given = raw.get("x509Thumbprint") or {}
        for name in ("primaryThumbprint", "secondaryThumbprint"):
            value = given.get(name)
            if value is not None and not (isinstance(value, str) and _THUMBPRINT.match(value)):
                raise ServiceError(
                    400, "ArgumentInvalid", f"{name} must be 40 or 64 hexadecimal digits"
                )
            thumbprint[name] = value.upper() if isinstance(value, str) else None
        if thumbprint["primaryThumbprint"] is None:
            raise ServiceError(
                400, "ArgumentInvalid", "a selfSigned device needs a primaryThumbprint"
            )
    return {"symmetricKey": symmetric, "x509Thumbprint": thumbprint, "type": kind}


def _new_twin_state() -> dict[str, Any]:
    return {"tags": {}, "twin": Twin().to_dict(), "twinVersion": 1}


def _generation_id() -> str:
    return str(int.from_bytes(os.urandom(7), "big"))


# --- the API ----------------------------------------------------------------------------


Handler = Callable[[Request], Awaitable[Response]]


class ServiceApi:
    """The service API of one hub; state lives in the hub's database."""

    def __init__(self, hub: Hub, config: HubConfig) -> None:
        self.hub = hub
        self.config = config
        self.key = load_or_create_policy_key(config.state_dir)
        self.db = ServiceStore(hub.store)
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ plumbing

    def mount(self, router: Router) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/devices", self.list_devices),
            ("GET", "/devices/{id}", self.get_device),
            ("PUT", "/devices/{id}", self.put_device),
            ("DELETE", "/devices/{id}", self.delete_device),
            ("GET", "/devices/{id}/modules", self.list_modules),
            ("GET", "/devices/{id}/modules/{mid}", self.get_module),
            ("POST", "/devices/{id}/applyConfigurationContent", self.apply_content),
            ("GET", "/twins/{id}", self.get_twin),
            ("PATCH", "/twins/{id}", self.update_twin),
            ("PUT", "/twins/{id}", self.replace_twin),
            ("GET", "/twins/{id}/modules/{mid}", self.get_module_twin),
            ("PATCH", "/twins/{id}/modules/{mid}", self.update_module_twin),
            ("PUT", "/twins/{id}/modules/{mid}", self.replace_module_twin),
            ("GET", "/configurations", self.list_configurations),
            ("GET", "/configurations/{id}", self.get_configuration),
            ("PUT", "/configurations/{id}", self.put_configuration),
            ("DELETE", "/configurations/{id}", self.delete_configuration),
        ]
        for method, path, handler in routes:
            router.add(method, path, self._guard(handler))

    def _guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            try:
                self.authenticate(request)
                if not request.query.get("api-version"):
                    raise ServiceError(
                        400,
                        "InvalidProtocolVersion",
                        f"the api-version query parameter is required (use {API_VERSION})",
                    )
                async with self._lock:
                    return await handler(request)
            except ServiceError as exc:
                if exc.status >= 500:
                    log.error("service API %s %s: %s", request.method, request.path, exc.message)
                return error_response(exc)

        return guarded

    def authenticate(self, request: Request) -> None:
        host = request.header("host") or ""
        hosts = (
            self.config.iothub_hostname,
            self.config.gateway_hostname,
            self.config.bind,
            host,
            host.rsplit(":", 1)[0],
        )
        problem = check_service_token(
            request.header("authorization"), key=self.key, hosts=hosts, now=time.time()
        )
        if problem is not None:
            log.warning("service API %s %s refused: %s", request.method, request.path, problem)
            raise ServiceError(401, "IotHubUnauthorizedAccess", f"Unauthorized: {problem}")

    # ------------------------------------------------------------------ device records

    @property
    def own_id(self) -> str:
        return self.config.device_id

    def _leaf(self, device_id: str) -> Any:
        ident = self.hub.registry.get(device_id)
        return ident if ident is not None and ident.module_id is None else None

    def _record(self, device_id: str) -> dict[str, Any]:
        """The device's record (created for the simulator's device and hub leaves on first
        use); ``ServiceError(404)`` for an unknown device."""
        record = self.db.device(device_id)
        if record is not None:
            return record
        if device_id == self.own_id:
            kind, edge = "simulator", True
        elif self._leaf(device_id) is not None:
            kind, edge = "leaf", False
        else:
            raise ServiceError(404, "DeviceNotFound", f"Device {device_id} not registered")
        record = {
            "kind": kind,
            "deviceId": device_id,
            "generationId": _generation_id(),
            "etagVersion": 1,
            "status": "enabled",
            "statusReason": None,
            "statusUpdatedTime": NEVER,
            "capabilities": {"iotEdge": edge},
            "parentScopes": [],
            "authentication": {
                "symmetricKey": {"primaryKey": generate_key(), "secondaryKey": generate_key()},
                "x509Thumbprint": {"primaryThumbprint": None, "secondaryThumbprint": None},
                "type": "sas",
            },
            **_new_twin_state(),
        }
        self.db.put_device(device_id, record)
        self.db.commit()
        return record

    def _all_records(self) -> list[dict[str, Any]]:
        ids = [self.own_id]
        ids += [i.device_id for i in self.hub.registry if i.module_id is None]
        ids += [d for d in self.db.devices() if d not in ids]
        records = []
        for device_id in ids:
            with contextlib.suppress(ServiceError):
                records.append(self._record(device_id))
        return records

    def _authentication(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["kind"] == "leaf":
            ident = self._leaf(record["deviceId"])
            if ident is not None:
                x509 = bool(ident.x509)
                return {
                    "symmetricKey": {
                        "primaryKey": None if x509 else ident.primary_key,
                        "secondaryKey": None if x509 else ident.secondary_key,
                    },
                    "x509Thumbprint": {"primaryThumbprint": None, "secondaryThumbprint": None},
                    "type": "certificateAuthority" if x509 else "sas",
                }
        return dict(record["authentication"])

    def _connected(self, device_id: str) -> bool:
        status = self.hub.status()
        return any(
            i.get("connected") and i.get("deviceId") == device_id
            for i in status.get("identities", [])
        )

    def _scope(self, record: dict[str, Any]) -> str | None:
        if record["capabilities"].get("iotEdge"):
            return f"ms-azure-iot-edge://{record['deviceId']}-{record['generationId']}"
        return record.get("deviceScope")

    def _device_json(self, record: dict[str, Any]) -> dict[str, Any]:
        connected = self._connected(record["deviceId"])
        return {
            "deviceId": record["deviceId"],
            "generationId": record["generationId"],
            "etag": _etag(record["etagVersion"]),
            "connectionState": "Connected" if connected else "Disconnected",
            "status": record["status"],
            "statusReason": record.get("statusReason"),
            "connectionStateUpdatedTime": NEVER,
            "statusUpdatedTime": record.get("statusUpdatedTime") or NEVER,
            "lastActivityTime": NEVER,
            "cloudToDeviceMessageCount": 0,
            "authentication": self._authentication(record),
            "capabilities": dict(record["capabilities"]),
            "deviceScope": self._scope(record),
            "parentScopes": list(record.get("parentScopes") or []),
        }

    # ------------------------------------------------------------------ devices

    async def list_devices(self, request: Request) -> Response:
        top = request.query.get("top")
        records = self._all_records()
        if top:
            try:
                records = records[: max(1, min(int(top), 1000))]
            except ValueError:
                raise ServiceError(400, "ArgumentInvalid", f"top={top!r} is not a number") from None
        return _json(200, [self._device_json(r) for r in records])

    async def get_device(self, request: Request) -> Response:
        record = self._record(request.params["id"])
        data = self._device_json(record)
        return _json(200, data, data["etag"])

    async def put_device(self, request: Request) -> Response:
        device_id = request.params["id"]
        body = _body(request)
        if body.get("deviceId", device_id) != device_id:
            raise ServiceError(
                400,
                "ArgumentInvalid",
                f"the body's deviceId {body.get('deviceId')!r} differs from the URL's {device_id!r}",
            )
        if not _DEVICE_ID.match(device_id):
            raise ServiceError(
                400,
                "ArgumentInvalid",
                f"device id {device_id!r} is invalid: 1-128 letters, digits or -.%_*?!(),:=@$'",
            )
        try:
            existing: dict[str, Any] | None = self._record(device_id)
        except ServiceError:
            existing = None
        if existing is None:
            if request.header("if-match") not in (None, "*", '"*"'):
                raise ServiceError(
                    412,
                    "PreconditionFailed",
                    f"Device {device_id} does not exist; no etag to match",
                )
            record = self._new_device(device_id, body)
        else:
            if request.header("if-match") is None:
                raise ServiceError(
                    409,
                    "DeviceAlreadyExists",
                    f"A device with ID '{device_id}' is already registered",
                )
            _check_if_match(request, _etag(existing["etagVersion"]))
            record = self._updated_device(existing, body)
        self.db.put_device(device_id, record)
        self.db.commit()
        await self._recompute()
        data = self._device_json(record)
        return _json(200, data, data["etag"])

    def _new_device(self, device_id: str, body: dict[str, Any]) -> dict[str, Any]:
        capabilities = body.get("capabilities") or {}
        status = body.get("status") or "enabled"
        if status not in ("enabled", "disabled"):
            raise ServiceError(400, "ArgumentInvalid", f"status {status!r} is not enabled/disabled")
        return {
            "kind": "api",
            "deviceId": device_id,
            "generationId": _generation_id(),
            "etagVersion": 1,
            "status": status,
            "statusReason": body.get("statusReason"),
            "statusUpdatedTime": _now(),
            "capabilities": {"iotEdge": bool(capabilities.get("iotEdge"))},
            "deviceScope": body.get("deviceScope"),
            "parentScopes": list(body.get("parentScopes") or []),
            "authentication": _auth_from_body(body, None),
            **_new_twin_state(),
        }

    def _updated_device(self, record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if record["kind"] != "api":
            what = (
                "the simulator's own edge device"
                if record["kind"] == "simulator"
                else ("a leaf device of the simulator (edgectl simulate device add)")
            )
            raise ServiceError(
                400, "ArgumentInvalid", f"{record['deviceId']} is {what}; it cannot be updated"
            )
        updated = self._new_device(record["deviceId"], body)
        updated["authentication"] = _auth_from_body(body, record["authentication"])
        for name in ("generationId", "tags", "twin", "twinVersion"):
            updated[name] = record[name]
        if updated["status"] == record["status"]:
            updated["statusUpdatedTime"] = record["statusUpdatedTime"]
        updated["etagVersion"] = record["etagVersion"] + 1
        return updated

    async def delete_device(self, request: Request) -> Response:
        device_id = request.params["id"]
        record = self._record(device_id)
        if record["kind"] == "simulator":
            raise ServiceError(
                400,
                "ArgumentInvalid",
                f"{device_id} is the simulator's own edge device and cannot be deleted",
            )
        if record["kind"] == "leaf":
            raise ServiceError(
                400,
                "ArgumentInvalid",
                f"{device_id} is a leaf device of the simulator (simulate device add); "
                "it cannot be deleted through the service API",
            )
        _check_if_match(request, _etag(record["etagVersion"]))
        self.db.delete_device(device_id)
        self.db.commit()
        return Response(204)

    # ------------------------------------------------------------------ device twins

    def _twin_sections(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["kind"] == "leaf":
            return self.hub.twin(record["deviceId"])
        return Twin.from_dict(record["twin"]).document()

    def _twin_json(self, record: dict[str, Any]) -> dict[str, Any]:
        auth = self._authentication(record)
        connected = self._connected(record["deviceId"])
        data: dict[str, Any] = {
            "deviceId": record["deviceId"],
            "etag": _twin_etag(record["twinVersion"]),
            "deviceEtag": _etag(record["etagVersion"]),
            "status": record["status"],
            "statusUpdateTime": record.get("statusUpdatedTime") or NEVER,
            "connectionState": "Connected" if connected else "Disconnected",
            "lastActivityTime": NEVER,
            "cloudToDeviceMessageCount": 0,
            "authenticationType": auth["type"],
            "x509Thumbprint": auth["x509Thumbprint"],
            "modelId": "",
            "version": record["twinVersion"],
            "properties": self._twin_sections(record),
            "capabilities": dict(record["capabilities"]),
            "deviceScope": self._scope(record),
            "parentScopes": list(record.get("parentScopes") or []),
        }
        if record["tags"]:
            data["tags"] = record["tags"]
        return data

    async def get_twin(self, request: Request) -> Response:
        data = self._twin_json(self._record(request.params["id"]))
        return _json(200, data, data["etag"])

    async def update_twin(self, request: Request) -> Response:
        return await self._change_twin(request, replace=False)

    async def replace_twin(self, request: Request) -> Response:
        return await self._change_twin(request, replace=True)

    async def _change_twin(self, request: Request, *, replace: bool) -> Response:
        record = self._record(request.params["id"])
        _check_if_match(request, _twin_etag(record["twinVersion"]))
        body = _body(request)
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise ServiceError(400, "ArgumentInvalid", "properties must be an object")
        has_desired = "desired" in properties or replace
        desired = _checked(properties.get("desired"), "desired")
        tags = _checked(body.get("tags"), "tags") if "tags" in body or replace else None
        new_tags = (
            (tags if replace else merge_patch(record["tags"], tags))
            if tags is not None
            else record["tags"]
        )
        if has_desired:
            current = self._twin_sections(record)["desired"]
            current = {k: v for k, v in current.items() if k != "$version"}
            target = desired if replace else merge_patch(current, desired)
            patch = diff_patch(current, target)
            if patch:
                try:
                    if record["kind"] == "leaf":
                        await self.hub.patch_desired(record["deviceId"], patch)
                    else:
                        twin = Twin.from_dict(record["twin"])
                        twin.patch_desired(patch)
                        record["twin"] = twin.to_dict()
                except TwinPatchError as exc:
                    raise ServiceError(400, "ArgumentInvalid", str(exc)) from None
        tags_changed = new_tags != record["tags"]
        record["tags"] = new_tags
        record["twinVersion"] += 1
        self.db.put_device(record["deviceId"], record)
        self.db.commit()
        if tags_changed:
            await self._recompute()
        data = self._twin_json(record)
        return _json(200, data, data["etag"])

    # ------------------------------------------------------------------ modules

    def _module_ids(self, record: dict[str, Any]) -> list[str]:
        if record["kind"] == "simulator":
            return [
                i.module_id
                for i in self.hub.registry
                if i.device_id == self.own_id and i.module_id is not None
            ]
        if not record["capabilities"].get("iotEdge"):
            return []
        return list(self.db.module_twins(record["deviceId"]))

    def _module_row(self, device_id: str, module_id: str) -> dict[str, Any]:
        row = self.db.module_twin(device_id, module_id)
        if row is None:
            row = {
                "tags": {},
                "tagVersion": 1,
                "generationId": str(
                    int.from_bytes(
                        hashlib.sha256(f"{device_id}/{module_id}".encode()).digest()[:7], "big"
                    )
                ),
                "keys": [generate_key(), generate_key()],
                "twin": Twin().to_dict(),
            }
        return row

    def _require_module(self, record: dict[str, Any], module_id: str) -> None:
        if module_id not in self._module_ids(record):
            raise ServiceError(
                404,
                "ModuleNotFound",
                f"Module {module_id} on device {record['deviceId']} not registered",
            )

    def _module_sections(self, record: dict[str, Any], module_id: str) -> dict[str, Any]:
        if record["kind"] == "simulator":
            return self.hub.twin(module_id)
        return Twin.from_dict(self._module_row(record["deviceId"], module_id)["twin"]).document()

    def _module_version(self, record: dict[str, Any], module_id: str) -> int:
        sections = self._module_sections(record, module_id)
        row = self._module_row(record["deviceId"], module_id)
        return (
            int(sections["desired"]["$version"])
            + int(sections["reported"]["$version"])
            + int(row["tagVersion"])
            - 2
        )

    def _module_keys(self, record: dict[str, Any], module_id: str) -> tuple[str, str]:
        if record["kind"] == "simulator":
            ident = self.hub.registry.get(self.own_id, module_id)
            assert ident is not None
            return ident.primary_key, ident.secondary_key
        keys = self._module_row(record["deviceId"], module_id)["keys"]
        return str(keys[0]), str(keys[1])

    def _module_json(self, record: dict[str, Any], module_id: str) -> dict[str, Any]:
        primary, secondary = self._module_keys(record, module_id)
        row = self._module_row(record["deviceId"], module_id)
        connected = any(
            i.get("connected") and i.get("id") == f"{record['deviceId']}/{module_id}"
            for i in self.hub.status().get("identities", [])
        )
        return {
            "moduleId": module_id,
            "managedBy": None if module_id in _SYSTEM_MODULES else "IotEdge",
            "deviceId": record["deviceId"],
            "generationId": row["generationId"],
            "etag": _etag(1),
            "connectionState": "Connected" if connected else "Disconnected",
            "connectionStateUpdatedTime": NEVER,
            "lastActivityTime": NEVER,
            "cloudToDeviceMessageCount": 0,
            "authentication": {
                "symmetricKey": {"primaryKey": primary, "secondaryKey": secondary},
                "x509Thumbprint": {"primaryThumbprint": None, "secondaryThumbprint": None},
                "type": "sas",
            },
        }

    async def list_modules(self, request: Request) -> Response:
        record = self._record(request.params["id"])
        return _json(200, [self._module_json(record, m) for m in self._module_ids(record)])

    async def get_module(self, request: Request) -> Response:
        record = self._record(request.params["id"])
        module_id = request.params["mid"]
        self._require_module(record, module_id)
        data = self._module_json(record, module_id)
        return _json(200, data, data["etag"])

    def _module_twin_json(self, record: dict[str, Any], module_id: str) -> dict[str, Any]:
        row = self._module_row(record["deviceId"], module_id)
        version = self._module_version(record, module_id)
        data: dict[str, Any] = {
            "deviceId": record["deviceId"],
            "moduleId": module_id,
            "etag": _twin_etag(version),
            "deviceEtag": _etag(record["etagVersion"]),
            "status": "enabled",
            "statusUpdateTime": NEVER,
            "connectionState": "Disconnected",
            "lastActivityTime": NEVER,
            "cloudToDeviceMessageCount": 0,
            "authenticationType": "sas",
            "x509Thumbprint": {"primaryThumbprint": None, "secondaryThumbprint": None},
            "modelId": "",
            "version": version,
            "properties": self._module_sections(record, module_id),
        }
        if row["tags"]:
            data["tags"] = row["tags"]
        return data

    async def get_module_twin(self, request: Request) -> Response:
        record = self._record(request.params["id"])
        module_id = request.params["mid"]
        self._require_module(record, module_id)
        data = self._module_twin_json(record, module_id)
        return _json(200, data, data["etag"])

    async def update_module_twin(self, request: Request) -> Response:
        return await self._change_module_twin(request, replace=False)

    async def replace_module_twin(self, request: Request) -> Response:
        return await self._change_module_twin(request, replace=True)

    async def _change_module_twin(self, request: Request, *, replace: bool) -> Response:
        record = self._record(request.params["id"])
        module_id = request.params["mid"]
        self._require_module(record, module_id)
        _check_if_match(request, _twin_etag(self._module_version(record, module_id)))
        body = _body(request)
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise ServiceError(400, "ArgumentInvalid", "properties must be an object")
        row = self._module_row(record["deviceId"], module_id)
        if "tags" in body or replace:
            tags = _checked(body.get("tags"), "tags")
            new_tags = tags if replace else merge_patch(row["tags"], tags)
            if new_tags != row["tags"]:
                row["tags"] = new_tags
                row["tagVersion"] += 1
        if "desired" in properties or replace:
            desired = _checked(properties.get("desired"), "desired")
            current = self._module_sections(record, module_id)["desired"]
            current = {k: v for k, v in current.items() if k != "$version"}
            patch = diff_patch(current, desired if replace else merge_patch(current, desired))
            if patch:
                try:
                    if record["kind"] == "simulator":
                        await self.hub.patch_desired(module_id, patch)
                    else:
                        twin = Twin.from_dict(row["twin"])
                        twin.patch_desired(patch)
                        row["twin"] = twin.to_dict()
                except TwinPatchError as exc:
                    raise ServiceError(400, "ArgumentInvalid", str(exc)) from None
        self.db.put_module_twin(record["deviceId"], module_id, row)
        self.db.commit()
        data = self._module_twin_json(record, module_id)
        return _json(200, data, data["etag"])

    # ------------------------------------------------------------------ applying content

    async def apply_content(self, request: Request) -> Response:
        record = self._record(request.params["id"])
        if not record["capabilities"].get("iotEdge"):
            raise ServiceError(
                400,
                "ArgumentInvalid",
                f"{record['deviceId']} is not an IoT Edge device; create it with iotEdge=true",
            )
        body = _body(request)
        content = body.get("modulesContent")
        try:
            deploys.validate_configuration(
                "apply", {"content": {"modulesContent": content}, "targetCondition": ""}
            )
        except deploys.ConfigurationError as exc:
            raise ServiceError(400, "ArgumentInvalid", str(exc)) from None
        assert isinstance(content, dict)
        if deploys.is_layered(content):
            raise ServiceError(
                400,
                "ArgumentInvalid",
                "content applied to a device needs the complete $edgeAgent and $edgeHub "
                "'properties.desired'",
            )
        normalised = deploys.merge_layer({}, content)
        await self._apply(record, normalised)
        state = self.db.edge_state(record["deviceId"])
        state.update({"base": normalised, "content": normalised, "applied": [], "error": None})
        self.db.put_edge_state(record["deviceId"], state)
        self.db.commit()
        return Response(204)

    async def _apply(self, record: dict[str, Any], content: dict[str, Any]) -> None:
        """Put ``content`` (``{twin: {"properties.desired": {...}}}``) on the device."""
        if record["kind"] == "simulator":
            apply = getattr(self.hub, "apply_deployment", None)
            if apply is None:
                raise ServiceError(
                    501, "NotImplemented", "this hub cannot apply deployments (apply_deployment)"
                )
            try:
                await apply({"modulesContent": content})
            except ValueError as exc:
                raise ServiceError(400, "ArgumentInvalid", str(exc)) from None
            return
        device_id = record["deviceId"]
        existing = self.db.module_twins(device_id)
        for module_id in existing:
            if module_id not in content and module_id not in _SYSTEM_MODULES:
                self.db.delete_module_twin(device_id, module_id)
        for module_id, entry in content.items():
            row = self._module_row(device_id, module_id)
            twin = Twin.from_dict(row["twin"])
            twin.replace_desired(entry.get(deploys.DESIRED, {}))
            row["twin"] = twin.to_dict()
            self.db.put_module_twin(device_id, module_id, row)

    # ------------------------------------------------------------------ deployments

    def _query_doc(self, record: dict[str, Any]) -> dict[str, Any]:
        sections = self._twin_sections(record)
        return {
            "deviceId": record["deviceId"],
            "status": record["status"],
            "tags": record["tags"],
            "capabilities": dict(record["capabilities"]),
            "properties": sections,
        }

    def _deployments(self) -> list[deploys.Deployment]:
        return [deploys.deployment_from(c, seq) for seq, c in self.db.configurations()]

    def _start_content(self) -> dict[str, Any] | None:
        """The simulator's start manifest as modulesContent (the base before any deployment)."""
        path = getattr(self.hub, "manifest_path", None) or self.config.manifest
        if path is None:
            path = self.config.state_dir / "deployment.json"
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        content = data.get("modulesContent") if isinstance(data, dict) else None
        return deploys.merge_layer({}, content) if isinstance(content, dict) else None

    async def _recompute(self) -> None:
        """Re-evaluate every deployment for every edge device; apply what changed."""
        deployments = self._deployments()
        for record in self._all_records():
            if not record["capabilities"].get("iotEdge"):
                continue
            device_id = record["deviceId"]
            state = self.db.edge_state(device_id)
            base = state.get("base")
            if base is None and record["kind"] == "simulator":
                base = self._start_content()
            effective = deploys.effective_content(deployments, self._query_doc(record), base)
            previous = list(state.get("applied") or [])
            state["targeted"] = list(effective.targeted)
            if effective.content is None or not (effective.targeted or previous):
                state["applied"] = [] if effective.content is None else previous
            elif effective.content != state.get("content"):
                try:
                    await self._apply(record, effective.content)
                except ServiceError as exc:
                    log.warning("deployment to %s not applied: %s", device_id, exc.message)
                    state.update({"applied": [], "error": exc.message})
                else:
                    log.info(
                        "applied %s to %s", ", ".join(effective.applied) or "its base", device_id
                    )
                    state.update(
                        {
                            "applied": list(effective.applied),
                            "content": effective.content,
                            "base": effective.base_content,
                            "error": None,
                        }
                    )
            else:
                state["applied"] = list(effective.applied)
            self.db.put_edge_state(device_id, state)
        self.db.commit()

    def _metrics(self, stored: dict[str, Any], seq: int) -> dict[str, Any]:
        deployment = deploys.deployment_from(stored, seq)
        targeted = applied = successful = failed = 0
        for record in self._all_records():
            if deploys.targets(deployment, self._query_doc(record)):
                targeted += 1
            if deployment.id not in (self.db.edge_state(record["deviceId"]).get("applied") or []):
                continue
            applied += 1
            if record["kind"] == "simulator":
                agent = self.hub.twin("$edgeAgent")
            elif "$edgeAgent" in self.db.module_twins(record["deviceId"]):
                agent = self._module_sections(record, "$edgeAgent")
            else:
                continue
            outcome = deploys.reported_outcome(agent)
            successful += outcome is True
            failed += outcome is False
        return deploys.system_metrics(
            deployment.id,
            str(stored.get("targetCondition") or ""),
            targeted=targeted,
            applied=applied,
            successful=successful,
            failed=failed,
        )

    def _configuration_json(self, stored: dict[str, Any], seq: int) -> dict[str, Any]:
        return {
            "id": stored["id"],
            "schemaVersion": stored["schemaVersion"],
            "labels": stored["labels"],
            "content": stored["content"],
            "targetCondition": stored["targetCondition"],
            "createdTimeUtc": stored["createdTimeUtc"],
            "lastUpdatedTimeUtc": stored["lastUpdatedTimeUtc"],
            "priority": stored["priority"],
            "systemMetrics": self._metrics(stored, seq),
            "metrics": {"results": {}, "queries": stored["metrics"]["queries"]},
            "etag": _etag(stored["etagVersion"]),
        }

    def _configuration(self, config_id: str) -> tuple[int, dict[str, Any]]:
        found = self.db.configuration(config_id)
        if found is None:
            raise ServiceError(404, "ConfigurationNotFound", f"Configuration {config_id} not found")
        return found

    async def list_configurations(self, request: Request) -> Response:
        top = request.query.get("top")
        items = self.db.configurations()
        if top:
            try:
                items = items[: max(1, min(int(top), 1000))]
            except ValueError:
                raise ServiceError(400, "ArgumentInvalid", f"top={top!r} is not a number") from None
        return _json(200, [self._configuration_json(c, seq) for seq, c in items])

    async def get_configuration(self, request: Request) -> Response:
        seq, stored = self._configuration(request.params["id"])
        data = self._configuration_json(stored, seq)
        return _json(200, data, data["etag"])

    async def put_configuration(self, request: Request) -> Response:
        config_id = request.params["id"]
        try:
            fields = deploys.validate_configuration(config_id, _body(request))
        except deploys.ConfigurationError as exc:
            raise ServiceError(400, "ArgumentInvalid", str(exc)) from None
        found = self.db.configuration(config_id)
        now = _now()
        if found is None:
            if request.header("if-match") not in (None, "*", '"*"'):
                raise ServiceError(
                    412, "PreconditionFailed", f"Configuration {config_id} does not exist"
                )
            stored = {**fields, "createdTimeUtc": now, "lastUpdatedTimeUtc": now, "etagVersion": 1}
        else:
            old = found[1]
            if request.header("if-match") is None:
                raise ServiceError(
                    409,
                    "ConfigurationAlreadyExists",
                    f"Configuration {config_id} already exists; update it with its etag",
                )
            _check_if_match(request, _etag(old["etagVersion"]))
            if fields["content"] != old["content"]:
                raise ServiceError(
                    400,
                    "ArgumentInvalid",
                    "the content of a configuration cannot be updated; create a new one",
                )
            stored = {
                **fields,
                "createdTimeUtc": old["createdTimeUtc"],
                "lastUpdatedTimeUtc": now,
                "etagVersion": old["etagVersion"] + 1,
            }
        seq = self.db.put_configuration(config_id, stored)
        self.db.commit()
        await self._recompute()
        data = self._configuration_json(stored, seq)
        return _json(200, data, data["etag"])

    async def delete_configuration(self, request: Request) -> Response:
        config_id = request.params["id"]
        _seq, stored = self._configuration(config_id)
        _check_if_match(request, _etag(stored["etagVersion"]))
        self.db.delete_configuration(config_id)
        self.db.commit()
        await self._recompute()
        return Response(204)


def mount_service(router: Router, hub: Hub, config: HubConfig) -> ServiceApi:
    """Create the service API (and the policy key, when missing) and add its routes."""
    api = ServiceApi(hub, config)
    api.mount(router)
    return api
