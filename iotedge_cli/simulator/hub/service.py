"""The subset of IoT Hub's *service* REST API that ``azure-iot-hub`` uses for the registry
manager (devices, module identities, device and module twins) and the configuration
manager (configurations, ``applyConfigurationContent``), on the hub's HTTPS port.

Shapes are IoT Hub's (api-version 2021-04-12, what the SDK's msrest models (de)serialize),
errors too: ``{"Message": "ErrorCode:<code>;<text>", "ExceptionMessage": "..."}`` with an
``iothub-errorcode`` header; 401 for a missing or bad policy token, 404, 409 (create what
exists), 412 (``If-Match`` etag mismatch), 400 (bad body).

This module authenticates every request and serialises them (one at a time, under a lock);
the work is done by its parts:

* :mod:`.service_auth`: the ``iothubowner`` policy key, which the hub creates once per state
  directory in ``<state_dir>/service.key`` (0600), its connection string, the SAS check;
* :mod:`.service_wire`: error answers, JSON bodies, etags and ``If-Match``;
* :mod:`.service_registry`: devices, modules and their twins;
* :mod:`.service_configurations`: applied content and automatic/layered deployments;
* :mod:`.service_store`: their tables in the hub's SQLite database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from iotedge_cli.simulator.hub.http import Request, Response, Router
from iotedge_cli.simulator.hub.service_auth import (
    KEY_FILE,
    POLICY_NAME,
    check_service_token,
    load_or_create_policy_key,
    service_connection_string,
)
from iotedge_cli.simulator.hub.service_configurations import Configurations
from iotedge_cli.simulator.hub.service_registry import Registry
from iotedge_cli.simulator.hub.service_store import ServiceStore
from iotedge_cli.simulator.hub.service_wire import ServiceError, error_response

if TYPE_CHECKING:
    from iotedge_cli.simulator.hub.config import HubConfig
    from iotedge_cli.simulator.hub.hub import Hub

__all__ = [
    "API_VERSION",
    "KEY_FILE",
    "POLICY_NAME",
    "ServiceApi",
    "ServiceError",
    "check_service_token",
    "load_or_create_policy_key",
    "mount_service",
    "service_connection_string",
]

log = logging.getLogger(__name__)

API_VERSION = "2021-04-12"

Handler = Callable[[Request], Awaitable[Response]]


class ServiceApi:
    """The service API of one hub; state lives in the hub's database."""

    def __init__(self, hub: Hub, config: HubConfig) -> None:
        self.hub = hub
        self.config = config
        self.key = load_or_create_policy_key(config.state_dir)
        self.db = ServiceStore(hub.store)
        self._lock = asyncio.Lock()
        self.registry = Registry(hub, config, self.db, self._recompute)
        self.configurations = Configurations(self.registry)

    async def _recompute(self) -> None:
        await self.configurations.recompute()

    def mount(self, router: Router) -> None:
        devices, configs = self.registry, self.configurations
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/devices", devices.list_devices),
            ("GET", "/devices/{id}", devices.get_device),
            ("PUT", "/devices/{id}", devices.put_device),
            ("DELETE", "/devices/{id}", devices.delete_device),
            ("GET", "/devices/{id}/modules", devices.list_modules),
            ("GET", "/devices/{id}/modules/{mid}", devices.get_module),
            ("POST", "/devices/{id}/applyConfigurationContent", configs.apply_content),
            ("GET", "/twins/{id}", devices.get_twin),
            ("PATCH", "/twins/{id}", devices.update_twin),
            ("PUT", "/twins/{id}", devices.replace_twin),
            ("GET", "/twins/{id}/modules/{mid}", devices.get_module_twin),
            ("PATCH", "/twins/{id}/modules/{mid}", devices.update_module_twin),
            ("PUT", "/twins/{id}/modules/{mid}", devices.replace_module_twin),
            ("GET", "/configurations", configs.list_configurations),
            ("GET", "/configurations/{id}", configs.get_configuration),
            ("PUT", "/configurations/{id}", configs.put_configuration),
            ("DELETE", "/configurations/{id}", configs.delete_configuration),
        ]
        for method, path, handler in routes:
            router.add(method, path, self._guard(handler))

    def _guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            try:
                self.authenticate(request)
                if not request.query.get("api-version"):
                    raise ServiceError(
                        400,
                        "InvalidProtocolVersion",
                        f"the api-version query parameter is required (use {API_VERSION})",
                    )
                async with self._lock:
                    return await handler(request)
            except ServiceError as exc:
                if exc.status >= 500:
                    log.error("service API %s %s: %s", request.method, request.path, exc.message)
                return error_response(exc)

        return guarded

    def authenticate(self, request: Request) -> None:
        host = request.header("host") or ""
        hosts = (
            self.config.iothub_hostname,
            self.config.gateway_hostname,
            self.config.bind,
            host,
            host.rsplit(":", 1)[0],
        )
        problem = check_service_token(
            request.header("authorization"), key=self.key, hosts=hosts, now=time.time()
        )
        if problem is not None:
            log.warning("service API %s %s refused: %s", request.method, request.path, problem)
            raise ServiceError(401, "IotHubUnauthorizedAccess", f"Unauthorized: {problem}")


def mount_service(router: Router, hub: Hub, config: HubConfig) -> ServiceApi:
    """Create the service API (and the policy key, when missing) and add its routes."""
    api = ServiceApi(hub, config)
    api.mount(router)
    return api
