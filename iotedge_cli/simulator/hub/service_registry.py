"""The registry manager's half of the service API: device identities, device twins, module
identities and module twins.

Devices: the simulator's own edge device (always present, cannot be deleted), the hub's
leaf devices (``simulate device add``), and devices created through this API (stored;
they cannot connect to the simulator). Only the simulator's device runs modules: content
applied to another edge device is stored and its module twins are readable.

A device's *record* is the service's view of it (``kind``: ``simulator``, ``leaf`` or ``api``;
keys, tags, the twin of an ``api`` device); records of the simulator's device and of leaf
devices are made on first use.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from iotedge_cli.simulator.hub.http import Request, Response
from iotedge_cli.simulator.hub.iothub.identity import generate_key
from iotedge_cli.simulator.hub.iothub.twin import Twin, TwinPatchError, diff_patch, merge_patch
from iotedge_cli.simulator.hub.service_wire import (
    NEVER,
    ServiceError,
    check_if_match,
    checked_object,
    etag_of,
    json_body,
    json_response,
    twin_etag,
    utc_now,
)

if TYPE_CHECKING:
    from iotedge_cli.simulator.hub.config import HubConfig
    from iotedge_cli.simulator.hub.hub import Hub
    from iotedge_cli.simulator.hub.service_store import ServiceStore

__all__ = ["SYSTEM_MODULES", "Registry"]

SYSTEM_MODULES = ("$edgeAgent", "$edgeHub")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$")
_THUMBPRINT = re.compile(r"^(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$")
_AUTH_TYPES = ("sas", "selfSigned", "certificateAuthority")


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


class Registry:
    """Devices, modules and their twins; ``changed`` re-evaluates the automatic deployments
    (after a device is written or a twin's tags change)."""

    def __init__(
        self,
        hub: Hub,
        config: HubConfig,
        db: ServiceStore,
        changed: Callable[[], Awaitable[None]],
    ) -> None:
        self.hub = hub
        self.config = config
        self.db = db
        self.changed = changed

    # ------------------------------------------------------------------ device records

    @property
    def own_id(self) -> str:
        return self.config.device_id

    def _leaf(self, device_id: str) -> Any:
        ident = self.hub.registry.get(device_id)
        return ident if ident is not None and ident.module_id is None else None

    def record(self, device_id: str) -> dict[str, Any]:
        """The device's record (created for the simulator's device and hub leaves on first
        use); ``ServiceError(404)`` for an unknown device."""
        record = self.db.device(device_id)
        if record is not None:
            return self._current_kind(record)
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

    def _current_kind(self, record: dict[str, Any]) -> dict[str, Any]:
        """Which device the simulator plays is chosen at start (``--device-id``): a device
        created through the API becomes the simulator's own when a simulation starts as it
        (as a real device runs once provisioned with its identity), and the device this
        state dir simulated before is an ordinary registered edge device again."""
        own = record["deviceId"] == self.own_id
        if own and record["kind"] != "simulator":
            record = {**record, "kind": "simulator", "capabilities": {"iotEdge": True}}
        elif not own and record["kind"] == "simulator":
            record = {**record, "kind": "api"}
        else:
            return record
        self.db.put_device(record["deviceId"], record)
        self.db.commit()
        return record

    def all_records(self) -> list[dict[str, Any]]:
        ids = [self.own_id]
        ids += [i.device_id for i in self.hub.registry if i.module_id is None]
        ids += [d for d in self.db.devices() if d not in ids]
        records = []
        for device_id in ids:
            with contextlib.suppress(ServiceError):
                records.append(self.record(device_id))
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
            "etag": etag_of(record["etagVersion"]),
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
        records = self.all_records()
        if top:
            try:
                records = records[: max(1, min(int(top), 1000))]
            except ValueError:
                raise ServiceError(400, "ArgumentInvalid", f"top={top!r} is not a number") from None
        return json_response(200, [self._device_json(r) for r in records])

    async def get_device(self, request: Request) -> Response:
        record = self.record(request.params["id"])
        data = self._device_json(record)
        return json_response(200, data, data["etag"])

    async def put_device(self, request: Request) -> Response:
        device_id = request.params["id"]
        body = json_body(request)
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
            existing: dict[str, Any] | None = self.record(device_id)
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
            check_if_match(request, etag_of(existing["etagVersion"]))
            record = self._updated_device(existing, body)
        self.db.put_device(device_id, record)
        self.db.commit()
        await self.changed()
        data = self._device_json(record)
        return json_response(200, data, data["etag"])

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
            "statusUpdatedTime": utc_now(),
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
        record = self.record(device_id)
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
        check_if_match(request, etag_of(record["etagVersion"]))
        self.db.delete_device(device_id)
        self.db.commit()
        return Response(204)

    # ------------------------------------------------------------------ device twins

    def twin_sections(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["kind"] == "leaf":
            return self.hub.twin(record["deviceId"])
        return Twin.from_dict(record["twin"]).document()

    def _twin_json(self, record: dict[str, Any]) -> dict[str, Any]:
        auth = self._authentication(record)
        connected = self._connected(record["deviceId"])
        data: dict[str, Any] = {
            "deviceId": record["deviceId"],
            "etag": twin_etag(record["twinVersion"]),
            "deviceEtag": etag_of(record["etagVersion"]),
            "status": record["status"],
            "statusUpdateTime": record.get("statusUpdatedTime") or NEVER,
            "connectionState": "Connected" if connected else "Disconnected",
            "lastActivityTime": NEVER,
            "cloudToDeviceMessageCount": 0,
            "authenticationType": auth["type"],
            "x509Thumbprint": auth["x509Thumbprint"],
            "modelId": "",
            "version": record["twinVersion"],
            "properties": self.twin_sections(record),
            "capabilities": dict(record["capabilities"]),
            "deviceScope": self._scope(record),
            "parentScopes": list(record.get("parentScopes") or []),
        }
        if record["tags"]:
            data["tags"] = record["tags"]
        return data

    async def get_twin(self, request: Request) -> Response:
        data = self._twin_json(self.record(request.params["id"]))
        return json_response(200, data, data["etag"])

    async def update_twin(self, request: Request) -> Response:
        return await self._change_twin(request, replace=False)

    async def replace_twin(self, request: Request) -> Response:
        return await self._change_twin(request, replace=True)

    async def _change_twin(self, request: Request, *, replace: bool) -> Response:
        record = self.record(request.params["id"])
        check_if_match(request, twin_etag(record["twinVersion"]))
        body = json_body(request)
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise ServiceError(400, "ArgumentInvalid", "properties must be an object")
        has_desired = "desired" in properties or replace
        desired = checked_object(properties.get("desired"), "desired")
        tags = checked_object(body.get("tags"), "tags") if "tags" in body or replace else None
        new_tags = (
            (tags if replace else merge_patch(record["tags"], tags))
            if tags is not None
            else record["tags"]
        )
        if has_desired:
            current = self.twin_sections(record)["desired"]
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
            await self.changed()
        data = self._twin_json(record)
        return json_response(200, data, data["etag"])

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

    def module_row(self, device_id: str, module_id: str) -> dict[str, Any]:
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

    def module_sections(self, record: dict[str, Any], module_id: str) -> dict[str, Any]:
        if record["kind"] == "simulator":
            return self.hub.twin(module_id)
        return Twin.from_dict(self.module_row(record["deviceId"], module_id)["twin"]).document()

    def _module_version(self, record: dict[str, Any], module_id: str) -> int:
        sections = self.module_sections(record, module_id)
        row = self.module_row(record["deviceId"], module_id)
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
        keys = self.module_row(record["deviceId"], module_id)["keys"]
        return str(keys[0]), str(keys[1])

    def _module_json(self, record: dict[str, Any], module_id: str) -> dict[str, Any]:
        primary, secondary = self._module_keys(record, module_id)
        row = self.module_row(record["deviceId"], module_id)
        connected = any(
            i.get("connected") and i.get("id") == f"{record['deviceId']}/{module_id}"
            for i in self.hub.status().get("identities", [])
        )
        return {
            "moduleId": module_id,
            "managedBy": None if module_id in SYSTEM_MODULES else "IotEdge",
            "deviceId": record["deviceId"],
            "generationId": row["generationId"],
            "etag": etag_of(1),
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
        record = self.record(request.params["id"])
        return json_response(200, [self._module_json(record, m) for m in self._module_ids(record)])

    async def get_module(self, request: Request) -> Response:
        record = self.record(request.params["id"])
        module_id = request.params["mid"]
        self._require_module(record, module_id)
        data = self._module_json(record, module_id)
        return json_response(200, data, data["etag"])

    def _module_twin_json(self, record: dict[str, Any], module_id: str) -> dict[str, Any]:
        row = self.module_row(record["deviceId"], module_id)
        version = self._module_version(record, module_id)
        data: dict[str, Any] = {
            "deviceId": record["deviceId"],
            "moduleId": module_id,
            "etag": twin_etag(version),
            "deviceEtag": etag_of(record["etagVersion"]),
            "status": "enabled",
            "statusUpdateTime": NEVER,
            "connectionState": "Disconnected",
            "lastActivityTime": NEVER,
            "cloudToDeviceMessageCount": 0,
            "authenticationType": "sas",
            "x509Thumbprint": {"primaryThumbprint": None, "secondaryThumbprint": None},
            "modelId": "",
            "version": version,
            "properties": self.module_sections(record, module_id),
        }
        if row["tags"]:
            data["tags"] = row["tags"]
        return data

    async def get_module_twin(self, request: Request) -> Response:
        record = self.record(request.params["id"])
        module_id = request.params["mid"]
        self._require_module(record, module_id)
        data = self._module_twin_json(record, module_id)
        return json_response(200, data, data["etag"])

    async def update_module_twin(self, request: Request) -> Response:
        return await self._change_module_twin(request, replace=False)

    async def replace_module_twin(self, request: Request) -> Response:
        return await self._change_module_twin(request, replace=True)

    async def _change_module_twin(self, request: Request, *, replace: bool) -> Response:
        record = self.record(request.params["id"])
        module_id = request.params["mid"]
        self._require_module(record, module_id)
        check_if_match(request, twin_etag(self._module_version(record, module_id)))
        body = json_body(request)
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise ServiceError(400, "ArgumentInvalid", "properties must be an object")
        row = self.module_row(record["deviceId"], module_id)
        if "tags" in body or replace:
            tags = checked_object(body.get("tags"), "tags")
            new_tags = tags if replace else merge_patch(row["tags"], tags)
            if new_tags != row["tags"]:
                row["tags"] = new_tags
                row["tagVersion"] += 1
        if "desired" in properties or replace:
            desired = checked_object(properties.get("desired"), "desired")
            current = self.module_sections(record, module_id)["desired"]
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
        return json_response(200, data, data["etag"])
