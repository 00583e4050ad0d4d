"""The module's logic, free of the Azure SDK so that unit tests need nothing installed."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

DEFAULT_THRESHOLD = 25.0
THRESHOLD_PROPERTY = "TemperatureThreshold"


def temperature_of(body: bytes | str) -> float | None:
    """``machine.temperature`` of a JSON message body, or ``None`` if it has none."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    machine = data.get("machine") if isinstance(data, dict) else None
    value = machine.get("temperature") if isinstance(machine, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def parse_threshold(value: Any) -> float | None:
    """A threshold from twin desired properties (a number, or a numeric string)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass
class TemperatureFilter:
    """Forwards readings whose machine temperature exceeds ``threshold``; counts what it saw."""

    threshold: float = DEFAULT_THRESHOLD
    received: int = 0
    forwarded: int = 0

    def accept(self, body: bytes | str) -> bool:
        self.received += 1
        temperature = temperature_of(body)
        if temperature is None or temperature <= self.threshold:
            return False
        self.forwarded += 1
        return True

    def apply_desired(self, desired: dict[str, Any]) -> bool:
        """Take ``TemperatureThreshold`` from desired properties; ``True`` if it changed."""
        if THRESHOLD_PROPERTY not in desired:
            return False
        threshold = parse_threshold(desired[THRESHOLD_PROPERTY])
        if threshold is None or threshold == self.threshold:
            return False
        self.threshold = threshold
        return True

    def reset(self) -> None:
        self.received = 0
        self.forwarded = 0

    def reported(self) -> dict[str, Any]:
        return {
            THRESHOLD_PROPERTY: self.threshold,
            "received": self.received,
            "forwarded": self.forwarded,
        }
