"""``edgectl simulate``: arguments, error paths, and every client command against a stand-in
admin API (tests/cli/simulate/conftest.py; the real hub is exercised in test_end_to_end.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.helpers import CLEAN, invoke
from tests.cli.simulate.conftest import STATUS, UPSTREAM, StandIn


def sd(path: Path) -> list[str]:
    return ["--state-dir", str(path)]


# --- start: arguments ---------------------------------------------------------------------


def test_single_module_mode_needs_hub_only(tmp_path: Path) -> None:
    run = invoke(["simulate", "start", "--module", "m", "--inputs", "i", *sd(tmp_path)])
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == (
        "error: --module/--inputs (single-module mode) need --hub-only"
    )
    assert not (tmp_path / "config.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: nothing to simulate: give --solution DIR or --manifest M"),
        (["--manifest", "m.json", "--solution", "."], "cannot be used together"),
        (["--manifest", "m.json", "--build"], "--build needs --solution"),
        (["--hub-only", "--solution", "."], "are for the full simulation, not --hub-only"),
    ],
)
def test_agent_mode_argument_errors(tmp_path: Path, args: list[str], message: str) -> None:
    run = invoke(["simulate", "start", *args, *sd(tmp_path)])
    assert run.exit_code == 2, run.output
    assert message in run.stderr.splitlines()[0]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: nothing to simulate: give --manifest M or --module NAME --inputs in1,in2"),
        (["--inputs", "a"], "(--inputs needs --module)"),
        (["--module", "filter"], "error: --module filter needs --inputs with its input names"),
        (["--module", "filter", "--inputs", "a,,b"], "(got 'a,,b')"),
        (["--module", "bad/name", "--inputs", "a"], "module name 'bad/name' is not a valid"),
        (
            ["--manifest", "m.json", "--module", "f", "--inputs", "a"],
            "error: --manifest and --module/--inputs cannot be used together",
        ),
        (["--module", "f", "--inputs", "a", "--bind", "localhost"], "is not an IP address"),
        (["--manifest", "missing.json"], "missing.json"),
    ],
)
def test_start_argument_errors(tmp_path: Path, args: list[str], message: str) -> None:
    run = invoke(["simulate", "start", "--hub-only", *args, *sd(tmp_path / "s")])
    assert run.exit_code == 2, run.stderr
    assert message in run.stderr
    assert "hint: " in run.stderr
    assert not (tmp_path / "s" / "config.json").exists()


def test_start_refuses_a_template(tmp_path: Path) -> None:
    template = tmp_path / "deployment.template.json"
    template.write_text(CLEAN.replace('"timeToLiveSecs": 7200', '"timeToLiveSecs": ${TTL}'))
    run = invoke(["simulate", "start", "--hub-only", "-m", str(template), *sd(tmp_path / "s")])
    assert run.exit_code == 2
    assert "is a deployment template (it has ${...} placeholders)" in run.stderr
    assert "hint: generate the manifest first: edgectl manifest generate" in run.stderr


def test_start_refuses_when_already_running(stand_in: StandIn) -> None:
    run = invoke(
        ["simulate", "start", "--hub-only", "--module", "f", "-i", "a", *sd(stand_in.state_dir)]
    )
    assert run.exit_code == 2
    assert f"a simulation is already running in {stand_in.state_dir} (pid " in run.stderr
    assert "hint: stop it first: edgectl simulate stop --state-dir" in run.stderr


# --- no simulation running: exit 3 with the hint ---------------------------------------------

CLIENT_COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["stop"],
    ["modulecred", "filter"],
    ["send", "--module", "filter", "--input", "input1", "--data", "x"],
    ["monitor", "--count", "1"],
    ["twin", "filter"],
    ["invoke", "filter", "reset"],
    ["device", "add", "leaf1"],
]


@pytest.mark.parametrize("args", CLIENT_COMMANDS, ids=lambda a: " ".join(a))
def test_no_simulation_running_exits_3(tmp_path: Path, args: list[str]) -> None:
    run = invoke(["simulate", *args, *sd(tmp_path)])
    assert run.exit_code == 3
    if "--json" in args:
        error = json.loads(run.stdout)["error"]
        assert error["message"] == f"no simulation is running in {tmp_path}"
        assert error["exit_code"] == 3
        return
    assert run.stderr.splitlines() == [
        f"error: no simulation is running in {tmp_path}",
        "hint: start one with `edgectl simulate start --manifest M --hub-only --detach "
        f"--state-dir {tmp_path}`",
    ]


def test_a_dead_hub_is_reported_and_stop_cleans_up(stand_in: StandIn) -> None:
    stand_in.process.kill()
    stand_in.process.wait()
    run = invoke(["simulate", "status", *sd(stand_in.state_dir)])
    assert run.exit_code == 3
    assert "has exited)" in run.stderr.splitlines()[0]
    run = invoke(["simulate", "stop", *sd(stand_in.state_dir)])
    assert run.exit_code == 0
    assert "had already exited; cleaned up" in run.stdout
    assert not (stand_in.state_dir / "hub.json").exists()


def test_hub_json_pointing_nowhere_is_exit_3(tmp_path: Path) -> None:
    (tmp_path / "hub.json").write_text(
        json.dumps({"pid": os.getpid(), "admin": "http://127.0.0.1:1", "listeners": []})
    )
    run = invoke(["simulate", "twin", "filter", *sd(tmp_path)])
    assert run.exit_code == 3
    assert run.stderr.startswith(f"error: no simulation is running in {tmp_path}")


# --- bad input before any request: exit 2 ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send", "--input", "i"], "error: give exactly one of --data TEXT and --data-file F"),
        (["send", "--input", "i", "--data", "x", "--data-file", "f"], "exactly one of"),
        (["send", "--input", "i", "--data", "x", "--prop", "novalue"], "--prop 'novalue' is not"),
        (["twin", "filter", "--set", "[1]"], "error: --set '[1]' is not a JSON object"),
        (["twin", "filter", "--set", "{bad"], "error: --set '{bad' is not JSON"),
        (["invoke", "filter", "m", "--payload", "{x"], "error: --payload '{x' is not JSON"),
        (["device", "add", "bad/id"], "error: device id 'bad/id' is not a valid IoT Hub"),
    ],
)
def test_bad_input_exits_2(stand_in: StandIn, args: list[str], message: str) -> None:
    run = invoke(["simulate", *args, *sd(stand_in.state_dir)])
    assert run.exit_code == 2, run.stderr
    assert message in run.stderr
    assert stand_in.requests == []


def test_data_file_must_be_utf8(stand_in: StandIn, tmp_path: Path) -> None:
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\xff\xfe")
    run = invoke(
        ["simulate", "send", "--input", "i", "--data-file", str(binary), *sd(stand_in.state_dir)]
    )
    assert run.exit_code == 2
    assert f"error: {binary}: is not UTF-8 text" in run.stderr


# --- against the stand-in admin API ----------------------------------------------------------


def test_status(stand_in: StandIn) -> None:
    run = invoke(["simulate", "status", *sd(stand_in.state_dir)])
    assert run.exit_code == 0
    assert run.stdout.splitlines() == [
        f"state: {stand_in.state_dir}",
        "listeners:",
        "  mqtt       127.0.0.9:8883",
        "  https      127.0.0.9:443  unavailable: permission denied",
        "identities (2): edgectl-device/$edgeAgent, edgectl-device/filter",
        "clients (1):",
        "  edgectl-device/filter  tcp  since 12:00:00",
        "queues: edgectl-device/filter 2",
        "$upstream messages: 2",
    ]
    run = invoke(["simulate", "status", "--json", *sd(stand_in.state_dir)])
    assert json.loads(run.stdout) == STATUS


def test_modulecred(stand_in: StandIn) -> None:
    run = invoke(["simulate", "modulecred", "filter", *sd(stand_in.state_dir)])
    assert run.exit_code == 0
    assert run.stdout.splitlines() == [
        'export EdgeHubConnectionString="HostName=h;GatewayHostName=localhost;'
        'DeviceId=edgectl-device;ModuleId=filter;SharedAccessKey=a2V5\\$="',
        'export EdgeModuleCACertificateFile="/tmp/ca dir/root.pem"',
    ]
    run = invoke(["simulate", "modulecred", "filter", "--json", *sd(stand_in.state_dir)])
    doc = json.loads(run.stdout)
    assert list(doc) == ["EdgeHubConnectionString", "EdgeModuleCACertificateFile"]


def test_modulecred_unknown_module_is_the_hubs_message(stand_in: StandIn) -> None:
    run = invoke(["simulate", "modulecred", "nosuch", *sd(stand_in.state_dir)])
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == ("error: no route GET /modules/nosuch/credentials")


def test_send(stand_in: StandIn, tmp_path: Path) -> None:
    run = invoke(
        [
            "simulate", "send", "--module", "filter", "--input", "input1",
            "--data", '{"t": 1}', "--content-type", "application/json",
            "--content-encoding", "utf-8", "--prop", "a=1", "--prop", "b=x=y",
            *sd(stand_in.state_dir),
        ]
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "sent 8 bytes to filter/input1\n"
    assert stand_in.requests == [
        (
            "POST",
            "/api/v1/messages",
            {
                "inputName": "input1",
                "data": '{"t": 1}',
                "moduleId": "filter",
                "contentType": "application/json",
                "contentEncoding": "utf-8",
                "properties": {"a": "1", "b": "x=y"},
            },
        )
    ]
    body = tmp_path / "body.txt"
    body.write_text("héllo")
    run = invoke(
        ["simulate", "send", "--input", "in", "--data-file", str(body), *sd(stand_in.state_dir)]
    )
    assert run.stdout == "sent 6 bytes to in\n"
    assert stand_in.requests[-1][2] == {"inputName": "in", "data": "héllo"}


def test_monitor_json_from_start(stand_in: StandIn) -> None:
    run = invoke(
        ["simulate", "monitor", "--json", "--from-start", "--count", "2", *sd(stand_in.state_dir)]
    )
    assert run.exit_code == 0, run.stderr
    assert [json.loads(line) for line in run.stdout.splitlines()] == UPSTREAM


def test_monitor_human(stand_in: StandIn) -> None:
    run = invoke(["simulate", "monitor", "--from-start", "-n", "2", *sd(stand_in.state_dir)])
    assert run.stdout.splitlines() == [
        '[2024-01-01T00:00:00Z] edgectl-device/filter (output1): {"t": 30}',
        '  properties: {"alert": "true"}',
        "[2024-01-01T00:00:01Z] leaf1: <base64> AAE=",
    ]


def test_monitor_new_messages_only_times_out(stand_in: StandIn) -> None:
    run = invoke(["simulate", "monitor", "--count", "1", "--timeout", "0", *sd(stand_in.state_dir)])
    assert run.exit_code == 1
    assert run.stdout == ""
    assert "error: timed out after 0 s with 0 of 1 messages" in run.stderr
    waits = [r[1] for r in stand_in.requests]
    assert waits == [
        "/api/v1/status",
        "/api/v1/upstream?after=2&limit=10000&wait=0",
        "/api/v1/upstream?after=2&limit=1&wait=0",
    ]


def test_monitor_timeout_without_count_is_ok(stand_in: StandIn) -> None:
    run = invoke(["simulate", "monitor", "--timeout", "0", *sd(stand_in.state_dir)])
    assert run.exit_code == 0
    assert run.stdout == ""


def test_twin(stand_in: StandIn) -> None:
    run = invoke(["simulate", "twin", "filter", *sd(stand_in.state_dir)])
    assert run.exit_code == 0
    assert run.stdout.splitlines() == [
        "desired ($version 1):",
        "  {",
        '    "threshold": 25',
        "  }",
        "reported ($version 3):",
        "  {",
        '    "status": "running"',
        "  }",
    ]
    run = invoke(
        [
            "simulate",
            "twin",
            "filter",
            "--set",
            '{"threshold": 30}',
            "--json",
            *sd(stand_in.state_dir),
        ]
    )
    assert json.loads(run.stdout)["desired"] == {"threshold": 30, "$version": 2}
    assert stand_in.requests[-1] == ("PATCH", "/api/v1/twins/filter", {"threshold": 30})


def test_twin_unknown_identity(stand_in: StandIn) -> None:
    run = invoke(["simulate", "twin", "nosuch", *sd(stand_in.state_dir)])
    assert run.exit_code == 2
    assert run.stderr.splitlines()[0] == ("error: no identity 'nosuch': it is not in the manifest")


def test_invoke(stand_in: StandIn) -> None:
    run = invoke(
        ["simulate", "invoke", "filter", "reset", "--payload", "[1]", *sd(stand_in.state_dir)]
    )
    assert run.exit_code == 0
    assert run.stdout.splitlines() == ["status: 200", 'payload: {"done": [1]}']
    assert stand_in.requests[-1][2] == {"payload": [1], "timeout": 30.0}
    run = invoke(
        [
            "simulate",
            "invoke",
            "other",
            "reset",
            "--json",
            "--timeout",
            "2",
            *sd(stand_in.state_dir),
        ]
    )
    assert run.exit_code == 1
    assert json.loads(run.stdout) == {"status": 404, "payload": {"message": "not connected"}}
    assert stand_in.requests[-1][2] == {"payload": None, "timeout": 2.0}


def test_device_add_with_sas(stand_in: StandIn) -> None:
    run = invoke(["simulate", "device", "add", "leaf1", *sd(stand_in.state_dir)])
    assert run.exit_code == 0
    assert run.stdout.splitlines() == [
        "added device leaf1",
        "  deviceId: leaf1",
        "  x509: False",
        "  connectionString: HostName=h;DeviceId=leaf1;SharedAccessKey=k=",
    ]


def test_device_add_with_x509_makes_a_certificate(stand_in: StandIn) -> None:
    from iotedge_cli.simulator.state import ensure_certs

    ensure_certs(stand_in.state_dir, device_id="edgectl-device", gateway_hostname="localhost")
    run = invoke(
        ["simulate", "device", "add", "leaf2", "--x509", "--json", *sd(stand_in.state_dir)]
    )
    assert run.exit_code == 0, run.stdout
    doc = json.loads(run.stdout)
    certs = stand_in.state_dir / "certs"
    assert doc["certificate"]["chain"] == str(certs / "iot-device-leaf2-full-chain.cert.pem")
    assert doc["certificate"]["key"] == str(certs / "private" / "iot-device-leaf2.key.pem")
    assert len(doc["certificate"]["thumbprint"]) == 40
    assert stand_in.requests[-1][2] == {"deviceId": "leaf2", "x509": True}


def test_stop_through_the_admin_api(stand_in: StandIn) -> None:
    run = invoke(["simulate", "stop", *sd(stand_in.state_dir)])
    assert run.exit_code == 0, run.stderr
    assert run.stdout == (f"stopped the hub (pid {stand_in.process.pid}) in {stand_in.state_dir}\n")
    assert stand_in.requests[-1][:2] == ("POST", "/api/v1/shutdown")
    assert not (stand_in.state_dir / "hub.json").exists()


def test_stop_falls_back_to_sigterm(stand_in: StandIn) -> None:
    data = json.loads((stand_in.state_dir / "hub.json").read_text())
    data["admin"] = "http://127.0.0.1:1"  # nothing answers there
    (stand_in.state_dir / "hub.json").write_text(json.dumps(data))
    run = invoke(["simulate", "stop", "--timeout", "5", *sd(stand_in.state_dir)])
    assert run.exit_code == 0, run.stderr
    assert stand_in.process.poll() is not None  # gone (reaped by stop, so no status here)
    assert not (stand_in.state_dir / "hub.json").exists()


def test_default_state_dir_is_found_from_a_subdirectory(
    stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    solution = stand_in.state_dir.parent / "solution"
    sim = solution / ".edgectl" / "simulate"
    sim.mkdir(parents=True)
    (sim / "config.json").write_text("{}")
    (sim / "hub.json").write_text((stand_in.state_dir / "hub.json").read_text())
    (solution / "modules").mkdir()
    monkeypatch.chdir(solution / "modules")
    run = invoke(["simulate", "status", "--json"])
    assert run.exit_code == 0
    assert json.loads(run.stdout) == STATUS
