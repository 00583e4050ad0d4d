"""The agent's reconcile step: desired modules + observed containers + restart history ->
the actions that bring Docker to the desired state. Pure: no Docker, no clock (``now`` is a
parameter), no I/O.

Theory of operation. edgeAgent, not Docker, restarts modules (it never sets
``HostConfig.RestartPolicy``), so the loop calls :func:`plan` often (every second, or at
:func:`next_wakeup`), runs the actions in order and folds them into the history with
:func:`record`. Per module:

* no container -> ``Create`` (pull first when ``imagePullPolicy`` is ``on-create``), then
  ``Start`` when the desired status is ``running``;
* a container made from another definition (its ``edgectl.fingerprint`` label differs) ->
  ``Recreate`` that module only (then ``Start``);
* desired ``stopped`` -> ``Stop`` a running container, nothing else;
* desired ``running`` and the container exited: a container the agent stopped itself starts
  at once; otherwise the exit is a *failure* (code != 0) or a *stop* (code 0) and the restart
  policy decides, as ``RestartPolicyManager.cs`` does with the ordering never < on-failure <
  on-unhealthy < always: every policy above never restarts a failed or unhealthy module (a
  running container whose Docker health check says ``unhealthy``), only ``always`` restarts
  a clean stop;
* restarts wait a back-off of min(10 s * 2^n, 300 s) after the exit, n = restarts so far;
  after 20 restarts the module stays failed; a module that has run for 10 minutes is healthy
  again and its count goes back to 0.

Numbers, checked in Azure/iotedge's source: ``RestartPolicyManager.GetCoolOffPeriod`` is
``min(CoolOffTimeUnitInSeconds * 2^n, 300 s)`` and a module with ``restartCount >=
MaxRestartCount`` is failed; ``appsettings_agent.json`` sets ``CoolOffTimeUnitInSeconds`` 10,
``MaxRestartCount`` 20, ``IntensiveCareTimeInMinutes`` 10. The source also restarts failed
and unhealthy modules under on-failure/on-unhealthy, which the Microsoft docs call
unimplemented; edgectl follows the source.

Ordering: removals of modules no longer in the deployment first (only containers edgectl
owns), then stops in reverse startupOrder, then creates and starts by ascending
``startupOrder`` (ties by name), so a lower startupOrder is always started first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from iotedge_cli.errors import InputError
from iotedge_cli.simulator.agent.spec import ModuleSpec, RestartPolicy

State = Literal["running", "exited", "created", "missing"]
Health = Literal["starting", "healthy", "unhealthy"]
RuntimeStatus = Literal["running", "unhealthy", "pending", "stopped", "failed", "backoff"]

COOL_OFF_UNIT = 10.0  # seconds
MAX_COOL_OFF = 300.0  # seconds
MAX_RESTART_COUNT = 20
INTENSIVE_CARE = 600.0  # seconds running before the restart count resets


@dataclass(frozen=True)
class Backoff:
    """The restart back-off's numbers (edgeAgent's defaults; tests shorten ``unit``)."""

    unit: float = COOL_OFF_UNIT
    maximum: float = MAX_COOL_OFF
    max_restarts: int = MAX_RESTART_COUNT
    healthy_after: float = INTENSIVE_CARE


DEFAULT_BACKOFF = Backoff()

_RANK: dict[RestartPolicy, int] = {"never": 0, "on-failure": 1, "on-unhealthy": 2, "always": 3}


@dataclass(frozen=True)
class Observed:
    """What Docker says about a module's container (``state="missing"``: none)."""

    name: str
    fingerprint: str | None
    state: State
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    health: Health | None = None
    owned: bool = True  # labelled net.azure-devices.edge.owner=edgectl


@dataclass(frozen=True)
class ModuleHistory:
    restart_count: int = 0
    stopped_by_agent: bool = False


@dataclass(frozen=True)
class Create:
    name: str
    reason: str
    pull: bool


