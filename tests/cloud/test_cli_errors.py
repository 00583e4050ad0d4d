"""Failures of `edgectl device|deploy|deployment` before or without a hub: whole outputs,
exit codes, and never the key. A closed port on 127.0.0.73 stands for an unreachable hub."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import PYTHON, invoke, subprocess_env

HERE = Path(__file__).parent / "manifests"
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
CONN = f"HostName=myhub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}"
WHERE = (
    "hint: use a shared access policy's connection string: `az iot hub connection-string show "
    "--hub-name HUB --policy-name iothubowner`, or the portal's Shared access policies\n"
)


@pytest.fixture(autouse=True)
def _no_hub_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGECTL_HUB_CONNECTION_STRING", raising=False)


def test_no_hub_given() -> None:
    run = invoke(["device", "list"])
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == (
        "error: no IoT Hub to talk to\n"
        "hint: set $EDGECTL_HUB_CONNECTION_STRING (or pass --hub-connection-string) to a "
        "service connection string, or use --to-simulator for the local simulator\n"
    )


def test_a_truncated_key_is_refused_without_being_printed() -> None:
    run = invoke(["device", "show", "dev1", "--hub-connection-string", CONN[:-5]])
    assert run.exit_code == 2
    assert run.stderr == (
        "error: the IoT Hub connection string from --hub-connection-string has a "
        "SharedAccessKey that is not base64 (it may be truncated)\n"
        "hint: copy the whole connection string again; " + WHERE.removeprefix("hint: ")
    )
    assert KEY[:20] not in run.stdout + run.stderr


def test_a_device_connection_string_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    device = f"HostName=myhub.azure-devices.net;DeviceId=dev1;SharedAccessKey={KEY}"
    monkeypatch.setenv("EDGECTL_HUB_CONNECTION_STRING", device)
    run = invoke(["deployment", "list", "--json"])
    assert run.exit_code == 2
    assert run.stdout == (
        "{\n"
        '  "error": {\n'
        '    "message": "the IoT Hub connection string from $EDGECTL_HUB_CONNECTION_STRING is a '
        "device or module connection string; managing devices and deployments needs a service "
        'connection string",\n'
        '    "hint": "use a shared access policy\'s connection string: `az iot hub '
        "connection-string show --hub-name HUB --policy-name iothubowner`, or the portal's "
        'Shared access policies",\n'
        '    "exit_code": 2\n'
        "  }\n"
        "}\n"
    )
    assert KEY[:20] not in run.stdout + run.stderr


def test_an_invalid_manifest_is_not_deployed() -> None:
    # The linter runs before any connection is made: this hub does not exist.
    manifest = HERE / "invalid-route.json"
    run = invoke(["deploy", str(manifest), "--device", "dev1", "--hub-connection-string", CONN])
    assert run.exit_code == 1
    assert run.stdout == ""
    assert run.stderr == (
        f"{manifest}:48:17: E201 route 'up': expected $upstream or "
        "BrokeredEndpoint(\"/modules/<module>/inputs/<input>\") after INTO, found 'nowhere' "
        "(column 23)\n"
        "\n"
        "Found 1 error, 0 warnings in 1 file.\n"
        f"error: {manifest}: 1 error found; nothing was deployed\n"
        f"hint: fix them (`edgectl manifest validate {manifest}`), or pass --no-validate to "
        "deploy anyway\n"
    )


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (
            [],
            "give either --device ID (one device) or --name N (an automatic deployment)",
            "e.g. edgectl deploy config/deployment.json --device my-edge-device",
        ),
        (
            ["--device", "d", "--name", "n"],
            "give either --device ID (one device) or --name N (an automatic deployment)",
            "e.g. edgectl deploy config/deployment.json --device my-edge-device",
        ),
        (
            ["--device", "d", "--priority", "3", "--layered"],
            "--priority, --layered only apply to automatic deployments (--name), not --device",
            "drop them, or deploy with --name N --target-condition C",
        ),
        (
            ["--name", "n"],
            "--name needs --target-condition",
            """e.g. --target-condition "tags.environment='prod'\"""",
        ),
        (
            ["--name", "Prod", "--target-condition", "tags.env='prod'"],
            "--name 'Prod' is not a valid deployment id",
            "use up to 128 lower-case letters, digits and - : + % _ # * ? ! ( ) , = @ ; $ '",
        ),
        (
            ["--name", "n", "--target-condition", "tags.env='prod'", "--label", "x"],
            "--label 'x' is not KEY=VALUE",
            "e.g. --label env=prod",
        ),
    ],
)
def test_deploy_target_options(args: list[str], error: str, hint: str) -> None:
    run = invoke(["deploy", str(HERE / "base.json"), *args, "--hub-connection-string", CONN])
    assert (run.exit_code, run.stdout, run.stderr) == (2, "", f"error: {error}\nhint: {hint}\n")


def test_a_layered_manifest_cannot_go_to_one_device() -> None:
    layer = HERE / "layer.json"
    run = invoke(["deploy", str(layer), "--device", "d", "--hub-connection-string", CONN])
    assert run.exit_code == 2
    assert run.stderr == (
        f"error: {layer}: a layered manifest ($edgeAgent/properties.desired.modules.filter) "
        "cannot be applied to one device\n"
        "hint: applying to a device replaces its whole configuration: give a base manifest, or "
        "deploy the layer with --name N --target-condition C --layered\n"
    )


def test_x509_thumbprint_needs_a_certificate() -> None:
    run = invoke(
        ["device", "create", "d", "--auth", "x509-thumbprint", "--hub-connection-string", CONN]
    )
    assert (run.exit_code, run.stderr) == (
        2,
        "error: --auth x509-thumbprint needs --cert FILE (the device's certificate)\n"
        "hint: make a test one with `edgectl certs device NAME`\n",
    )


def test_bad_tags_json() -> None:
    run = invoke(["device", "twin", "d", "--set-tags", "[1]", "--hub-connection-string", CONN])
    assert (run.exit_code, run.stderr) == (
        2,
        "error: --set-tags '[1]' is not a JSON object\n"
        """hint: quote it for the shell, e.g. --set-tags '{"env": "prod"}'\n""",
    )


def test_unreachable_hub_is_exit_3_through_the_real_entry_point() -> None:
    # Nothing listens on 127.0.0.73:9 (discard): the connection is refused; the SDK retries a
    # few times, then the CLI says so in one line, without a traceback or the key.
    conn = CONN.replace("myhub.azure-devices.net", "127.0.0.73:9")
    result = subprocess.run(
        [PYTHON, "-m", "iotedge_cli", "device", "list", "--hub-connection-string", conn],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr == (
        "error: list devices: IoT Hub 127.0.0.73:9 refused the connection\n"
        "hint: check HostName in the connection string from --hub-connection-string, and the "
        "network\n"
    )
