"""The hub's agent-mode settings: config round trip, the workload URI rule, the store's identity
removal, and the admin API on a unix socket through the real ``run.serve`` (127.0.0.98)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.errors import EdgectlError, InputError
from iotedge_cli.simulator.client import AdminClient, AdminError, HubNotRunning
from iotedge_cli.simulator.hub.config import HubConfig, load_config
from iotedge_cli.simulator.hub.hub import Hub
from iotedge_cli.simulator.hub.run import serve
from iotedge_cli.simulator.hub.store import HubStore, StoredIdentity
from iotedge_cli.simulator.hub.workload import workload_port, workload_uri
from tests.simulator.integration.harness import DEVICE, ROUTES, make_state, manifest

IP = "127.0.0.98"


def sample(tmp_path: Path, **overrides: Any) -> HubConfig:
    settings: dict[str, Any] = {
        "state_dir": tmp_path,
        "device_id": "dev",
        "iothub_hostname": "hub.azure-devices.net",
        "gateway_hostname": "edgectl-gw",
        "server_cert": tmp_path / "s.pem",
        "server_key": tmp_path / "s.key",
        "ca_cert": tmp_path / "ca.pem",
        "manifest": tmp_path / "deployment.json",
        "admin_socket": tmp_path / "admin.sock",
        "workload_bind": "0.0.0.0",
        "workload_port": 15580,
        "owner_pid": 4242,
    }
    settings.update(overrides)
    return HubConfig(**settings)


# --- config ---------------------------------------------------------------------------------


def test_agent_mode_fields_round_trip_through_json(tmp_path: Path) -> None:
    config = sample(tmp_path)
    data = config.to_json()
    assert (data["admin_socket"], data["workload_bind"], data["workload_port"]) == (
        str(tmp_path / "admin.sock"),
        "0.0.0.0",
        15580,
    )
    assert data["owner_pid"] == 4242
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert load_config(tmp_path / "config.json") == config


def test_a_config_without_the_new_fields_keeps_todays_behaviour(tmp_path: Path) -> None:
    data = sample(tmp_path).to_json()
    for name in ("admin_socket", "workload_bind", "workload_port", "owner_pid"):
        del data[name]
    config = HubConfig.from_json(data)
    assert (config.admin_socket, config.workload_bind) == (None, "127.0.0.1")
    assert (config.workload_port, config.owner_pid) == (None, None)
    assert HubConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("workload_port", 70000, "'workload_port' must be a port"),
        ("workload_port", "15580", "'workload_port' must be a port"),
        ("owner_pid", 0, "'owner_pid' must be a process id"),
        ("owner_pid", True, "'owner_pid' must be a process id"),
        ("owner_pid", "12", "'owner_pid' must be a process id"),
        ("admin_socket", 5, "'admin_socket' must be a path or null"),
        ("workload_bind", "", "'workload_bind' must be a non-empty string"),
    ],
)
def test_bad_agent_mode_fields_name_the_field(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    data = sample(tmp_path).to_json()
    data[field] = value
    with pytest.raises(InputError, match=message):
        HubConfig.from_json(data)


def test_workload_uri_uses_the_gateway_name_on_a_wildcard_bind(tmp_path: Path) -> None:
    config = sample(tmp_path)
    assert workload_port(config) == 15580
    assert workload_uri(config) == "http://edgectl-gw:15580/"
    assert workload_uri(config, 15999) == "http://edgectl-gw:15999/"
    assert workload_uri(dataclasses.replace(config, workload_bind="::")) == (
        "http://edgectl-gw:15580/"
    )
    assert workload_uri(dataclasses.replace(config, workload_bind="::1")) == "http://[::1]:15580/"
    local = dataclasses.replace(config, workload_bind="127.0.0.1", workload_port=None)
    assert workload_uri(dataclasses.replace(local, admin_port=53000)) == "http://127.0.0.1:53001/"


# --- store ----------------------------------------------------------------------------------


def test_store_delete_identity_forgets_keys_twin_session_and_queue(tmp_path: Path) -> None:
    store = HubStore(tmp_path / "hub.sqlite")
    for cid in ("d/gone", "d/kept"):
        store.put_identity(StoredIdentity(cid, "d", cid[2:], "a2V5", "a2V5", False, False))
        store.put_twin(cid, {"desired": {}, "reported": {}})
        store.put_session(cid, {f"devices/{cid}/#": 1})
        store.add_queued(cid, "t", b"x", None)
    store.delete_identity("d/gone")
    store.commit()
    store.close()
    store = HubStore(tmp_path / "hub.sqlite")
    assert [i.client_id for i in store.identities()] == ["d/kept"]
    assert list(store.twins()) == ["d/kept"]
    assert list(store.sessions()) == ["d/kept"]
    assert store.queue_depths() == {"d/kept": 1}
    store.close()


# --- AdminClient on a unix socket -----------------------------------------------------------


def test_admin_client_rejects_urls_it_cannot_use(tmp_path: Path) -> None:
    for base in ("unix://relative/admin.sock", "ftp://127.0.0.1:1", "http://127.0.0.1:99999"):
        with pytest.raises(EdgectlError, match="is not http://HOST:PORT or unix:///"):
            AdminClient(base, state_dir=tmp_path)


def test_admin_client_without_a_hub_on_the_socket_says_so(tmp_path: Path) -> None:
    missing = AdminClient(f"unix://{tmp_path / 'admin.sock'}", state_dir=tmp_path)
    with pytest.raises(HubNotRunning, match="no simulation is running") as caught:
        missing.status()
    assert caught.value.exit_code == 3
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "admin.sock"))  # a socket file nobody listens on
    stale.close()
    with pytest.raises(HubNotRunning):
        missing.status()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[HubConfig, dict[str, Any]]]:
    """``run.serve`` with the admin API on a socket (a stale socket file is there already)."""
    config = make_state(
        tmp_path,
        IP,
        mqtt_port=0,
        admin_socket=tmp_path / "admin.sock",
        owner_pid=os.getppid(),
    )
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / "admin.sock"))
    stale.close()
    ready = threading.Event()
    thread = threading.Thread(target=asyncio.run, args=(serve(config, ready=ready.set),))
    thread.start()
    try:
        assert ready.wait(15), "the hub did not start"
        yield config, json.loads(config.runtime_file.read_text())
    finally:
        if thread.is_alive():  # the test did not stop it
            AdminClient(f"unix://{tmp_path / 'admin.sock'}", state_dir=tmp_path).shutdown()
        thread.join(10)
        assert not thread.is_alive()


def test_serve_records_the_socket_and_the_owner_pid(
    served: tuple[HubConfig, dict[str, Any]],
) -> None:
    config, runtime = served
    sock = config.admin_socket
    assert sock is not None
    assert runtime["pid"] == os.getppid() != os.getpid()
    assert runtime["admin"] == f"unix://{sock}"
    (admin,) = [e for e in runtime["listeners"] if e["name"] == "admin"]
    assert (admin["address"], admin["port"], admin["available"]) == (str(sock), None, True)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600


def test_admin_api_over_the_socket(served: tuple[HubConfig, dict[str, Any]]) -> None:
    config, runtime = served
    client = AdminClient(runtime["admin"], state_dir=config.state_dir)
    status = client.status()
    assert f"{DEVICE}/$edgeAgent" in {i["id"] for i in status["identities"]}
    assert client.twin("filter")["desired"]["threshold"] == 25
    twin = client.patch_reported("$edgeAgent", {"modules": {"filter": {"runtimeStatus": "up"}}})
    assert twin["reported"]["modules"] == {"filter": {"runtimeStatus": "up"}}
    with pytest.raises(AdminError, match="no module or device named 'nope'") as caught:
        client.twin("nope")
    assert caught.value.exit_code == 2
    client.shutdown()
    for _ in range(100):
        if not config.runtime_file.exists():
            break
        threading.Event().wait(0.1)
    assert not config.runtime_file.exists()


# --- where a deployment is stored -----------------------------------------------------------


def _apply(config: HubConfig, doc: dict[str, Any], *, restart: bool = False) -> Hub:
    async def go() -> Hub:
        store = HubStore(config.store_path)
        hub = Hub(config, store)
        try:
            await hub.start()
            await hub.apply_deployment(doc)
            if restart:  # the same hub object loads what it stored
                await hub.stop()
                await hub.start()
        finally:
            await hub.stop()
            store.close()
        return hub

    return asyncio.run(go())


def test_a_hub_only_hub_never_overwrites_the_users_manifest(tmp_path: Path) -> None:
    user = tmp_path / "config" / "deployment.amd64.json"
    user.parent.mkdir()
    user.write_text(json.dumps(manifest()))
    state = tmp_path / ".edgectl" / "simulate"
    config = sample(state, manifest=user, admin_socket=None, owner_pid=None)
    doc = manifest({"up": "FROM /messages INTO $upstream"})
    hub = _apply(config, doc)
    assert hub.manifest_path == state.resolve() / "deployment.json"
    assert json.loads(user.read_text()) == manifest()
    assert json.loads(hub.manifest_path.read_text()) == doc
    assert stat.S_IMODE(hub.manifest_path.stat().st_mode) == 0o600
    assert not list(state.glob(".*.tmp"))


def test_the_agent_modes_manifest_in_the_state_dir_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "deployment.json").write_text(json.dumps(manifest()))
    doc = manifest({"up": "FROM /messages INTO $upstream"})
    hub = _apply(sample(tmp_path), doc)
    assert hub.manifest_path == tmp_path / "deployment.json"
    assert json.loads((tmp_path / "deployment.json").read_text()) == doc


def test_a_single_module_hub_takes_a_deployment_and_keeps_it(tmp_path: Path) -> None:
    config = sample(tmp_path, manifest=None, single_module=("solo", ("in1",)))
    hub = _apply(config, manifest(), restart=True)
    assert hub.manifest_path == tmp_path.resolve() / "deployment.json"
    modules = {i.module_id for i in hub.registry if i.module_id}
    assert modules == {"$edgeAgent", "$edgeHub", "sensor", "filter", "offline"}
    assert [r.name for r in hub.routes] == list(ROUTES)
    assert hub.twin("filter")["desired"] == {"threshold": 25, "$version": 1}
