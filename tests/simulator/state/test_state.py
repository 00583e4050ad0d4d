"""The state directory: where it is, its permissions, its certificates, config.json, hub.json."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from iotedge_cli.errors import InputError, UsageError
from iotedge_cli.simulator import state
from iotedge_cli.simulator.hub.config import HubConfig, load_config

DEVICE = "edgectl-device"


def test_solution_dir_is_the_manifests_folder_or_its_parent_for_config(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "deployment.template.json").write_text("{}")
    assert state.solution_dir(Path("config/deployment.amd64.json"), tmp_path) == tmp_path
    (tmp_path / "other").mkdir()
    assert state.solution_dir(Path("other/m.json"), tmp_path) == tmp_path / "other"
    assert state.solution_dir(None, tmp_path) == tmp_path.resolve()
    # a config/ folder without templates next to it is the solution itself
    lone = tmp_path / "lone" / "config"
    lone.mkdir(parents=True)
    assert state.solution_dir(lone / "m.json", tmp_path) == lone


def test_find_state_dir_walks_up_to_the_nearest_simulation(tmp_path: Path) -> None:
    sim = tmp_path / ".edgectl" / "simulate"
    deep = tmp_path / "modules" / "filter"
    deep.mkdir(parents=True)
    assert state.find_state_dir(None, deep) == deep / ".edgectl" / "simulate"
    sim.mkdir(parents=True)
    (sim / "config.json").write_text("{}")
    assert state.find_state_dir(None, deep) == sim
    assert state.find_state_dir(tmp_path / "x", deep) == (tmp_path / "x").resolve()


def test_state_dir_is_created_0700(tmp_path: Path) -> None:
    made = state.ensure_state_dir(tmp_path / ".edgectl" / "simulate")
    assert made.stat().st_mode & 0o777 == 0o700
    assert made.parent.stat().st_mode & 0o777 == 0o700
    made.chmod(0o755)
    state.ensure_state_dir(made)  # an existing one is tightened
    assert made.stat().st_mode & 0o777 == 0o700


def test_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="is not a directory"):
        state.ensure_state_dir(tmp_path / "f")


def test_gateway_defaults_and_bind_check() -> None:
    assert state.default_gateway_host("127.0.0.1") == "localhost"
    assert state.default_gateway_host("127.0.0.9") == "127.0.0.9"
    assert state.check_bind("127.0.0.3") == "127.0.0.3"
    with pytest.raises(UsageError, match="--bind 'localhost' is not an IP address"):
        state.check_bind("localhost")


def _handshake(certs: state.StateCerts, hostname: str) -> None:
    """A TLS 1.2 handshake as the SDK makes it: only our CA trusted, hostname checked."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs.server_cert, certs.server_key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    client.load_verify_locations(cafile=certs.ca_cert)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(10):
        for name, end in (("c", c), ("s", s)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not finish")


def test_certs_are_made_once_and_reused(tmp_path: Path) -> None:
    first = state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="127.0.0.9")
    assert first.created and first.server_cert.exists() and first.ca_cert.exists()
    assert first.server_key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "certs" / "private").stat().st_mode & 0o777 == 0o700
    cert = x509.load_pem_x509_certificates(first.server_cert.read_bytes())
    assert len(cert) == 4  # server, edge CA, intermediate, root
    san = cert[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.9"]
    assert "edgeHub" in san.get_values_for_type(x509.DNSName)
    _handshake(first, "127.0.0.9")

    before = first.server_cert.read_bytes()
    again = state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="127.0.0.9")
    assert again.created == ()
    assert again.server_cert.read_bytes() == before

    root = first.ca_cert.read_bytes()
    other = state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="gw.local")
    assert [p.name for p in other.created] == [
        "iot-edge-server-gw.local.cert.pem",
        "iot-edge-server-gw.local-full-chain.cert.pem",
        "iot-edge-server-gw.local.key.pem",
    ]
    assert other.ca_cert.read_bytes() == root  # same chain, new server certificate
    _handshake(other, "gw.local")


def test_an_incomplete_chain_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "stray.pem").write_text("")
    with pytest.raises(InputError, match="incomplete certificate chain"):
        state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="localhost")


def test_bad_gateway_hostname_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not RFC 1035"):
        state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="bad_name")


def test_config_json_round_trip(tmp_path: Path) -> None:
    certs = state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="localhost")
    config = state.make_config(
        tmp_path,
        certs,
        gateway_hostname="localhost",
        admin_port=53123,
        single_module=("filter", ("input1", "input2")),
    )
    path = state.write_config(config)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_config(path) == config
    assert state.read_config(tmp_path) == config
    assert HubConfig.from_json(json.loads(path.read_text())) == config
    assert state.read_config(tmp_path / "none") is None


def test_read_running(tmp_path: Path) -> None:
    assert state.read_running(tmp_path) is None
    hub_json = tmp_path / "hub.json"
    hub_json.write_text("{not json")
    assert state.read_running(tmp_path) is None
    hub_json.write_text(json.dumps({"pid": os.getpid(), "admin": "http://127.0.0.1:1"}))
    running = state.read_running(tmp_path)
    assert running is not None and running.alive and running.listeners == []
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    hub_json.write_text(json.dumps({"pid": child.pid, "admin": "http://127.0.0.1:1"}))
    running = state.read_running(tmp_path)
    assert running is not None and not running.alive
    assert state.remove_runtime_file(tmp_path) and not state.remove_runtime_file(tmp_path)


def test_device_certificate_is_made_once(tmp_path: Path) -> None:
    state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="localhost")
    made = state.device_certificate(tmp_path, "leaf1")
    assert made.created and made.key.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn == "leaf1"
    assert len(made.thumbprint) == 40
    again = state.device_certificate(tmp_path, "leaf1")
    assert not again.created and again.thumbprint == made.thumbprint


def test_another_device_gets_its_own_edge_ca_from_the_same_chain(tmp_path: Path) -> None:
    """`simulate start --device-id other` in a state dir made for DEVICE: same root, a new
    edge CA for the other device, and a server certificate issued by it."""
    first = state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="gw.local")
    root = first.ca_cert.read_bytes()
    other = state.ensure_certs(tmp_path, device_id="edge-01", gateway_hostname="gw.local")
    assert other.ca_cert.read_bytes() == root
    names = {p.name for p in other.created}
    assert "iot-edge-device-ca-edge-01-full-chain.cert.pem" in names
    assert "iot-edge-server-gw.local-full-chain.cert.pem" in names  # re-issued by edge-01.ca
    chain = x509.load_pem_x509_certificates(other.server_cert.read_bytes())
    cn = x509.oid.NameOID.COMMON_NAME
    assert chain[0].issuer.get_attributes_for_oid(cn)[0].value == "edge-01.ca"
    _handshake(other, "gw.local")
    back = state.ensure_certs(tmp_path, device_id=DEVICE, gateway_hostname="gw.local")
    chain = x509.load_pem_x509_certificates(back.server_cert.read_bytes())
    assert chain[0].issuer.get_attributes_for_oid(cn)[0].value == f"{DEVICE}.ca"
