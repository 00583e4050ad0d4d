"""The module against a fake client: the SDK is replaced at its boundary only."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from main import OUTPUT, SensorModule, run

NOON = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class FakeMessage:
    data: str
    custom_properties: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    content_encoding: str | None = None


class FakeClient:
    """Records what the module asks of ``IoTHubModuleClient``."""

    def __init__(self) -> None:
        self.connected = False
        self.outputs: list[tuple[str, FakeMessage]] = []

    async def connect(self) -> None:
        self.connected = True

    async def shutdown(self) -> None:
        self.connected = False

    async def send_message_to_output(self, message: FakeMessage, output: str) -> None:
        assert self.connected
        self.outputs.append((output, message))


async def sends_until_stopped() -> FakeClient:
    client = FakeClient()
    module = SensorModule(client, FakeMessage, interval=0.01, clock=lambda: NOON)
    stop = asyncio.Event()
    task = asyncio.create_task(run(module, stop))
    while len(client.outputs) < 4:
        await asyncio.sleep(0.005)
    stop.set()
    await task
    return client


def test_sends_readings_to_temperature_output_until_stopped() -> None:
    client = asyncio.run(sends_until_stopped())
    assert not client.connected
    assert {output for output, _ in client.outputs} == {OUTPUT} == {"temperatureOutput"}
    bodies = [json.loads(m.data) for _, m in client.outputs]
    assert [b["machine"]["temperature"] for b in bodies[:4]] == [25.0, 27.939, 29.755, 29.755]
    assert bodies[0]["timeCreated"] == "2024-05-01T12:00:00.000000Z"
    first = client.outputs[0][1]
    assert (first.content_type, first.content_encoding) == ("application/json", "utf-8")
    assert [m.custom_properties["sequenceNumber"] for _, m in client.outputs[:3]] == ["0", "1", "2"]


async def stops_during_a_long_interval() -> tuple[FakeClient, float]:
    client = FakeClient()
    module = SensorModule(client, FakeMessage, interval=60)
    stop = asyncio.Event()
    task = asyncio.create_task(run(module, stop))
    while not client.outputs:
        await asyncio.sleep(0.005)
    started = time.monotonic()
    stop.set()  # what SIGTERM does
    await task
    return client, time.monotonic() - started


def test_a_stop_request_ends_the_wait_at_once() -> None:
    client, took = asyncio.run(stops_during_a_long_interval())
    assert len(client.outputs) == 1
    assert not client.connected
    assert took < 5
