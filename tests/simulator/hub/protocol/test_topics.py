"""Topic names, filters and matching (MQTT 3.1.1 §4.7), including the '$' rule."""

from __future__ import annotations

import pytest

from iotedge_cli.simulator.hub.protocol import filter_error, matches, topic_name_error


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("sport/tennis/player1/#", "sport/tennis/player1", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
        ("sport/#", "sport", True),
        ("#", "sport/tennis", True),
        ("#", "/", True),
        ("sport/tennis/+", "sport/tennis/player1", True),
        ("sport/tennis/+", "sport/tennis/player1/ranking", False),
        ("sport/+", "sport", False),
        ("sport/+", "sport/", True),
        ("+/+", "/finance", True),
        ("/+", "/finance", True),
        ("+", "/finance", False),
        ("+", "finance", True),
        ("a/b", "a/b", True),
        ("a/b", "a/B", False),
        ("a/b", "a/b/c", False),
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/b/d", False),
        ("a/b/c/d", "a/b", False),
        # '$' topics are not matched by a leading wildcard ...
        ("#", "$SYS/x", False),
        ("+/monitor/Clients", "$SYS/monitor/Clients", False),
        ("+", "$iothub", False),
        # ... but are by filters that name the '$' level
        ("$SYS/#", "$SYS/", True),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", True),
        ("$iothub/methods/POST/#", "$iothub/methods/POST/reset/?$rid=1", True),
        ("$iothub/twin/res/#", "$iothub/twin/res/200/?$rid=63e55551", True),
        (
            "$iothub/twin/PATCH/properties/desired/#",
            "$iothub/twin/PATCH/properties/desired/?$version=2",
            True,
        ),
        ("$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/?$version=2", False),
        # IoT Hub topics with property bags
        (
            "devices/edge-dev-1/modules/filter/inputs/#",
            "devices/edge-dev-1/modules/filter/inputs/input1/alert%20level=high%2F1&sequence=7",
            True,
        ),
        (
            "devices/edge-dev-1/modules/filter/inputs/#",
            "devices/edge-dev-1/modules/sensor/inputs/x",
            False,
        ),
        (
            "devices/leaf1/messages/devicebound/#",
            "devices/leaf1/messages/devicebound/%24.mid=c2d-1",
            True,
        ),
        ("devices/+/messages/devicebound/#", "devices/leaf1/messages/devicebound/", True),
    ],
)
def test_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert filter_error(topic_filter) is None
    assert topic_name_error(topic) is None
    assert matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("topic_filter", "reason"),
    [
        ("", "empty"),
        ("sport/tennis#", "'#' other than as its whole last level"),
        ("sport/tennis/#/ranking", "'#' other than as its whole last level"),
        ("#/", "'#' other than"),
        ("sport+", "'+' that is not a whole level"),
        ("a/++/b", "'+' that is not a whole level"),
    ],
)
def test_bad_filters(topic_filter: str, reason: str) -> None:
    error = filter_error(topic_filter)
    assert error is not None and reason in error


@pytest.mark.parametrize(
    "topic_filter", ["#", "+", "+/+", "/", "a//b", "+/tennis/#", "$iothub/#", " "]
)
def test_good_filters(topic_filter: str) -> None:
    assert filter_error(topic_filter) is None


@pytest.mark.parametrize(
    ("name", "reason"), [("", "empty"), ("a/+", "wildcard"), ("#", "wildcard")]
)
def test_bad_topic_names(name: str, reason: str) -> None:
    error = topic_name_error(name)
    assert error is not None and reason in error
