"""Every topic, property bag and JSON body of the captured SDK transcript (hub-protocol §11),
parsed and rebuilt byte for byte. The strings below are copied from the transcript."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from iotedge_cli.simulator.hub.iothub import methods, topics
from iotedge_cli.simulator.hub.iothub.identity import parse_username
from iotedge_cli.simulator.hub.iothub.properties import encode_client_bag
from iotedge_cli.simulator.hub.iothub.sas import parse_token, resource_uri
from iotedge_cli.simulator.hub.iothub.twin import Twin

HUB = "myhub.azure-devices.net"
DEV = "edge-dev-1"
UA = (
    "DeviceClientType=azure-iot-device-iothub-py%2F2.14.0%283.11.7%3BLinux%20%231%20SMP%20"
    "PREEMPT_DYNAMIC%20%400%3Bx86_64%29"
)

SENSOR_OUT = (
    "devices/edge-dev-1/modules/sensor/messages/events/%24.on=temperatureOutput&%24.mid=mid-1"
    "&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert%20level=high%2F1&sequence=7"
)
FILTER_IN = (
    "devices/edge-dev-1/modules/filter/inputs/input1/alert%20level=high%2F1&sequence=7"
    "&%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&%24.cdid=edge-dev-1"
    "&%24.cmid=sensor"
)


def enrich(message: topics.Telemetry) -> dict[str, str]:
    """edgeHub's routing enrichment: the sender's ids appended as system properties."""
    system = dict(message.properties.system)
    system["connectionDeviceId"] = message.device_id
    if message.module_id is not None:
        system["connectionModuleId"] = message.module_id
    return system


def test_output_message_with_every_property_kind() -> None:
    parsed = topics.parse_publish(SENSOR_OUT)
    assert isinstance(parsed, topics.Telemetry)
    assert (parsed.device_id, parsed.module_id) == (DEV, "sensor")
    assert parsed.output_name == "temperatureOutput"
    assert parsed.properties.system == {
        "outputName": "temperatureOutput",
        "messageId": "mid-1",
        "cid": "cid-1",
        "contentType": "application/json",
        "contentEncoding": "utf-8",
    }
    assert parsed.properties.application == {"alert level": "high/1", "sequence": "7"}
    # the SDK's encoding of the same message reproduces the topic
    bag = encode_client_bag(parsed.properties.system, {"sequence": 7, "alert level": "high/1"})
    assert topics.telemetry_topic(DEV, "sensor", bag) == SENSOR_OUT
    # and the routed input topic is edgeHub's: application first, $.on dropped, sender ids added
    routed = topics.input_topic(
        DEV, "filter", "input1", enrich(parsed), parsed.properties.application
    )
    assert routed == FILTER_IN


@pytest.mark.parametrize(
    ("published", "module", "input_name", "delivered"),
    [
        (
            "devices/edge-dev-1/modules/sensor/messages/events/%24.on=temperatureOutput",
            "filter",
            "input1",
            "devices/edge-dev-1/modules/filter/inputs/input1/%24.cdid=edge-dev-1&%24.cmid=sensor",
        ),
        (
            "devices/edge-dev-1/modules/wlmod/messages/events/%24.on=out1",
            "filter",
            "fromWorkloadModule",
            "devices/edge-dev-1/modules/filter/inputs/fromWorkloadModule/%24.cdid=edge-dev-1"
            "&%24.cmid=wlmod",
        ),
        (
            "devices/leaf1/messages/events/%24.mid=leaf-mid-1&k=v",
            "filter",
            "leafInput",
            "devices/edge-dev-1/modules/filter/inputs/leafInput/k=v&%24.mid=leaf-mid-1"
            "&%24.cdid=leaf1",
        ),
    ],
)
def test_routed_messages(published: str, module: str, input_name: str, delivered: str) -> None:
    parsed = topics.parse_publish(published)
    assert isinstance(parsed, topics.Telemetry)
    app = parsed.properties.application
    bag = encode_client_bag(parsed.properties.system, app)
    assert topics.telemetry_topic(parsed.device_id, parsed.module_id, bag) == published
    assert topics.input_topic(DEV, module, input_name, enrich(parsed), app) == delivered


def test_leaf_telemetry_has_no_module() -> None:
    parsed = topics.parse_publish("devices/leaf1/messages/events/%24.mid=leaf-mid-1&k=v")
    assert isinstance(parsed, topics.Telemetry)
    assert (parsed.device_id, parsed.module_id, parsed.output_name) == ("leaf1", None, None)
    assert parsed.properties.system == {"messageId": "leaf-mid-1"}


def test_c2d_to_leaf() -> None:
    topic = topics.c2d_topic(
        "leaf1",
        {"messageId": "c2d-1", "to": "/devices/leaf1/messages/devicebound"},
        {"color": "red"},
    )
    assert topic == (
        "devices/leaf1/messages/devicebound/%24.mid=c2d-1"
        "&%24.to=%2Fdevices%2Fleaf1%2Fmessages%2Fdevicebound&color=red"
    )


def test_subscriptions() -> None:
    assert topics.sdk_filters(DEV, "filter") == (
        "devices/edge-dev-1/modules/filter/inputs/#",
        "$iothub/methods/POST/#",
        "$iothub/twin/res/#",
        "$iothub/twin/PATCH/properties/desired/#",
    )
    assert topics.sdk_filters("leaf1", None)[0] == "devices/leaf1/messages/devicebound/#"
    kinds = [topics.classify_subscription(f) for f in topics.sdk_filters(DEV, "filter")]
    assert kinds == [
        topics.SubscriptionKind.MODULE_MESSAGES,
        topics.SubscriptionKind.METHODS,
        topics.SubscriptionKind.TWIN_RESPONSES,
        topics.SubscriptionKind.DESIRED_PATCHES,
    ]
    assert topics.classify_subscription("devices/leaf1/messages/devicebound/#") is (
        topics.SubscriptionKind.C2D
    )
    assert topics.classify_subscription("foo/#") is topics.SubscriptionKind.UNKNOWN


def test_twin_get_and_reported_patch_exchange() -> None:
    twin = Twin()
    rid = "63e55551-7e69-49cf-9314-363ea01b57a0"
    assert topics.parse_publish(f"$iothub/twin/GET/?$rid={rid}") == topics.TwinGet(rid)
    assert topics.twin_response_topic(200, rid) == f"$iothub/twin/res/200/?$rid={rid}"
    assert twin.get_response() == b'{"desired": {"$version": 1}, "reported": {"$version": 1}}'

    rid = "699b6274-5155-4ed6-8869-d77210c75bf6"
    patch_topic = f"$iothub/twin/PATCH/properties/reported/?$rid={rid}"
    assert topics.parse_publish(patch_topic) == topics.TwinReportedPatch(rid)
    version = twin.patch_reported(b'{"status": "running", "nested": {"a": 1}}')
    assert topics.twin_response_topic(204, rid, version) == (
        f"$iothub/twin/res/204/?$rid={rid}&$version=2"
    )
    assert twin.get_response() == (
        b'{"desired": {"$version": 1}, "reported": {"status": "running", "nested": {"a": 1}, '
        b'"$version": 2}}'
    )

    pushed = twin.patch_desired({"threshold": 30})
    assert topics.desired_patch_topic(pushed.version) == (
        "$iothub/twin/PATCH/properties/desired/?$version=2"
    )
    assert pushed.encode() == b'{"threshold": 30, "$version": 2}'
    # the re-sync GET after the SAS-renewal reconnect (step 12)
    assert twin.get_response() == (
        b'{"desired": {"threshold": 30, "$version": 2}, "reported": {"status": "running", '
        b'"nested": {"a": 1}, "$version": 2}}'
    )


def test_direct_method_exchange() -> None:
    assert topics.method_request_topic("reset", "1") == "$iothub/methods/POST/reset/?$rid=1"
    assert methods.encode_request_payload({"hard": True}) == b'{"hard": true}'
    response = topics.parse_publish("$iothub/methods/res/200/?$rid=1")
    assert response == topics.MethodResponse(200, "1")
    payload = methods.decode_response_payload(b'{"result": "ok", "echo": {"hard": true}}')
    assert payload == {"result": "ok", "echo": {"hard": True}}


def test_invoke_method_over_https() -> None:
    target = methods.parse_invoke_path(
        "/twins/edge-dev-1/modules/filter/methods?api-version=2019-10-01"
    )
    assert target == methods.InvokeTarget(DEV, "filter")
    body = (
        b'{"methodName": "reset", "payload": {"from": "sensor"}, "responseTimeoutInSeconds": 10, '
        b'"connectTimeoutInSeconds": 0}'
    )
    request = methods.parse_invoke_body(body)
    assert request == methods.InvokeRequest("reset", {"from": "sensor"}, 10, 0)
    assert json.loads(json.dumps(request.to_json())) == json.loads(body)
    assert methods.parse_actor_header("edge-dev-1/sensor") == (DEV, "sensor")
    ok = methods.result(200, {"result": "ok", "echo": {"from": "sensor"}})
    assert (ok.status, ok.body) == (
        200,
        {"status": 200, "payload": {"result": "ok", "echo": {"from": "sensor"}}},
    )
    missing = methods.not_found("edge-dev-1/nosuchmodule")
    assert (missing.status, missing.body) == (
        404,
        {"message": "Client edge-dev-1/nosuchmodule not found"},
    )
    assert methods.parse_invoke_body(b'{"methodName": "x", "payload": null}') == (
        methods.InvokeRequest("x", None)
    )


@pytest.mark.parametrize(
    ("client_id", "username", "module"),
    [
        ("edge-dev-1/sensor", f"{HUB}/edge-dev-1/sensor/?api-version=2019-10-01&{UA}", "sensor"),
        ("edge-dev-1/filter", f"{HUB}/edge-dev-1/filter/?api-version=2019-10-01&{UA}", "filter"),
        ("leaf1", f"{HUB}/leaf1/?api-version=2019-10-01&{UA}", None),
    ],
)
def test_usernames(client_id: str, username: str, module: str | None) -> None:
    user = parse_username(username)
    assert user.client_id == client_id
    assert user.host == HUB
    assert user.module_id == module
    assert user.api_version == "2019-10-01"
    assert user.query["DeviceClientType"] == (
        "azure-iot-device-iothub-py/2.14.0(3.11.7;Linux #1 SMP PREEMPT_DYNAMIC @0;x86_64)"
    )


def test_captured_token_shapes() -> None:
    token = parse_token(
        "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fedge-dev-1%2Fmodules%2F"
        "sensor&sig=%2Bdlh8eNGnx8o2qFstnVQsOvRl2KDcIdjC%2FraXyXx6ts%3D&se=1795773148"
    )
    assert token.sr == quote(resource_uri(HUB, DEV, "sensor"), safe="")
    assert token.audience == "myhub.azure-devices.net/devices/edge-dev-1/modules/sensor"
    assert token.sig == "+dlh8eNGnx8o2qFstnVQsOvRl2KDcIdjC/raXyXx6ts="
    assert len(base64.b64decode(token.sig)) == 32  # an HMAC-SHA256
    assert (token.expiry, token.skn) == (1795773148, None)
    leaf = parse_token(
        "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fleaf1&sig=EY0Htwqw3cLCoZm"
        "%2FzniIp1ErQqUUNlkhw4e1spsyywg%3D&se=1795773262"
    )
    assert leaf.audience == f"{HUB}/devices/leaf1"


def test_workload_sign_request_data_is_the_string_to_sign() -> None:
    data = "bXlodWIuYXp1cmUtZGV2aWNlcy5uZXQlMkZkZXZpY2VzJTJGZWRnZS1kZXYtMSUyRm1vZHVsZXMlMkZ3bG1vZAoxNzk1NzczMjYy"
    string_to_sign = quote(resource_uri(HUB, DEV, "wlmod"), safe="") + "\n1795773262"
    assert base64.b64decode(data).decode() == string_to_sign
