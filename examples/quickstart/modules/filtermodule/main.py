"""filtermodule: forwards machine temperature readings above a threshold.

Receives messages on input1, sends those whose machine.temperature exceeds the module twin's
desired TemperatureThreshold to output1, reports its state as reported properties, answers
the direct method "reset", and shuts down cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from temperature_filter import TemperatureFilter

LOG = logging.getLogger("filtermodule")
INPUT = "input1"
OUTPUT = "output1"


class FilterModule:
    """Wires :class:`TemperatureFilter` to a module client.

    ``client`` is an ``azure.iot.device.aio.IoTHubModuleClient``; ``make_message`` and
    ``make_method_response`` are the SDK's ``Message`` and
    ``MethodResponse.create_from_method_request`` (passed in, so tests can fake the SDK).
    """

    def __init__(
        self,
        client: Any,
        make_message: Callable[..., Any],
        make_method_response: Callable[..., Any],
    ) -> None:
        self.client = client
        self.make_message = make_message
        self.make_method_response = make_method_response
        self.filter = TemperatureFilter()

    async def start(self) -> None:
        await self.client.connect()
        twin = await self.client.get_twin()
        self.filter.apply_desired(twin.get("desired", {}))
        self.client.on_message_received = self.on_message
        self.client.on_twin_desired_properties_patch_received = self.on_desired_patch
        self.client.on_method_request_received = self.on_method
        await self.report()
        LOG.info("started; threshold %s", self.filter.threshold)

    async def on_message(self, message: Any) -> None:
        if message.input_name != INPUT:
            LOG.warning("ignoring a message on unknown input %r", message.input_name)
            return
        if not self.filter.accept(message.data):
            return
        forward = self.make_message(message.data)
        forward.content_type = "application/json"
        forward.content_encoding = "utf-8"
        forward.custom_properties.update(message.custom_properties or {})
        forward.custom_properties["MessageType"] = "Alert"
        await self.client.send_message_to_output(forward, OUTPUT)

    async def on_desired_patch(self, patch: dict[str, Any]) -> None:
        if self.filter.apply_desired(patch):
            LOG.info("threshold is now %s", self.filter.threshold)
        await self.report()

    async def on_method(self, request: Any) -> None:
        if request.name == "reset":
            self.filter.reset()
            status, payload = 200, {"result": "counters reset"}
            await self.report()
        else:
            status, payload = 404, {"error": f"unknown method {request.name!r}"}
        await self.client.send_method_response(self.make_method_response(request, status, payload))

    async def report(self) -> None:
        await self.client.patch_twin_reported_properties(self.filter.reported())

    async def stop(self) -> None:
        await self.client.shutdown()
        LOG.info("stopped")


async def run(module: FilterModule, stop: asyncio.Event) -> None:
    await module.start()
    try:
        await stop.wait()
    finally:
        await module.stop()


def main() -> None:
    from azure.iot.device import Message, MethodResponse
    from azure.iot.device.aio import IoTHubModuleClient

    # RuntimeLogLevel is set by edgeAgent (debug, info, warning, error); the SDK's own loggers
    # stay at WARNING unless it is debug.
    levels = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
              "WARNING": logging.WARNING, "ERROR": logging.ERROR}
    level = levels.get(os.environ.get("RuntimeLogLevel", "info").upper(), logging.INFO)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    LOG.setLevel(level)
    if level == logging.DEBUG:
        logging.getLogger("azure").setLevel(logging.DEBUG)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = IoTHubModuleClient.create_from_edge_environment()
    module = FilterModule(client, Message, MethodResponse.create_from_method_request)
    try:
        loop.run_until_complete(run(module, stop))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
