"""The agent loop: the hub's ``$edgeAgent`` desired properties -> Docker, and back as reported
properties.

Like edgeAgent, the agent reads the deployment from its own module twin (so `simulate deploy`
and, later, IoT Hub's `applyConfigurationContent` reach it the same way), plans with the pure
``reconcile.plan``, runs the actions through :class:`DockerAdapter`, and reports every module's
runtime status to ``$edgeAgent``'s reported properties. A failing action (an image that is not
there, a createOptions Docker refuses) is recorded as that module's last error, reported, and
retried after a pause; the other modules carry on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from iotedge_cli.errors import EdgectlError
from iotedge_cli.simulator.agent.containerspec import container_create_args
from iotedge_cli.simulator.agent.docker_adapter import HUB_CONTAINER, DockerAdapter, parse_time
from iotedge_cli.simulator.agent.reconcile import (
    DEFAULT_BACKOFF,
    Action,
    Backoff,
    ContainerConflictError,
    Create,
    ModuleHistory,
    Observed,
    Recreate,
    Remove,
    Start,
    Stop,
    next_wakeup,
    plan,
    record,
)
from iotedge_cli.simulator.agent.report import ModuleEvents, agent_report, utc
from iotedge_cli.simulator.agent.spec import ModuleSpec, module_specs

log = logging.getLogger("iotedge_cli.simulator.agent")

AGENT_IDENTITY = "$edgeAgent"
POLL = 1.0  # seconds between passes when nothing is due sooner
RETRY_AFTER = 10.0  # seconds before a failed action on a module is tried again


@dataclass(frozen=True)
class AgentContext:
    """What every module container gets, fixed for the simulation's life."""

    simulation_id: str
    device_id: str
    iothub_hostname: str
    gateway_hostname: str
    network: str
    workload_uri: str
    ca_path: str | None
    hub_image: str
    backoff: Backoff = DEFAULT_BACKOFF


def specs_from_desired(desired: dict[str, Any]) -> list[ModuleSpec]:
    """``$edgeAgent`` desired properties (as the twin holds them) -> module specs."""
    from iotedge_cli.manifest.loader import load_text
    from iotedge_cli.manifest.model import Manifest

    clean = {k: v for k, v in desired.items() if not k.startswith("$")}
    text = json.dumps({"modulesContent": {"$edgeAgent": {"properties.desired": clean}}})
    manifest = Manifest.from_doc(
        load_text(text, "$edgeAgent desired properties", fmt="json", template=False)
    )
    return module_specs(manifest)


def generation_id(simulation_id: str, module: str) -> str:
    """A stable stand-in for the identity service's generation id (the hub does not check
    it; the SDK puts it in the workload sign URL)."""
    return hashlib.sha256(f"{simulation_id}/{module}".encode()).hexdigest()[:20]


