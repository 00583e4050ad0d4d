"""The hub's port 443 (HTTPS, like edgeHub's ``HttpProtocolHead``): MQTT over WebSocket at
``/$iothub/websocket`` (hub-protocol §6) and module-to-module direct methods at
``POST /twins/{d}[/modules/{m}]/methods`` (§5), authenticated by the caller's own SAS token.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import TYPE_CHECKING, Any

from iotedge_cli.simulator.hub.http import (
    HttpServer,
    Request,
    Response,
    Router,
    Upgrade,
    start_http_server,
    websocket_handshake,
    websocket_stream,
)
from iotedge_cli.simulator.hub.iothub import methods
from iotedge_cli.simulator.hub.iothub.identity import IdentityRegistry, parse_connection_string
from iotedge_cli.simulator.hub.iothub.sas import verify_token

if TYPE_CHECKING:
    from iotedge_cli.simulator.hub.config import HubConfig
    from iotedge_cli.simulator.hub.hub import Hub

__all__ = ["WEBSOCKET_PATH", "https_app", "server_ssl_context", "start_https"]

log = logging.getLogger(__name__)

WEBSOCKET_PATH = "/$iothub/websocket"


def server_ssl_context(config: HubConfig) -> ssl.SSLContext:
    """TLS 1.2+ with the hub's server chain; a client certificate is optional and, when sent,
    must chain to the edge CA (X.509 leaf devices over WebSocket)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(config.server_cert), str(config.server_key))
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cafile=str(config.ca_cert))
    return context


def _result(outcome: methods.HttpResult) -> Response:
    return Response(outcome.status, outcome.encode(), outcome.headers)


def _authenticate(hub: Hub, config: HubConfig, request: Request) -> str:
    """The caller's client id ``d/m``, checked as edgeHub's ``HttpRequestAuthenticator``:
    a well-formed ``x-ms-edge-moduleId`` (400), a module of the edge device (401) whose own
    SAS token is in ``Authorization`` (401). Raises ``methods.InvokeError``. A hub without
    an identity ``registry`` is asked for the module's key through ``connection_info``."""
    registry = getattr(hub, "registry", None)
    if isinstance(registry, IdentityRegistry):  # the real hub: both keys, as edgeHub
        identity = methods.authenticate_invoke(
            request.header(methods.ACTOR_HEADER),
            request.header("authorization"),
            registry=registry,
            edge_device_id=config.device_id,
            iothub_hostname=config.iothub_hostname,
            gateway_hostname=config.gateway_hostname,
            now=time.time(),
        )
        return identity.id
    device_id, module_id = methods.parse_actor_header(request.header(methods.ACTOR_HEADER))
    if device_id != config.device_id:
        raise methods.InvokeError(
            methods.unauthorized("Only modules on the same device can invoke DirectMethods")
        )
    try:
        info = hub.connection_info(module_id)
        key = parse_connection_string(info["EdgeHubConnectionString"]).shared_access_key
    except (LookupError, ValueError):
        key = None
    if not key:
        raise methods.InvokeError(methods.unauthorized(f"Unknown module {device_id}/{module_id}"))
    authorization = request.header("authorization")
    if not authorization:
        raise methods.InvokeError(
            methods.unauthorized("Authorization header with a SAS token is required")
        )
    sas = verify_token(
        authorization,
        device_id=device_id,
        module_id=module_id,
        primary_key=key,
        secondary_key=None,
        hostnames=(config.iothub_hostname, config.gateway_hostname),
        now=time.time(),
    )
    if not sas.ok:
        raise methods.InvokeError(
            methods.unauthorized(f"Unable to authenticate {device_id}/{module_id}: {sas.reason}")
        )
    return f"{device_id}/{module_id}"


def https_app(hub: Hub, config: HubConfig) -> Router:
    """The 443 routes, without the listener (tests drive it over any socket)."""
    router = Router()

    async def websocket(request: Request) -> Upgrade:
        headers = websocket_handshake(request, "mqtt")

        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            ws_reader, ws_writer, pump = websocket_stream(reader, writer)
            try:
                await hub.handle_stream(
                    ws_reader,
                    ws_writer,  # type: ignore[arg-type]  # a StreamWriter look-alike
                    transport="websocket",
                    peer_cert=request.peer_cert,
                )
            finally:
                ws_writer.close()
                pump.cancel()
                await asyncio.wait([pump])  # never swallows this task's own cancellation

        return Upgrade(headers, run)

    async def invoke(request: Request) -> Response:
        device_id = request.params["device"]
        module_id = request.params.get("module")
        target = methods.InvokeTarget(device_id, module_id)
        try:
            caller = _authenticate(hub, config, request)
            call = methods.parse_invoke_body(request.body)
        except methods.InvokeError as exc:
            return _result(exc.response)
        status, payload = await hub.invoke_method(
            device_id=device_id,
            module_id=module_id,
            method=call.method_name,
            payload=call.payload,
            timeout=call.response_timeout,
            connect_timeout=call.connect_timeout,
            caller=caller,
        )
        return _result(_outcome(target, call, status, payload))

    router.add("GET", WEBSOCKET_PATH, websocket)
    router.add("POST", "/twins/{device}/modules/{module}/methods", invoke)
    router.add("POST", "/twins/{device}/methods", invoke)
    from iotedge_cli.simulator.hub.store import HubStore

    if isinstance(getattr(hub, "store", None), HubStore):  # a real hub: IoT Hub's service API
        from iotedge_cli.simulator.hub.service import mount_service

        mount_service(router, hub, config)
    return router


def _outcome(
    target: methods.InvokeTarget, call: methods.InvokeRequest, status: int, payload: Any
) -> methods.HttpResult:
    """``Hub.invoke_method``'s ``(status, payload)`` as edgeHub's HTTP answer: the hub's own
    404 (offline, also after the connect timeout) and 504 (timeout) carry ``{"message": ...}``;
    anything else is the target's."""
    hub_error = isinstance(payload, dict) and set(payload) == {"message"}
    if status == 404 and hub_error:
        return methods.HttpResult(404, dict(payload))
    if status == 504 and hub_error:
        return methods.timed_out(target.id, call.method_name, call.response_timeout)
    return methods.result(status, payload)


async def start_https(hub: Hub, config: HubConfig) -> asyncio.AbstractServer | None:
    """Listen on ``config.bind:config.https_port`` with TLS; when the port cannot be bound
    (443 needs root or CAP_NET_BIND_SERVICE) return None and record why in ``hub.listeners``."""
    try:
        context = server_ssl_context(config)
        server: HttpServer = await start_http_server(
            https_app(hub, config), config.bind, config.https_port, ssl=context
        )
    except OSError as exc:
        hint = (
            "ports below 1024 need root, CAP_NET_BIND_SERVICE or "
            "sysctl net.ipv4.ip_unprivileged_port_start<=443"
            if config.https_port < 1024
            else "free the port or pick another"
        )
        error = (
            f"cannot listen on {config.bind}:{config.https_port} ({exc.strerror or exc}); "
            f"WebSocket MQTT and module-to-module invoke_method are unavailable; {hint}"
        )
        log.warning("%s", error)
        hub.listeners.append(
            {
                "name": "https",
                "address": config.bind,
                "port": config.https_port,
                "available": False,
                "error": error,
            }
        )
        return None
    return server
