"""A hand-written stand-in for ``Hub`` (hub.py is being built by another helper): the methods
of the shell contract, backed by dicts, so the HTTP layer can be tested on its own. Tests that
need the real hub live in ``test_e2e_sdk.py``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any

from iotedge_cli.simulator.hub.iothub.identity import build_connection_string

DEVICE = "edge-dev-1"
IOTHUB = "myhub.azure-devices.net"
KEYS = {
    "sensor": base64.b64encode(b"s" * 32).decode(),
    "filter": base64.b64encode(b"f" * 32).decode(),
}


class FakeHub:
    def __init__(self, gateway: str = "127.0.0.1", ca_file: str = "/tmp/ca.pem") -> None:
        self.gateway = gateway
        self.ca_file = ca_file
        self.listeners: list[dict[str, Any]] = []
        self.streams: list[str] = []
        self.injected: list[dict[str, Any]] = []
        self.invocations: list[dict[str, Any]] = []
        self.online: set[str] = {"filter"}
        self.slow: set[str] = set()
        self.twins: dict[str, dict[str, Any]] = {
            "filter": {"desired": {"$version": 1}, "reported": {"$version": 1}}
        }
        self.devices: dict[str, bool] = {}
        self.messages: list[dict[str, Any]] = []
        self.new_upstream = asyncio.Event()
        self.stopped = False

    # The MQTT side: echo every byte back, so a test sees the WebSocket carry a byte stream.
    async def handle_stream(
        self,
        reader: asyncio.StreamReader,
        writer: Any,
        *,
        transport: str = "tcp",
        peer_cert: bytes | None = None,
    ) -> None:
        self.streams.append(transport)
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()

    async def invoke_method(
        self,
        *,
        device_id: str,
        module_id: str | None,
        method: str,
        payload: Any,
        timeout: float,
        connect_timeout: float = 0.0,
        caller: str | None = None,
    ) -> tuple[int, Any]:
        self.invocations.append(
            {
                "device": device_id,
                "module": module_id,
                "method": method,
                "payload": payload,
                "timeout": timeout,
                "caller": caller,
            }
        )
        target = device_id if module_id is None else f"{device_id}/{module_id}"
        if module_id not in self.online:
            return 404, {"message": f"Client {target} not found"}
        if module_id in self.slow:
            await asyncio.sleep(timeout)
            return 504, {"message": "timed out"}
        return 200, {"result": "ok", "echo": payload}

    async def inject(
        self,
        *,
        module_id: str,
        input_name: str,
        body: bytes,
        properties: dict[str, str] | None = None,
        system_properties: dict[str, str] | None = None,
    ) -> None:
        if module_id not in KEYS:
            raise KeyError(f"no module {module_id!r}")
        self.injected.append(
            {
                "module": module_id,
                "input": input_name,
                "body": body,
                "properties": properties,
                "system": system_properties,
            }
        )

    def twin(self, identity: str) -> dict[str, Any]:
        if identity not in self.twins:
            raise KeyError(f"no identity {identity!r}")
        return self.twins[identity]

    async def patch_desired(self, identity: str, patch: dict[str, Any]) -> dict[str, Any]:
        twin = self.twin(identity)
        twin["desired"].update(patch)
        twin["desired"]["$version"] += 1
        return twin

    def add_upstream(self, body: str) -> None:
        self.messages.append({"seq": len(self.messages) + 1, "body": body})
        self.new_upstream.set()

    def upstream(self, after: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        found = [m for m in self.messages if m["seq"] > after][:limit]
        return found, (found[-1]["seq"] if found else after)

    async def wait_upstream(self, after: int, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(m["seq"] > after for m in self.messages):
            self.new_upstream.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self.new_upstream.wait(), left)
            except asyncio.TimeoutError:
                return

    def add_device(self, device_id: str, *, x509: bool = False) -> dict[str, Any]:
        if device_id in self.devices:
            raise ValueError(f"device {device_id!r} exists already")
        self.devices[device_id] = x509
        return {"deviceId": device_id, "x509": x509}

    def connection_info(self, module_id: str) -> dict[str, str]:
        if module_id not in KEYS:
            raise KeyError(f"no module {module_id!r}")
        cs = build_connection_string(
            host_name=IOTHUB,
            gateway_host_name=self.gateway,
            device_id=DEVICE,
            module_id=module_id,
            shared_access_key=KEYS[module_id],
        )
        return {"EdgeHubConnectionString": cs, "EdgeModuleCACertificateFile": self.ca_file}

    def sign(self, module_id: str, generation_id: str, data: bytes) -> bytes:
        if module_id not in KEYS:
            raise KeyError(module_id)
        return hmac.new(base64.b64decode(KEYS[module_id]), data, hashlib.sha256).digest()

    def status(self) -> dict[str, Any]:
        identities = [{"deviceId": DEVICE, "moduleId": m} for m in KEYS]
        identities += [{"deviceId": d, "moduleId": None} for d in self.devices]
        return {"listeners": self.listeners, "identities": identities, "clients": [],
                "queues": {}, "upstream": len(self.messages)}  # fmt: skip

    def request_stop(self) -> None:
        self.stopped = True
