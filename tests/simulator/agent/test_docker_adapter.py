"""The Docker adapter's translation of `docker inspect` into the reconcile core's Observed."""

from __future__ import annotations

import pytest

from iotedge_cli.simulator.agent.docker_adapter import observed_from_inspect, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T12:40:37.123456789Z", 1795783237.123456),
        ("2026-11-27T12:40:37Z", 1795783237.0),
        ("2026-11-27T13:40:37.5+01:00", 1795783237.5),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_time(text: object, expected: float | None) -> None:
    value = parse_time(text)
    assert value == pytest.approx(expected) if expected is not None else value is None


def inspect(status: str, labels: dict[str, str], **state: object) -> dict[str, object]:
    return {
        "Name": "/filter",
        "Config": {"Labels": labels},
        "State": {
            "Status": status,
            "ExitCode": 0,
            "StartedAt": "2026-11-27T12:40:37Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
            **state,
        },
    }


OURS = {
    "net.azure-devices.edge.owner": "edgectl",
    "edgectl.simulation": "sim1",
    "edgectl.module": "filter",
    "edgectl.fingerprint": "abc",
}


def test_running_owned_container() -> None:
    obs = observed_from_inspect(inspect("running", OURS), "sim1")
    assert (obs.name, obs.state, obs.fingerprint, obs.owned) == ("filter", "running", "abc", True)
    assert obs.exit_code is None and obs.started_at == pytest.approx(1795783237.0)
    assert obs.finished_at is None


def test_exited_with_health_and_code() -> None:
    obs = observed_from_inspect(
        inspect("exited", OURS, ExitCode=137, Health={"Status": "unhealthy"}), "sim1"
    )
    assert obs.state == "exited" and obs.exit_code == 137 and obs.health == "unhealthy"


@pytest.mark.parametrize("labels", [{}, {**OURS, "edgectl.simulation": "other"}])
def test_foreign_container_is_not_owned(labels: dict[str, str]) -> None:
    obs = observed_from_inspect(inspect("running", labels), "sim1")
    assert obs.owned is False and obs.name == "filter"


@pytest.mark.parametrize(
    ("docker", "state"),
    [("restarting", "running"), ("paused", "running"), ("created", "created"), ("dead", "exited")],
)
def test_state_mapping(docker: str, state: str) -> None:
    assert observed_from_inspect(inspect(docker, OURS), "sim1").state == state
