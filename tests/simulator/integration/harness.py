"""Test harness: certificates, a manifest, and a hub in a background event-loop thread."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from iotedge_cli.certs.authority import Validity
from iotedge_cli.certs.chain import build_edge_chain, edge_chain_files
from iotedge_cli.certs.store import write_files
from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.hub.hub import Hub
from iotedge_cli.simulator.hub.mqtt_listener import start_mqtt
from iotedge_cli.simulator.hub.store import HubStore

T = TypeVar("T")
DEVICE = "edgectl-device"
IOTHUB = "edgectl-sim.azure-devices.net"

ROUTES = {
    "hot": "FROM /messages/modules/sensor/outputs/temperatureOutput "
    'WHERE $body.temperature > 20 INTO BrokeredEndpoint("/modules/filter/inputs/input1")',
    "alerts": "FROM /messages/modules/sensor/outputs/alerts WHERE level = 'high' "
    'INTO BrokeredEndpoint("/modules/filter/inputs/alerts")',
    "up": "FROM /messages/modules/filter/outputs/* INTO $upstream",
    "leaf": "FROM /messages WHERE NOT IS_DEFINED($connectionModuleId) "
    'INTO BrokeredEndpoint("/modules/filter/inputs/leafInput")',
    "durable": "FROM /messages/modules/sensor/outputs/toOffline "
    'INTO BrokeredEndpoint("/modules/offline/inputs/in")',
    "durableUp": "FROM /messages/modules/sensor/outputs/toUpstream INTO $upstream",
}


def manifest(routes: dict[str, str] | None = None) -> dict[str, Any]:
    modules = {
        name: {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": {"image": f"example/{name}:1"},
        }
        for name in ("sensor", "filter", "offline")
    }
    return {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "runtime": {"type": "docker", "settings": {}},
                    "systemModules": {},
                    "modules": modules,
                }
            },
            "$edgeHub": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "routes": ROUTES if routes is None else routes,
                    "storeAndForwardConfiguration": {"timeToLiveSecs": 7200},
                }
            },
            "filter": {"properties.desired": {"threshold": 25}},
        }
    }


def make_state(state_dir: Path, ip: str, **overrides: Any) -> HubConfig:
    """Certificates (SAN = ``ip``), a manifest and a config in ``state_dir``."""
    certs = state_dir / "certs"
    chain = build_edge_chain(
        device_id=DEVICE,
        hostname=ip,
        validity=Validity.days_from(dt.datetime.now(dt.timezone.utc), 2),
    )
    files, _ = edge_chain_files(chain, certs)
    write_files(certs, files)
    manifest_path = state_dir / "deployment.json"
    manifest_path.write_text(json.dumps(manifest()), encoding="utf-8")
    settings: dict[str, Any] = {
        "state_dir": state_dir,
        "device_id": DEVICE,
        "iothub_hostname": IOTHUB,
        "gateway_hostname": ip,
        "bind": ip,
        "server_cert": certs / f"iot-edge-server-{ip}-full-chain.cert.pem",
        "server_key": certs / f"private/iot-edge-server-{ip}.key.pem",
        "ca_cert": certs / "trust-bundle.pem",
        "manifest": manifest_path,
        "https_port": 0,
        "admin_port": 0,
    }
    settings.update(overrides)
    return HubConfig(**settings)


class HubThread:
    """A hub with its MQTT listener in a background event loop (hub-protocol §13)."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.hub: Hub
        self._server: asyncio.AbstractServer | None = None
        self._store: HubStore | None = None

    def start(self) -> HubThread:
        self.thread.start()
        self.call(self._start())
        return self

    async def _start(self) -> None:
        self._store = HubStore(self.config.store_path)
        self.hub = Hub(self.config, self._store)
        await self.hub.start()
        self._server = await start_mqtt(self.hub, self.config)
        self._https: asyncio.AbstractServer | None = None
        if self.config.https_port:
            try:
                from iotedge_cli.simulator.hub.web import start_https
            except ImportError:
                return
            self._https = await start_https(self.hub, self.config)

    async def _stop(self) -> None:
        assert self._server is not None and self._store is not None
        self._server.close()
        if self._https is not None:
            self._https.close()
        await self.hub.stop()
        await self._server.wait_closed()
        if self._https is not None:
            # aborts connections still open (the SDK keeps its HTTPS connection alive)
            await self._https.wait_closed()
        # connection handlers still running (e.g. HTTP keep-alive) end with the loop
        current = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not current]
        for task in rest:
            task.cancel()
        if rest:
            await asyncio.wait(rest, timeout=2)
        self._store.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        async def wrapper() -> Any:
            return fn(*args, **kwargs)

        return self.call(wrapper())

    def stop(self) -> None:
        try:
            self.call(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()

    def connection_string(self, module: str) -> str:
        return str(self.run(self.hub.connection_info, module)["EdgeHubConnectionString"])
