"""Identities of a manifest, keys, connection strings, usernames and the CONNECT decision."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from iotedge_cli.errors import InputError
from iotedge_cli.manifest.loader import load_text
from iotedge_cli.manifest.model import Manifest
from iotedge_cli.simulator.hub.iothub.identity import (
    ConnackCode,
    ConnectionString,
    ConnectionStringError,
    Identity,
    IdentityRegistry,
    UsernameError,
    build_connection_string,
    check_connect,
    generate_key,
    identities_from_manifest,
    parse_connection_string,
    parse_username,
)
from iotedge_cli.simulator.hub.iothub.sas import SasFailure, generate_token

HUB = "myhub.azure-devices.net"
GW = "localhost"
DEV = "edge-dev-1"
NOW = 1_795_770_000.0
KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def manifest(**extra_modules: Any) -> Manifest:
    modules = {"sensor": {"type": "docker"}, "filter": {"type": "docker"}, **extra_modules}
    data = {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "systemModules": {"edgeAgent": {}, "edgeHub": {}},
                    "modules": modules,
                }
            },
            "$edgeHub": {"properties.desired": {"routes": {}}},
        }
    }
    return Manifest.from_doc(load_text(json.dumps(data), "deployment.json", template=False))


def counter_keys() -> Any:
    count = iter(range(1000))
    return lambda: base64.b64encode(bytes([next(count)]) * 32).decode()


def test_identities_of_a_manifest() -> None:
    registry = identities_from_manifest(
        manifest(), DEV, leaf_devices=["leaf1", ("camera", True)], new_key=counter_keys()
    )
    assert [i.id for i in registry] == [
        "edge-dev-1/$edgeAgent",
        "edge-dev-1/$edgeHub",
        "edge-dev-1/sensor",
        "edge-dev-1/filter",
        "leaf1",
        "camera",
    ]
    sensor = registry.get(DEV, "sensor")
    assert sensor is not None and sensor.is_module and sensor.client_id == "edge-dev-1/sensor"
    leaf = registry.get("leaf1")
    assert leaf is not None and not leaf.is_module and not leaf.x509
    camera = registry.get("camera")
    assert camera is not None and camera.x509
    keys = {k for i in registry for k in (i.primary_key, i.secondary_key)}
    assert len(keys) == 12  # every identity has two distinct keys
    assert len(registry) == 6


def test_layered_manifest_modules() -> None:
    data = {
        "content": {
            "modulesContent": {
                "$edgeAgent": {"properties.desired.modules.cam": {"type": "docker"}},
            }
        }
    }
    layered = Manifest.from_doc(load_text(json.dumps(data), "layer.json", template=False))
    ids = [i.id for i in identities_from_manifest(layered, "d")]
    assert ids == ["d/$edgeAgent", "d/$edgeHub", "d/cam"]


def test_existing_keys_are_kept() -> None:
    existing = {"edge-dev-1/sensor": (KEY_A, KEY_B)}
    registry = identities_from_manifest(manifest(), DEV, existing=existing)
    sensor = registry.get(DEV, "sensor")
    assert sensor is not None and (sensor.primary_key, sensor.secondary_key) == (KEY_A, KEY_B)
    filt = registry.get(DEV, "filter")
    assert filt is not None and filt.primary_key not in (KEY_A, KEY_B)


def test_leaf_with_the_edge_device_id_is_refused() -> None:
    with pytest.raises(ValueError, match="leaf device 'edge-dev-1' has the edge device's own id"):
        identities_from_manifest(manifest(), DEV, leaf_devices=[DEV])


def test_generate_key_is_32_random_bytes_base64() -> None:
    key = generate_key()
    assert len(key) == 44 and len(base64.b64decode(key)) == 32
    assert generate_key() != key
    assert generate_key(lambda n: b"\x01" * n) == base64.b64encode(b"\x01" * 32).decode()


def test_identity_rejects_bad_keys() -> None:
    with pytest.raises(ValueError, match="primary_key of d/m is not a base64 key"):
        Identity("d", "m", "not base64!", KEY_B)


def test_duplicate_identity() -> None:
    registry = IdentityRegistry()
    registry.add(Identity("d", None, KEY_A, KEY_B))
    with pytest.raises(ValueError, match="identity 'd' exists already"):
        registry.add(Identity("d", None, KEY_A, KEY_B))


# --- connection strings ----------------------------------------------------------------


def test_connection_string_build_and_parse() -> None:
    text = Identity(DEV, "sensor", KEY_A, KEY_B).connection_string(HUB, GW)
    assert (
        text
        == f"HostName={HUB};GatewayHostName={GW};DeviceId={DEV};ModuleId=sensor;SharedAccessKey={KEY_A}"
    )
    parsed = parse_connection_string(text, edge_module=True)
    assert parsed == ConnectionString(HUB, DEV, "sensor", KEY_A, GW)
    assert str(parsed) == text
    leaf = build_connection_string(host_name=HUB, device_id="leaf1", shared_access_key=KEY_A)
    assert leaf == f"HostName={HUB};DeviceId=leaf1;SharedAccessKey={KEY_A}"
    assert parse_connection_string(leaf + ";").device_id == "leaf1"


def test_connection_string_values_are_split_on_the_first_equals_and_not_decoded() -> None:
    parsed = parse_connection_string(f"HostName=h;DeviceId=a%20b=c;SharedAccessKey={KEY_A}")
    assert parsed.device_id == "a%20b=c"
    assert parsed.shared_access_key == KEY_A  # the key's own '=' padding survives


def test_other_credentials() -> None:
    x509 = parse_connection_string("HostName=h;DeviceId=d;x509=true")
    assert x509.x509 and x509.shared_access_key is None
    sas = parse_connection_string(
        "HostName=h;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=x"
    )
    assert sas.shared_access_signature == "SharedAccessSignature sr=x"


@pytest.mark.parametrize(
    ("text", "edge", "message", "hint"),
    [
        (f"DeviceId=d;SharedAccessKey={KEY_A}", False, "missing field HostName", "HostName="),
        (f"HostName=h;SharedAccessKey={KEY_A}", False, "missing field DeviceId", "DeviceId="),
        ("HostName=h;DeviceId=d", False, "missing field SharedAccessKey", "x509=true"),
        (
            f"HostName=h;DeviceId=d;GatewayHostName=g;SharedAccessKey={KEY_A}",
            True,
            "missing field ModuleId",
            "EdgeHubConnectionString needs",
        ),
        (
            f"HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey={KEY_A}",
            True,
            "missing field GatewayHostName",
            "GatewayHostName",
        ),
        (
            f"hostname=h;DeviceId=d;SharedAccessKey={KEY_A}",
            False,
            "unknown field 'hostname'",
            "case-sensitive: write HostName",
        ),
        (
            f"HostName=h;DeviceId=d;Colour=red;SharedAccessKey={KEY_A}",
            False,
            "unknown field 'Colour'",
            "allowed keys",
        ),
        (
            "HostName=h;DeviceId=d;SharedAccessKey=abc!",
            False,
            "SharedAccessKey is not valid base64",
            "44",
        ),
        (
            f"HostName=h;DeviceId=;SharedAccessKey={KEY_A}",
            False,
            "field DeviceId is empty",
            "DeviceId",
        ),
        (
            f"HostName=h;HostName=i;DeviceId=d;SharedAccessKey={KEY_A}",
            False,
            "field HostName appears twice",
            "one",
        ),
        (
            f"HostName=h;DeviceId;SharedAccessKey={KEY_A}",
            False,
            "'DeviceId' is not Key=Value",
            "HostName=",
        ),
        ("HostName=h;DeviceId=d;x509=yes", False, "x509='yes' is not true or false", None),
    ],
)
def test_connection_string_errors(text: str, edge: bool, message: str, hint: str | None) -> None:
    with pytest.raises(ConnectionStringError) as info:
        parse_connection_string(text, edge_module=edge, source="EdgeHubConnectionString")
    assert isinstance(info.value, InputError)
    assert info.value.message == f"EdgeHubConnectionString: {message}"
    if hint is not None:
        assert info.value.hint is not None and hint in info.value.hint


def test_connection_string_build_refuses_unusable_values() -> None:
    with pytest.raises(ValueError, match="DeviceId 'a;b' cannot go in a connection string"):
        build_connection_string(host_name="h", device_id="a;b", shared_access_key=KEY_A)


# --- usernames -------------------------------------------------------------------------


def test_username_forms() -> None:
    user = parse_username(f"{HUB}/{DEV}/sensor/?api-version=2020-09-30&model-id=dtmi%3Ax%3By%3B1")
    assert (user.device_id, user.module_id, user.api_version) == (DEV, "sensor", "2020-09-30")
    assert user.query["model-id"] == "dtmi:x;y;1"
    legacy = parse_username(f"{HUB}/leaf1/api-version=2016-11-14&DeviceClientType=c")
    assert (legacy.client_id, legacy.query["DeviceClientType"]) == ("leaf1", "c")


@pytest.mark.parametrize(
    ("username", "fragment"),
    [
        (f"{HUB}/{DEV}/sensor", "has no '?api-version=...' segment"),
        (f"{HUB}/{DEV}/sensor/?DeviceClientType=x", "lacks api-version"),
        (f"{HUB}/?api-version=1", "must be {host}/{device}/?query"),
        (f"{HUB}/a/b/c/?api-version=1", "must be {host}/{device}/?query"),
        (f"{HUB}//m/?api-version=1", "must be {host}/{device}/?query"),
        (f"/{DEV}/?api-version=1", "must be {host}/{device}/?query"),
    ],
)
def test_bad_usernames(username: str, fragment: str) -> None:
    with pytest.raises(UsernameError) as info:
        parse_username(username)
    assert fragment in str(info.value)


# --- CONNECT ---------------------------------------------------------------------------


@pytest.fixture
def registry() -> IdentityRegistry:
    reg = IdentityRegistry()
    reg.add(Identity(DEV, "sensor", KEY_A, KEY_B))
    reg.add(Identity("leaf1", None, KEY_A, KEY_B))
    reg.add(Identity("camera", None, KEY_A, KEY_B, x509=True))
    return reg


def connect(
    registry: IdentityRegistry,
    client_id: str = f"{DEV}/sensor",
    username: str | None = f"{HUB}/{DEV}/sensor/?api-version=2019-10-01",
    password: bytes | str | None = None,
    *,
    now: float = NOW,
    cn: str | None = None,
) -> tuple[ConnackCode, str]:
    if password is None:
        password = generate_token(HUB, DEV, "sensor", KEY_A, now=NOW).encode()
    result = check_connect(
        client_id=client_id,
        username=username,
        password=password,
        registry=registry,
        iothub_hostname=HUB,
        gateway_hostname=GW,
        now=now,
        certificate_cn=cn,
    )
    assert result.accepted is (result.code is ConnackCode.ACCEPTED)
    return result.code, result.reason


def test_connect_accepted(registry: IdentityRegistry) -> None:
    assert connect(registry) == (ConnackCode.ACCEPTED, "ok")
    secondary = generate_token(GW, DEV, "sensor", KEY_B, now=NOW)  # gateway audience, 2nd key
    assert connect(registry, password=secondary)[0] is ConnackCode.ACCEPTED
    leaf = generate_token(HUB, "leaf1", None, KEY_A, now=NOW)
    assert connect(registry, "leaf1", f"{HUB}/leaf1/?api-version=2019-10-01", leaf)[0] == 0


def test_connect_result_carries_identity_and_sas(registry: IdentityRegistry) -> None:
    result = check_connect(
        client_id=f"{DEV}/sensor",
        username=f"{HUB}/{DEV}/sensor/?api-version=2019-10-01",
        password=generate_token(HUB, DEV, "sensor", KEY_A, now=NOW),
        registry=registry,
        iothub_hostname=HUB,
        gateway_hostname=GW,
        now=NOW,
    )
    assert result.identity is registry.get(DEV, "sensor")
    assert result.username is not None and result.username.module_id == "sensor"
    assert result.sas is not None and result.sas.key == "primary"


def test_malformed_username_is_server_unavailable(registry: IdentityRegistry) -> None:
    code, reason = connect(registry, username=f"{HUB}/{DEV}/sensor")
    assert code is ConnackCode.SERVER_UNAVAILABLE and "api-version" in reason


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"client_id": f"{DEV}/filter"},
            "client id 'edge-dev-1/filter' does not match the username's 'edge-dev-1/sensor'",
        ),
        ({"client_id": "edge-dev-1/Sensor"}, "does not match"),
        ({"username": None}, "no username"),
        (
            {"client_id": f"{DEV}/ghost", "username": f"{HUB}/{DEV}/ghost/?api-version=1"},
            "unknown module identity 'edge-dev-1/ghost'",
        ),
        (
            {"client_id": "nobody", "username": f"{HUB}/nobody/?api-version=1"},
            "unknown device identity 'nobody'",
        ),
        ({"password": b""}, "no password (SAS token) and no client certificate"),
        ({"password": "garbage"}, "must start with 'SharedAccessSignature '"),
        (
            {
                "password": generate_token(
                    HUB, DEV, "sensor", base64.b64encode(b"x" * 32).decode(), now=NOW
                )
            },
            "signature mismatch",
        ),
        ({"now": NOW + 3600 + 301}, "expired"),
        ({"password": generate_token(HUB, DEV, "other", KEY_A, now=NOW)}, "not this identity's"),
    ],
)
def test_connect_not_authorized(
    registry: IdentityRegistry, kwargs: dict[str, Any], fragment: str
) -> None:
    code, reason = connect(registry, **kwargs)
    assert code is ConnackCode.NOT_AUTHORIZED
    assert fragment in reason


def test_x509_leaf(registry: IdentityRegistry) -> None:
    user = f"{HUB}/camera/?api-version=2019-10-01"
    assert connect(registry, "camera", user, b"", cn="camera") == (
        ConnackCode.ACCEPTED,
        "ok (X.509)",
    )
    code, reason = connect(registry, "camera", user, b"", cn="other")
    assert code is ConnackCode.NOT_AUTHORIZED and "CN 'other' is not device 'camera'" in reason
    # a certificate does not stand in for a SAS identity
    code, _ = connect(registry, "leaf1", f"{HUB}/leaf1/?api-version=1", b"", cn="leaf1")
    assert code is ConnackCode.NOT_AUTHORIZED
    # an X.509 identity may still use a SAS token
    token = generate_token(HUB, "camera", None, KEY_A, now=NOW)
    assert connect(registry, "camera", user, token)[0] is ConnackCode.ACCEPTED


def test_sas_failure_kind_is_exposed(registry: IdentityRegistry) -> None:
    result = check_connect(
        client_id=f"{DEV}/sensor",
        username=f"{HUB}/{DEV}/sensor/?api-version=1",
        password=generate_token(HUB, DEV, "sensor", KEY_A, now=NOW - 4000),
        registry=registry,
        iothub_hostname=HUB,
        gateway_hostname=GW,
        now=NOW,
    )
    assert result.sas is not None and result.sas.failure is SasFailure.EXPIRED
