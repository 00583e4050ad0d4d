"""The packets of hub-protocol.md §11 (azure-iot-device 2.14.0 against the prototype hub),
rebuilt from the fields the transcript shows: each round-trips through the codec, and the
filter module's whole conversation (steps 2-12, including the SAS-renewal reconnect that
keeps the session and never re-subscribes) replays through ServerConnection packet for packet."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from iotedge_cli.simulator.hub.protocol import (
    Connack,
    ConnackCode,
    Connect,
    ConnectionClosed,
    ConnectRequested,
    Disconnect,
    Message,
    MessageAcknowledged,
    MessageReceived,
    Packet,
    Puback,
    Publish,
    SessionState,
    Suback,
    Subscribe,
    SubscribeRequested,
    Subscription,
    encode,
)

from .helpers import Pair, decode_all

UA = (
    "azure-iot-device-iothub-py%2F2.14.0%283.11.7%3BLinux%20%231%20SMP%20PREEMPT_DYNAMIC"
    "%20%400%3Bx86_64%29"
)
HOST = "myhub.azure-devices.net"


def sdk_connect(client_id: str, sr: str, sig: str, se: str) -> Connect:
    ids = client_id  # the username repeats the ids, unencoded
    return Connect(
        client_id,
        clean_session=False,
        keep_alive=60,
        username=f"{HOST}/{ids}/?api-version=2019-10-01&DeviceClientType={UA}",
        password=f"SharedAccessSignature sr={sr}&sig={sig}&se={se}".encode(),
        will=None,
    )


SR_FILTER = f"{HOST}%2Fdevices%2Fedge-dev-1%2Fmodules%2Ffilter"
CONNECT_SENSOR = sdk_connect(
    "edge-dev-1/sensor",
    f"{HOST}%2Fdevices%2Fedge-dev-1%2Fmodules%2Fsensor",
    "HNZxO3sNXeDSJd0vqWREynHnBcosSWdz872TfzFiFSY%3D",
    "1795773236",
)
CONNECT_FILTER = sdk_connect(
    "edge-dev-1/filter",
    SR_FILTER,
    "LkuCInllJocvixjU8X11ZQKNkid2M5rVTDVWx7d%2B%2Bx4%3D",
    "1795769776",
)
RECONNECT_FILTER = sdk_connect(
    "edge-dev-1/filter",
    SR_FILTER,
    "t1eEo4Bu5X3rT0wtkhUMN0G%2F3O6zDyU1TNksQSH%2Bq9w%3D",
    "1795769796",
)
CONNECT_LEAF = sdk_connect(
    "leaf1",
    f"{HOST}%2Fdevices%2Fleaf1",
    "EY0Htwqw3cLCoZm%2FzniIp1ErQqUUNlkhw4e1spsyywg%3D",
    "1795773262",
)

INPUTS = "devices/edge-dev-1/modules/filter/inputs/#"
METHODS = "$iothub/methods/POST/#"
DESIRED = "$iothub/twin/PATCH/properties/desired/#"
TWIN_RES = "$iothub/twin/res/#"
SENSOR_EVENT = (
    "devices/edge-dev-1/modules/sensor/messages/events/%24.on=temperatureOutput&%24.mid=mid-1"
    "&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert%20level=high%2F1&sequence=7"
)
FILTER_INPUT = (
    "devices/edge-dev-1/modules/filter/inputs/input1/alert%20level=high%2F1&sequence=7&%24.mid=mid-1"
    "&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&%24.cdid=edge-dev-1&%24.cmid=sensor"
)
RID1 = "63e55551-7e69-49cf-9314-363ea01b57a0"
RID2 = "699b6274-5155-4ed6-8869-d77210c75bf6"
RID3 = "5c6de35d-e358-4426-9ea6-4ef3499f7e27"
RID4 = "8306061d-f300-4b1d-ba3c-9ee0802c2803"

EVERY_PACKET: list[Packet] = [
    CONNECT_SENSOR,
    CONNECT_FILTER,
    RECONNECT_FILTER,
    CONNECT_LEAF,
    Connack(ConnackCode.ACCEPTED, False),
    Connack(ConnackCode.ACCEPTED, True),
    Connack(ConnackCode.NOT_AUTHORIZED),
    *(
        Subscribe(i, (Subscription(f, 1),))
        for i, f in enumerate([INPUTS, METHODS, DESIRED, TWIN_RES], 1)
    ),
    Subscribe(1, (Subscription("devices/leaf1/messages/devicebound/#", 1),)),
    Suback(1, (1,)),
    Publish(SENSOR_EVENT, b'{"temperature": 21.5}', 1, packet_id=1),
    Publish(FILTER_INPUT, b'{"temperature": 21.5}', 1, packet_id=1),
    Publish(f"$iothub/twin/GET/?$rid={RID1}", b" ", 1, packet_id=5),
    Publish(f"$iothub/twin/res/204/?$rid={RID2}&$version=2", b"", 1, packet_id=3),
    Publish(
        "$iothub/twin/PATCH/properties/desired/?$version=2",
        b'{"threshold": 30, "$version": 2}',
        1,
        packet_id=5,
    ),
    Publish("$iothub/methods/POST/reset/?$rid=1", b'{"hard": true}', 1, packet_id=6),
    Publish(
        "$iothub/methods/res/200/?$rid=1",
        b'{"result": "ok", "echo": {"hard": true}}',
        1,
        packet_id=8,
    ),
    Publish(
        "devices/leaf1/messages/events/%24.mid=leaf-mid-1&k=v", b"leaf telemetry", 1, packet_id=2
    ),
    Publish(
        "devices/leaf1/messages/devicebound/%24.mid=c2d-1&%24.to=%2Fdevices%2Fleaf1%2Fmessages"
        "%2Fdevicebound&color=red",
        b"c2d hello",
        1,
        packet_id=1,
    ),
    Puback(1),
    Puback(12),
    Disconnect(),
]


@pytest.mark.parametrize("packet", EVERY_PACKET, ids=lambda p: type(p).__name__)
def test_transcript_packets_round_trip(packet: Packet) -> None:
    assert decode_all(encode(packet)) == [packet]


def test_sdk_connect_flags_are_paho_s() -> None:
    # paho.log: (u1, p1, wr0, wq0, wf0, c0, k60) -> connect flags 0xC0, keep-alive 60
    wire = encode(CONNECT_FILTER)
    assert wire[0] == 0x10 and wire[1] & 0x80  # a two-byte remaining length (long username)
    assert wire[3:13] == b"\x00\x04MQTT\x04\xc0\x00\x3c"


def twin(desired: Mapping[str, object], reported: Mapping[str, object]) -> bytes:
    return json.dumps({"desired": desired, "reported": reported}).encode()


def test_filter_conversation_replays() -> None:
    pair = Pair(0.0)
    assert pair.send(CONNECT_FILTER) == [ConnectRequested(CONNECT_FILTER)]
    got = pair.received(pair.server.accept(None, 0.0))
    # STEP 3-5: one filter per SUBSCRIBE, QoS 1 granted
    for pid, topic_filter in enumerate([INPUTS, METHODS, DESIRED], 1):
        subs = (Subscription(topic_filter, 1),)
        assert pair.send(Subscribe(pid, subs)) == [SubscribeRequested(pid, subs)]
        got += pair.received(pair.server.suback(pid))
    # STEP 6: the routed input
    got += pair.received(pair.server.publish(Message(FILTER_INPUT, b'{"temperature": 21.5}'), 0.0))
    # STEP 7: get_twin
    assert pair.send(Puback(1)) == [
        MessageAcknowledged(1, Message(FILTER_INPUT, b'{"temperature": 21.5}'))
    ]
    pair.send(Subscribe(4, (Subscription(TWIN_RES, 1),)))
    got += pair.received(pair.server.suback(4))
    get1 = Publish(f"$iothub/twin/GET/?$rid={RID1}", b" ", 1, packet_id=5)
    assert pair.send(get1) == [MessageReceived(get1)]
    res = Message(f"$iothub/twin/res/200/?$rid={RID1}", twin({"$version": 1}, {"$version": 1}))
    got += pair.received(pair.server.publish(res, 0.0) + pair.server.ack(5))
    # STEP 8: reported patch, then GET again
    patch = Publish(
        f"$iothub/twin/PATCH/properties/reported/?$rid={RID2}",
        b'{"status": "running", "nested": {"a": 1}}',
        1,
        packet_id=6,
    )
    assert pair.send(Puback(2), patch)[1] == MessageReceived(patch)
    got += pair.received(
        pair.server.publish(Message(f"$iothub/twin/res/204/?$rid={RID2}&$version=2"), 0.0)
        + pair.server.ack(6)
    )
    get2 = Publish(f"$iothub/twin/GET/?$rid={RID3}", b" ", 1, packet_id=7)
    pair.send(Puback(3), get2)
    reported = {"status": "running", "nested": {"a": 1}, "$version": 2}
    got += pair.received(
        pair.server.publish(
            Message(f"$iothub/twin/res/200/?$rid={RID3}", twin({"$version": 1}, reported)), 0.0
        )
        + pair.server.ack(7)
    )
    # STEP 9-10: desired patch and a direct method from the hub
    got += pair.received(
        pair.server.publish(
            Message(
                "$iothub/twin/PATCH/properties/desired/?$version=2",
                b'{"threshold": 30, "$version": 2}',
            ),
            1.0,
        )
    )
    pair.send(Puback(4), Puback(5))
    got += pair.received(
        pair.server.publish(Message("$iothub/methods/POST/reset/?$rid=1", b'{"hard": true}'), 1.0)
    )
    answer = Publish(
        "$iothub/methods/res/200/?$rid=1",
        b'{"result": "ok", "echo": {"hard": true}}',
        1,
        packet_id=8,
    )
    assert pair.send(Puback(6), answer)[1] == MessageReceived(answer)
    got += pair.received(pair.server.ack(8))
    # STEP 11: module-to-module method
    got += pair.received(
        pair.server.publish(
            Message("$iothub/methods/POST/reset/?$rid=2", b'{"from": "sensor"}'), 1.1
        )
    )
    answer2 = Publish(
        "$iothub/methods/res/200/?$rid=2",
        b'{"result": "ok", "echo": {"from": "sensor"}}',
        1,
        packet_id=9,
    )
    pair.send(Puback(7), answer2)
    got += pair.received(pair.server.ack(9))
    # STEP 12: SAS renewal = DISCONNECT, new connection, CONNECT clean=0, no SUBSCRIBE
    assert pair.send(Disconnect(), now=20.0) == [
        ConnectionClosed("the client disconnected", clean=True)
    ]
    assert pair.server.session is not None
    stored = SessionState.from_dict(json.loads(json.dumps(pair.server.session.to_dict())))

    renewed = Pair(20.0)
    assert renewed.send(RECONNECT_FILTER, now=20.0) == [ConnectRequested(RECONNECT_FILTER)]
    got += renewed.received(renewed.server.accept(stored, 20.0))
    get3 = Publish(f"$iothub/twin/GET/?$rid={RID4}", b" ", 1, packet_id=10)
    assert renewed.send(get3, now=20.0) == [MessageReceived(get3)]
    desired = {"threshold": 30, "$version": 2}
    assert renewed.server.session is not None
    assert renewed.server.session.match(f"$iothub/twin/res/200/?$rid={RID4}") == 1
    got += renewed.received(
        renewed.server.publish(
            Message(f"$iothub/twin/res/200/?$rid={RID4}", twin(desired, reported)), 20.0
        )
        + renewed.server.ack(10)
    )
    renewed.send(Puback(8), now=20.0)
    after = "devices/edge-dev-1/modules/filter/inputs/input1/%24.cdid=edge-dev-1&%24.cmid=sensor"
    assert renewed.server.session.match(after) == 1  # kept without a new SUBSCRIBE
    got += renewed.received(renewed.server.publish(Message(after, b"after-reauth"), 26.0))

    assert got == [
        Connack(ConnackCode.ACCEPTED, False),
        Suback(1, (1,)),
        Suback(2, (1,)),
        Suback(3, (1,)),
        Publish(FILTER_INPUT, b'{"temperature": 21.5}', 1, packet_id=1),
        Suback(4, (1,)),
        Publish(
            f"$iothub/twin/res/200/?$rid={RID1}",
            twin({"$version": 1}, {"$version": 1}),
            1,
            packet_id=2,
        ),
        Puback(5),
        Publish(f"$iothub/twin/res/204/?$rid={RID2}&$version=2", b"", 1, packet_id=3),
        Puback(6),
        Publish(
            f"$iothub/twin/res/200/?$rid={RID3}", twin({"$version": 1}, reported), 1, packet_id=4
        ),
        Puback(7),
        Publish(
            "$iothub/twin/PATCH/properties/desired/?$version=2",
            b'{"threshold": 30, "$version": 2}',
            1,
            packet_id=5,
        ),
        Publish("$iothub/methods/POST/reset/?$rid=1", b'{"hard": true}', 1, packet_id=6),
        Puback(8),
        Publish("$iothub/methods/POST/reset/?$rid=2", b'{"from": "sensor"}', 1, packet_id=7),
        Puback(9),
        Connack(ConnackCode.ACCEPTED, True),
        Publish(f"$iothub/twin/res/200/?$rid={RID4}", twin(desired, reported), 1, packet_id=8),
        Puback(10),
        Publish(after, b"after-reauth", 1, packet_id=9),
    ]


def test_wrong_key_gets_connack_5() -> None:
    pair = Pair()
    pair.send(CONNECT_SENSOR)
    assert pair.received(pair.server.refuse(ConnackCode.NOT_AUTHORIZED)) == [
        Connack(ConnackCode.NOT_AUTHORIZED)
    ]
