"""The hub's configuration: what ``edgectl simulate start`` writes to ``state_dir/config.json``.

Plain data, JSON round-trip (``to_json``/``from_json``); paths are stored as strings. Nothing here
opens sockets or files except :func:`load_config`.

The defaults are those of a hub run as a host process (``simulate start --hub-only``). The agent
mode runs the hub in a container and sets ``admin_socket`` (the admin API on a unix socket in the
bind-mounted state dir, reachable from the host), ``workload_bind``/``workload_port`` (the
workload API on the container's interfaces, for the module containers) and ``owner_pid`` (the
host supervisor's pid, which ``simulate status|stop`` check: the hub's own pid means nothing on
the host).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotedge_cli.errors import InputError

__all__ = ["DEFAULT_DEVICE_ID", "DEFAULT_IOTHUB_HOSTNAME", "HubConfig", "load_config"]

DEFAULT_DEVICE_ID = "edgectl-device"
DEFAULT_IOTHUB_HOSTNAME = "edgectl-sim.azure-devices.net"


@dataclass(frozen=True)
class HubConfig:
    state_dir: Path
    device_id: str
    iothub_hostname: str
    gateway_hostname: str
    server_cert: Path
    server_key: Path
    ca_cert: Path
    bind: str = "127.0.0.1"
    mqtt_port: int = 8883
    https_port: int = 443
    admin_port: int = 53000
    manifest: Path | None = None
    single_module: tuple[str, tuple[str, ...]] | None = None
    workload_socket: Path | None = None
    admin_socket: Path | None = None
    workload_bind: str = "127.0.0.1"
    workload_port: int | None = None  # None: admin_port + 1 (see workload.workload_port)
    owner_pid: int | None = None

    @property
    def store_path(self) -> Path:
        return self.state_dir / "hub.sqlite"

    @property
    def runtime_file(self) -> Path:
        """``hub.json``: written while the hub runs."""
        return self.state_dir / "hub.json"

    def to_json(self) -> dict[str, Any]:
        return {
            "state_dir": str(self.state_dir),
            "device_id": self.device_id,
            "iothub_hostname": self.iothub_hostname,
            "gateway_hostname": self.gateway_hostname,
            "bind": self.bind,
            "mqtt_port": self.mqtt_port,
            "https_port": self.https_port,
            "admin_port": self.admin_port,
            "server_cert": str(self.server_cert),
            "server_key": str(self.server_key),
            "ca_cert": str(self.ca_cert),
            "manifest": None if self.manifest is None else str(self.manifest),
            "single_module": None
            if self.single_module is None
            else {"module": self.single_module[0], "inputs": list(self.single_module[1])},
            "workload_socket": None if self.workload_socket is None else str(self.workload_socket),
            "admin_socket": None if self.admin_socket is None else str(self.admin_socket),
            "workload_bind": self.workload_bind,
            "workload_port": self.workload_port,
            "owner_pid": self.owner_pid,
        }

    @classmethod
    def from_json(cls, data: Any) -> HubConfig:
        """Rebuild from :meth:`to_json` output; ``InputError`` names a missing or bad field."""
        if not isinstance(data, dict):
            raise InputError("hub config must be a JSON object", "recreate it with simulate start")

        def text(name: str, default: str | None = None) -> str:
            value = data.get(name, default)
            if not isinstance(value, str) or not value:
                raise InputError(
                    f"hub config: {name!r} must be a non-empty string, got {value!r}",
                    "recreate the state dir with edgectl simulate start",
                )
            return value

        def port(name: str, default: int) -> int:
            value = data.get(name, default)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
                raise InputError(
                    f"hub config: {name!r} must be a port 0..65535, got {value!r}",
                    "fix config.json or recreate it with edgectl simulate start",
                )
            return value

        def opt_port(name: str) -> int | None:
            return None if data.get(name) is None else port(name, 0)

        def opt_pid(name: str) -> int | None:
            value = data.get(name)
            if value is None:
                return None
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InputError(
                    f"hub config: {name!r} must be a process id (a positive integer) or null, "
                    f"got {value!r}",
                    "fix config.json or recreate it with edgectl simulate start",
                )
            return value

        def opt_path(name: str) -> Path | None:
            value = data.get(name)
            if value is None:
                return None
            if not isinstance(value, str) or not value:
                raise InputError(
                    f"hub config: {name!r} must be a path or null, got {value!r}",
                    "fix config.json",
                )
            return Path(value)

        single: tuple[str, tuple[str, ...]] | None = None
        raw_single = data.get("single_module")
        if raw_single is not None:
            module = raw_single.get("module") if isinstance(raw_single, dict) else None
            inputs = raw_single.get("inputs", []) if isinstance(raw_single, dict) else None
            if (
                not isinstance(module, str)
                or not module
                or not isinstance(inputs, list)
                or not all(isinstance(i, str) and i for i in inputs)
            ):
                raise InputError(
                    f"hub config: 'single_module' must be {{'module': NAME, 'inputs': [..]}}, "
                    f"got {raw_single!r}",
                    "fix config.json",
                )
            single = (module, tuple(inputs))
        return cls(
            state_dir=Path(text("state_dir")),
            device_id=text("device_id", DEFAULT_DEVICE_ID),
            iothub_hostname=text("iothub_hostname", DEFAULT_IOTHUB_HOSTNAME),
            gateway_hostname=text("gateway_hostname"),
            bind=text("bind", "127.0.0.1"),
            mqtt_port=port("mqtt_port", 8883),
            https_port=port("https_port", 443),
            admin_port=port("admin_port", 53000),
            server_cert=Path(text("server_cert")),
            server_key=Path(text("server_key")),
            ca_cert=Path(text("ca_cert")),
            manifest=opt_path("manifest"),
            single_module=single,
            workload_socket=opt_path("workload_socket"),
            admin_socket=opt_path("admin_socket"),
            workload_bind=text("workload_bind", "127.0.0.1"),
            workload_port=opt_port("workload_port"),
            owner_pid=opt_pid("owner_pid"),
        )


def load_config(path: Path) -> HubConfig:
    """Read ``config.json``; ``InputError`` when missing or not valid."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"no hub config at {path}", "start the simulator with edgectl simulate start"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read hub config {path}: {exc}", "fix or delete it") from None
    return HubConfig.from_json(data)
