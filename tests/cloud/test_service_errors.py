"""IoT Hub's error answers through the real entry point, the real azure-iot-hub SDK and HTTPS:
one ``error:`` line, a ``hint:``, the documented exit code, no traceback, never the key.

Where the simulator can give the answer, it does: 412 (a stale etag) from the simulator's
service API on 127.0.0.76. 401, 404 and 409 through the CLI are in
``test_simulator_service.py``; no ``edgectl`` command sends an etag of its own (the SDK sends
``If-Match: "*"`` for twin updates and deletes, and none for creates), so a 412 cannot reach the
CLI, and only its mapping is checked here, with the SDK's own exception.

Throttling (429) and server failures (5xx) cannot be provoked on the simulator, and the real
IoT Hub cannot be reached from here: for those, a *stand-in* HTTPS server on 127.0.0.75
(stdlib ``http.server`` with ``ssl``, a certificate chain from :mod:`iotedge_cli.certs`) answers
every request as IoT Hub does when it throttles or fails: its JSON error body, the
``iothub-errorcode`` header and ``Retry-After: 0``. It stands in for the service only; the
command, the SDK, requests/urllib3 and TLS are the real ones.

What the retries do (msrest's policy on urllib3 2, as edgectl configures it in
``cloud/service.py``): GET, PUT and DELETE are retried three times on 5xx (except 501 and 505),
backing off 0 s, 1.6 s and 3.2 s (about 5 s in all), and then the hub's last answer is the
error (``raise_on_status=False``: its status and body are named); POST and PATCH are not
retried. A 429 is not retried: edgectl does not follow ``Retry-After`` (a throttling hub may
ask for minutes, and an interactive command should not hang), it says at once to wait.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.cloud.connection import parse_connection_string
from iotedge_cli.cloud.errors import HubRequestError, service_error
from iotedge_cli.errors import ExitCode
from iotedge_cli.simulator.hub.service import load_or_create_policy_key, service_connection_string
from tests.cli.helpers import PYTHON, subprocess_env
from tests.simulator.integration.harness import HubThread, make_state

pytest.importorskip("azure.iot.hub", reason="azure-iot-hub is not installed")

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

STAND_IN_IP = "127.0.0.75"
SIMULATOR_IP = "127.0.0.76"
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
BASE = Path(__file__).parent / "manifests" / "base.json"
# The SDK's retries take about 5 s (see above); the process adds its start-up.
RETRIES_WITHIN = 10.0
COMMAND_WITHIN = 30.0

# IoT Hub's error codes and messages for the answers the stand-in gives.
ANSWERS = {
    429: (
        "ThrottlingException",
        "Request throttled: the IotHub's registry operations per second limit was exceeded",
    ),
    500: ("ServerError", "An internal error occurred"),
    503: ("ServiceUnavailable", "The service is unavailable, try again later"),
}


# --- the stand-in -----------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    at: float
    authorization: str


@dataclass
class StandIn:
    """What the stand-in answers (``status``) and what it was asked."""

    port: int
    ca_file: Path
    status: int = 429
    seen: list[Seen] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"{STAND_IN_IP}:{self.port}"

    @property
    def connection_string(self) -> str:
        return f"HostName={self.host};SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        handler.rfile.read(length)
        self.seen.append(
            Seen(
                handler.command,
                handler.path.split("?", 1)[0],
                time.monotonic(),
                handler.headers.get("Authorization") or "",
            )
        )
        code, text = ANSWERS[self.status]
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        body = json.dumps(
            {
                "Message": f"ErrorCode:{code};{text}",
                "ExceptionMessage": f"Tracking ID:0123456789abcdef-G:0-TimeStamp:{stamp}",
            }
        ).encode()
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("iothub-errorcode", code)
        handler.send_header("Retry-After", "0")
        handler.end_headers()
        handler.wfile.write(body)


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test root and a server certificate for the stand-in's address: (ca, cert, key)."""
    from cryptography.hazmat.primitives import serialization

    from iotedge_cli.certs.authority import CertificateAuthority, Validity

    validity = Validity.days_from(dt.datetime.now(dt.timezone.utc), 1)
    root = CertificateAuthority.new_root(validity)
    server = root.issue_server(STAND_IN_IP, validity)
    pem = serialization.Encoding.PEM
    ca, cert, key = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca.write_bytes(root.cert.public_bytes(pem))
    cert.write_bytes(server.cert.public_bytes(pem) + root.cert.public_bytes(pem))
    key.touch(mode=0o600)
    key.write_bytes(
        server.key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca, cert, key


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[StandIn]:
    import ssl

    ca, cert, key = _certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state: list[StandIn] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state[0].answer(self)

        do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test reads what was asked from StandIn.seen

    server = ThreadingHTTPServer((STAND_IN_IP, 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.append(StandIn(server.server_address[1], ca))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def edgectl(stand_in: StandIn, *args: str) -> Result:
    """``python -m iotedge_cli ARGS`` against the stand-in, trusting its CA."""
    env = subprocess_env()
    env["REQUESTS_CA_BUNDLE"] = str(stand_in.ca_file)
    env.pop("EDGECTL_HUB_CONNECTION_STRING", None)
    started = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-m", "iotedge_cli", *args, "--hub-connection-string", stand_in.connection_string],
        capture_output=True,
        text=True,
        env=env,
        timeout=COMMAND_WITHIN,
    )
    return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def assert_one_error(result: Result, stand_in: StandIn, error: str, hint: str) -> None:
    """Exit 3, the whole stderr is ``error:`` + ``hint:``, and no secret anywhere."""
    assert (result.returncode, result.stdout) == (ExitCode.UNAVAILABLE, "")
    assert result.stderr == f"error: {error}\nhint: {hint}\n"
    signatures = {
        part.removeprefix("sig=")
        for s in stand_in.seen
        for part in s.authorization.split("&")
        if part.startswith("sig=")
    }
    assert signatures, "the SDK signed its requests"
    for secret in (KEY, *signatures):
        assert secret not in result.stdout + result.stderr


def retry_span(stand_in: StandIn) -> float:
    return stand_in.seen[-1].at - stand_in.seen[0].at


# --- retried by the SDK ---------------------------------------------------------------------


def test_throttling_is_shown_at_once_with_the_hubs_message(stand_in: StandIn) -> None:
    stand_in.status = 429
    result = edgectl(stand_in, "device", "list")
    code, text = ANSWERS[429]
    assert_one_error(
        result,
        stand_in,
        f"list devices: IoT Hub {stand_in.host} is throttling requests (429): {code}: {text}",
        "wait a minute and try again; the hub's tier limits operations per second",
    )
    # Not retried: the CLI does not follow a hub's Retry-After (it may ask for minutes); it
    # says so at once (cloud/service.py sets respect_retry_after_header=False).
    assert [(s.method, s.path) for s in stand_in.seen] == [("GET", "/devices")]
    assert result.seconds < 10


@pytest.mark.parametrize(
    ("status", "args", "method", "path", "action"),
    [
        (500, ["device", "show", "dev1"], "GET", "/devices/dev1", "show device 'dev1'"),
        (503, ["device", "create", "dev1"], "PUT", "/devices/dev1", "create device 'dev1'"),
    ],
)
def test_a_server_failure_is_retried_then_reported_with_the_hubs_answer(
    stand_in: StandIn, status: int, args: list[str], method: str, path: str, action: str
) -> None:
    stand_in.status = status
    result = edgectl(stand_in, *args)
    code, text = ANSWERS[status]
    assert_one_error(
        result,
        stand_in,
        f"{action}: IoT Hub {stand_in.host} failed ({status}): {code}: {text}",
        "try again later; if it persists, check the hub's health in the portal",
    )
    assert [(s.method, s.path) for s in stand_in.seen] == [(method, path)] * 4
    assert 4.0 < retry_span(stand_in) < RETRIES_WITHIN
    assert result.seconds < RETRIES_WITHIN + 10


# --- not retried (POST, PATCH) --------------------------------------------------------------


def test_throttled_deploy_is_exit_3_with_the_hubs_message(stand_in: StandIn) -> None:
    stand_in.status = 429
    result = edgectl(stand_in, "deploy", str(BASE), "--device", "edge1")
    code, text = ANSWERS[429]
    assert_one_error(
        result,
        stand_in,
        f"deploy to edge device 'edge1': IoT Hub {stand_in.host} is throttling requests (429): "
        f"{code}: {text}",
        "wait a minute and try again; the hub's tier limits operations per second",
    )
    assert [(s.method, s.path) for s in stand_in.seen] == [
        ("POST", "/devices/edge1/applyConfigurationContent")
    ]


def test_throttled_tag_update_is_exit_3(stand_in: StandIn) -> None:
    stand_in.status = 429
    result = edgectl(stand_in, "device", "twin", "edge1", "--set-tags", '{"env": "prod"}')
    code, text = ANSWERS[429]
    assert_one_error(
        result,
        stand_in,
        f"set the tags of the twin of device 'edge1': IoT Hub {stand_in.host} is throttling "
        f"requests (429): {code}: {text}",
        "wait a minute and try again; the hub's tier limits operations per second",
    )
    assert [(s.method, s.path) for s in stand_in.seen] == [("PATCH", "/twins/edge1")]


def test_a_server_failure_on_deploy_is_exit_3(stand_in: StandIn) -> None:
    stand_in.status = 503
    result = edgectl(stand_in, "deploy", str(BASE), "--device", "edge1")
    code, text = ANSWERS[503]
    assert_one_error(
        result,
        stand_in,
        f"deploy to edge device 'edge1': IoT Hub {stand_in.host} failed (503): {code}: {text}",
        "try again later; if it persists, check the hub's health in the portal",
    )
    assert len(stand_in.seen) == 1


# --- 412 from the simulator, through the SDK ---------------------------------------------


@pytest.fixture
def simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The simulator's service connection string (its CA trusted), on 127.0.0.76:443."""
    hub = HubThread(make_state(tmp_path, SIMULATOR_IP, https_port=443)).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(hub.config.ca_cert))
    try:
        yield service_connection_string(SIMULATOR_IP, load_or_create_policy_key(tmp_path))
    finally:
        hub.stop()


def test_a_stale_etag_is_exit_2(simulator: str) -> None:
    from azure.iot.hub import IoTHubRegistryManager
    from azure.iot.hub.models import Twin
    from msrest.exceptions import HttpOperationError

    conn = parse_connection_string(simulator, source="--hub-connection-string")
    registry = IoTHubRegistryManager.from_connection_string(simulator)
    try:
        registry.create_device_with_sas("etag-dev", None, None, "enabled")
        stale = registry.get_twin("etag-dev").etag
        registry.update_twin("etag-dev", Twin(tags={"env": "dev"}), stale)
        with pytest.raises(HttpOperationError) as info:
            registry.update_twin("etag-dev", Twin(tags={"env": "prod"}), stale)
    finally:
        registry.protocol.close()
        registry.amqp_svc_client.disconnect_sync()
    subject = "the twin of device 'etag-dev'"
    error = service_error(
        info.value, action=f"set the tags of {subject}", conn=conn, subject=subject
    )
    assert isinstance(error, HubRequestError)
    assert (error.status, error.exit_code) == (412, ExitCode.USAGE)
    assert error.message.startswith(
        f"set the tags of {subject}: {subject} changed on IoT Hub {SIMULATOR_IP} meanwhile "
        "(412 precondition failed): PreconditionFailed: Precondition failed: the etag "
    )
    assert error.hint == "read it again and repeat the command"
    assert conn.key not in error.message
