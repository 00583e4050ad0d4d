"""The service API's policy key, connection string and SAS check (pure, with files)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from iotedge_cli.simulator.hub.iothub.sas import build_token
from iotedge_cli.simulator.hub.service import (
    check_service_token,
    load_or_create_policy_key,
    service_connection_string,
)

KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
OTHER = "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4="
HOSTS = ("edgectl-sim.azure-devices.net", "127.0.0.71", "127.0.0.71:8443")
NOW = 1_700_000_000.0


def token(
    host: str = "127.0.0.71",
    key: str = KEY,
    skn: str | None = "iothubowner",
    se: float = NOW + 3600,
) -> str:
    return build_token(host, key, int(se), skn)


def test_connection_string_is_what_the_sdk_parses() -> None:
    cs = service_connection_string("127.0.0.71:8443", KEY)
    assert cs == f"HostName=127.0.0.71:8443;SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}"
    pytest.importorskip("azure.iot.hub")
    from azure.iot.hub.connection_string import ConnectionString

    parsed = ConnectionString(cs)
    assert parsed["HostName"] == "127.0.0.71:8443"
    assert parsed["SharedAccessKey"] == KEY


def test_sdk_token_is_accepted() -> None:
    pytest.importorskip("azure.iot.hub")
    from azure.iot.hub.sastoken import SasToken

    sdk_token = str(SasToken("127.0.0.71:8443", KEY, "iothubowner"))
    assert "sr=127.0.0.71%3A8443&" in sdk_token
    assert check_service_token(sdk_token, key=KEY, hosts=HOSTS, now=time.time()) is None


CASES: list[tuple[str | None, str]] = [
    (None, "no Authorization header"),
    ("Bearer abc", "must start with 'SharedAccessSignature '"),
    (token(skn=None), "iothubowner"),
    (token(skn="registryRead"), "iothubowner"),
    (token(host="elsewhere.azure-devices.net"), "audience"),
    (token(key=OTHER), "signature mismatch"),
    (token(se=NOW - 301), "expired"),
]


@pytest.mark.parametrize(("authorization", "reason"), CASES)
def test_bad_tokens(authorization: str | None, reason: str) -> None:
    problem = check_service_token(authorization, key=KEY, hosts=HOSTS, now=NOW)
    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize(
    "host", ["127.0.0.71", "EDGECTL-SIM.azure-devices.net", "127.0.0.71:8443", "127.0.0.71:9"]
)
def test_good_tokens(host: str) -> None:
    # a port on a known host is accepted (the SDK signs its HostName, port included)
    assert (
        check_service_token(token(host=host, se=NOW - 200), key=KEY, hosts=HOSTS, now=NOW) is None
    )


def test_policy_key_is_created_once_private(tmp_path: Path) -> None:
    key = load_or_create_policy_key(tmp_path)
    path = tmp_path / "service.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(key) == 44
    assert load_or_create_policy_key(tmp_path) == key


def test_invalid_policy_key_file(tmp_path: Path) -> None:
    (tmp_path / "service.key").write_text("not base64!\n")
    with pytest.raises(ValueError, match="delete it"):
        load_or_create_policy_key(tmp_path)
