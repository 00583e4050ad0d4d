"""`edgectl device|deploy|deployment` through the real azure-iot-hub SDK, over HTTPS, against the
simulator's IoT Hub service API on 127.0.0.72:443 (tests run as root).

Each test gets a fresh hub: certificates, manifest and config from the integration harness,
run by :func:`iotedge_cli.simulator.hub.run.serve` in a background event loop (so it writes
``hub.json`` and serves the admin API, as a started simulator does). What the hub did is
checked through the admin API (the ``$edgeAgent``/``$edgeHub`` twins the agent reconciles
from), never through the commands under test alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.simulator.client import AdminClient
from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.state import device_certificate, read_running, write_config
from tests.cli.helpers import Run, invoke
from tests.simulator.integration.harness import DEVICE, make_state

IP = "127.0.0.72"
HERE = Path(__file__).parent / "manifests"
BASE = HERE / "base.json"
LAYER = HERE / "layer.json"


@dataclass
class Sim:
    config: HubConfig
    admin: AdminClient

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    def edgectl(self, *args: str) -> Run:
        return invoke([*args, "--to-simulator", "--state-dir", str(self.state_dir)])

    def desired(self, twin: str) -> dict[str, Any]:
        section: dict[str, Any] = self.admin.twin(twin)["desired"]
        return section


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    from iotedge_cli.simulator.hub.run import serve

    config = make_state(tmp_path, IP, https_port=443, admin_port=0)
    write_config(config)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(serve(config, ready=ready.set))
        except BaseException as exc:  # reported by the fixture below
            failure.append(exc)
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30) and not failure, failure
    running = read_running(tmp_path)
    assert running is not None
    https = next(e for e in running.listeners if e["name"] == "https")
    assert https["available"], https
    admin = AdminClient(running.admin, state_dir=tmp_path)
    try:
        yield Sim(config, admin)
    finally:
        admin.shutdown()
        thread.join(15)


def module_names(sim: Sim) -> set[str]:
    return set(sim.desired("$edgeAgent").get("modules") or {})


def test_simulate_connection_string(sim: Sim) -> None:
    key = (sim.state_dir / "service.key").read_text().strip()
    run = invoke(["simulate", "connection-string", "--state-dir", str(sim.state_dir)])
    assert run.exit_code == 0
    assert run.stdout == f"HostName={IP};SharedAccessKeyName=iothubowner;SharedAccessKey={key}\n"
    assert run.stderr == f"# trust its CA: export REQUESTS_CA_BUNDLE={sim.config.ca_cert}\n"
    doc = json.loads(
        invoke(
            ["simulate", "connection-string", "--state-dir", str(sim.state_dir), "--json"]
        ).stdout
    )
    assert doc == {
        "connectionString": run.stdout.strip(),
        "hostName": IP,
        "caCertificate": str(sim.config.ca_cert),
    }


def test_device_create_show_list_delete(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    run = sim.edgectl("device", "create", "gw2", "--edge")
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == (
        f"created edge device gw2 (sas) on IoT Hub {IP}\n"
        "  its connection string: edgectl device connection-string gw2\n"
    )
    # The SDK trusted the simulator's CA for its calls only.
    assert "REQUESTS_CA_BUNDLE" not in os.environ

    shown = json.loads(sim.edgectl("device", "show", "gw2", "--json").stdout)
    assert shown["deviceId"] == "gw2"
    assert shown["capabilities"] == {"iotEdge": True}
    assert shown["authentication"]["type"] == "sas"
    assert shown["authentication"]["symmetricKey"] == {
        "primaryKey": "<redacted>",
        "secondaryKey": "<redacted>",
    }
    human = sim.edgectl("device", "show", "gw2")
    assert human.stdout.splitlines()[:3] == ["deviceId: gw2", "edge: yes", "authentication: sas"]
    assert "primaryKey: <redacted>" in human.stdout.splitlines()

    with_keys = json.loads(sim.edgectl("device", "show", "gw2", "--show-keys", "--json").stdout)
    key = with_keys["authentication"]["symmetricKey"]["primaryKey"]
    assert len(key) == 44 and key != "<redacted>"
    connection = sim.edgectl("device", "connection-string", "gw2")
    assert connection.stdout == f"HostName={IP};DeviceId=gw2;SharedAccessKey={key}\n"

    listed = json.loads(sim.edgectl("device", "list", "--edge", "--json").stdout)
    assert [d["deviceId"] for d in listed] == [DEVICE, "gw2"]
    assert all(d["authentication"]["symmetricKey"]["primaryKey"] == "<redacted>" for d in listed)
    table = sim.edgectl("device", "list").stdout.splitlines()
    assert table[0].split() == ["DEVICE", "EDGE", "AUTH", "STATUS", "CONNECTION"]
    assert table[2].split() == ["gw2", "yes", "sas", "enabled", "Disconnected"]

    again = sim.edgectl("device", "create", "gw2")
    assert again.exit_code == 2
    assert again.stderr == (
        f"error: create device 'gw2': device 'gw2' exists already on IoT Hub {IP} (409): "
        "DeviceAlreadyExists: A device with ID 'gw2' is already registered\n"
        "hint: pick another name, or delete the existing one first\n"
    )

    deleted = sim.edgectl("device", "delete", "gw2")
    assert (deleted.exit_code, deleted.stdout) == (0, f"deleted device gw2 from IoT Hub {IP}\n")
    gone = sim.edgectl("device", "show", "gw2")
    assert gone.exit_code == 2
    assert gone.stderr == (
        f"error: show device 'gw2': device 'gw2' was not found on IoT Hub {IP} (404): "
        "DeviceNotFound: Device gw2 not registered\n"
        "hint: check the name; `edgectl device list` and `edgectl deployment list` show what "
        "exists\n"
    )


def test_x509_thumbprint_device(sim: Sim) -> None:
    cert = device_certificate(sim.state_dir, "camera")
    run = sim.edgectl(
        "device", "create", "camera", "--auth", "x509-thumbprint", "--cert", str(cert.cert)
    )
    assert (run.exit_code, run.stdout) == (
        0,
        f"created device camera (x509-thumbprint) on IoT Hub {IP}\n",
    )
    shown = json.loads(sim.edgectl("device", "show", "camera", "--json").stdout)
    assert shown["authentication"]["type"] == "selfSigned"
    assert shown["authentication"]["x509Thumbprint"]["primaryThumbprint"] == cert.thumbprint
    connection = sim.edgectl("device", "connection-string", "camera")
    assert connection.stdout == f"HostName={IP};DeviceId=camera;x509=true\n"


def test_deploy_to_the_simulated_device(sim: Sim) -> None:
    assert module_names(sim) == {"sensor", "filter", "offline"}  # the harness's manifest
    run = sim.edgectl("deploy", str(BASE), "--device", DEVICE)
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == f"deployed {BASE} to edge device {DEVICE} on IoT Hub {IP}\n"
    content = json.loads(BASE.read_text())["modulesContent"]
    agent = sim.desired("$edgeAgent")
    assert agent["modules"] == content["$edgeAgent"]["properties.desired"]["modules"]
    assert sim.desired("$edgeHub")["routes"] == {
        "up": "FROM /messages/modules/sensor/outputs/* INTO $upstream"
    }
    assert sim.desired("sensor")["interval"] == 5

    # An invalid manifest is refused before the hub sees it.
    version = agent["$version"]
    refused = sim.edgectl("deploy", str(HERE / "invalid-route.json"), "--device", DEVICE)
    assert refused.exit_code == 1
    assert "nothing was deployed" in refused.stderr
    assert sim.desired("$edgeAgent")["$version"] == version

    unknown = sim.edgectl("deploy", str(BASE), "--device", "nope")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith(
        f"error: deploy to edge device 'nope': edge device 'nope' was not found on IoT Hub {IP} (404)"
    )


def test_automatic_then_layered_deployment(sim: Sim) -> None:
    tagged = sim.edgectl("device", "twin", DEVICE, "--set-tags", '{"env": "prod"}', "--json")
    assert tagged.exit_code == 0
    assert json.loads(tagged.stdout)["tags"] == {"env": "prod"}

    run = sim.edgectl(
        "deploy", str(BASE), "--name", "base-prod", "--target-condition", "tags.env='prod'",
        "--priority", "10", "--label", "team=edge",
    )  # fmt: skip
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == (
        f"created deployment base-prod (priority 10) on IoT Hub {IP}, targeting tags.env='prod'\n"
    )
    assert module_names(sim) == {"sensor"}

    run = sim.edgectl(
        "deploy", str(LAYER), "--name", "filter-layer", "--target-condition",
        "tags.env='prod' AND capabilities.iotEdge = true", "--priority", "20", "--layered",
    )  # fmt: skip
    assert (run.exit_code, run.stderr) == (0, "")
    assert module_names(sim) == {"sensor", "filter"}
    assert sim.desired("$edgeHub")["routes"] == {
        "up": "FROM /messages/modules/sensor/outputs/* INTO $upstream",
        "filterUp": "FROM /messages/modules/filter/outputs/* INTO $upstream",
    }
    assert sim.desired("filter")["threshold"] == 25

    shown = json.loads(sim.edgectl("deployment", "show", "base-prod", "--json").stdout)
    assert shown["labels"] == {"team": "edge"}
    assert shown["counts"]["targeted"] == 1
    assert shown["counts"]["applied"] == 1
    assert shown["counts"]["reportedSuccessful"] == 0  # no agent reports in this test
    human = sim.edgectl("deployment", "show", "filter-layer").stdout.splitlines()
    assert human[:4] == [
        "deployment: filter-layer",
        "priority: 20",
        "layered: yes",
        "target condition: tags.env='prod' AND capabilities.iotEdge = true",
    ]
    assert human[-5:] == [
        "devices:",
        "  targeted: 1",
        "  applied: 1",
        "  reporting success: 0",
        "  reporting failure: 0",
    ]
    listed = json.loads(sim.edgectl("deployment", "list", "--json").stdout)
    assert [(d["id"], d["priority"], d["layered"]) for d in listed] == [
        ("filter-layer", 20, True),
        ("base-prod", 10, False),
    ]

    # Untagged, the device falls out of both deployments' targets.
    sim.edgectl("device", "twin", DEVICE, "--set-tags", '{"env": null}')
    shown = json.loads(sim.edgectl("deployment", "show", "base-prod", "--json").stdout)
    assert shown["counts"]["targeted"] == 0

    deleted = sim.edgectl("deployment", "delete", "filter-layer")
    assert deleted.stdout == f"deleted deployment filter-layer from IoT Hub {IP}\n"
    missing = sim.edgectl("deployment", "show", "filter-layer")
    assert missing.exit_code == 2
    assert "deployment 'filter-layer' was not found" in missing.stderr


def test_a_wrong_key_is_exit_3(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sim.config.ca_cert))
    wrong = "d3JvbmctYnV0LXdlbGwtZm9ybWVkLWtleS0xMjM0NTY3OA=="
    conn = f"HostName={IP};SharedAccessKeyName=iothubowner;SharedAccessKey={wrong}"
    run = invoke(["device", "list", "--hub-connection-string", conn])
    assert run.exit_code == 3
    assert run.stderr.startswith(
        f"error: list devices: IoT Hub {IP} refused the credentials from --hub-connection-string "
        "(401 unauthorized)"
    )
    assert run.stderr.endswith(
        "hint: check that the key of policy 'iothubowner' is current and that the policy has "
        "registry read/write and service connect rights (iothubowner has them)\n"
    )
    assert wrong not in run.stdout + run.stderr


def test_an_untrusted_certificate_is_exit_3(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    key = (sim.state_dir / "service.key").read_text().strip()
    conn = f"HostName={IP};SharedAccessKeyName=iothubowner;SharedAccessKey={key}"
    run = invoke(["device", "list", "--hub-connection-string", conn])
    assert run.exit_code == 3
    assert run.stderr == (
        f"error: list devices: TLS with IoT Hub {IP} failed (certificate verify failed)\n"
        "hint: the server's certificate is not trusted: for a hub behind a TLS-inspecting "
        "proxy or the simulator, set REQUESTS_CA_BUNDLE to its CA certificate file\n"
    )


def test_no_simulation_running(tmp_path: Path) -> None:
    run = invoke(["device", "list", "--to-simulator", "--state-dir", str(tmp_path)])
    assert run.exit_code == 3
    assert run.stderr.startswith(f"error: no simulation is running in {tmp_path}\n")
