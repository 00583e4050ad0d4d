"""The agent's only contact with Docker: a thin layer over the ``docker`` SDK.

It turns containers into :class:`~iotedge_cli.simulator.agent.reconcile.Observed` values and
runs the reconcile actions; every decision is made in ``reconcile``. Bodies for
``POST /containers/create`` come whole from ``containerspec`` and are sent as they are
(``create_container_from_config``), so no createOptions key is lost on the way.

What edgectl creates carries ``net.azure-devices.edge.owner=edgectl`` and
``edgectl.simulation=<id>``: ``stop`` and the crash clean-up remove exactly those containers and
that network, nothing else.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from iotedge_cli.errors import EdgectlError, InputError
from iotedge_cli.simulator.agent.containerspec import (
    FINGERPRINT_LABEL,
    MODULE_LABEL,
    OWNER,
    OWNER_LABEL,
    SIMULATION_LABEL,
)
from iotedge_cli.simulator.agent.reconcile import Observed

HUB_CONTAINER = "edgeHub"
STOP_TIMEOUT = 5  # seconds Docker waits after SIGTERM before SIGKILL
_STATES = {
    "running": "running",
    "restarting": "running",
    "paused": "running",
    "created": "created",
    "exited": "exited",
    "dead": "exited",
    "removing": "exited",
}


class ModuleError(EdgectlError):
    """An action on one module failed (the agent records it and carries on)."""


class ImageMissingError(InputError):
    """A module's image is not on the engine and cannot be pulled."""


def engine() -> Any:
    """A ``docker.DockerClient`` that answered a ping (exit 3 with a hint when none does)."""
    from iotedge_cli.simulator.build import docker_client

    return docker_client()


_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def parse_time(text: Any) -> float | None:
    """Docker's RFC 3339 nanosecond times -> epoch seconds (None for the zero time)."""
    match = _TIME.match(text) if isinstance(text, str) else None
    if match is None or text.startswith("0001-"):
        return None
    base, fraction, zone = match.groups()
    moment = dt.datetime.fromisoformat(base + ("+00:00" if zone in (None, "Z") else zone))
    return moment.timestamp() + (int(fraction[:6].ljust(6, "0")) / 1e6 if fraction else 0.0)


def observed_from_inspect(info: dict[str, Any], simulation_id: str) -> Observed:
    """One container's ``docker inspect`` document -> :class:`Observed`."""
    config = info.get("Config") or {}
    labels = config.get("Labels") or {}
    state = info.get("State") or {}
    health = (state.get("Health") or {}).get("Status")
    name = str(info.get("Name", "")).lstrip("/")
    owned = labels.get(OWNER_LABEL) == OWNER and labels.get(SIMULATION_LABEL) == simulation_id
    status = _STATES.get(str(state.get("Status", "")), "exited")
    return Observed(
        name=labels.get(MODULE_LABEL, name) if owned else name,
        fingerprint=labels.get(FINGERPRINT_LABEL),
        state=status,  # type: ignore[arg-type]
        exit_code=state.get("ExitCode") if status == "exited" else None,
        started_at=parse_time(state.get("StartedAt")),
        finished_at=parse_time(state.get("FinishedAt")),
        health=health if health in ("starting", "healthy", "unhealthy") else None,
        owned=owned,
    )


