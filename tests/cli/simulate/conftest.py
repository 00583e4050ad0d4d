"""A hand-written stand-in for the hub's admin API (the contract's routes, canned answers),
served on 127.0.0.1 by a thread, with a ``hub.json`` that points at it.

The process in ``hub.json`` is a sleeping child whose command line names ``iotedge_cli``, so
``simulate stop`` can signal it without touching the test process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

TWIN: dict[str, Any] = {
    "desired": {"threshold": 25, "$version": 1},
    "reported": {"status": "running", "$version": 3},
}
UPSTREAM = [
    {
        "seq": 1,
        "source": "telemetry",
        "connectionDeviceId": "edgectl-device",
        "connectionModuleId": "filter",
        "outputName": "output1",
        "properties": {"alert": "true"},
        "systemProperties": {"contentType": "application/json"},
        "body": '{"t": 30}',
        "enqueuedTime": "2024-01-01T00:00:00Z",
    },
    {
        "seq": 2,
        "source": "telemetry",
        "connectionDeviceId": "leaf1",
        "properties": {},
        "systemProperties": {},
        "body": "AAE=",
        "bodyEncoding": "base64",
        "enqueuedTime": "2024-01-01T00:00:01Z",
    },
]


@dataclass
class StandIn:
    state_dir: Path
    url: str
    process: subprocess.Popen[bytes]
    requests: list[tuple[str, str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    stand_in: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, doc: Any) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body: Any = json.loads(self.rfile.read(length)) if length else {}
        url = urlsplit(self.path)
        self.stand_in.requests.append((method, self.path, body))
        path = url.path.removeprefix("/api/v1")
        query = parse_qs(url.query)
        if (method, path) == ("GET", "/status"):
            self._answer(200, STATUS)
        elif (method, path) == ("POST", "/messages"):
            self._answer(202, {})
        elif (method, path) == ("GET", "/upstream"):
            after = int(query["after"][0])
            limit = int(query["limit"][0])
            found = [m for i, m in enumerate(UPSTREAM, 1) if i > after][:limit]
            last = found[-1]["seq"] if found else after
            self._answer(200, {"messages": found, "last": last})
        elif path == "/twins/filter":
            twin = json.loads(json.dumps(TWIN))
            if method == "PATCH":
                twin["desired"].update(body)
                twin["desired"]["$version"] = 2
            self._answer(200, twin)
        elif path.startswith("/twins/"):
            self._answer(404, {"error": f"no identity {path[7:]!r}: it is not in the manifest"})
        elif method == "POST" and path == "/methods/filter/reset":
            self._answer(200, {"status": 200, "payload": {"done": body["payload"]}})
        elif method == "POST" and path.startswith("/methods/"):
            self._answer(200, {"status": 404, "payload": {"message": "not connected"}})
        elif (method, path) == ("POST", "/devices"):
            doc = {"deviceId": body["deviceId"], "x509": body["x509"]}
            if not body["x509"]:
                doc["connectionString"] = (
                    f"HostName=h;DeviceId={body['deviceId']};SharedAccessKey=k="
                )
            self._answer(200, doc)
        elif path == "/modules/filter/credentials":
            self._answer(
                200,
                {
                    "EdgeHubConnectionString": "HostName=h;GatewayHostName=localhost;"
                    "DeviceId=edgectl-device;ModuleId=filter;SharedAccessKey=a2V5$=",
                    "EdgeModuleCACertificateFile": "/tmp/ca dir/root.pem",
                },
            )
        elif (method, path) == ("POST", "/shutdown"):
            self._answer(202, {})
            self.stand_in.process.kill()
        else:
            self._answer(404, {"error": f"no route {method} {path}"})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")


STATUS: dict[str, Any] = {
    "listeners": [
        {"name": "mqtt", "address": "127.0.0.9", "port": 8883, "available": True, "error": None},
        {
            "name": "https",
            "address": "127.0.0.9",
            "port": 443,
            "available": False,
            "error": "permission denied",
        },
    ],
    "identities": ["edgectl-device/$edgeAgent", "edgectl-device/filter"],
    "clients": [
        {"clientId": "edgectl-device/filter", "transport": "tcp", "connectedSince": "12:00:00"}
    ],
    "queues": {"edgectl-device/filter": 2, "edgectl-device/$edgeAgent": 0},
    "upstream": 2,
}

SLEEPER = "import sys, time; time.sleep(60)"


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[StandIn]:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    process = subprocess.Popen([sys.executable, "-c", SLEEPER, "iotedge_cli-stand-in"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    fake = StandIn(state_dir, url, process)
    _Handler.stand_in = fake
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (state_dir / "hub.json").write_text(
        json.dumps({"pid": process.pid, "listeners": STATUS["listeners"], "admin": url})
    )
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        process.kill()
        process.wait()