@dataclass(frozen=True)
class Recreate:
    name: str
    reason: str
    pull: bool


@dataclass(frozen=True)
class Start:
    name: str
    reason: str
    restart: bool = False  # counts towards the restart back-off


@dataclass(frozen=True)
class Stop:
    name: str
    reason: str


@dataclass(frozen=True)
class Remove:
    name: str
    reason: str


Action = Create | Recreate | Start | Stop | Remove


class ContainerConflictError(InputError):
    """A container with a module's name exists and is not edgectl's."""


def cool_off(restart_count: int, backoff: Backoff = DEFAULT_BACKOFF) -> float:
    """Seconds to wait before restart number ``restart_count + 1``."""
    return min(backoff.unit * 2.0 ** min(restart_count, 32), backoff.maximum)


def plan(
    desired: Iterable[ModuleSpec],
    observed: Iterable[Observed],
    now: float,
    history: Mapping[str, ModuleHistory],
    backoff: Backoff = DEFAULT_BACKOFF,
) -> list[Action]:
    specs = sorted(desired, key=lambda s: (s.startup_order, s.name))
    seen = {o.name: o for o in observed}
    wanted = {s.name for s in specs}
    for spec in specs:
        obs = seen.get(spec.name)
        if obs is not None and not obs.owned and obs.state != "missing":
            raise ContainerConflictError(
                f"a container named '{spec.name}' exists but was not created by edgectl",
                hint=f"remove or rename it (`docker rm -f {spec.name}`), then start again",
            )
    removes: list[Action] = [
        Remove(o.name, "not in the deployment")
        for o in sorted(seen.values(), key=lambda o: o.name)
        if o.owned and o.state != "missing" and o.name not in wanted
    ]
    stops: list[Action] = []
    starts: list[Action] = []
    for spec in specs:
        obs = seen.get(spec.name) or Observed(spec.name, None, "missing")
        hist = effective_history(history.get(spec.name), obs, now, backoff)
        stop, start = _module_actions(spec, obs, hist, now, backoff)
        stops.extend(stop)
        starts.extend(start)
    return [*removes, *reversed(stops), *starts]


def _module_actions(
    spec: ModuleSpec, obs: Observed, hist: ModuleHistory, now: float, backoff: Backoff
) -> tuple[list[Action], list[Action]]:
    run = spec.status == "running"
    pull = spec.image_pull_policy == "on-create"
    if obs.state == "missing":
        first: Action = Create(spec.name, "no container", pull)
        return [], [first, Start(spec.name, "created")] if run else [first]
    if obs.fingerprint != spec.fingerprint:
        recreate = Recreate(spec.name, "the module definition changed", pull)
        return [], [recreate, Start(spec.name, "recreated")] if run else [recreate]
    if not run:
        return (
            [Stop(spec.name, "desired status is stopped")] if obs.state == "running" else []
        ), []
    if obs.state == "created":
        return [], [Start(spec.name, "created but not started")]
    if obs.state == "running":
        if obs.health == "unhealthy" and _RANK[spec.restart_policy] >= _RANK["on-failure"]:
            since = obs.started_at or 0.0
            if hist.restart_count < backoff.max_restarts and now - since >= cool_off(
                hist.restart_count, backoff
            ):
                why = _restart_reason(spec, "is unhealthy", hist.restart_count, backoff)
                return [], [Stop(spec.name, "unhealthy"), Start(spec.name, why, restart=True)]
        return [], []
    # exited
    if hist.stopped_by_agent:
        return [], [Start(spec.name, "desired status changed to running")]
    if not _should_restart(spec.restart_policy, obs.exit_code):
        return [], []
    if hist.restart_count >= backoff.max_restarts:
        return [], []
    if now - (obs.finished_at or 0.0) < cool_off(hist.restart_count, backoff):
        return [], []
    why = _restart_reason(spec, f"exited with code {obs.exit_code}", hist.restart_count, backoff)
    return [], [Start(spec.name, why, restart=True)]


