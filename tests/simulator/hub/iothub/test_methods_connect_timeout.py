"""``connectTimeoutInSeconds`` in the HTTPS invoke body: parsed, bounded as IoT Hub bounds it,
and named in the 404 when the wait was for nothing."""

from __future__ import annotations

import pytest

from iotedge_cli.simulator.hub.iothub import methods


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("2.5", 2.5), ("300", 300.0)])
def test_connect_timeout_is_parsed(value: str, seconds: float) -> None:
    body = f'{{"methodName": "m", "connectTimeoutInSeconds": {value}}}'.encode()
    assert methods.parse_invoke_body(body).connect_timeout == seconds


def test_connect_timeout_above_300_is_400() -> None:
    with pytest.raises(methods.InvokeError) as info:
        methods.parse_invoke_body(b'{"methodName": "m", "connectTimeoutInSeconds": 301}')
    assert info.value.response == methods.HttpResult(
        400, {"message": "connectTimeoutInSeconds must be at most 300, got 301"}
    )


def test_not_found_names_the_wait_only_when_there_was_one() -> None:
    assert methods.not_found("d/m").body == {"message": "Client d/m not found"}
    assert methods.not_found("d/m", 2.5).body == {
        "message": "Client d/m not found: not connected and subscribed to methods within 2.5 s"
    }
