from __future__ import annotations

import json

from temperature_filter import DEFAULT_THRESHOLD, TemperatureFilter, parse_threshold, temperature_of


def reading(temperature: object) -> bytes:
    return json.dumps({"machine": {"temperature": temperature, "pressure": 1.0}}).encode()


def test_forwards_only_readings_above_the_threshold() -> None:
    f = TemperatureFilter(threshold=25.0)
    assert f.accept(reading(25.5))
    assert not f.accept(reading(25.0))
    assert not f.accept(reading(10))
    assert (f.received, f.forwarded) == (3, 1)


def test_messages_without_a_machine_temperature_are_dropped() -> None:
    f = TemperatureFilter()
    for body in (b"not json", b"[]", b'{"machine": {}}', reading("hot"), reading(True)):
        assert not f.accept(body)
    assert temperature_of(reading(30)) == 30.0


def test_threshold_comes_from_desired_properties() -> None:
    f = TemperatureFilter()
    assert f.threshold == DEFAULT_THRESHOLD
    assert f.apply_desired({"TemperatureThreshold": 30})
    assert f.threshold == 30.0
    assert not f.apply_desired({"TemperatureThreshold": "warm"})
    assert not f.apply_desired({"$version": 3})
    assert f.threshold == 30.0
    assert parse_threshold("21.5") == 21.5


def test_reset_clears_the_counters() -> None:
    f = TemperatureFilter()
    f.accept(reading(99))
    f.reset()
    assert f.reported() == {
        "TemperatureThreshold": DEFAULT_THRESHOLD,
        "received": 0,
        "forwarded": 0,
    }