@dataclass
class Agent:
    docker: DockerAdapter
    admin: Any  # iotedge_cli.simulator.client.AdminClient
    ctx: AgentContext
    clock: Callable[[], float] = time.time
    on_event: Callable[[str], None] = log.info
    specs: list[ModuleSpec] = field(default_factory=list)
    history: dict[str, ModuleHistory] = field(default_factory=dict)
    events: dict[str, ModuleEvents] = field(default_factory=dict)
    retry_at: dict[str, float] = field(default_factory=dict)
    desired_version: int | None = None
    desired_error: str | None = None
    started: float = 0.0
    _reported: dict[str, Any] | None = None
    _reported_modules: set[str] = field(default_factory=set)
    _desired_raw: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()

    # --- one pass ---------------------------------------------------------------------------

    def precreate(self, specs: list[ModuleSpec]) -> None:
        """Create (not start) the containers of ``specs`` that do not exist yet, in parallel:
        done while the hub boots, so the first pass only has to start them."""
        now = self.clock()
        creates = [
            a
            for a in plan(specs, [], now, {}, self.ctx.backoff)
            if isinstance(a, Create) and a.name not in {o.name for o in self.docker.observe(())}
        ]
        specs_by_name = {s.name: s for s in specs}
        results = _parallel_map(lambda a: self._chain([a], specs_by_name[a.name]), creates)
        done = [a for finished, _ in results for a in finished]  # failures: the first pass retries
        for action in done:
            self.on_event(f"{action.name}: created (while the hub starts)")
        self.history = record(self.history, done, [], now, self.ctx.backoff)

    def step(self) -> float:
        """Read the deployment, reconcile, report. Returns seconds until the next pass."""
        self._read_desired()
        now = self.clock()
        observed = self.docker.observe(s.name for s in self.specs)
        try:
            actions = plan(self.specs, observed, now, self.history, self.ctx.backoff)
        except ContainerConflictError as exc:
            self._set_error(exc.message)
            actions = []
        done = self._run(actions, now)
        if done:
            self.history = record(self.history, done, observed, now, self.ctx.backoff)
            observed = self.docker.observe(s.name for s in self.specs)
        self._report(observed, self.clock())
        due = next_wakeup(self.specs, observed, now, self.history, self.ctx.backoff)
        wait = POLL if due is None else max(0.05, min(POLL, due - now))
        return wait

    def _read_desired(self) -> None:
        try:
            twin = self.admin.twin(AGENT_IDENTITY)
        except EdgectlError as exc:
            log.warning("cannot read $edgeAgent's twin: %s", exc.message)
            return
        desired = twin.get("desired") or (twin.get("properties") or {}).get("desired") or {}
        if desired == self._desired_raw:
            return
        self._desired_raw = desired
        version = desired.get("$version")
        try:
            specs = specs_from_desired(desired)
        except EdgectlError as exc:
            self.desired_error = exc.message
            self.on_event(f"deployment (version {version}) refused: {exc.message}")
            return
        self.desired_error = None
        self.desired_version = version if isinstance(version, int) else None
        if [s.name for s in self.specs] != [s.name for s in specs] or self.specs != specs:
            self.on_event(
                f"deployment version {version}: "
                + (", ".join(f"{s.name} ({s.status})" for s in specs) or "no modules")
            )
        self.specs = specs
        self.retry_at.clear()

    def _set_error(self, message: str) -> None:
        if self.desired_error != message:
            self.on_event(message)
        self.desired_error = message

    def _run(self, actions: list[Action], now: float) -> list[Action]:
        """Run ``actions`` in plan order, phase by phase: removals and stops first, then
        each startupOrder group. Within a phase the modules' chains (e.g. create, start) run
        in parallel — a lower startupOrder is still started before a higher one."""
        by_name = {s.name: s for s in self.specs}
        done: list[Action] = []
        for phase in _phases(actions, by_name):
            chains: dict[str, list[Action]] = {}
            for action in phase:
                if self.retry_at.get(action.name, 0.0) <= now:
                    chains.setdefault(action.name, []).append(action)
            results = _parallel_map(
                lambda chain: self._chain(chain, by_name.get(chain[0].name)),
                list(chains.values()),
            )
            for chain, (finished, error) in zip(chains.values(), results, strict=True):
                self._account(chain[0].name, finished, error, now)
                done.extend(finished)
        return done

    def _chain(
        self, chain: list[Action], spec: ModuleSpec | None
    ) -> tuple[list[Action], EdgectlError | None]:
        finished: list[Action] = []
        for action in chain:
            try:
                self._do(action, spec)
            except EdgectlError as exc:
                return finished, exc
            finished.append(action)
        return finished, None

    def _account(
        self, name: str, finished: list[Action], error: EdgectlError | None, now: float
    ) -> None:
        """Bookkeeping after one module's chain ran (in the loop's thread)."""
        for action in finished:
            if isinstance(action, (Create, Recreate)):
                self.events[name] = replace(self.events.get(name, ModuleEvents()), last_error=None)
            if isinstance(action, Start) and action.restart:
                self.events[name] = replace(
                    self.events.get(name, ModuleEvents()), last_restart=self.clock()
                )
            if isinstance(action, Remove):
                self.events.pop(name, None)
            self.on_event(f"{name}: {_verb(action)} ({action.reason})")
        if error is None:
            self.retry_at.pop(name, None)
            return
        self.retry_at[name] = now + RETRY_AFTER
        self.events[name] = replace(self.events.get(name, ModuleEvents()), last_error=error.message)
        self.on_event(f"{name}: {error.message}")

    def _do(self, action: Action, spec: ModuleSpec | None) -> None:
        name = action.name
        if isinstance(action, (Create, Recreate)):
            assert spec is not None
            self.docker.ensure_image(name, spec.image, pull=action.pull)
            if isinstance(action, Recreate):
                self.docker.stop(name)
                self.docker.remove(name)
            self.docker.create(name, self._body(spec))
        elif isinstance(action, Start):
            self.docker.start(name)
        elif isinstance(action, Stop):
            self.docker.stop(name)
        elif isinstance(action, Remove):
            self.docker.stop(name)
            self.docker.remove(name)

    def _body(self, spec: ModuleSpec) -> dict[str, Any]:
        ctx = self.ctx
        return container_create_args(
            spec,
            device_id=ctx.device_id,
            iothub_hostname=ctx.iothub_hostname,
            gateway_hostname=ctx.gateway_hostname,
            network=ctx.network,
            hub_alias=None,  # the hub is edgectl's own container, aliased by the supervisor
            generation_id=generation_id(ctx.simulation_id, spec.name),
            workload_uri=ctx.workload_uri,
            ca_path=ctx.ca_path,
            labels={},
            simulation_id=ctx.simulation_id,
        )

    # --- reporting --------------------------------------------------------------------------

    def _hub_entry(self) -> dict[str, Any]:
        info = self.docker.inspect(HUB_CONTAINER) or {}
        state = info.get("State") or {}
        running = state.get("Status") == "running"
        return {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": {"image": self.ctx.hub_image},
            "runtimeStatus": "running" if running else "failed",
            "statusDescription": "edgectl's hub" if running else "the hub container is down",
            "exitCode": None if running else state.get("ExitCode"),
            "restartCount": info.get("RestartCount", 0),
            "lastStartTimeUtc": utc(parse_time(state.get("StartedAt"))),
        }

    def _report(self, observed: list[Observed], now: float) -> None:
        doc = agent_report(
            self.specs,
            observed,
            self.history,
            self.events,
            now,
            desired_version=self.desired_version,
            desired_error=self.desired_error,
            hub=self._hub_entry(),
            agent_started=self.started,
            previous_modules=self._reported_modules,
            backoff=self.ctx.backoff,
        )
        if doc == self._reported:
            return
        try:
            self.admin.patch_reported(AGENT_IDENTITY, doc)
        except EdgectlError as exc:
            log.warning("cannot report to $edgeAgent's twin: %s", exc.message)
            return
        self._reported = doc
        self._reported_modules = {s.name for s in self.specs}


def _phases(actions: list[Action], specs: dict[str, ModuleSpec]) -> list[list[Action]]:
    """Consecutive runs of ``actions`` that may overlap: all removals and stops, then one
    phase per startupOrder value (plan order is kept inside each phase)."""
    phases: list[list[Action]] = []
    last: object = None
    for action in actions:
        spec = specs.get(action.name)
        # a Stop of a module that should run is half of an unhealthy restart: "up" phase
        down = isinstance(action, Remove) or (
            isinstance(action, Stop) and (spec is None or spec.status != "running")
        )
        key: object = "down" if down else ("up", spec.startup_order if spec else -1)
        if not phases or key != last:
            phases.append([])
            last = key
        phases[-1].append(action)
    return phases


def _parallel_map(work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    if len(items) <= 1:
        return [work(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        return list(pool.map(work, items))


def _verb(action: Action) -> str:
    if isinstance(action, Start):
        return "restarted" if action.restart else "started"
    return {Create: "created", Recreate: "recreated", Stop: "stopped", Remove: "removed"}[
        type(action)
    ]
