"""``edgectl simulate invoke --connect-timeout``: sent to the admin API, bounded, documented
(the real hub's waiting: tests/simulator/integration/test_method_connect_timeout.py)."""

from __future__ import annotations

from tests.cli.helpers import invoke
from tests.cli.simulate.conftest import StandIn


def test_connect_timeout_is_sent(stand_in: StandIn) -> None:
    args = ["invoke", "filter", "reset", "--connect-timeout", "2.5"]
    run = invoke(["simulate", *args, "--state-dir", str(stand_in.state_dir)])
    assert run.exit_code == 0
    assert stand_in.requests[-1][2] == {"payload": None, "timeout": 30.0, "connectTimeout": 2.5}


def test_connect_timeout_above_300_is_a_usage_error(stand_in: StandIn) -> None:
    args = ["invoke", "filter", "reset", "--connect-timeout", "301"]
    run = invoke(["simulate", *args, "--state-dir", str(stand_in.state_dir)])
    assert run.exit_code == 2
    # (CliRunner bypasses main(), which renders this as `error:` + `hint:`)
    assert "Invalid value for '--connect-timeout'" in run.stderr
    assert "0.0<=x<=300.0" in run.stderr
    assert all(path != "/api/v1/methods/filter/reset" for _, path, _ in stand_in.requests)


def test_help_documents_connect_timeout() -> None:
    run = invoke(["simulate", "invoke", "--help"])
    assert run.exit_code == 0
    assert "--connect-timeout" in run.stdout
    assert "connectTimeoutInSeconds" in run.stdout
