"""The admin API client: what every ``edgectl simulate`` command uses to talk to a running hub.

Standard library only (``http.client``), one request per connection, a timeout on every call.
The hub is at ``http://127.0.0.1:PORT`` (a hub on the host) or ``unix:///abs/admin.sock`` (the
hub in a container, its socket in the bind-mounted state dir). Failures become one-line
:class:`EdgectlError` s: no hub answering -> exit 3 with the hint to start one; the hub's
``{"error": msg}`` on 4xx -> exit 2 (bad input); 5xx -> exit 3.
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from iotedge_cli.errors import EdgectlError, ServiceUnavailableError, UsageError

if TYPE_CHECKING:
    from iotedge_cli.simulator.state import Running

__all__ = ["AdminClient", "AdminError", "HubNotRunning", "answering", "not_running"]

DEFAULT_TIMEOUT = 10.0
API = "/api/v1"


class HubNotRunning(ServiceUnavailableError):
    """No hub answers for this state directory (exit 3)."""


class AdminError(UsageError):
    """The hub refused the request (4xx): the message is the hub's."""


def not_running(state_dir: Path, detail: str | None = None) -> HubNotRunning:
    extra = f" ({detail})" if detail else ""
    return HubNotRunning(
        f"no simulation is running in {state_dir}{extra}",
        hint="start one with `edgectl simulate start --manifest M --hub-only --detach "
        f"--state-dir {state_dir}`",
    )


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over the unix socket ``path``; the ``Host`` header says ``localhost`` (a
    loopback name: the admin API's guard accepts it)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class AdminClient:
    """Calls on the admin API at ``base`` (``http://127.0.0.1:PORT`` or
    ``unix:///abs/admin.sock``)."""

    def __init__(self, base: str, *, state_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(base)
        self.socket_path: str | None = None
        if parts.scheme == "unix" and not parts.netloc and Path(parts.path).is_absolute():
            self.socket_path = parts.path
            self.host, self.port = "localhost", 0
        elif parts.scheme == "http" and parts.hostname:
            self.host = parts.hostname
            try:
                self.port = parts.port or 80
            except ValueError:  # a port out of range or not a number
                self.port = -1
        else:
            self.port = -1
        if self.port < 0:
            raise EdgectlError(
                f"hub.json in {state_dir}: admin URL {base!r} is not http://HOST:PORT or "
                "unix:///ABSOLUTE/PATH",
                hint="stop the hub and start it again",
            )
        self.state_dir = state_dir
        self.timeout = timeout

    # --- the API ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self._object("GET", "/status")

    def send(
        self,
        *,
        input_name: str,
        data: str,
        module_id: str | None = None,
        content_type: str | None = None,
        content_encoding: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> None:
        body: dict[str, Any] = {"inputName": input_name, "data": data}
        optional = {
            "moduleId": module_id,
            "contentType": content_type,
            "contentEncoding": content_encoding,
            "properties": properties or None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        self.request("POST", "/messages", body)

    def upstream(self, after: int, *, limit: int = 100, wait: float = 0.0) -> dict[str, Any]:
        query = urlencode({"after": after, "limit": limit, "wait": _seconds(wait)})
        return self._object("GET", f"/upstream?{query}", timeout=self.timeout + wait)

    def twin(self, identity: str) -> dict[str, Any]:
        return self._object("GET", f"/twins/{_segment(identity)}")

    def patch_twin(self, identity: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self._object("PATCH", f"/twins/{_segment(identity)}", patch)

    def patch_reported(self, identity: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge ``patch`` into the reported properties (how the agent reports module
        statuses on ``$edgeAgent``); the twin document."""
        return self._object("PATCH", f"/twins/{_segment(identity)}/reported", patch)

    def deploy(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Apply a generated deployment manifest in place; the hub's summary
        ``{"added", "removed", "desiredChanged", "routes"}``."""
        return self._object("POST", "/deployment", manifest)

    def invoke(
        self,
        identity: str,
        method: str,
        payload: Any,
        *,
        timeout: float,
        connect_timeout: float = 0.0,
    ) -> dict[str, Any]:
        """``{"status", "payload"}``; the hub waits up to ``connect_timeout`` s for the target
        to connect (sent only when not 0, so an older hub still understands the call)."""
        path = f"/methods/{_segment(identity)}/{_segment(method)}"
        body: dict[str, Any] = {"payload": payload, "timeout": timeout}
        if connect_timeout:
            body["connectTimeout"] = connect_timeout
        wait = self.timeout + timeout + connect_timeout
        return self._object("POST", path, body, timeout=wait)

    def add_device(self, device_id: str, *, x509: bool = False) -> dict[str, Any]:
        return self._object("POST", "/devices", {"deviceId": device_id, "x509": x509})

    def credentials(self, module: str) -> dict[str, Any]:
        return self._object("GET", f"/modules/{_segment(module)}/credentials")

    def shutdown(self) -> None:
        self.request("POST", "/shutdown", {})

    # --- plumbing --------------------------------------------------------------------------

    def _object(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        result = self.request(method, path, body, timeout=timeout)
        if not isinstance(result, dict):
            raise ServiceUnavailableError(
                f"the hub answered {method} {API}{path} with {type(result).__name__}, "
                "not a JSON object",
                hint=f"see the hub's log in {self.state_dir / 'hub.log'}",
            )
        return result

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = None
    ) -> Any:
        """One request; the decoded JSON answer (None for an empty body)."""
        payload = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection: http.client.HTTPConnection
        if self.socket_path is not None:
            connection = UnixHTTPConnection(self.socket_path, timeout or self.timeout)
        else:
            connection = http.client.HTTPConnection(
                self.host, self.port, timeout=timeout or self.timeout
            )
        try:
            connection.request(method, API + path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
            raise not_running(self.state_dir) from None
        except TimeoutError:
            raise ServiceUnavailableError(
                f"the hub in {self.state_dir} did not answer {method} {API}{path} within "
                f"{timeout or self.timeout:g} s",
                hint=f"see its log in {self.state_dir / 'hub.log'}",
            ) from None
        except OSError as exc:
            raise not_running(self.state_dir, exc.strerror or str(exc)) from None
        finally:
            connection.close()
        return _decode(response.status, raw, f"{method} {API}{path}", self.state_dir)


def _decode(status: int, raw: bytes, what: str, state_dir: Path) -> Any:
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        data = None
        if status < 300:
            raise ServiceUnavailableError(
                f"the hub answered {what} with invalid JSON",
                hint=f"see its log in {state_dir / 'hub.log'}",
            ) from None
    if status < 300:
        return data
    message = data.get("error") if isinstance(data, dict) else None
    if not isinstance(message, str) or not message:
        message = f"the hub answered {what} with HTTP {status}"
    if status < 500:
        raise AdminError(message, hint="check the names and values given")
    raise ServiceUnavailableError(message, hint=f"see the hub's log in {state_dir / 'hub.log'}")


def _segment(value: str) -> str:
    return quote(value, safe="$")


def _seconds(value: float) -> str:
    return f"{value:g}"


def answering(state_dir: Path, pid: int) -> Running | None:
    """The hub of ``state_dir`` when its ``hub.json`` names ``pid`` (the process that owns
    it) and its admin API answers a status call; else None (still starting, or gone)."""
    from iotedge_cli.simulator.state import read_running

    running = read_running(state_dir)
    if running is None or running.pid != pid:
        return None
    try:
        AdminClient(running.admin, state_dir=state_dir, timeout=2.0).status()
    except EdgectlError:
        return None
    return running
