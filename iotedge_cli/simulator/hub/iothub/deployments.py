"""IoT Hub configurations as IoT Edge deployments: validation, targeting, layering, metrics.

Theory of operation (as IoT Hub documents automatic and layered deployments):

* A configuration with ``content.modulesContent`` is an IoT Edge deployment. It is *layered*
  when its ``$edgeAgent`` entry has no complete ``properties.desired`` (layered content
  writes ``properties.desired.<path>`` keys instead); otherwise it is a *base* deployment,
  which must carry the complete ``$edgeAgent`` and ``$edgeHub`` desired properties.
* A deployment targets an edge device (``capabilities.iotEdge = true``) whose twin satisfies
  its target condition (:mod:`twinquery`).
* A device's effective content: the targeting base deployment with the highest priority
  (the most recently created one on a tie) or, when none targets it, the content last applied
  to the device directly (``applyConfigurationContent``, the simulator's start manifest);
  then every targeting layered deployment, in ascending priority (older first on a tie), is
  merged on top, so the highest priority writes last. A layered ``properties.desired.a.b``
  key sets ``a.b`` inside the twin's desired properties (creating objects on the way); a
  layered ``properties.desired`` key replaces a user module twin's desired properties.
  Without any base, layered deployments are not applied (IoT Hub needs a base underneath).
* ``systemMetrics`` of a deployment: targeted / applied devices and, among the applied ones,
  those whose ``$edgeAgent`` reported ``lastDesiredVersion`` equals the desired ``$version``
  with ``lastDesiredStatus.code`` 200 (successful) or another code (failed).

Configurations with ``deviceContent``/``moduleContent`` (automatic device management) are
stored and counted as targeted, but their content is not applied by the simulator.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iotedge_cli.simulator.hub.iothub.twinquery import (
    Condition,
    TwinQueryError,
    matches,
    parse_condition,
)

__all__ = [
    "DESIRED",
    "ConfigurationError",
    "Deployment",
    "Effective",
    "deployment_from",
    "effective_content",
    "is_layered",
    "merge_layer",
    "reported_outcome",
    "system_metrics",
    "targets",
    "validate_configuration",
]

DESIRED = "properties.desired"
AGENT = "$edgeAgent"
HUB = "$edgeHub"
_PREFIX = DESIRED + "."
_ID_FORBIDDEN = re.compile(r"[\s&^\[\]{}\\|\"<>/A-Z]")
_CONTENT_KINDS = ("modulesContent", "deviceContent", "moduleContent")


class ConfigurationError(ValueError):
    """A configuration IoT Hub would refuse (answer 400); the message says what to fix."""


@dataclass(frozen=True)
class Deployment:
    id: str
    priority: int
    seq: int  # creation order: ties of priority go to the most recently created
    condition: Condition | None  # None: an empty target condition targets nothing
    modules_content: Mapping[str, Any] | None
    layered: bool


def is_layered(modules_content: Mapping[str, Any]) -> bool:
    agent = modules_content.get(AGENT)
    return not (isinstance(agent, Mapping) and DESIRED in agent)


def _check_modules_content(content: Any) -> None:
    if not isinstance(content, dict) or not content:
        raise ConfigurationError("content.modulesContent must be a non-empty JSON object")
    for twin, entry in content.items():
        if not isinstance(entry, dict) or not entry:
            raise ConfigurationError(
                f"modulesContent[{twin!r}] must be an object with 'properties.desired' "
                "or 'properties.desired.<path>' keys"
            )
        for key, value in entry.items():
            if key == DESIRED:
                if not isinstance(value, dict):
                    raise ConfigurationError(
                        f"modulesContent[{twin!r}]['properties.desired'] must be an object"
                    )
            elif key.startswith(_PREFIX):
                if any(not part for part in key[len(_PREFIX) :].split(".")):
                    raise ConfigurationError(
                        f"modulesContent[{twin!r}] key {key!r} has an empty path part"
                    )
            else:
                raise ConfigurationError(
                    f"modulesContent[{twin!r}] key {key!r} is neither 'properties.desired' nor "
                    "'properties.desired.<path>'"
                )
    if not is_layered(content):
        missing = [t for t in (AGENT, HUB) if DESIRED not in content.get(t, {})]
        if missing:
            raise ConfigurationError(
                f"a base deployment needs the complete 'properties.desired' of {' and '.join(missing)}; "
                "or make it layered with 'properties.desired.<path>' keys only"
            )
    elif any(DESIRED in content.get(t, {}) for t in (HUB,)):
        raise ConfigurationError(
            "a layered deployment may not replace the whole $edgeHub desired properties; "
            "use 'properties.desired.routes.<name>' keys"
        )


def validate_configuration(config_id: str, body: Any) -> dict[str, Any]:
    """Check a ``PUT /configurations/{id}`` body; returns the fields the hub stores
    (``id, schemaVersion, labels, content, targetCondition, priority, metrics``)."""
    if not config_id or len(config_id) > 128 or _ID_FORBIDDEN.search(config_id):
        raise ConfigurationError(
            f"configuration id {config_id!r} is invalid: use 1-128 lowercase letters, digits "
            "and -:+%_#*?!(),=@;$' (no spaces, uppercase, &^[]{}\\|\"<>/)"
        )
    if not isinstance(body, dict):
        raise ConfigurationError("the configuration must be a JSON object")
    if body.get("id", config_id) != config_id:
        raise ConfigurationError(
            f"the body's id {body.get('id')!r} differs from the URL's {config_id!r}"
        )
    content = body.get("content")
    if not isinstance(content, dict):
        raise ConfigurationError("the configuration needs a 'content' object (modulesContent)")
    kinds = [k for k in _CONTENT_KINDS if content.get(k)]
    if len(kinds) != 1:
        raise ConfigurationError(
            "content must hold exactly one of modulesContent, deviceContent, moduleContent"
        )
    if kinds[0] == "modulesContent":
        _check_modules_content(content["modulesContent"])
    elif not isinstance(content[kinds[0]], dict):
        raise ConfigurationError(f"content.{kinds[0]} must be an object")
    condition = body.get("targetCondition") or ""
    if not isinstance(condition, str):
        raise ConfigurationError("targetCondition must be a string")
    if condition.strip():
        try:
            parse_condition(condition)
        except TwinQueryError as exc:
            raise ConfigurationError(f"targetCondition: {exc}") from None
    priority = body.get("priority", 0)
    if priority is None:
        priority = 0
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
        raise ConfigurationError(f"priority must be a non-negative integer, got {priority!r}")
    labels = body.get("labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise ConfigurationError("labels must be an object of strings")
    metrics = body.get("metrics") or {}
    queries = metrics.get("queries") if isinstance(metrics, dict) else None
    if queries is not None and not (
        isinstance(queries, dict) and all(isinstance(v, str) for v in queries.values())
    ):
        raise ConfigurationError("metrics.queries must be an object of query strings")
    return {
        "id": config_id,
        "schemaVersion": body.get("schemaVersion") or "1.0",
        "labels": dict(labels),
        "content": {kinds[0]: copy.deepcopy(content[kinds[0]])},
        "targetCondition": condition,
        "priority": priority,
        "metrics": {"queries": dict(queries or {})},
    }


def deployment_from(stored: Mapping[str, Any], seq: int) -> Deployment:
    """The evaluable form of a stored configuration (validated by
    :func:`validate_configuration`)."""
    text = str(stored.get("targetCondition") or "")
    condition = parse_condition(text) if text.strip() else None
    modules = stored.get("content", {}).get("modulesContent")
    return Deployment(
        id=str(stored["id"]),
        priority=int(stored.get("priority") or 0),
        seq=seq,
        condition=condition,
        modules_content=modules,
        layered=modules is not None and is_layered(modules),
    )


def targets(deployment: Deployment, twin: Mapping[str, Any]) -> bool:
    """Does ``deployment`` target the device whose twin document is ``twin``?"""
    if deployment.condition is None:
        return False
    if deployment.modules_content is not None:
        capabilities = twin.get("capabilities")
        if not (isinstance(capabilities, Mapping) and capabilities.get("iotEdge") is True):
            return False
    return matches(deployment.condition, twin)


def _set_path(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[parts[-1]] = copy.deepcopy(value)


def merge_layer(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` modulesContent (``{twin: {"properties.desired": {...}}}``) with a layered
    deployment's modulesContent applied on top (a new dict; neither input changes)."""
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for twin, entry in layer.items():
        slot = merged.setdefault(twin, {})
        desired = slot.get(DESIRED)
        if not isinstance(desired, dict):
            desired = {}
        for key, value in entry.items():
            if key == DESIRED:
                desired = copy.deepcopy(value)
            elif key.startswith(_PREFIX):
                _set_path(desired, key[len(_PREFIX) :].split("."), value)
        merged[twin] = {DESIRED: desired}
    return merged


