"""The configuration manager's half of the service API: content applied to one edge device
(``applyConfigurationContent``) and configurations (automatic and layered deployments).

Applying content to the simulator's device calls ``Hub.apply_deployment``. Automatic and
layered deployments are re-evaluated at once whenever a configuration or a device's tags
change (IoT Hub does it asynchronously, within minutes), see
:mod:`iotedge_cli.simulator.hub.iothub.deployments`.

``service_edge_state`` records per edge device the content this layer last applied
(``content``), the base under its layers (``base``) and the deployments applied. The
simulator's own device can also be changed behind this layer's back (``edgectl simulate
deploy`` calls ``Hub.apply_deployment`` directly; a restart with another manifest), so for it
the hub's deployment file (``hub.manifest_path``) is the truth: when its content differs from
the recorded ``content``, it counts as content applied to the device directly, as
``applyConfigurationContent`` would (the new base, no deployment applied).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from iotedge_cli.simulator.hub.http import Request, Response
from iotedge_cli.simulator.hub.iothub import deployments as deploys
from iotedge_cli.simulator.hub.iothub.twin import Twin
from iotedge_cli.simulator.hub.service_registry import SYSTEM_MODULES, Registry
from iotedge_cli.simulator.hub.service_wire import (
    ServiceError,
    check_if_match,
    etag_of,
    json_body,
    json_response,
    utc_now,
)

__all__ = ["Configurations"]

log = logging.getLogger(__name__)


class Configurations:
    """Applied content and deployments, over the devices of ``registry``."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.hub = registry.hub
        self.config = registry.config
        self.db = registry.db

    # ------------------------------------------------------------------ applying content

    async def apply_content(self, request: Request) -> Response:
        record = self.registry.record(request.params["id"])
        if not record["capabilities"].get("iotEdge"):
            raise ServiceError(
                400,
                "ArgumentInvalid",
                f"{record['deviceId']} is not an IoT Edge device; create it with iotEdge=true",
            )
        body = json_body(request)
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
        state = self._edge_state(record)
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
            if module_id not in content and module_id not in SYSTEM_MODULES:
                self.db.delete_module_twin(device_id, module_id)
        for module_id, entry in content.items():
            row = self.registry.module_row(device_id, module_id)
            twin = Twin.from_dict(row["twin"])
            twin.replace_desired(entry.get(deploys.DESIRED, {}))
            row["twin"] = twin.to_dict()
            self.db.put_module_twin(device_id, module_id, row)

    # ------------------------------------------------------------------ deployments

    def _query_doc(self, record: dict[str, Any]) -> dict[str, Any]:
        sections = self.registry.twin_sections(record)
        return {
            "deviceId": record["deviceId"],
            "status": record["status"],
            "tags": record["tags"],
            "capabilities": dict(record["capabilities"]),
            "properties": sections,
        }

    def _deployments(self) -> list[deploys.Deployment]:
        return [deploys.deployment_from(c, seq) for seq, c in self.db.configurations()]

    def _hub_content(self) -> dict[str, Any] | None:
        """The deployment the simulator's hub runs now, as normalised modulesContent (None when
        it has none or its file cannot be read)."""
        from iotedge_cli.errors import EdgectlError
        from iotedge_cli.manifest.loader import load_file
        from iotedge_cli.manifest.model import Manifest

        path = getattr(self.hub, "manifest_path", None) or self.config.manifest
        if path is None:
            path = self.config.state_dir / "deployment.json"
        try:
            manifest = Manifest.from_doc(load_file(Path(path)))
        except (OSError, ValueError, EdgectlError):
            return None
        if manifest.form == "unknown":
            return None
        return deploys.merge_layer({}, manifest.content)

    def _edge_state(self, record: dict[str, Any]) -> dict[str, Any]:
        """The stored state of an edge device; for the simulator's own device brought up to
        date with the hub's deployment (see the module docstring). Not written back."""
        state = self.db.edge_state(record["deviceId"])
        if record["kind"] == "simulator":
            current = self._hub_content()
            if current is not None and current != state.get("content"):
                state.update({"base": current, "content": current, "applied": [], "error": None})
        return state

    async def recompute(self) -> None:
        """Re-evaluate every deployment for every edge device; apply what changed."""
        deployments = self._deployments()
        for record in self.registry.all_records():
            if not record["capabilities"].get("iotEdge"):
                continue
            device_id = record["deviceId"]
            state = self._edge_state(record)
            base = state.get("base")
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
        for record in self.registry.all_records():
            if deploys.targets(deployment, self._query_doc(record)):
                targeted += 1
            if deployment.id not in (self._edge_state(record).get("applied") or []):
                continue
            applied += 1
            if record["kind"] == "simulator":
                agent = self.hub.twin("$edgeAgent")
            elif "$edgeAgent" in self.db.module_twins(record["deviceId"]):
                agent = self.registry.module_sections(record, "$edgeAgent")
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
            "etag": etag_of(stored["etagVersion"]),
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
        return json_response(200, [self._configuration_json(c, seq) for seq, c in items])

    async def get_configuration(self, request: Request) -> Response:
        seq, stored = self._configuration(request.params["id"])
        data = self._configuration_json(stored, seq)
        return json_response(200, data, data["etag"])

    async def put_configuration(self, request: Request) -> Response:
        config_id = request.params["id"]
        try:
            fields = deploys.validate_configuration(config_id, json_body(request))
        except deploys.ConfigurationError as exc:
            raise ServiceError(400, "ArgumentInvalid", str(exc)) from None
        found = self.db.configuration(config_id)
        now = utc_now()
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
            check_if_match(request, etag_of(old["etagVersion"]))
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
        await self.recompute()
        data = self._configuration_json(stored, seq)
        return json_response(200, data, data["etag"])

    async def delete_configuration(self, request: Request) -> Response:
        config_id = request.params["id"]
        _seq, stored = self._configuration(config_id)
        check_if_match(request, etag_of(stored["etagVersion"]))
        self.db.delete_configuration(config_id)
        self.db.commit()
        await self.recompute()
        return Response(204)