@dataclass
class DockerAdapter:
    """Docker calls for one simulation (``simulation_id``)."""

    client: Any  # docker.DockerClient
    simulation_id: str

    @property
    def api(self) -> Any:
        return self.client.api

    # --- observe --------------------------------------------------------------------------

    def observe(self, names: Iterable[str]) -> list[Observed]:
        """The simulation's module containers, plus any container that holds one of ``names``
        without being this simulation's (``owned=False``: a conflict ``plan`` reports)."""
        wanted = set(names)
        out: list[Observed] = []
        for summary in self.api.containers(all=True):
            labels = summary.get("Labels") or {}
            ours = labels.get(SIMULATION_LABEL) == self.simulation_id
            cnames = {str(n).lstrip("/") for n in summary.get("Names") or ()}
            if labels.get(MODULE_LABEL) == HUB_CONTAINER and ours:
                continue
            if not ours and not (cnames & wanted):
                continue
            try:
                info = self.api.inspect_container(summary["Id"])
            except Exception as exc:  # removed meanwhile
                if _not_found(exc):
                    continue
                raise
            out.append(observed_from_inspect(info, self.simulation_id))
        return out

    def inspect(self, name: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = self.api.inspect_container(name)
        except Exception as exc:
            if _not_found(exc):
                return None
            raise
        return info

    def is_ours(self, name: str) -> bool:
        info = self.inspect(name)
        labels = ((info or {}).get("Config") or {}).get("Labels") or {}
        return labels.get(SIMULATION_LABEL) == self.simulation_id

    # --- images ---------------------------------------------------------------------------

    def has_image(self, image: str) -> bool:
        try:
            self.api.inspect_image(image)
        except Exception as exc:
            if _not_found(exc):
                return False
            raise
        return True

    def ensure_image(self, module: str, image: str, *, pull: bool) -> None:
        """Make sure ``image`` is on the engine: pull it when allowed and missing."""
        if self.has_image(image):
            return
        if pull:
            try:
                self.client.images.pull(image)
                return
            except Exception as exc:
                detail = _short(exc)
        else:
            detail = "imagePullPolicy is never"
        raise ImageMissingError(
            f"module '{module}': image {image} is not on this Docker engine and cannot be "
            f"pulled ({detail})",
            hint="build it (`edgectl simulate start --solution DIR --build`, or docker build "
            f"-t {image} ...), or pull it where a registry is reachable",
        )

    # --- containers -----------------------------------------------------------------------

    def create(self, name: str, body: dict[str, Any]) -> None:
        try:
            self.api.create_container_from_config(body, name=name)
        except Exception as exc:
            raise ModuleError(
                f"module '{name}': Docker refused to create the container: {_short(exc)}",
                hint="check the module's createOptions (`edgectl manifest validate`)",
            ) from None

    def start(self, name: str) -> None:
        try:
            self.api.start(name)
        except Exception as exc:
            raise ModuleError(
                f"module '{name}': Docker could not start the container: {_short(exc)}",
                hint=f"see `docker inspect {name}` and the module's createOptions",
            ) from None

    def stop(self, name: str, timeout: int = STOP_TIMEOUT) -> None:
        try:
            self.api.stop(name, timeout=timeout)
        except Exception as exc:
            if not _not_found(exc):
                raise ModuleError(f"module '{name}': cannot stop: {_short(exc)}") from None

    def remove(self, name: str) -> None:
        try:
            self.api.remove_container(name, force=True, v=True)
        except Exception as exc:
            if not _not_found(exc):
                raise ModuleError(f"module '{name}': cannot remove: {_short(exc)}") from None

    def restart(self, name: str, timeout: int = STOP_TIMEOUT) -> None:
        self.api.restart(name, timeout=timeout)

    def logs(self, name: str, *, follow: bool, tail: int | None) -> Iterator[bytes]:
        stream: Iterator[bytes] = self.api.logs(
            name,
            stream=True,
            follow=follow,
            stdout=True,
            stderr=True,
            tail="all" if tail is None else tail,
        )
        return stream

    def logs_tail(self, name: str, lines: int = 8) -> str:
        try:
            raw: bytes = self.api.logs(name, stdout=True, stderr=True, tail=lines)
        except Exception:
            return ""
        return raw.decode("utf-8", "replace").strip()

    # --- network --------------------------------------------------------------------------

    def ensure_network(self, name: str, labels: dict[str, str]) -> str:
        """The simulation's bridge network (created, or reused when it is ours)."""
        for net in self.api.networks(names=[name]):
            if net.get("Name") != name:
                continue
            if (net.get("Labels") or {}).get(SIMULATION_LABEL) == self.simulation_id:
                return name
            raise InputError(
                f"a Docker network named {name} exists and was not created by this simulation",
                hint=f"remove it (`docker network rm {name}`) or use another --state-dir",
            )
        self.api.create_network(name, driver="bridge", labels=labels, check_duplicate=True)
        return name

    # --- clean-up -------------------------------------------------------------------------

    def labelled(self) -> tuple[list[str], list[str]]:
        """Names of this simulation's containers and networks (found by label)."""
        label = f"{SIMULATION_LABEL}={self.simulation_id}"
        containers = self.api.containers(all=True, filters={"label": label})
        networks = self.api.networks(filters={"label": label})
        return (
            sorted(str((c.get("Names") or ["?"])[0]).lstrip("/") for c in containers),
            sorted(str(n.get("Name")) for n in networks),
        )

    def remove_simulation(self, *, hub_last: bool = True) -> tuple[list[str], list[str]]:
        """Stop and remove every container and network labelled with this simulation;
        modules in parallel, then the hub (so it sees its clients leave). Returns the names."""
        label = f"{SIMULATION_LABEL}={self.simulation_id}"
        containers = self.api.containers(all=True, filters={"label": label})
        names = [str((c.get("Names") or ["?"])[0]).lstrip("/") for c in containers]
        hub = [n for n in names if n == HUB_CONTAINER and hub_last]
        modules = [n for n in names if n not in hub]
        _parallel(self._stop_remove, modules)
        _parallel(self._stop_remove, hub)
        networks = []
        for net in self.api.networks(filters={"label": label}):
            try:
                self.api.remove_network(net["Id"])
                networks.append(str(net.get("Name")))
            except Exception as exc:
                if not _not_found(exc):
                    raise
        return names, networks

    def _stop_remove(self, name: str) -> None:
        self.stop(name, timeout=STOP_TIMEOUT)
        self.remove(name)


def _parallel(work: Any, names: list[str]) -> None:
    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) == 404 or type(exc).__name__ in (
        "NotFound",
        "ImageNotFound",
    )


def _short(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
