"""Service connection strings: what is accepted, what is refused (never quoting the key)."""

from __future__ import annotations

import pytest

from iotedge_cli.cloud.connection import (
    device_connection_string,
    parse_connection_string,
    redact,
    resolve_connection_string,
)
from iotedge_cli.errors import ExitCode, UsageError

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
GOOD = f"HostName=myhub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}"


def test_a_service_connection_string_is_parsed_and_normalised() -> None:
    conn = parse_connection_string(f"  {GOOD};  ", source="--hub-connection-string")
    assert (conn.host_name, conn.key_name, conn.key) == (
        "myhub.azure-devices.net",
        "iothubowner",
        KEY,
    )
    assert conn.hub_name == "myhub"
    assert conn.connection_string == GOOD
    assert KEY not in repr(conn)


def test_a_host_with_a_port_is_accepted() -> None:
    conn = parse_connection_string(
        GOOD.replace("myhub.azure-devices.net", "127.0.0.72:8443"), source="x"
    )
    assert conn.host_name == "127.0.0.72:8443"
    assert conn.hub_name == "127.0.0.72"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not a connection string", "is not of the form HostName=...;SharedAccessKeyName=..."),
        (GOOD.replace("HostName", "Hostname"), "has an unknown part 'Hostname'"),
        (GOOD + ";HostName=other", "has HostName twice"),
        (GOOD.replace("SharedAccessKeyName=iothubowner;", ""), "has no SharedAccessKeyName"),
        (GOOD.replace(f"SharedAccessKey={KEY}", "SharedAccessKey="), "has no SharedAccessKey"),
        (GOOD.replace(KEY, KEY[:-3]), "has a SharedAccessKey that is not base64"),
        (GOOD.replace("myhub.azure-devices.net", "my hub"), "has an invalid HostName 'my hub'"),
        (
            f"HostName=h.azure-devices.net;DeviceId=dev;SharedAccessKey={KEY}",
            "is a device or module connection string",
        ),
    ],
)
def test_bad_connection_strings_are_refused_without_the_key(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_connection_string(text, source="$EDGECTL_HUB_CONNECTION_STRING")
    error = caught.value
    assert error.message.startswith(
        "the IoT Hub connection string from $EDGECTL_HUB_CONNECTION_STRING " + problem
    )
    assert error.exit_code == ExitCode.USAGE
    assert error.hint
    assert KEY[:12] not in error.message + error.hint


def test_the_option_wins_over_the_environment_and_nothing_is_an_error() -> None:
    env = {"EDGECTL_HUB_CONNECTION_STRING": GOOD.replace("myhub", "envhub")}
    assert resolve_connection_string(None, env).host_name == "envhub.azure-devices.net"
    assert resolve_connection_string(GOOD, env).host_name == "myhub.azure-devices.net"
    assert resolve_connection_string(GOOD, env).source == "--hub-connection-string"
    with pytest.raises(UsageError, match="no IoT Hub to talk to"):
        resolve_connection_string(None, {})


def test_redact_scrubs_keys_signatures_and_given_secrets() -> None:
    token = "SharedAccessSignature sr=h&sig=abc%2Bdef%3D&se=1&skn=iothubowner"
    assert redact(token) == "SharedAccessSignature sr=h&sig=<redacted>&se=1&skn=iothubowner"
    assert redact(GOOD) == (
        "HostName=myhub.azure-devices.net;SharedAccessKeyName=iothubowner;"
        "SharedAccessKey=<redacted>"
    )
    assert redact('{"primaryKey": "abc", "x": 1}') == '{"primaryKey": "<redacted>", "x": 1}'
    assert redact(f"the key {KEY} leaked", KEY) == "the key <redacted> leaked"


def test_device_connection_strings() -> None:
    assert device_connection_string("h.azure-devices.net", "d1", "a2V5") == (
        "HostName=h.azure-devices.net;DeviceId=d1;SharedAccessKey=a2V5"
    )
    assert device_connection_string("h", "d2", None) == "HostName=h;DeviceId=d2;x509=true"
