"""The authorization matrix: who may publish and subscribe where."""

from __future__ import annotations

import pytest

from iotedge_cli.simulator.hub.iothub import topics
from iotedge_cli.simulator.hub.iothub.authz import may_publish, may_subscribe

A = ("edge-dev-1", "A")
B = ("edge-dev-1", "B")
LEAF = ("leaf1", None)
OTHER_LEAF = ("leaf2", None)
IOTHUB_PUBLISH = [
    "$iothub/twin/GET/?$rid=1",
    "$iothub/twin/PATCH/properties/reported/?$rid=2",
    "$iothub/methods/res/200/?$rid=3",
]


@pytest.mark.parametrize("who", [A, B, LEAF])
@pytest.mark.parametrize("topic", IOTHUB_PUBLISH)
def test_everyone_may_use_their_iothub_channel(who: tuple[str, str | None], topic: str) -> None:
    assert may_publish(*who, topic)


@pytest.mark.parametrize("who", [A, B, LEAF, OTHER_LEAF])
def test_everyone_may_subscribe_to_what_the_sdk_subscribes(who: tuple[str, str | None]) -> None:
    for topic_filter in topics.sdk_filters(*who):
        assert may_subscribe(*who, topic_filter), topic_filter


@pytest.mark.parametrize(
    ("who", "topic", "allowed"),
    [
        (A, "devices/edge-dev-1/modules/A/messages/events/%24.on=out", True),
        (A, "devices/edge-dev-1/modules/A/messages/events", True),
        (A, "devices/edge-dev-1/modules/B/messages/events/%24.on=out", False),  # as B
        (A, "devices/edge-dev-1/messages/events/", False),  # as the edge device
        (A, "devices/edge-dev-1/modules/B/inputs/in1", False),  # into B's input
        (A, "devices/edge-dev-1/modules/a/messages/events/", False),  # ids are exact
        (A, "$iothub/methods/POST/reset/?$rid=1", False),  # only the hub calls methods
        (A, "$iothub/other", False),
        (A, "devices/edge-dev-1/modules/+/messages/events/", False),
        (LEAF, "devices/leaf1/messages/events/k=v", True),
        (LEAF, "devices/leaf2/messages/events/k=v", False),
        (LEAF, "devices/leaf1/modules/x/messages/events/", False),
        (LEAF, "devices/leaf1/messages/devicebound/", False),
        (LEAF, "anything/else", False),
    ],
)
def test_publish_matrix(who: tuple[str, str | None], topic: str, allowed: bool) -> None:
    decision = may_publish(*who, topic)
    assert bool(decision) is allowed, decision.reason


@pytest.mark.parametrize(
    ("who", "topic_filter", "allowed"),
    [
        (A, "devices/edge-dev-1/modules/A/inputs/#", True),
        (A, "devices/edge-dev-1/modules/A/inputs/in1/#", True),
        (A, "devices/edge-dev-1/modules/A/#", True),
        (A, "devices/edge-dev-1/modules/B/inputs/#", False),  # B's inputs
        (A, "devices/edge-dev-1/modules/+/inputs/#", False),
        (A, "devices/+/modules/A/inputs/#", False),
        (A, "devices/edge-dev-1/#", False),
        (A, "devices/#", False),
        (A, "#", False),
        (A, "+/edge-dev-1/modules/A/inputs/#", False),
        (A, "$iothub/twin/#", True),
        (LEAF, "devices/leaf1/messages/devicebound/#", True),
        (LEAF, "devices/leaf2/messages/devicebound/#", False),
        (LEAF, "devices/+/messages/devicebound/#", False),
        (LEAF, "devices/leaf1/modules/x/inputs/#", False),
        (LEAF, "devices/leaf1/#", False),
    ],
)
def test_subscribe_matrix(who: tuple[str, str | None], topic_filter: str, allowed: bool) -> None:
    decision = may_subscribe(*who, topic_filter)
    assert bool(decision) is allowed, decision.reason


def test_reasons_name_the_topic_and_the_allowed_namespace() -> None:
    decision = may_publish(*A, "devices/edge-dev-1/modules/B/messages/events/")
    assert decision.reason == (
        "module edge-dev-1/A may not publish to 'devices/edge-dev-1/modules/B/messages/events/'; "
        "it may use devices/edge-dev-1/modules/A/messages/events/..."
    )
    decision = may_subscribe(*LEAF, "devices/leaf2/messages/devicebound/#")
    assert decision.reason == (
        "device leaf1 may not subscribe to 'devices/leaf2/messages/devicebound/#'; it may use "
        "devices/leaf1/messages/# and $iothub/..."
    )
    assert may_publish(*A, "devices/x/+").reason.endswith(
        "contains a wildcard; a PUBLISH topic may not"
    )
