"""A chain made through the CLI for each key type, once per session (RSA CA keys are slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import invoke

LEAVES = [
    ["device", "sensor-1", "--pfx", "--password", "pw"],
    ["identity", "edge-1", "--pfx"],
    ["server", "10.1.2.3"],
    ["verification", "0A1B2C", "--ca", "root"],
    ["verification", "D4E5F6", "--ca", "intermediate"],
]


def make(out: Path, key_type: str) -> dict[str, str]:
    """Run generate and every leaf command into ``out``; return each command's stdout."""
    outputs = {}
    run = invoke(
        ["certs", "generate", "--out", str(out), "--key-type", key_type,
         "--device-id", "edge-1", "--hostname", "gw.contoso.local", "--pfx"]
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    outputs["generate"] = run.stdout
    for args in LEAVES:
        run = invoke(["certs", *args, "--out", str(out)])
        assert run.exit_code == 0, run.stderr
        outputs[" ".join(args[:2])] = run.stdout
    return outputs


@pytest.fixture(scope="session", params=["ec", "rsa"])
def cli_chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp(f"cli-{request.param}") / "certs"
    return out, make(out, request.param)
