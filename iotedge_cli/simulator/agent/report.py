"""What the agent reports: ``$edgeAgent``'s reported properties, in edgeAgent's shape.

edgeAgent reports ``lastDesiredVersion``, ``lastDesiredStatus``, ``runtime``,
``systemModules`` and ``modules``; each module carries its deployment settings plus
``runtimeStatus`` (running | backoff | unhealthy | stopped | failed; edgectl adds ``pending``
for a module whose container is being created), ``statusDescription``, ``exitCode``,
``restartCount`` and the UTC times of the last start, exit and restart. ``edgectl simulate
status`` renders this document, so what the CLI shows and what a module reading
``$edgeAgent``'s twin sees are the same. Pure: times come in as parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iotedge_cli.simulator.agent.reconcile import (
    DEFAULT_BACKOFF,
    Backoff,
    ModuleHistory,
    Observed,
    cool_off,
    effective_history,
    runtime_status,
)
from iotedge_cli.simulator.agent.spec import ModuleSpec

SCHEMA_VERSION = "1.1"


@dataclass(frozen=True)
class ModuleEvents:
    """What the agent remembers about a module beyond Docker's own state."""

    last_restart: float | None = None  # epoch seconds
    last_error: str | None = None


def utc(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def module_report(
    spec: ModuleSpec,
    obs: Observed | None,
    history: ModuleHistory | None,
    events: ModuleEvents | None,
    now: float,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> dict[str, Any]:
    """One entry of ``modules`` in ``$edgeAgent``'s reported properties."""
    obs = obs or Observed(spec.name, None, "missing")
    hist = effective_history(history, obs, now, backoff)
    events = events or ModuleEvents()
    status = runtime_status(spec, obs, history, now, backoff)
    if events.last_error and status in ("pending", "backoff", "failed"):
        status = "failed" if obs.state == "missing" else status
    entry: dict[str, Any] = {
        "type": "docker",
        "status": spec.status,
        "restartPolicy": spec.restart_policy,
        "imagePullPolicy": spec.image_pull_policy,
        "startupOrder": spec.startup_order,
        "version": spec.version,
        "settings": {"image": spec.image},
        "runtimeStatus": status,
        "statusDescription": _description(status, spec, obs, hist, events, backoff),
        "restartCount": hist.restart_count,
        "exitCode": obs.exit_code if obs.state == "exited" else None,
        "lastStartTimeUtc": utc(obs.started_at),
        "lastExitTimeUtc": utc(obs.finished_at) if obs.state == "exited" else None,
        "lastRestartTimeUtc": utc(events.last_restart),
    }
    return entry


def _description(
    status: str,
    spec: ModuleSpec,
    obs: Observed,
    hist: ModuleHistory,
    events: ModuleEvents,
    backoff: Backoff,
) -> str:
    if events.last_error and status in ("failed", "pending", "backoff"):
        return events.last_error
    if status == "backoff":
        wait = cool_off(hist.restart_count, backoff)
        return f"exited with code {obs.exit_code}; restarting after a {wait:g} s back-off"
    if status == "failed":
        if obs.state == "exited" and hist.restart_count:
            return f"exited with code {obs.exit_code} after {hist.restart_count} restarts"
        return f"exited with code {obs.exit_code} (restartPolicy {spec.restart_policy})"
    if status == "stopped":
        return "stopped" if spec.status == "stopped" else f"exited with code {obs.exit_code}"
    if status == "pending":
        return "the container is being created"
    return status


def agent_report(
    specs: Iterable[ModuleSpec],
    observed: Iterable[Observed],
    history: Mapping[str, ModuleHistory],
    events: Mapping[str, ModuleEvents],
    now: float,
    *,
    desired_version: int | None,
    desired_error: str | None,
    hub: Mapping[str, Any],
    agent_started: float,
    previous_modules: Iterable[str] = (),
    backoff: Backoff = DEFAULT_BACKOFF,
) -> dict[str, Any]:
    """The whole reported document (a patch: modules no longer deployed are set to null).

    ``hub`` is the ``edgeHub`` entry (the hub container's state, built by the caller).
    """
    seen = {o.name: o for o in observed}
    modules: dict[str, Any] = {}
    for spec in specs:
        modules[spec.name] = module_report(
            spec, seen.get(spec.name), history.get(spec.name), events.get(spec.name), now, backoff
        )
    for name in previous_modules:
        modules.setdefault(name, None)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "lastDesiredVersion": desired_version,
        "lastDesiredStatus": (
            {"code": 200, "description": ""}
            if desired_error is None
            else {"code": 400, "description": desired_error}
        ),
        "runtime": {"type": "docker", "platform": {"os": "linux"}},
        "systemModules": {
            "edgeAgent": {
                "type": "docker",
                "runtimeStatus": "running",
                "statusDescription": "edgectl's agent (a process on the Docker host)",
                "lastStartTimeUtc": utc(agent_started),
                "settings": {"image": "edgectl"},
            },
            "edgeHub": dict(hub),
        },
        "modules": modules,
    }
