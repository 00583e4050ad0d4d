"""``edgectl certs``: every command, both key types, checked with openssl, plus error paths."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.certs.helpers import openssl
from tests.cli.helpers import invoke

ISSUED = [
    ("iot-edge-server-gw.contoso.local", "sslserver"),
    ("iot-edge-server-10.1.2.3", "sslserver"),
    ("iot-device-sensor-1", "sslclient"),
    ("iot-edge-device-identity-edge-1", "sslclient"),
    ("iot-device-verification-code-root", None),
    ("iot-device-verification-code-intermediate", None),
    ("iot-edge-device-ca-edge-1", None),
]


@pytest.mark.parametrize(("prefix", "purpose"), ISSUED)
def test_every_command_output_passes_openssl_verify(
    cli_chain: tuple[Path, dict[str, str]], prefix: str, purpose: str | None
) -> None:
    out, _ = cli_chain
    args = ["verify", "-x509_strict", "-CAfile", str(out / "trust-bundle.pem")]
    if purpose:
        args += ["-purpose", purpose]
    full = out / f"{prefix}-full-chain.cert.pem"
    run = openssl(*args, "-untrusted", str(full), str(out / f"{prefix}.cert.pem"), check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    # and our own verifier agrees
    ours = invoke(["certs", "verify", str(full), "--ca", str(out / "trust-bundle.pem")])
    assert ours.exit_code == 0, ours.stdout
    assert ours.stdout.startswith(f"{full}: OK: ")


def test_generate_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = invoke(["certs", "generate", "--device-id", "dev1", "--hostname", "gw.local"])
    assert run.exit_code == 0, run.stderr
    base = (tmp_path / "certs").as_uri()
    assert run.stdout == (
        "wrote certs/azure-iot-test-only.root.ca.cert.pem\n"
        "wrote certs/private/azure-iot-test-only.root.ca.key.pem\n"
        "wrote certs/trust-bundle.pem\n"
        "wrote certs/azure-iot-test-only.intermediate.cert.pem\n"
        "wrote certs/azure-iot-test-only.intermediate-full-chain.cert.pem\n"
        "wrote certs/private/azure-iot-test-only.intermediate.key.pem\n"
        "wrote certs/iot-edge-device-ca-dev1.cert.pem\n"
        "wrote certs/iot-edge-device-ca-dev1-full-chain.cert.pem\n"
        "wrote certs/private/iot-edge-device-ca-dev1.key.pem\n"
        "wrote certs/iot-edge-server-gw.local.cert.pem\n"
        "wrote certs/iot-edge-server-gw.local-full-chain.cert.pem\n"
        "wrote certs/private/iot-edge-server-gw.local.key.pem\n"
        "wrote certs/config.toml\n"
        "\n"
        "config.toml for aziot-edge (also in certs/config.toml):\n"
        "\n"
        "# aziot-edge: TEST-ONLY certificates made by `edgectl certs generate`.\n"
        "# Merge into /etc/aziot/config.toml, then run `sudo iotedge config apply`.\n"
        "# The files must be readable by aziot (e.g. copy them to /var/aziot/ and chown).\n"
        'hostname = "gw.local"\n'
        f'trust_bundle_cert = "{base}/trust-bundle.pem"\n'
        "\n"
        "[edge_ca]\n"
        f'cert = "{base}/iot-edge-device-ca-dev1-full-chain.cert.pem"\n'
        f'pk = "{base}/private/iot-edge-device-ca-dev1.key.pem"\n'
    )
    assert run.stderr == ""
    assert (tmp_path / "certs/config.toml").read_text() == run.stdout.split(
        "certs/config.toml):\n\n"
    )[1]
    assert stat.S_IMODE((tmp_path / "certs/private").stat().st_mode) == 0o700
    for key in (tmp_path / "certs/private").iterdir():
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")

    again = invoke(["certs", "generate", "--device-id", "dev1", "--hostname", "gw.local"])
    assert again.exit_code == 2
    assert again.stdout == ""
    assert again.stderr == (
        "error: certs/azure-iot-test-only.root.ca.cert.pem, "
        "certs/private/azure-iot-test-only.root.ca.key.pem, certs/trust-bundle.pem …: already "
        "exist; nothing was written\n"
        "hint: pass --force to replace them, or choose another --out directory\n"
    )
    root = (tmp_path / "certs/trust-bundle.pem").read_bytes()
    forced = invoke(
        ["certs", "generate", "--device-id", "dev1", "--hostname", "gw.local", "--force"]
    )
    assert forced.exit_code == 0
    assert (tmp_path / "certs/trust-bundle.pem").read_bytes() != root


def test_generate_with_key_password(tmp_path: Path) -> None:
    out = tmp_path / "c"
    run = invoke(["certs", "generate", "-o", str(out), "--hostname", "gw", "--key-password", "pw"])
    assert run.exit_code == 0, run.stderr
    assert "# aziot cannot read encrypted keys" in run.stdout
    key = out / "private/iot-edge-device-ca-edge-device.key.pem"
    assert key.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    no_pw = invoke(["certs", "device", "d1", "-o", str(out)])
    assert no_pw.exit_code == 2
    assert "the private key is encrypted" in no_pw.stderr
    ok = invoke(["certs", "device", "d1", "-o", str(out), "--key-password", "pw"])
    assert ok.exit_code == 0, ok.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--hostname", "edge_gw"],
            "error: hostname 'edge_gw' is not RFC 1035: label 'edge_gw' must be 1-63 letters, "
            "digits or hyphens, start with a letter and end with a letter or digit\n"
            "hint: use the name clients connect with, e.g. --hostname edge-gw.contoso.local\n",
        ),
        (
            ["--hostname", "gw.ca", "--device-id", "gw"],
            "error: the edge CA's CN 'gw.ca' equals the hostname; IoT Edge requires them to differ\n"
            "hint: choose another --hostname or --device-id\n",
        ),
        (
            ["--hostname", "gw", "--root-cert", "x.pem"],
            "error: --root-cert and --root-key go together\n"
            "hint: pass both your root CA's certificate and its private key\n",
        ),
        (
            ["--hostname", "gw", "--root-cert", "x.pem", "--root-key", "x.key"],
            "error: x.pem: no such file\nhint: check the path (certificates made by "
            "`edgectl certs generate` are in --out, default 'certs')\n",
        ),
    ],
)
def test_generate_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    run = invoke(["certs", "generate", *args])
    assert (run.exit_code, run.stdout, run.stderr) == (2, "", message)
    assert not (tmp_path / "certs").exists()


def test_leaf_without_a_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = invoke(["certs", "device", "d1"])
    assert run.exit_code == 2
    assert run.stderr == (
        "error: certs/azure-iot-test-only.intermediate-full-chain.cert.pem: not found; certs does "
        "not hold a chain made by `edgectl certs generate`\n"
        "hint: run `edgectl certs generate --out certs` first, or pass --out DIR\n"
    )


def test_identity_prints_thumbprints_like_openssl(cli_chain: tuple[Path, dict[str, str]]) -> None:
    out, outputs = cli_chain
    cert = out / "iot-edge-device-identity-edge-1.cert.pem"
    lines = outputs["identity edge-1"].splitlines()
    assert lines[:4] == [
        f"wrote {out}/iot-edge-device-identity-edge-1.cert.pem",
        f"wrote {out}/iot-edge-device-identity-edge-1-full-chain.cert.pem",
        f"wrote {out}/private/iot-edge-device-identity-edge-1.key.pem",
        f"wrote {out}/iot-edge-device-identity-edge-1.cert.pfx",
    ]
    for line, algorithm in zip(lines[4:], ("sha1", "sha256"), strict=True):
        fp = openssl("x509", "-noout", "-fingerprint", f"-{algorithm}", "-in", str(cert)).stdout
        assert line.split()[-1] == fp.strip().split("=")[1].replace(":", "")


def test_cli_pfx_is_readable(cli_chain: tuple[Path, dict[str, str]]) -> None:
    out, _ = cli_chain
    run = openssl("pkcs12", "-info", "-noout", "-passin", "pass:pw", "-in",
                  str(out / "iot-device-sensor-1.cert.pfx"))  # fmt: skip
    assert "Certificate bag" in run.stdout + run.stderr
    run = openssl("pkcs12", "-info", "-noout", "-passin", "pass:", "-in",
                  str(out / "iot-edge-server-gw.contoso.local.cert.pfx"))  # fmt: skip
    assert "Key bag" in run.stdout + run.stderr


def test_own_root_through_the_cli(tmp_path: Path) -> None:
    cert, key = tmp_path / "own.pem", tmp_path / "own.key"
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-passout", "pass:pw", "-keyout", str(key),
        "-out", str(cert), "-days", "30", "-subj", "/CN=Own Root",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
    )  # fmt: skip
    out = tmp_path / "certs"
    run = invoke(
        ["certs", "generate", "-o", str(out), "--hostname", "gw", "--root-cert", str(cert),
         "--root-key", str(key), "--root-key-password", "pw"]
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert run.stderr.startswith("warning: validity shortened to the root CA's")
    assert not (out / "private/azure-iot-test-only.root.ca.key.pem").exists()
    no_key = invoke(["certs", "verification", "C0DE", "-o", str(out)])
    assert no_key.exit_code == 2
    assert "hint: pass your root CA's key with --root-key F" in no_key.stderr
    ok = invoke(
        ["certs", "verification", "C0DE", "-o", str(out), "--root-key", str(key),
         "--root-key-password", "pw"]
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    check = openssl("verify", "-x509_strict", "-CAfile", str(cert),
                    str(out / "iot-device-verification-code-root.cert.pem"))  # fmt: skip
    assert check.stdout.strip().endswith(": OK")


def test_inspect_text_and_json(cli_chain: tuple[Path, dict[str, str]]) -> None:
    out, _ = cli_chain
    full = out / "iot-edge-server-gw.contoso.local-full-chain.cert.pem"
    run = invoke(["certs", "inspect", str(full)])
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0] == f"{full}: 4 certificates, chain order OK"
    assert "  SAN           DNS:gw.contoso.local, DNS:edgeHub" in lines
    assert "  ext key usage serverAuth" in lines
    assert "  constraints   CA:TRUE, pathlen:0 (critical)" in lines
    doc = json.loads(invoke(["certs", "inspect", "--json", str(full)]).stdout)
    certs = doc["files"][0]["certificates"]
    assert [c["basic_constraints"]["pathlen"] for c in certs] == [None, 0, 1, 2]
    assert certs[0]["extended_key_usage"] == ["serverAuth"]
    assert certs[0]["subject_alt_names"] == ["DNS:gw.contoso.local", "DNS:edgeHub"]
    assert certs[0]["days_left"] in (89, 90)
    assert certs[3]["self_signed"] is True
    assert doc["files"][0]["chain"] == {"ordered": True, "notes": []}


def test_inspect_reports_wrong_order(
    cli_chain: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    out, _ = cli_chain
    bundle = tmp_path / "bad.pem"
    bundle.write_bytes(
        (out / "trust-bundle.pem").read_bytes()
        + (out / "iot-device-sensor-1.cert.pem").read_bytes()
    )
    run = invoke(["certs", "inspect", str(bundle)])
    assert run.stdout.splitlines()[:2] == [
        f"{bundle}: 2 certificates, chain order WRONG",
        "  ! certificate 1 is not issued by certificate 2: a chain file must list the "
        "certificate first and then each issuer in turn",
    ]


def test_inspect_not_a_certificate(tmp_path: Path) -> None:
    path = tmp_path / "x.pem"
    path.write_text("hello")
    run = invoke(["certs", "inspect", "--json", str(path)])
    assert run.exit_code == 2
    error = json.loads(run.stdout)["error"]
    assert error["message"].startswith(f"{path}: not a certificate")


def test_verify_failures_exit_1(cli_chain: tuple[Path, dict[str, str]]) -> None:
    out, _ = cli_chain
    full = out / "iot-device-sensor-1-full-chain.cert.pem"
    ca = str(out / "trust-bundle.pem")
    run = invoke(
        ["certs", "verify", str(full), "--ca", ca, "--hostname", "gw", "--purpose", "server"]
    )
    assert run.exit_code == 1
    assert run.stdout == (
        f"{full}: error: 'sensor-1': missing EKU serverAuth: its extendedKeyUsage does not allow "
        "server authentication\n"
        f"{full}: error: 'sensor-1': hostname 'gw' not in SAN: the certificate has no "
        "subjectAltName, and TLS clients ignore the CN\n"
        f"{full}: FAILED (2 problems)\n"
    )
    doc = json.loads(
        invoke(["certs", "verify", str(full), "--ca", ca, "--purpose", "client", "--json"]).stdout
    )
    assert doc["valid"] is True
    assert doc["path"][0] == "sensor-1" and doc["path"][-1] == "edgectl Test-Only Root CA"
    alone = invoke(["certs", "verify", str(out / "iot-device-sensor-1.cert.pem"), "--ca", ca])
    assert alone.exit_code == 1
    assert "wrong issuer" in alone.stdout


def test_verify_needs_a_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.pem").write_text("x")
    run = invoke(["certs", "verify", "c.pem"])
    assert (run.exit_code, run.stderr) == (
        2,
        "error: no trusted root: pass --ca ROOT\n"
        "hint: e.g. --ca certs/trust-bundle.pem (written by `edgectl certs generate`)\n",
    )
