"""The only importer of ``azure-iot-hub``: its registry and configuration managers, made on
first use, with every call's failure turned into an :class:`EdgectlError`.

Results are plain dicts in the REST API's own shape (``deviceId``, ``capabilities.iotEdge``,
``systemMetrics``…: the SDK models' ``serialize(keep_readonly=True)``), which is also what
``--json`` prints. For the simulator, its root CA is trusted for the SDK's calls only:
``REQUESTS_CA_BUNDLE`` is set around each call and restored after it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from functools import cached_property, partial
from pathlib import Path
from typing import Any, TypeVar

from iotedge_cli.cloud.connection import HubConnection
from iotedge_cli.cloud.errors import service_error

__all__ = ["DEFAULT_TIMEOUT", "HubService"]

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0  # seconds per HTTP request (msrest's default is 100)
_CA_VARIABLE = "REQUESTS_CA_BUNDLE"


@contextlib.contextmanager
def trusting(ca_bundle: Path | None) -> Iterator[None]:
    """``REQUESTS_CA_BUNDLE=ca_bundle`` for the duration of one SDK call (nothing when None)."""
    if ca_bundle is None:
        yield
        return
    before = os.environ.get(_CA_VARIABLE)
    os.environ[_CA_VARIABLE] = str(ca_bundle)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_CA_VARIABLE, None)
        else:
            os.environ[_CA_VARIABLE] = before


def _plain(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    result: dict[str, Any] = model.serialize(keep_readonly=True)
    return result


class HubService:
    """Registry and configuration calls on one hub."""

    def __init__(self, conn: HubConnection, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.conn = conn
        self.timeout = timeout

    # --- the SDK's managers, made on first use ------------------------------------------

    @cached_property
    def _registry(self) -> Any:
        from azure.iot.hub import IoTHubRegistryManager

        return self._configured(
            IoTHubRegistryManager.from_connection_string(self.conn.connection_string)
        )

    @cached_property
    def _configurations(self) -> Any:
        from azure.iot.hub import IoTHubConfigurationManager

        return self._configured(
            IoTHubConfigurationManager.from_connection_string(self.conn.connection_string)
        )

    def close(self) -> None:
        """Close the managers' HTTP sessions and AMQP client (idle connections to the hub)."""
        for name in ("_registry", "_configurations"):
            manager = self.__dict__.pop(name, None)
            if manager is None:
                continue
            manager.protocol.close()
            amqp = getattr(manager, "amqp_svc_client", None)
            if amqp is not None:
                amqp.disconnect_sync()
                manager.amqp_svc_client = None

    def __enter__(self) -> HubService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _configured(self, manager: Any) -> Any:
        config = manager.protocol.config
        config.connection.timeout = self.timeout
        retry = config.retry_policy.policy  # urllib3's Retry: 3 tries, 0.8 s * 2^n back-off
        # After the retries, hand back the hub's last answer (its status and error body make
        # the one-line error) instead of a bare "too many retries".
        retry.raise_on_status = False
        # A throttling hub may ask for minutes (Retry-After); an interactive command should
        # back off briefly and then say "throttled: try again later" instead of hanging.
        retry.respect_retry_after_header = False
        return manager

    def _call(self, action: str, call: Callable[[], T], *, subject: str | None = None) -> T:
        with trusting(self.conn.ca_bundle):
            try:
                return call()
            except Exception as exc:  # re-raised unless it is one of the SDK's request failures
                error = service_error(exc, action=action, conn=self.conn, subject=subject)
                if error is None:
                    raise
                raise error from None

    # --- devices ------------------------------------------------------------------------

    def create_device(
        self,
        device_id: str,
        *,
        edge: bool,
        auth: str,
        keys: tuple[str, str] | None = None,
        thumbprint: str | None = None,
    ) -> dict[str, Any]:
        """``auth``: ``sas`` (``keys``: primary, secondary), ``x509-thumbprint``
        (``thumbprint``) or ``x509-ca``."""
        registry = self._registry
        status = "enabled"
        if auth == "sas":
            assert keys is not None
            call: Callable[[], Any] = partial(
                registry.create_device_with_sas, device_id, *keys, status, iot_edge=edge
            )
        elif auth == "x509-thumbprint":
            call = partial(
                registry.create_device_with_x509, device_id, thumbprint, None, status, iot_edge=edge
            )
        else:
            call = partial(
                registry.create_device_with_certificate_authority, device_id, status, iot_edge=edge
            )
        subject = f"device '{device_id}'"
        return _plain(self._call(f"create {subject}", call, subject=subject))

    def get_device(self, device_id: str) -> dict[str, Any]:
        subject = f"device '{device_id}'"
        registry = self._registry
        return _plain(
            self._call(f"show {subject}", lambda: registry.get_device(device_id), subject=subject)
        )

    def list_devices(self, *, limit: int = 1000) -> list[dict[str, Any]]:
        registry = self._registry
        found = self._call("list devices", lambda: registry.get_devices(limit))
        return [_plain(d) for d in found or []]

    def delete_device(self, device_id: str) -> None:
        subject = f"device '{device_id}'"
        registry = self._registry
        self._call(f"delete {subject}", lambda: registry.delete_device(device_id), subject=subject)

    def get_twin(self, device_id: str, module_id: str | None = None) -> dict[str, Any]:
        subject = _twin_subject(device_id, module_id)
        registry = self._registry
        if module_id is None:
            call: Callable[[], Any] = partial(registry.get_twin, device_id)
        else:
            call = partial(registry.get_module_twin, device_id, module_id)
        return _plain(self._call(f"show {subject}", call, subject=subject))

    def update_tags(
        self, device_id: str, tags: dict[str, Any], module_id: str | None = None
    ) -> dict[str, Any]:
        """Merge-patch the twin's tags (``null`` removes a tag), whatever its etag."""
        from azure.iot.hub.models import Twin

        subject = _twin_subject(device_id, module_id)
        registry = self._registry
        patch = Twin(tags=tags)
        if module_id is None:
            call: Callable[[], Any] = partial(registry.update_twin, device_id, patch, "*")
        else:
            call = partial(registry.update_module_twin, device_id, module_id, patch, "*")
        return _plain(self._call(f"set the tags of {subject}", call, subject=subject))

    # --- deployments --------------------------------------------------------------------

    def apply_on_device(self, device_id: str, modules_content: dict[str, Any]) -> None:
        """Set the device's modules content, as ``az iot edge set-modules`` does."""
        from azure.iot.hub.models import ConfigurationContent

        content = ConfigurationContent(modules_content=modules_content)
        manager = self._configurations
        subject = f"edge device '{device_id}'"
        self._call(
            f"deploy to {subject}",
            lambda: manager.apply_configuration_on_edge_device(device_id, content),
            subject=subject,
        )

    def create_configuration(self, document: dict[str, Any]) -> dict[str, Any]:
        """Create a deployment from its REST form (``id``, ``content``, ``targetCondition``…)."""
        from azure.iot.hub.models import Configuration

        configuration = Configuration.deserialize(document)
        manager = self._configurations
        subject = f"deployment '{document['id']}'"
        return _plain(
            self._call(
                f"create {subject}",
                lambda: manager.create_configuration(configuration),
                subject=subject,
            )
        )

    def list_configurations(self, *, limit: int = 100) -> list[dict[str, Any]]:
        manager = self._configurations
        found = self._call("list deployments", lambda: manager.get_configurations(limit))
        return [_plain(c) for c in found or []]

    def get_configuration(self, name: str) -> dict[str, Any]:
        subject = f"deployment '{name}'"
        manager = self._configurations
        return _plain(
            self._call(f"show {subject}", lambda: manager.get_configuration(name), subject=subject)
        )

    def delete_configuration(self, name: str) -> None:
        subject = f"deployment '{name}'"
        manager = self._configurations
        self._call(f"delete {subject}", lambda: manager.delete_configuration(name), subject=subject)


def _twin_subject(device_id: str, module_id: str | None) -> str:
    if module_id is None:
        return f"the twin of device '{device_id}'"
    return f"the twin of module '{module_id}' on device '{device_id}'"