def _normalise(content: Mapping[str, Any]) -> dict[str, Any]:
    """Base content in the plain ``{twin: {"properties.desired": {...}}}`` form."""
    return merge_layer({}, content)


@dataclass(frozen=True)
class Effective:
    content: dict[str, Any] | None  # None: nothing to apply
    base: str | None  # the applied base deployment's id (None: the device's own base)
    base_content: dict[str, Any] | None  # the base under the layers (normalised)
    layered: tuple[str, ...]  # applied layered deployments, in application order
    targeted: tuple[str, ...]  # every deployment that targets the device

    @property
    def applied(self) -> tuple[str, ...]:
        return ((self.base,) if self.base is not None else ()) + self.layered


def effective_content(
    deployments: Iterable[Deployment],
    twin: Mapping[str, Any],
    direct: Mapping[str, Any] | None,
) -> Effective:
    """What the device should run (see the module docstring). ``direct`` is the device's
    base when no base deployment targets it: the content applied to the device itself, or
    the last base a deployment applied (IoT Hub leaves modules in place when a deployment
    stops targeting a device), or None."""
    targeting = [d for d in deployments if d.modules_content is not None and targets(d, twin)]
    bases = [d for d in targeting if not d.layered]
    layers = sorted((d for d in targeting if d.layered), key=lambda d: (d.priority, d.seq))
    targeted = tuple(d.id for d in targeting)
    winner = max(bases, key=lambda d: (d.priority, d.seq)) if bases else None
    if winner is not None:
        assert winner.modules_content is not None
        content = _normalise(winner.modules_content)
    elif direct is not None:
        content = _normalise(direct)
    else:
        return Effective(None, None, None, (), targeted)
    base_content = content
    for layer in layers:
        assert layer.modules_content is not None
        content = merge_layer(content, layer.modules_content)
    return Effective(
        content,
        None if winner is None else winner.id,
        base_content,
        tuple(d.id for d in layers),
        targeted,
    )


