"""The sensor's data, free of the Azure SDK so that unit tests need nothing installed.

Readings have the shape of the official SimulatedTemperatureSensor's messages. The machine
temperature follows a sine wave between MACHINE_MIN and MACHINE_MAX with a period of PERIOD
readings, so a filter with a threshold in that range (filtermodule's default is 25) passes
some readings and drops others within a few seconds. Everything is a function of the
reading's index and the time passed in: the same inputs always give the same body.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

MACHINE_MIN = 20.0
MACHINE_MAX = 30.0
PERIOD = 10  # readings per wave
PRESSURE_MIN = 1.0
PRESSURE_MAX = 10.0
AMBIENT_TEMPERATURE = 21.0
DEFAULT_INTERVAL = 1.0


@dataclass(frozen=True)
class Reading:
    machine_temperature: float
    machine_pressure: float
    ambient_temperature: float
    ambient_humidity: int
    time_created: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": {
                "temperature": self.machine_temperature,
                "pressure": self.machine_pressure,
            },
            "ambient": {
                "temperature": self.ambient_temperature,
                "humidity": self.ambient_humidity,
            },
            "timeCreated": iso_utc(self.time_created),
        }

    def body(self) -> str:
        return json.dumps(self.to_json())


def machine_temperature(index: int) -> float:
    """The ``index``-th point of the wave: 25, 27.9, 29.8, 29.8, 27.9, 25, 22.1, 20.2, …"""
    middle = (MACHINE_MIN + MACHINE_MAX) / 2
    amplitude = (MACHINE_MAX - MACHINE_MIN) / 2
    return round(middle + amplitude * math.sin(2 * math.pi * index / PERIOD), 3)


def reading(index: int, now: datetime) -> Reading:
    """The ``index``-th reading (0, 1, 2 …), created at ``now``."""
    temperature = machine_temperature(index)
    # As the official sensor does: pressure rises linearly with the machine temperature.
    scale = (PRESSURE_MAX - PRESSURE_MIN) / (MACHINE_MAX - MACHINE_MIN)
    pressure = round(PRESSURE_MIN + (temperature - MACHINE_MIN) * scale, 3)
    ambient = round(AMBIENT_TEMPERATURE + 0.5 * math.sin(2 * math.pi * index / (3 * PERIOD)), 3)
    return Reading(temperature, pressure, ambient, 24 + index % 3, now)


def iso_utc(moment: datetime) -> str:
    """``2024-05-01T12:00:00.250000Z``: ISO 8601 in UTC, as .NET writes DateTime.UtcNow."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


def parse_interval(value: str | None) -> float | None:
    """SEND_INTERVAL in seconds (a positive number); ``None`` when it is not one."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None
