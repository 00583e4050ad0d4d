"""A whole simulation on the Docker host: the network, the hub's container, the agent loop.

Where the hub runs (a decision, see the README): in a container named ``edgeHub`` on the
simulation's bridge network, with the gateway hostname as its network alias — the way
edgeAgent gives edgeHub that alias — so modules reach it at ``IOTEDGE_GATEWAYHOSTNAME`` on
8883 and 443, the SDK's fixed ports, without the host binding a privileged port (a developer in
the ``docker`` group needs no root). The hub needs only Python's standard library: the
container runs any image with ``python3`` >= 3.10 (``--hub-image``, default the
``--base-image``), with the installed ``iotedge_cli`` package bind-mounted read-only and the
state directory bind-mounted at its own path; it runs as the developer's uid:gid, so every
file it writes stays the developer's. The host CLI talks to it through the admin API's unix
socket in the state directory; modules get the workload API over HTTP on the network.

The agent runs on the host (it needs the Docker API): in the ``simulate start`` process, or
detached as ``python -m iotedge_cli.simulator.agent.run``. ``<state>/simulation.json`` names
its pid, the simulation id and the network while it runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotedge_cli.errors import EdgectlError, InputError, ServiceUnavailableError
from iotedge_cli.simulator.agent.agent import Agent, AgentContext
from iotedge_cli.simulator.agent.containerspec import (
    MODULE_LABEL,
    OWNER,
    OWNER_LABEL,
    SIMULATION_LABEL,
)
from iotedge_cli.simulator.agent.docker_adapter import HUB_CONTAINER, DockerAdapter
from iotedge_cli.simulator.agent.reconcile import COOL_OFF_UNIT, Backoff
from iotedge_cli.simulator.agent.spec import ModuleSpec
from iotedge_cli.simulator.hub.config import DEFAULT_IOTHUB_HOSTNAME, HubConfig

log = logging.getLogger("iotedge_cli.simulator.agent")

DEFAULT_HUB_IMAGE = "python:3.11-slim-bookworm"  # the module templates' default base image
PACKAGE_MOUNT = "/opt/edgectl"
WORKLOAD_PORT = 15580
MQTT_PORT = 8883
HTTPS_PORT = 443
READY_TIMEOUT = 30.0
SERVICE_HOST = "localhost"


def simulation_id(state_dir: Path) -> str:
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:10]


def network_name(sim_id: str) -> str:
    return f"edgectl-{sim_id}"


def deployment_path(state_dir: Path) -> Path:
    return state_dir / "deployment.json"


def settings_path(state_dir: Path) -> Path:
    return state_dir / "agent.json"


def simulation_path(state_dir: Path) -> Path:
    return state_dir / "simulation.json"


def admin_socket(state_dir: Path) -> Path:
    return state_dir / "admin.sock"


@dataclass(frozen=True)
class Settings:
    """What a simulation is started with (``<state>/agent.json`` for a detached agent)."""

    state_dir: Path
    device_id: str
    gateway_hostname: str
    hub_image: str = DEFAULT_HUB_IMAGE
    iothub_hostname: str = DEFAULT_IOTHUB_HOSTNAME
    backoff_unit: float = COOL_OFF_UNIT  # seconds; $EDGECTL_SIM_BACKOFF_UNIT shortens it

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["state_dir"] = str(self.state_dir)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Settings:
        if not isinstance(data, dict):
            raise InputError("agent.json is not a JSON object", "start the simulation again")
        try:
            return cls(
                state_dir=Path(data["state_dir"]),
                device_id=str(data["device_id"]),
                gateway_hostname=str(data["gateway_hostname"]),
                hub_image=str(data.get("hub_image", DEFAULT_HUB_IMAGE)),
                iothub_hostname=str(data.get("iothub_hostname", DEFAULT_IOTHUB_HOSTNAME)),
                backoff_unit=float(data.get("backoff_unit", COOL_OFF_UNIT)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"agent.json has no {exc}", "start the simulation again") from None


def load_settings(state_dir: Path) -> Settings:
    path = settings_path(state_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}", "start the simulation again") from None
    return Settings.from_json(data)


def write_json(path: Path, data: Any, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    tmp.replace(path)


def read_simulation(state_dir: Path) -> dict[str, Any] | None:
    """``simulation.json`` (pid, simulationId, network, ready), or None."""
    try:
        data = json.loads(simulation_path(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def package_dir() -> Path:
    import iotedge_cli

    return Path(iotedge_cli.__file__).resolve().parent


def hub_config(settings: Settings, certs: Any, *, owner_pid: int) -> HubConfig:
    """The hub's config.json for its container: every listener on the container's
    interfaces, the admin API on the state directory's unix socket."""
    state = settings.state_dir
    return HubConfig(
        state_dir=state,
        device_id=settings.device_id,
        iothub_hostname=settings.iothub_hostname,
        gateway_hostname=settings.gateway_hostname,
        server_cert=certs.server_cert,
        server_key=certs.server_key,
        ca_cert=certs.ca_cert,
        bind="0.0.0.0",
        mqtt_port=MQTT_PORT,
        https_port=HTTPS_PORT,
        admin_port=0,
        manifest=deployment_path(state),
        admin_socket=admin_socket(state),
        workload_bind="0.0.0.0",
        workload_port=WORKLOAD_PORT,
        owner_pid=owner_pid,
    )


