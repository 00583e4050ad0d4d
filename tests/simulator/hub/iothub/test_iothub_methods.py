"""The HTTPS invoke_method shapes: paths, headers, bodies, results and caller authentication."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from iotedge_cli.simulator.hub.iothub import methods
from iotedge_cli.simulator.hub.iothub.identity import Identity, IdentityRegistry
from iotedge_cli.simulator.hub.iothub.sas import generate_token

HUB = "myhub.azure-devices.net"
KEY = base64.b64encode(b"k" * 32).decode()
NOW = 1_795_770_000.0


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (
            "/twins/edge-dev-1/modules/filter/methods?api-version=2019-10-01",
            ("edge-dev-1", "filter"),
        ),
        ("/twins/edge-dev-1/modules/filter/methods", ("edge-dev-1", "filter")),
        ("/twins/leaf1/methods?api-version=2019-10-01", ("leaf1", None)),
        ("/twins/my+dev/modules/a%2Fb/methods", ("my dev", "a/b")),  # the SDK uses quote_plus
        ("/twins/edge-dev-1/modules/filter", None),
        ("/twins//methods", None),
        ("/twins/d/modules//methods", None),
        ("/api/v1/messages", None),
    ],
)
def test_invoke_paths(path: str, target: tuple[str, str | None] | None) -> None:
    parsed = methods.parse_invoke_path(path)
    assert (None if parsed is None else (parsed.device_id, parsed.module_id)) == target


def test_target_id() -> None:
    assert methods.InvokeTarget("d", "m").id == "d/m"
    assert methods.InvokeTarget("d", None).id == "d"


def test_defaults() -> None:
    request = methods.parse_invoke_body(b'{"methodName": "reset"}')
    assert request == methods.InvokeRequest("reset", None, 30.0, 0.0)
    assert request.to_json() == {
        "methodName": "reset",
        "payload": None,
        "responseTimeoutInSeconds": 30.0,
        "connectTimeoutInSeconds": 0.0,
    }
    assert methods.parse_invoke_body(b'{"methodName": "m", "payload": [1, "x"]}').payload == [
        1,
        "x",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the request body must be a JSON object with methodName"),
        (b"{", "the request body is not JSON"),
        (b"[]", "the request body must be a JSON object with methodName"),
        (b"{}", "methodName is required and must be a non-empty string"),
        (b'{"methodName": ""}', "methodName is required"),
        (b'{"methodName": 3}', "methodName is required"),
        (
            b'{"methodName": "m", "responseTimeoutInSeconds": "10"}',
            "responseTimeoutInSeconds must be a number of seconds, not '10'",
        ),
        (
            b'{"methodName": "m", "connectTimeoutInSeconds": true}',
            "connectTimeoutInSeconds must be a number",
        ),
        (
            b'{"methodName": "m", "responseTimeoutInSeconds": -1}',
            "responseTimeoutInSeconds must not be negative, got -1",
        ),
    ],
)
def test_bad_bodies_are_400(body: bytes, message: str) -> None:
    with pytest.raises(methods.InvokeError) as info:
        methods.parse_invoke_body(body)
    assert info.value.response.status == 400
    assert message in info.value.response.body["message"]


@pytest.mark.parametrize("header", [None, "", "edge-dev-1", "a/b/c", "/m", "d/"])
def test_bad_actor_header(header: str | None) -> None:
    with pytest.raises(methods.InvokeError) as info:
        methods.parse_actor_header(header)
    response = info.value.response
    assert (response.status, response.body) == (
        400,
        {"message": "Invalid header value for x-ms-edge-moduleId"},
    )


def test_results_and_errors() -> None:
    ok = methods.result(201, None)
    assert (ok.status, ok.encode()) == (200, b'{"status": 201, "payload": null}')
    assert ok.headers == [("Content-Type", "application/json; charset=utf-8")]
    late = methods.timed_out("edge-dev-1/filter", "reset", 10.0)
    assert late.status == 504
    assert late.body["message"].startswith(
        "Timed out waiting for device to respond to method request 'reset' on edge-dev-1/filter"
    )
    assert methods.unauthorized("x").status == 401 and methods.bad_request("y").status == 400


@pytest.mark.parametrize(
    ("payload", "wire"),
    [(None, b"null"), ({"a": [1, 2]}, b'{"a": [1, 2]}'), ("text", b'"text"'), (3, b"3")],
)
def test_request_payload_is_always_json(payload: Any, wire: bytes) -> None:
    assert methods.encode_request_payload(payload) == wire
    assert json.loads(wire) == payload


@pytest.mark.parametrize(
    ("wire", "payload"),
    [
        (b"", None),
        (b"  ", None),
        (b"null", None),
        (b'{"r": 1}', {"r": 1}),
        (b"not json", "not json"),
    ],
)
def test_response_payload(wire: bytes, payload: Any) -> None:
    assert methods.decode_response_payload(wire) == payload


@pytest.fixture
def registry() -> IdentityRegistry:
    reg = IdentityRegistry()
    reg.add(Identity("edge-dev-1", "sensor", KEY, KEY))
    reg.add(Identity("leaf1", None, KEY, KEY))
    return reg


def authenticate(registry: IdentityRegistry, actor: str | None, token: str | None) -> Identity:
    return methods.authenticate_invoke(
        actor,
        token,
        registry=registry,
        edge_device_id="edge-dev-1",
        iothub_hostname=HUB,
        gateway_hostname="localhost",
        now=NOW,
    )


def test_caller_authentication(registry: IdentityRegistry) -> None:
    token = generate_token(HUB, "edge-dev-1", "sensor", KEY, now=NOW)
    assert authenticate(registry, "edge-dev-1/sensor", token).id == "edge-dev-1/sensor"


@pytest.mark.parametrize(
    ("actor", "token", "status", "message"),
    [
        ("leaf1/x", "t", 401, "Only modules on the same device can invoke DirectMethods"),
        ("edge-dev-1/ghost", "t", 401, "Unknown module edge-dev-1/ghost"),
        ("edge-dev-1/sensor", None, 401, "Authorization header with a SAS token is required"),
        (
            "edge-dev-1/sensor",
            "SharedAccessSignature x=1",
            401,
            "Unable to authenticate edge-dev-1/sensor: token lacks",
        ),
        ("edge-dev-1", "t", 400, "Invalid header value for x-ms-edge-moduleId"),
    ],
)
def test_caller_refused(
    registry: IdentityRegistry, actor: str, token: str | None, status: int, message: str
) -> None:
    with pytest.raises(methods.InvokeError) as info:
        authenticate(registry, actor, token)
    assert info.value.response.status == status
    assert info.value.response.body["message"].startswith(message)


def test_token_of_another_module_is_refused(registry: IdentityRegistry) -> None:
    registry.add(Identity("edge-dev-1", "filter", KEY, KEY))
    token = generate_token(HUB, "edge-dev-1", "filter", KEY, now=NOW)
    with pytest.raises(methods.InvokeError, match="not this identity's"):
        authenticate(registry, "edge-dev-1/sensor", token)
