"""The MQTT-over-TLS listener (port 8883): TLS 1.2+, optional client certificates.

A client certificate (X.509 leaf devices) must chain to ``config.ca_cert``; the handshake
fails otherwise. Every accepted socket gets ``TCP_NODELAY`` (hub-protocol §15).
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.hub.hub import Hub

__all__ = ["server_ssl_context", "set_nodelay", "start_mqtt"]


def server_ssl_context(config: HubConfig, *, client_certs: bool = True) -> ssl.SSLContext:
    """A TLS 1.2+ server context with the hub's certificate; client certificates optional
    and verified against the edge CA bundle."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(config.server_cert), str(config.server_key))
    if client_certs:
        context.load_verify_locations(cafile=str(config.ca_cert))
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def set_nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def start_mqtt(hub: Hub, config: HubConfig) -> asyncio.AbstractServer:
    """Listen on ``config.bind:config.mqtt_port``; raises OSError when the port is taken."""
    context = server_ssl_context(config)

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        set_nodelay(writer)
        ssl_object = writer.get_extra_info("ssl_object")
        peer = None if ssl_object is None else ssl_object.getpeercert(binary_form=True)
        await hub.handle_stream(reader, writer, transport="tcp", peer_cert=peer)

    return await asyncio.start_server(
        on_client, host=config.bind, port=config.mqtt_port, ssl=context, reuse_address=True
    )