def reported_outcome(agent_twin: Mapping[str, Any]) -> bool | None:
    """From an ``$edgeAgent`` twin document (``{"desired": {"$version"}, "reported": {...}}``):
    True when the agent reported the current desired version with code 200, False with
    another code, None when it has not reported this version yet."""
    desired = agent_twin.get("desired") or {}
    reported = agent_twin.get("reported") or {}
    version = desired.get("$version")
    if version is None or reported.get("lastDesiredVersion") != version:
        return None
    status = reported.get("lastDesiredStatus")
    code = status.get("code") if isinstance(status, Mapping) else None
    return code == 200


def system_metrics(
    config_id: str,
    target_condition: str,
    *,
    targeted: int,
    applied: int,
    successful: int,
    failed: int,
) -> dict[str, Any]:
    """IoT Hub's ``systemMetrics`` of an edge deployment: counts and the queries behind them."""
    applied_query = (
        "select deviceId from devices.modules where moduleId = '$edgeAgent' and "
        f"configurations.[[{config_id}]].status = 'Applied'"
    )
    reported = "properties.desired.$version = properties.reported.lastDesiredVersion"
    return {
        "results": {
            "targetedCount": targeted,
            "appliedCount": applied,
            "reportedSuccessfulCount": successful,
            "reportedFailedCount": failed,
        },
        "queries": {
            "targetedCount": "select deviceId from devices where capabilities.iotEdge = true"
            + (f" and {target_condition}" if target_condition.strip() else ""),
            "appliedCount": applied_query,
            "reportedSuccessfulCount": f"{applied_query} and {reported} and "
            "properties.reported.lastDesiredStatus.code = 200",
            "reportedFailedCount": f"{applied_query} and {reported} and "
            "properties.reported.lastDesiredStatus.code != 200",
        },
    }
