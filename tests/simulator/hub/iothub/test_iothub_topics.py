"""Property-bag encoding edge cases and round trips for every topic kind."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iotedge_cli.simulator.hub.iothub import topics
from iotedge_cli.simulator.hub.iothub.properties import (
    PropertyBag,
    decode_bag,
    decode_pairs,
    encode_c2d_bag,
    encode_client_bag,
    encode_input_bag,
    encode_pairs,
)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("a b", "a%20b"),  # space is %20, never +
        ("a+b", "a%2Bb"),
        ("a/b", "a%2Fb"),
        ("a=b", "a%3Db"),
        ("a&b", "a%26b"),
        ("$x", "%24x"),
        ("%", "%25"),
        ("ü€😀", "%C3%BC%E2%82%AC%F0%9F%98%80"),
        ("a-b_c.d~e", "a-b_c.d~e"),
        ("", ""),
    ],
)
def test_encoding_edge_cases(value: str, wire: str) -> None:
    assert encode_pairs([(value, value)]) == f"{wire}={wire}"
    assert decode_pairs(f"{wire}={wire}") == [(value, value)]


def test_decoding_is_unquote_not_unquote_plus() -> None:
    assert decode_pairs("a+b=c+d") == [("a+b", "c+d")]
    assert decode_pairs("k=a%20b") == [("k", "a b")]


def test_decoding_splits_on_the_first_equals_and_skips_empty_entries() -> None:
    assert decode_pairs("k=a=b&&flag&=v&") == [("k", "a=b"), ("flag", None), ("", "v")]
    assert decode_pairs("") == []
    assert decode_bag("flag&$.mid").application == {"flag": ""}
    assert decode_bag("flag&%24.mid").system == {"messageId": ""}


def test_system_wire_names_map_to_edgehub_names() -> None:
    bag = decode_bag(
        "%24.mid=1&%24.cid=2&%24.uid=u&%24.ct=t&%24.ce=e&%24.to=%2Fx&%24.on=o&%24.exp=2030"
        "&ack=full&%24.schema=s&iothub-operation=op&%24.ctime=c&%24.ifid=i&%24.sub=comp"
        "&%24.cdid=spoofed&other=1"
    )
    assert bag.system == {
        "messageId": "1",
        "cid": "2",
        "userId": "u",
        "contentType": "t",
        "contentEncoding": "e",
        "to": "/x",
        "outputName": "o",
        "absolute-expiry-time": "2030",
        "ack": "full",
        "messageSchema": "s",
        "operation": "op",
        "creationTime": "c",
        "iothub-interface-id": "i",
        "dt-subject": "comp",
    }
    # a client cannot set the sender ids: $.cdid from a client is just an application property
    assert bag.application == {"$.cdid": "spoofed", "other": "1"}


def test_client_bag_order_is_the_sdks() -> None:
    system = {
        "absolute-expiry-time": "2030-01-01T00:00:00",
        "iothub-interface-id": "ifid",
        "contentEncoding": "utf-8",
        "contentType": "application/json",
        "userId": "u",
        "cid": "c",
        "messageId": "m",
        "outputName": "o",
    }
    assert encode_client_bag(system, {"z": 1, "a b": True}) == (
        "%24.on=o&%24.mid=m&%24.cid=c&%24.uid=u&%24.ct=application%2Fjson&%24.ce=utf-8"
        "&%24.ifid=ifid&%24.exp=2030-01-01T00%3A00%3A00&a%20b=True&z=1"
    )
    assert encode_client_bag({}, None) == ""


def test_hub_bags_drop_names_without_an_outgoing_wire_name() -> None:
    system = {"outputName": "o", "inputName": "i", "messageId": "m", "connectionDeviceId": "d"}
    assert encode_input_bag(system, {"k": "v"}) == "k=v&%24.mid=m&%24.cdid=d"
    assert encode_c2d_bag(system, {"k": "v"}) == "%24.mid=m&%24.cdid=d&k=v"


TEXT = st.text(min_size=0, max_size=12)
KEYS = TEXT.filter(lambda k: k not in {"ack", "iothub-operation"} and not k.startswith("$."))


@given(st.dictionaries(KEYS, TEXT, max_size=5), st.sampled_from(["m 1", "a+b/c", "ü"]))
def test_input_bag_round_trip(application: dict[str, str], mid: str) -> None:
    system = {"messageId": mid, "connectionDeviceId": "dev", "connectionModuleId": "mod"}
    bag = encode_input_bag(system, application)
    assert " " not in bag and "+" not in bag and "/" not in bag
    decoded = decode_bag(bag)
    # like the SDK, a client-side decoder sees the sender ids as custom properties
    assert decoded.application == {**application, "$.cdid": "dev", "$.cmid": "mod"}
    assert decoded.system == {"messageId": mid}


@given(st.dictionaries(KEYS, TEXT, max_size=5))
def test_telemetry_round_trip(application: dict[str, str]) -> None:
    system = {"outputName": "out 1", "messageId": "m&1", "contentType": "application/json"}
    topic = topics.telemetry_topic("dev", "mod", encode_client_bag(system, application))
    parsed = topics.parse_publish(topic)
    assert parsed == topics.Telemetry("dev", "mod", PropertyBag(system, application))


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("devices/d/messages/events/", topics.Telemetry("d", None, PropertyBag())),
        ("devices/d/messages/events", topics.Telemetry("d", None, PropertyBag())),
        ("devices/d/modules/m/messages/events", topics.Telemetry("d", "m", PropertyBag())),
        ("devices/d/modules/m/messages/events/", topics.Telemetry("d", "m", PropertyBag())),
        (
            "devices/d/modules/m/messages/events/%24.on=o",
            topics.Telemetry("d", "m", PropertyBag({"outputName": "o"})),
        ),
    ],
)
def test_telemetry_topic_forms(topic: str, expected: topics.Telemetry) -> None:
    assert topics.parse_publish(topic) == expected


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("$iothub/twin/GET/?$rid=1", topics.TwinGet("1")),
        ("$iothub/twin/GET?$rid=1", topics.TwinGet("1")),
        ("$iothub/twin/GET/?$rid=a%20b", topics.TwinGet("a b")),
        (
            "$iothub/twin/PATCH/properties/reported/?$rid=2&$version=7",
            topics.TwinReportedPatch("2", "7"),
        ),
        ("$iothub/twin/PATCH/properties/reported/?$rid=2", topics.TwinReportedPatch("2", None)),
        ("$iothub/methods/res/500/?$rid=9", topics.MethodResponse(500, "9")),
        ("$iothub/methods/res/-1/?$rid=9", topics.MethodResponse(-1, "9")),
        (
            "$iothub/twin/PATCH/properties/desired/?$rid=3",
            topics.UnknownTwinRequest("3", "PATCH/properties/desired"),
        ),
        ("$iothub/twin/DELETE/?$rid=4", topics.UnknownTwinRequest("4", "DELETE")),
    ],
)
def test_iothub_requests(topic: str, expected: topics.ClientPublish) -> None:
    assert topics.parse_publish(topic) == expected


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("$iothub/twin/GET/", "without a $rid"),
        ("$iothub/twin/GET/?$version=1", "without a $rid"),
        ("$iothub/methods/res/200/", "without a $rid"),
        ("$iothub/methods/res/ok/?$rid=1", "'ok' is not an integer"),
        ("$iothub/methods/POST/x/?$rid=1", "not an IoT Hub topic"),
        ("devices/d/modules/m/inputs/x", "not a telemetry topic"),
        ("devices//messages/events/", "not a telemetry topic"),
        ("devices/d/modules//messages/events/", "not a telemetry topic"),
        ("foo/bar", "not an IoT Hub topic"),
        ("", "not an IoT Hub topic"),
    ],
)
def test_unknown_topics(topic: str, reason: str) -> None:
    parsed = topics.parse_publish(topic)
    assert isinstance(parsed, topics.UnknownTopic)
    assert parsed.topic == topic
    assert reason in parsed.reason


@given(st.text(max_size=20).filter(bool))
def test_request_ids_round_trip(rid: str) -> None:
    # the hub decodes a $rid and quotes it back; the SDK unquotes what it receives
    assert topics.parse_publish(f"$iothub/twin/GET/?$rid={_sdk_quote(rid)}") == topics.TwinGet(rid)
    response = topics.twin_response_topic(200, rid)
    assert unquote(response.split("$rid=", 1)[1]) == rid
    request = topics.method_request_topic("do it/now", rid)
    name_part, _, query = request[len("$iothub/methods/POST/") :].partition("/?$rid=")
    assert (unquote(name_part), unquote(query)) == ("do it/now", rid)
    assert topics.parse_publish(f"$iothub/methods/res/200/?$rid={_sdk_quote(rid)}") == (
        topics.MethodResponse(200, rid)
    )


def _sdk_quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def test_hub_to_client_formats() -> None:
    assert topics.input_topic("d", "m", "in 1") == "devices/d/modules/m/inputs/in%201"
    assert topics.input_topic("d", "m", "in", {}, {"a": "b"}) == "devices/d/modules/m/inputs/in/a=b"
    assert topics.c2d_topic("d") == "devices/d/messages/devicebound/"
    assert topics.twin_response_topic(400, "r") == "$iothub/twin/res/400/?$rid=r"
    assert topics.desired_patch_topic(12) == "$iothub/twin/PATCH/properties/desired/?$version=12"
    assert topics.method_request_topic("reset", "7") == "$iothub/methods/POST/reset/?$rid=7"


def test_sdk_parses_the_input_topic_it_receives() -> None:
    """Mirror of the SDK's parser: input name = unquote(parts[5]), props = parts[6]."""
    topic = topics.input_topic(
        "d", "m", "in/put", {"messageId": "x y", "connectionDeviceId": "d"}, {"k": "a&b=c"}
    )
    parts = topic.split("/")
    assert unquote(parts[5]) == "in/put"
    pairs = {unquote(k): unquote(v) for k, v in (e.split("=") for e in parts[6].split("&"))}
    assert pairs == {"k": "a&b=c", "$.mid": "x y", "$.cdid": "d"}


@given(st.dictionaries(KEYS, TEXT, max_size=5), st.text(max_size=10))
def test_c2d_round_trip(application: dict[str, str], mid: str) -> None:
    system = {"messageId": mid, "to": "/devices/leaf 1/messages/devicebound"}
    topic = topics.c2d_topic("leaf 1", system, application)
    prefix = "devices/leaf 1/messages/devicebound/"
    assert topic.startswith(prefix)
    decoded = decode_bag(topic[len(prefix) :])
    assert decoded == PropertyBag(system, application)
