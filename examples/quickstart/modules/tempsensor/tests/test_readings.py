from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from readings import (
    MACHINE_MAX,
    MACHINE_MIN,
    PERIOD,
    iso_utc,
    machine_temperature,
    parse_interval,
    reading,
)

NOON = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)


def test_body_has_the_official_sensors_shape() -> None:
    body = json.loads(reading(0, NOON).body())
    assert body == {
        "machine": {"temperature": 25.0, "pressure": 5.5},
        "ambient": {"temperature": 21.0, "humidity": 24},
        "timeCreated": "2024-05-01T12:00:00.250000Z",
    }


def test_the_machine_temperature_is_a_deterministic_wave_around_25() -> None:
    wave = [machine_temperature(i) for i in range(PERIOD)]
    assert wave == [25.0, 27.939, 29.755, 29.755, 27.939, 25.0, 22.061, 20.245, 20.245, 22.061]
    assert [machine_temperature(i + PERIOD) for i in range(PERIOD)] == wave
    assert all(MACHINE_MIN <= t <= MACHINE_MAX for t in wave)
    # With filtermodule's threshold of 25, the first five readings (5 s) hold both kinds.
    assert {t > 25 for t in wave[:5]} == {True, False}


def test_pressure_follows_the_temperature_and_ambient_values_stay_plausible() -> None:
    readings = [reading(i, NOON) for i in range(3 * PERIOD)]
    by_temperature = sorted(readings, key=lambda r: r.machine_temperature)
    pressures = [r.machine_pressure for r in by_temperature]
    assert pressures == sorted(pressures)
    assert 1.0 <= pressures[0] < pressures[-1] <= 10.0
    assert all(20.5 <= r.ambient_temperature <= 21.5 for r in readings)
    assert {r.ambient_humidity for r in readings} == {24, 25, 26}
    assert reading(7, NOON) == reading(7, NOON)


def test_time_created_is_utc_with_a_z() -> None:
    east = timezone(timedelta(hours=2))
    assert iso_utc(datetime(2024, 5, 1, 14, 0, tzinfo=east)) == "2024-05-01T12:00:00.000000Z"
    assert iso_utc(datetime(2024, 5, 1, 12, 0)) == "2024-05-01T12:00:00.000000Z"


def test_send_interval_is_a_positive_number_of_seconds() -> None:
    assert parse_interval("2") == 2.0
    assert parse_interval(" 0.5 ") == 0.5
    for bad in (None, "", "soon", "0", "-1", "nan", "inf"):
        assert parse_interval(bad) is None, bad