def _should_restart(policy: RestartPolicy, exit_code: int | None) -> bool:
    needed: RestartPolicy = "always" if exit_code == 0 else "on-failure"
    return _RANK[policy] >= _RANK[needed]


def _restart_reason(spec: ModuleSpec, what: str, count: int, backoff: Backoff) -> str:
    return (
        f"{what}; restart {count + 1} (restartPolicy {spec.restart_policy}, "
        f"back-off {cool_off(count, backoff):g} s)"
    )


def effective_history(
    hist: ModuleHistory | None, obs: Observed, now: float, backoff: Backoff = DEFAULT_BACKOFF
) -> ModuleHistory:
    """``hist`` with the restart count reset when the module has run for 10 minutes."""
    hist = hist or ModuleHistory()
    if (
        hist.restart_count
        and obs.state == "running"
        and obs.health != "unhealthy"
        and obs.started_at is not None
        and now - obs.started_at >= backoff.healthy_after
    ):
        return replace(hist, restart_count=0)
    return hist


def record(
    history: Mapping[str, ModuleHistory],
    actions: Iterable[Action],
    observed: Iterable[Observed],
    now: float,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> dict[str, ModuleHistory]:
    """The history after ``actions`` ran (pure: returns a new mapping)."""
    seen = {o.name: o for o in observed}
    out = {
        name: effective_history(h, seen.get(name) or Observed(name, None, "missing"), now, backoff)
        for name, h in history.items()
    }
    for action in actions:
        h = out.get(action.name, ModuleHistory())
        if isinstance(action, Remove):
            out.pop(action.name, None)
            continue
        if isinstance(action, (Create, Recreate)):
            h = ModuleHistory()
        elif isinstance(action, Stop):
            h = replace(h, stopped_by_agent=True)
        elif isinstance(action, Start):
            h = ModuleHistory(h.restart_count + (1 if action.restart else 0), False)
        out[action.name] = h
    return out


def runtime_status(
    spec: ModuleSpec,
    obs: Observed | None,
    history: ModuleHistory | None,
    now: float,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> RuntimeStatus:
    """The status ``edgectl simulate status`` and ``$edgeAgent`` reported properties show."""
    obs = obs or Observed(spec.name, None, "missing")
    hist = effective_history(history, obs, now, backoff)
    if obs.state == "running":
        return "unhealthy" if obs.health == "unhealthy" else "running"
    if spec.status == "stopped" or hist.stopped_by_agent:
        return "stopped"
    if obs.state in ("missing", "created"):
        return "pending"
    if not _should_restart(spec.restart_policy, obs.exit_code):
        return "stopped" if obs.exit_code == 0 else "failed"
    if hist.restart_count >= backoff.max_restarts:
        return "failed"
    return "backoff"


def next_wakeup(
    desired: Iterable[ModuleSpec],
    observed: Iterable[Observed],
    now: float,
    history: Mapping[str, ModuleHistory],
    backoff: Backoff = DEFAULT_BACKOFF,
) -> float | None:
    """When :func:`plan` will next restart something (``now`` if due), or ``None``."""
    seen = {o.name: o for o in observed}
    times: list[float] = []
    for spec in desired:
        obs = seen.get(spec.name)
        if obs is None or spec.status != "running" or obs.fingerprint != spec.fingerprint:
            continue
        hist = effective_history(history.get(spec.name), obs, now, backoff)
        if hist.restart_count >= backoff.max_restarts or hist.stopped_by_agent:
            continue
        if obs.state == "exited" and _should_restart(spec.restart_policy, obs.exit_code):
            base = obs.finished_at or 0.0
        elif (
            obs.state == "running"
            and obs.health == "unhealthy"
            and _RANK[spec.restart_policy] >= _RANK["on-failure"]
        ):
            base = obs.started_at or 0.0
        else:
            continue
        times.append(base + cool_off(hist.restart_count, backoff))
    return max(min(times), now) if times else None
