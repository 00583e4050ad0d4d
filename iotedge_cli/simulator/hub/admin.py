"""The admin API the CLI talks to (``edgectl simulate status|send|monitor|twin|invoke|device|
modulecred|deploy|stop``) and the agent reports through: JSON over HTTP on 127.0.0.1 only, or
on a unix socket (``config.admin_socket``, mode 0600: the hub in a container, reached by the
host through the bind-mounted state dir); errors as ``{"error": message}``.

Only loopback clients (or the socket's owner) can reach it; it also refuses requests whose
``Host`` is not a loopback name and requests carrying an ``Origin`` header, so a web page in a
local browser cannot drive it (DNS rebinding, cross-site POSTs).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iotedge_cli.errors import EdgectlError
from iotedge_cli.simulator.hub.http import (
    HttpError,
    HttpServer,
    Request,
    Response,
    Router,
    json_body,
    json_response,
    start_http_server,
    start_unix_http_server,
)
from iotedge_cli.simulator.hub.iothub.methods import MAX_CONNECT_TIMEOUT
from iotedge_cli.simulator.hub.workload import remove_stale_socket

if TYPE_CHECKING:
    from iotedge_cli.simulator.hub.config import HubConfig
    from iotedge_cli.simulator.hub.hub import Hub

__all__ = ["ADMIN_HOST", "MAX_WAIT", "SOCKET_MODE", "admin_app", "admin_uri", "start_admin"]

log = logging.getLogger(__name__)

ADMIN_HOST = "127.0.0.1"
MAX_WAIT = 60.0  # longest upstream long-poll, seconds
SOCKET_MODE = 0o600  # the admin API has no authentication of its own: its owner only
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "[::1]"}
# Optional message fields of POST /api/v1/messages that become system properties (edgeHub names,
# as Hub.inject takes them).
_SYSTEM = ("contentType", "contentEncoding", "messageId", "correlationId")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(400, f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise HttpError(400, f"{name}={value} is out of range {low}..{high}")
    return value


def _float_param(request: Request, name: str, default: float, high: float) -> float:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise HttpError(400, f"{name}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise HttpError(400, f"{name}={raw} must be a non-negative number of seconds")
    return min(value, high)


def _object(request: Request) -> dict[str, Any]:
    data = json_body(request)
    if not isinstance(data, dict):
        raise HttpError(400, f"the request body must be a JSON object, not {type(data).__name__}")
    return data


def _seconds(data: dict[str, Any], name: str, default: float, high: float = math.inf) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise HttpError(400, f"{name!r} must be a non-negative number, got {value!r}")
    if not math.isfinite(value):
        raise HttpError(400, f"{name!r} must be finite")
    if value > high:
        raise HttpError(400, f"{name!r} must be at most {high:g} seconds, got {value!r}")
    return float(value)


def _string(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"{name!r} must be a non-empty string, got {value!r}")
    return value


def _guard(request: Request) -> None:
    host = (request.header("host") or "").lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name not in _LOOPBACK_NAMES:
        raise HttpError(403, f"Host {host!r} is not a loopback name; call 127.0.0.1 directly")
    if request.header("origin") is not None:
        raise HttpError(403, "requests from web pages (with an Origin header) are refused")


def _hub_call(func: Callable[[], Any]) -> Any:
    """Run a synchronous hub call, mapping its failures to HTTP errors."""
    try:
        return func()
    except LookupError as exc:
        raise HttpError(404, _text(exc)) from None
    except (ValueError, TypeError, EdgectlError) as exc:
        raise HttpError(400, _text(exc)) from None


def _text(exc: BaseException) -> str:
    if isinstance(exc, EdgectlError):
        return exc.message if not exc.hint else f"{exc.message}; {exc.hint}"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


async def _hub_await(coro: Any) -> Any:
    try:
        return await coro
    except LookupError as exc:
        raise HttpError(404, _text(exc)) from None
    except (ValueError, TypeError, EdgectlError) as exc:
        raise HttpError(400, _text(exc)) from None


def _split_identity(hub: Hub, config: HubConfig, identity: str) -> tuple[str, str | None]:
    """``"d/m"``, a leaf device id, or a module of the edge device -> (device, module)."""
    if "/" in identity:
        device, _, module = identity.partition("/")
        return device, module or None
    devices = {
        str(entry.get("deviceId"))
        for entry in hub.status().get("identities", [])
        if isinstance(entry, dict) and not entry.get("moduleId")
    }
    if identity in devices and identity != config.device_id:
        return identity, None
    return config.device_id, identity


def admin_app(hub: Hub, config: HubConfig, *, stop: Callable[[], None] | None = None) -> Router:
    """The admin routes; ``stop`` is called after ``POST /api/v1/shutdown`` is answered
    (default: ``hub.request_stop()``, or ``hub.request_shutdown()`` as hub.py names it)."""
    router = Router()

    def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            _guard(request)
            result: Response = await handler(request)
            return result

        return run

    async def status(request: Request) -> Response:
        return json_response(200, _hub_call(hub.status))

    async def messages(request: Request) -> Response:
        data = _object(request)
        input_name = _string(data, "inputName")
        module = _string(data, "moduleId", required=False)
        if module is None:
            if config.single_module is None:
                raise HttpError(
                    400, "'moduleId' is required: the hub runs a manifest, not a single module"
                )
            module = config.single_module[0]
        raw = data.get("data")
        if not isinstance(raw, str):
            raise HttpError(400, f"'data' must be a string, got {raw!r}")
        encoding = data.get("dataEncoding", "utf-8")
        if encoding == "base64":
            try:
                body = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise HttpError(
                    400, "'data' is not valid base64 (dataEncoding is base64)"
                ) from None
        elif encoding == "utf-8":
            body = raw.encode("utf-8")
        else:
            raise HttpError(400, f"'dataEncoding' must be 'utf-8' or 'base64', got {encoding!r}")
        props = data.get("properties") or {}
        if not isinstance(props, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in props.items()
        ):
            raise HttpError(400, "'properties' must be an object of string values")
        system = {name: _string(data, name) for name in _SYSTEM if name in data}
        await _hub_await(
            hub.inject(
                module_id=module,
                input_name=str(input_name),
                body=body,
                properties=dict(props),
                system_properties={k: str(v) for k, v in system.items()},
            )
        )
        return json_response(202, {"moduleId": module, "inputName": input_name})

    async def upstream(request: Request) -> Response:
        after = _int_param(request, "after", 0, 0, 2**62)
        limit = _int_param(request, "limit", 100, 1, 10_000)
        wait = _float_param(request, "wait", 0.0, MAX_WAIT)
        found, last = _hub_call(lambda: hub.upstream(after, limit))
        if not found and wait > 0:
            await hub.wait_upstream(after, wait)
            found, last = _hub_call(lambda: hub.upstream(after, limit))
        return json_response(200, {"messages": found, "last": last})

    async def twin_get(request: Request) -> Response:
        identity = request.params["identity"]
        return json_response(200, _hub_call(lambda: hub.twin(identity)))

    async def twin_patch(request: Request) -> Response:
        patch = _object(request)
        return json_response(
            200, await _hub_await(hub.patch_desired(request.params["identity"], patch))
        )

    async def reported_patch(request: Request) -> Response:
        patch = _object(request)
        return json_response(
            200, await _hub_await(hub.patch_reported(request.params["identity"], patch))
        )

    async def deployment(request: Request) -> Response:
        return json_response(200, await _hub_await(hub.apply_deployment(_object(request))))

    async def invoke(request: Request) -> Response:
        # {"payload", "timeout" (response, s), "connectTimeout" (s to wait for the target to
        # connect, as IoT Hub's connectTimeoutInSeconds: default 0, at most 300)}
        data = _object(request)
        timeout = _seconds(data, "timeout", 30.0)
        connect_timeout = _seconds(data, "connectTimeout", 0.0, MAX_CONNECT_TIMEOUT)
        device, module = _split_identity(hub, config, request.params["identity"])
        status, payload = await _hub_await(
            hub.invoke_method(
                device_id=device,
                module_id=module,
                method=request.params["method"],
                payload=data.get("payload"),
                timeout=timeout,
                connect_timeout=connect_timeout,
                caller="edgectl",
            )
        )
        return json_response(200, {"status": status, "payload": payload})

    async def add_device(request: Request) -> Response:
        data = _object(request)
        device = str(_string(data, "deviceId"))
        x509 = data.get("x509", False)
        if not isinstance(x509, bool):
            raise HttpError(400, f"'x509' must be true or false, got {x509!r}")
        return json_response(201, _hub_call(lambda: hub.add_device(device, x509=x509)))

    async def credentials(request: Request) -> Response:
        module = request.params["module"]
        return json_response(200, _hub_call(lambda: hub.connection_info(module)))

    async def shutdown(request: Request) -> Response:
        hook = stop
        for name in ("request_stop", "request_shutdown"):
            hook = hook or getattr(hub, name, None)
        if hook is None:
            raise HttpError(501, "this hub cannot be stopped over the API; send it SIGTERM")
        response = json_response(202, {"stopping": True})
        response.after = hook
        return response

    for method, path, handler in (
        ("GET", "/api/v1/status", status),
        ("POST", "/api/v1/messages", messages),
        ("GET", "/api/v1/upstream", upstream),
        ("GET", "/api/v1/twins/{identity}", twin_get),
        ("PATCH", "/api/v1/twins/{identity}", twin_patch),
        ("PATCH", "/api/v1/twins/{identity}/reported", reported_patch),
        ("POST", "/api/v1/deployment", deployment),
        ("POST", "/api/v1/methods/{identity}/{method}", invoke),
        ("POST", "/api/v1/devices", add_device),
        ("GET", "/api/v1/modules/{module}/credentials", credentials),
        ("POST", "/api/v1/shutdown", shutdown),
    ):
        router.add(method, path, guarded(handler))
    return router


def admin_uri(config: HubConfig, port: int | None = None) -> str:
    """What ``hub.json`` records for the CLI: ``unix:///abs/admin.sock`` or
    ``http://127.0.0.1:PORT`` (``port``: the one actually bound, when known)."""
    if config.admin_socket is not None:
        return f"unix://{config.admin_socket.absolute()}"
    return f"http://{ADMIN_HOST}:{config.admin_port if port is None else port}"


async def start_admin(hub: Hub, config: HubConfig) -> asyncio.AbstractServer:
    """Serve the admin API on 127.0.0.1:``config.admin_port`` (never another address: it has
    no authentication of its own) or on the unix socket ``config.admin_socket`` (mode 0600; a
    stale socket file from a killed hub is replaced). Records the listener in
    ``hub.listeners``; raises ``OSError`` when it cannot listen."""
    app = admin_app(hub, config)
    entry: dict[str, Any] = {"name": "admin", "available": True, "error": None}
    server: HttpServer
    if config.admin_socket is not None:
        path = config.admin_socket.absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_socket(path)
        # the state dir is 0700, so the moment before the chmod exposes nothing
        server = await start_unix_http_server(app, str(path))
        path.chmod(SOCKET_MODE)
        entry.update(address=str(path), port=None)
    else:
        server = await start_http_server(app, ADMIN_HOST, config.admin_port)
        entry.update(address=ADMIN_HOST, port=server.sockets[0].getsockname()[1])
    entry["uri"] = admin_uri(config, entry["port"])
    hub.listeners.append(entry)
    return server
