"""The workload API that ``create_from_edge_environment`` uses in real-runtime mode
(hub-protocol §2, §8): ``GET /trust-bundle`` and ``POST /modules/{m}/genid/{g}/sign``, as
aziot-edged serves them, over a unix socket (``config.workload_socket``) or, without one, over
HTTP on ``config.workload_bind``:``config.workload_port`` (defaults: 127.0.0.1 and the admin
port + 1), so ``IOTEDGE_WORKLOADURI=http://127.0.0.1:PORT/``. In the hub container of the agent
mode the bind is ``0.0.0.0`` and module containers reach it by the gateway host name (the hub's
network alias): ``http://<gateway>:PORT/``.

aziot-edged ignores ``keyId`` and ``algo`` and authorizes callers by socket peer PID; the
simulator signs with the module's primary key for any local caller.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import stat
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from pathlib import Path

    from iotedge_cli.simulator.hub.config import HubConfig
    from iotedge_cli.simulator.hub.hub import Hub

__all__ = [
    "WORKLOAD_HOST",
    "remove_stale_socket",
    "start_workload",
    "workload_app",
    "workload_port",
    "workload_uri",
]

log = logging.getLogger(__name__)

WORKLOAD_HOST = "127.0.0.1"
SOCKET_MODE = 0o660
_WILDCARDS = ("0.0.0.0", "::", "")  # binds on every interface: modules use the gateway name


def workload_port(config: HubConfig) -> int:
    """The TCP port of the workload API when no socket path is configured: ``workload_port``
    when set, else the admin port + 1 (an ephemeral port when the admin port is 0, as in
    tests)."""
    if config.workload_port is not None:
        return config.workload_port
    return config.admin_port + 1 if config.admin_port else 0


def _uri_host(config: HubConfig) -> str:
    """Where modules reach a TCP workload API: the bind address, or the gateway host name when
    the API listens on every interface."""
    host = config.gateway_hostname if config.workload_bind in _WILDCARDS else config.workload_bind
    return f"[{host}]" if ":" in host else host


def workload_uri(config: HubConfig, port: int | None = None) -> str:
    """The value for ``IOTEDGE_WORKLOADURI`` (``port``: the one actually bound, when known)."""
    if config.workload_socket is not None:
        return f"unix://{config.workload_socket}"
    return f"http://{_uri_host(config)}:{workload_port(config) if port is None else port}/"


def _api_version(request: Request) -> None:
    if not request.query.get("api-version"):
        raise HttpError(
            400, "the api-version query parameter is required, e.g. ?api-version=2022-08-03"
        )


def workload_app(hub: Hub, config: HubConfig) -> Router:
    router = Router()

    async def trust_bundle(request: Request) -> Response:
        _api_version(request)
        try:
            pem = config.ca_cert.read_text(encoding="ascii")
        except OSError as exc:
            raise HttpError(500, f"cannot read the CA bundle {config.ca_cert}: {exc}") from None
        return json_response(200, {"certificate": pem})

    async def sign(request: Request) -> Response:
        _api_version(request)
        data = json_body(request)
        if not isinstance(data, dict):
            raise HttpError(400, 'the body must be {"keyId", "algo", "data"}')
        algo = data.get("algo", "HMACSHA256")
        if algo != "HMACSHA256":
            raise HttpError(400, f"algo {algo!r} is not supported; use HMACSHA256")
        raw = data.get("data")
        if not isinstance(raw, str):
            raise HttpError(400, f"'data' must be base64 text, got {raw!r}")
        try:
            message = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "'data' is not valid base64") from None
        module, generation = request.params["module"], request.params["genid"]
        try:
            digest = hub.sign(module, generation, message)
        except LookupError:
            raise HttpError(404, f"module {module!r} is not an identity of this hub") from None
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        return json_response(200, {"digest": base64.b64encode(digest).decode("ascii")})

    router.add("GET", "/trust-bundle", trust_bundle)
    router.add("POST", "/modules/{module}/genid/{genid}/sign", sign)
    return router


def remove_stale_socket(path: Path) -> None:
    """Remove a socket file a killed hub left behind; refuse to remove anything else."""
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise OSError(f"{path} exists and is not a socket; remove it or pick another path")
        path.unlink()


async def start_workload(hub: Hub, config: HubConfig) -> asyncio.AbstractServer | None:
    """Serve the workload API and record the listener in ``hub.listeners`` (with the URI for
    ``IOTEDGE_WORKLOADURI``); on failure record why and return None."""
    app = workload_app(hub, config)
    path = config.workload_socket
    bind = config.workload_bind
    where = str(path) if path is not None else f"{bind}:{workload_port(config)}"
    entry: dict[str, Any] = {
        "name": "workload",
        "address": where if path is not None else bind,
        "port": None if path is not None else workload_port(config),
        "available": False,
        "error": None,
    }
    try:
        server: HttpServer
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_socket(path)
            server = await start_unix_http_server(app, str(path))
            path.chmod(SOCKET_MODE)
        else:
            server = await start_http_server(app, bind, workload_port(config))
            entry["port"] = server.sockets[0].getsockname()[1]
    except OSError as exc:
        entry["error"] = (
            f"cannot serve the workload API on {where} ({exc.strerror or exc}); modules can "
            "still use EdgeHubConnectionString, but not IOTEDGE_* mode"
        )
        log.warning("%s", entry["error"])
        hub.listeners.append(entry)
        return None
    entry["available"] = True
    entry["uri"] = workload_uri(config, entry["port"])
    hub.listeners.append(entry)
    return server
