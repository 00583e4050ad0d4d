"""A sans-io MQTT 3.1.1 core: codec, topic rules and the server connection state machine.

No sockets, no clocks, no IoT Hub semantics: bytes in, events out (see ``session``). The
asyncio shell and the IoT Hub layer sit on top.
"""

from __future__ import annotations

from iotedge_cli.simulator.hub.protocol.codec import (
    MAX_MESSAGE_SIZE,
    MAX_PACKET_SIZE,
    Decoder,
    ProtocolError,
    encode,
)
from iotedge_cli.simulator.hub.protocol.packets import (
    SUBACK_FAILURE,
    Connack,
    ConnackCode,
    Connect,
    Disconnect,
    Packet,
    PacketType,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from iotedge_cli.simulator.hub.protocol.session import (
    ConnectionClosed,
    ConnectionState,
    ConnectRequested,
    Event,
    MessageAcknowledged,
    MessageReceived,
    ServerConnection,
    SubscribeRequested,
    Unsubscribed,
)
from iotedge_cli.simulator.hub.protocol.state import Message, SessionState
from iotedge_cli.simulator.hub.protocol.topics import filter_error, matches, topic_name_error

__all__ = [
    "MAX_MESSAGE_SIZE",
    "MAX_PACKET_SIZE",
    "SUBACK_FAILURE",
    "Connack",
    "ConnackCode",
    "Connect",
    "ConnectRequested",
    "ConnectionClosed",
    "ConnectionState",
    "Decoder",
    "Disconnect",
    "Event",
    "Message",
    "MessageAcknowledged",
    "MessageReceived",
    "Packet",
    "PacketType",
    "Pingreq",
    "Pingresp",
    "ProtocolError",
    "Puback",
    "Pubcomp",
    "Publish",
    "Pubrec",
    "Pubrel",
    "ServerConnection",
    "SessionState",
    "Suback",
    "Subscribe",
    "SubscribeRequested",
    "Subscription",
    "Unsuback",
    "Unsubscribe",
    "Unsubscribed",
    "Will",
    "encode",
    "filter_error",
    "matches",
    "topic_name_error",
]
