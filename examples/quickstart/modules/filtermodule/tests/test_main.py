"""The module against a fake client: the SDK is replaced at its boundary only."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from main import FilterModule, run


@dataclass
class FakeMessage:
    data: bytes
    input_name: str | None = None
    custom_properties: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    content_encoding: str | None = None


@dataclass
class FakeMethodRequest:
    name: str
    request_id: str = "1"
    payload: Any = None


class FakeClient:
    """Records what the module asks of ``IoTHubModuleClient``."""

    def __init__(self, desired: dict[str, Any]) -> None:
        self.desired = desired
        self.connected = False
        self.outputs: list[tuple[str, FakeMessage]] = []
        self.reported: list[dict[str, Any]] = []
        self.method_responses: list[tuple[Any, int, Any]] = []
        self.on_message_received: Any = None
        self.on_twin_desired_properties_patch_received: Any = None
        self.on_method_request_received: Any = None

    async def connect(self) -> None:
        self.connected = True

    async def shutdown(self) -> None:
        self.connected = False

    async def get_twin(self) -> dict[str, Any]:
        return {"desired": self.desired, "reported": {}}

    async def send_message_to_output(self, message: FakeMessage, output: str) -> None:
        self.outputs.append((output, message))

    async def patch_twin_reported_properties(self, patch: dict[str, Any]) -> None:
        self.reported.append(patch)

    async def send_method_response(self, response: tuple[Any, int, Any]) -> None:
        self.method_responses.append(response)


def make_module(desired: dict[str, Any]) -> tuple[FilterModule, FakeClient]:
    client = FakeClient(desired)
    module = FilterModule(
        client, FakeMessage, lambda request, status, payload: (request, status, payload)
    )
    return module, client


def reading(temperature: float) -> bytes:
    return json.dumps({"machine": {"temperature": temperature}}).encode()


async def scenario() -> FakeClient:
    module, client = make_module({"TemperatureThreshold": 30, "$version": 1})
    stop = asyncio.Event()
    task = asyncio.create_task(run(module, stop))
    await asyncio.sleep(0)
    assert client.connected
    assert client.reported[-1]["TemperatureThreshold"] == 30.0

    await client.on_message_received(FakeMessage(reading(31), "input1"))
    await client.on_message_received(FakeMessage(reading(29), "input1"))
    await client.on_message_received(FakeMessage(reading(99), "other"))
    assert [(o, json.loads(m.data)) for o, m in client.outputs] == [
        ("output1", {"machine": {"temperature": 31}})
    ]
    assert client.outputs[0][1].custom_properties["MessageType"] == "Alert"

    await client.on_twin_desired_properties_patch_received(
        {"TemperatureThreshold": 20, "$version": 2}
    )
    await client.on_message_received(FakeMessage(reading(29), "input1"))
    assert len(client.outputs) == 2
    assert client.reported[-1]["TemperatureThreshold"] == 20.0

    await client.on_method_request_received(FakeMethodRequest("reset"))
    await client.on_method_request_received(FakeMethodRequest("explode"))
    assert [status for _, status, _ in client.method_responses] == [200, 404]
    assert client.reported[-1]["received"] == 0

    stop.set()
    await task
    return client


def test_filters_updates_threshold_answers_methods_and_stops() -> None:
    client = asyncio.run(scenario())
    assert not client.connected