def hub_container_body(
    settings: Settings, config_file: Path, network: str, sim_id: str
) -> dict[str, Any]:
    state = str(settings.state_dir)
    return {
        "Image": settings.hub_image,
        "Entrypoint": ["python3"],
        "Cmd": ["-m", "iotedge_cli.simulator.hub.run", "--config", str(config_file)],
        "Env": [
            f"PYTHONPATH={PACKAGE_MOUNT}",
            "PYTHONDONTWRITEBYTECODE=1",
            "PYTHONUNBUFFERED=1",
        ],
        "User": f"{os.getuid()}:{os.getgid()}",
        "WorkingDir": state,
        "Labels": {
            OWNER_LABEL: OWNER,
            SIMULATION_LABEL: sim_id,
            MODULE_LABEL: HUB_CONTAINER,
        },
        "ExposedPorts": {f"{HTTPS_PORT}/tcp": {}},
        "HostConfig": {
            "Binds": [
                f"{package_dir()}:{PACKAGE_MOUNT}/iotedge_cli:ro",
                f"{state}:{state}:rw",
            ],
            "NetworkMode": network,
            # The IoT Hub service API (`edgectl deploy --to-simulator`) from this host only, on
            # a port Docker picks: HostName=localhost:PORT in the service connection string.
            "PortBindings": {f"{HTTPS_PORT}/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
            # 443 inside the container for a non-root uid (Docker >= 20.10 sets it too).
            "Sysctls": {"net.ipv4.ip_unprivileged_port_start": "0"},
        },
        "NetworkingConfig": {
            "EndpointsConfig": {network: {"Aliases": [settings.gateway_hostname, "edgeHub"]}}
        },
    }


class Supervisor:
    """Start, run and tear down one simulation."""

    def __init__(
        self,
        settings: Settings,
        client: Any,
        *,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sim_id = simulation_id(settings.state_dir)
        self.network = network_name(self.sim_id)
        self.docker = DockerAdapter(client, self.sim_id)
        self.on_event = on_event or log.info
        self.admin: Any = None
        self.agent: Agent | None = None
        self.service_endpoint: str | None = None
        self.started_at = time.time()

    # --- before anything is created -------------------------------------------------------

    def preflight(self, specs: list[ModuleSpec]) -> None:
        """Fail before creating anything: the hub image and every image of a module that
        should run are here (or pulled), and no foreign container holds a module's name."""
        docker = self.docker
        docker.ensure_image(HUB_CONTAINER, self.settings.hub_image, pull=True)
        for spec in specs:
            docker.ensure_image(spec.name, spec.image, pull=spec.image_pull_policy == "on-create")
        for name in [HUB_CONTAINER, *(s.name for s in specs)]:
            info = docker.inspect(name)
            if info is not None and not docker.is_ours(name):
                raise InputError(
                    f"a container named '{name}' exists and is not part of this simulation",
                    hint=f"remove it (`docker rm -f {name}`) or stop the simulation that owns "
                    "it (`edgectl simulate stop --state-dir ...`)",
                )

    # --- start ----------------------------------------------------------------------------

    def start(self, *, timeout: float = READY_TIMEOUT) -> None:
        """Network, hub container, wait for the hub's admin API; then the agent is ready."""
        from iotedge_cli.simulator import state

        settings = self.settings
        directory = settings.state_dir
        certs = state.ensure_certs(
            directory,
            device_id=settings.device_id,
            gateway_hostname=settings.gateway_hostname,
            extra_dns=(SERVICE_HOST,),  # the service API, published on the host's loopback
        )
        config = hub_config(settings, certs, owner_pid=os.getpid())
        config_file = state.write_config(config)
        state.remove_runtime_file(directory)
        with contextlib.suppress(FileNotFoundError):
            admin_socket(directory).unlink()
        self.docker.remove_simulation()  # leftovers of a simulation that crashed
        labels = {OWNER_LABEL: OWNER, SIMULATION_LABEL: self.sim_id}
        self.docker.ensure_network(self.network, labels)
        body = hub_container_body(settings, config_file, self.network, self.sim_id)
        self.docker.create(HUB_CONTAINER, body)
        self.docker.start(HUB_CONTAINER)
        self.service_endpoint = self._published(HTTPS_PORT)
        self.agent = Agent(
            self.docker,
            None,  # the hub's admin API, once it answers
            AgentContext(
                simulation_id=self.sim_id,
                device_id=settings.device_id,
                iothub_hostname=settings.iothub_hostname,
                gateway_hostname=settings.gateway_hostname,
                network=self.network,
                workload_uri=f"http://{settings.gateway_hostname}:{WORKLOAD_PORT}/",
                ca_path=str(certs.ca_cert),
                hub_image=settings.hub_image,
                backoff=Backoff(unit=settings.backoff_unit),
            ),
            on_event=self.on_event,
        )
        # While the hub boots, create the module containers of the deployment it is loading
        # (started only once the hub answers and the agent has read its $edgeAgent twin).
        self.agent.precreate(self._deployed_specs())
        self.admin = self.agent.admin = self._wait_hub(timeout)
        self.on_event(
            f"hub ready: container {HUB_CONTAINER} ({settings.hub_image}) on network "
            f"{self.network}, gateway {settings.gateway_hostname}:8883/443"
        )
        self._write_simulation(ready=False)

    def _deployed_specs(self) -> list[ModuleSpec]:
        """The modules of ``deployment.json`` (what the hub loads as ``$edgeAgent``'s desired
        properties); none when it cannot be read (the agent's first pass reports why)."""
        from iotedge_cli.manifest.loader import load_file
        from iotedge_cli.manifest.model import Manifest
        from iotedge_cli.simulator.agent.spec import module_specs

        try:
            return module_specs(
                Manifest.from_doc(load_file(deployment_path(self.settings.state_dir)))
            )
        except EdgectlError:
            return []

    def _published(self, port: int) -> str | None:
        """``localhost:PORT``: where the host reaches the hub container's ``port``."""
        info = self.docker.inspect(HUB_CONTAINER) or {}
        ports = ((info.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{port}/tcp")
        for binding in ports or ():
            host_port = binding.get("HostPort")
            if host_port:
                return f"{SERVICE_HOST}:{host_port}"
        return None

    def _wait_hub(self, timeout: float) -> Any:
        from iotedge_cli.simulator.client import AdminClient, answering

        directory = self.settings.state_dir
        deadline = time.monotonic() + timeout
        while True:
            info = self.docker.inspect(HUB_CONTAINER) or {}
            if (info.get("State") or {}).get("Status") == "exited":
                tail = " | ".join(self.docker.logs_tail(HUB_CONTAINER).splitlines()[-4:])
                raise ServiceUnavailableError(
                    f"the hub's container exited while starting: {tail or 'no output'}",
                    hint=f"its image must have python3 >= 3.10 ({self.settings.hub_image}); "
                    "see `docker logs edgeHub`, or choose another --hub-image",
                )
            running = answering(directory, os.getpid())
            if running is not None:
                return AdminClient(running.admin, state_dir=directory, timeout=10.0)
            if time.monotonic() > deadline:
                raise ServiceUnavailableError(
                    f"the hub did not answer within {timeout:g} s",
                    hint="see `docker logs edgeHub`",
                )
            time.sleep(0.05)

    def _write_simulation(self, *, ready: bool) -> None:
        write_json(
            simulation_path(self.settings.state_dir),
            {
                "mode": "agent",
                "pid": os.getpid(),
                "simulationId": self.sim_id,
                "network": self.network,
                "hubImage": self.settings.hub_image,
                "gatewayHostname": self.settings.gateway_hostname,
                "serviceEndpoint": self.service_endpoint,
                "startedAt": self.started_at,
                "ready": ready,
            },
        )

    # --- run ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """The agent loop until ``stop`` is set; the hub container is restarted if it dies."""
        assert self.agent is not None, "start() first"
        first = True
        while not stop.is_set():
            try:
                self._keep_hub()
                wait = self.agent.step()
            except EdgectlError as exc:
                self.on_event(f"agent: {exc.message}")
                wait = 2.0
            except Exception as exc:  # the engine went away, a transient API error ...
                self.on_event(f"agent: {type(exc).__name__}: {exc}")
                wait = 2.0
            if first:
                self._write_simulation(ready=True)
                first = False
            stop.wait(wait)

    def _keep_hub(self) -> None:
        info = self.docker.inspect(HUB_CONTAINER)
        if info is None:
            raise ServiceUnavailableError(
                "the hub's container is gone", hint="stop and start the simulation"
            )
        if (info.get("State") or {}).get("Status") == "exited":
            self.on_event("edgeHub: exited; restarting it")
            self.docker.start(HUB_CONTAINER)

    # --- stop -----------------------------------------------------------------------------

    def teardown(self) -> tuple[list[str], list[str]]:
        removed = self.docker.remove_simulation()
        cleanup_files(self.settings.state_dir)
        return removed


def cleanup_files(state_dir: Path) -> None:
    for path in (simulation_path(state_dir), state_dir / "hub.json", admin_socket(state_dir)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
