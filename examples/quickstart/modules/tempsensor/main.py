"""tempsensor: sends simulated temperature readings to the output temperatureOutput.

Every SEND_INTERVAL seconds (environment variable, default 1) it sends one reading shaped
like the official SimulatedTemperatureSensor's (see readings.py) as UTF-8 JSON, and shuts
down cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from readings import DEFAULT_INTERVAL, parse_interval, reading

LOG = logging.getLogger("tempsensor")
OUTPUT = "temperatureOutput"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SensorModule:
    """Sends :func:`readings.reading` through a module client.

    ``client`` is an ``azure.iot.device.aio.IoTHubModuleClient``; ``make_message`` is the
    SDK's ``Message`` (passed in, so tests can fake the SDK); ``clock`` gives the time.
    """

    def __init__(
        self,
        client: Any,
        make_message: Callable[..., Any],
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client = client
        self.make_message = make_message
        self.interval = interval
        self.clock = clock
        self.sent = 0

    async def start(self) -> None:
        await self.client.connect()
        LOG.info("started; one reading every %s s to %s", self.interval, OUTPUT)

    async def send(self) -> None:
        data = reading(self.sent, self.clock())
        message = self.make_message(data.body())
        message.content_type = "application/json"
        message.content_encoding = "utf-8"
        message.custom_properties["sequenceNumber"] = str(self.sent)
        await self.client.send_message_to_output(message, OUTPUT)
        self.sent += 1
        LOG.debug("sent reading %d: %s", self.sent, data.machine_temperature)

    async def stop(self) -> None:
        await self.client.shutdown()
        LOG.info("stopped after %d readings", self.sent)


async def run(module: SensorModule, stop: asyncio.Event) -> None:
    await module.start()
    try:
        while not stop.is_set():
            await module.send()
            # Wait for the next reading, or return at once when asked to stop.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), module.interval)
    finally:
        await module.stop()


def main() -> None:
    from azure.iot.device import Message
    from azure.iot.device.aio import IoTHubModuleClient

    # RuntimeLogLevel is set by edgeAgent (debug, info, warning, error); the SDK's own loggers
    # stay at WARNING unless it is debug.
    levels = {
        "DEBUG": logging.DEBUG,
        "INFO": logging.INFO,
        "WARN": logging.WARNING,
        "WARNING": logging.WARNING,
        "ERROR": logging.ERROR,
    }
    requested = os.environ.get("RuntimeLogLevel", "info")  # noqa: SIM112 (edgeAgent's name)
    level = levels.get(requested.upper(), logging.INFO)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    LOG.setLevel(level)
    if level == logging.DEBUG:
        logging.getLogger("azure").setLevel(logging.DEBUG)
    interval = parse_interval(os.environ.get("SEND_INTERVAL"))
    if interval is None:
        if os.environ.get("SEND_INTERVAL"):
            LOG.warning(
                "SEND_INTERVAL=%r is not a positive number of seconds; using %s",
                os.environ["SEND_INTERVAL"],
                DEFAULT_INTERVAL,
            )
        interval = DEFAULT_INTERVAL
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = IoTHubModuleClient.create_from_edge_environment()
    module = SensorModule(client, Message, interval)
    try:
        loop.run_until_complete(run(module, stop))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
