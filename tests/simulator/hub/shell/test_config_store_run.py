"""HubConfig round trip, the SQLite store, and run.serve's lifecycle (127.0.0.5)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest

from iotedge_cli.errors import InputError
from iotedge_cli.simulator.hub.config import HubConfig, load_config
from iotedge_cli.simulator.hub.run import serve
from iotedge_cli.simulator.hub.store import HubStore
from tests.simulator.integration.harness import make_state


def sample(tmp_path: Path) -> HubConfig:
    return HubConfig(
        state_dir=tmp_path,
        device_id="dev",
        iothub_hostname="hub.azure-devices.net",
        gateway_hostname="localhost",
        server_cert=tmp_path / "s.pem",
        server_key=tmp_path / "s.key",
        ca_cert=tmp_path / "ca.pem",
        single_module=("filter", ("in1", "in2")),
    )


def test_config_round_trips_through_json(tmp_path: Path) -> None:
    config = sample(tmp_path)
    text = json.dumps(config.to_json())
    assert HubConfig.from_json(json.loads(text)) == config
    (tmp_path / "config.json").write_text(text)
    assert load_config(tmp_path / "config.json") == config


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    data = sample(tmp_path).to_json()
    data["mqtt_port"] = 70000
    with pytest.raises(InputError, match="'mqtt_port' must be a port"):
        HubConfig.from_json(data)
    with pytest.raises(InputError, match="no hub config"):
        load_config(tmp_path / "missing.json")


def test_store_keeps_queue_order_and_survives_reopen(tmp_path: Path) -> None:
    store = HubStore(tmp_path / "hub.sqlite")
    a = store.add_queued("d/m", "t1", b"1", None)
    store.add_queued("d/m", "t2", b"2", 10.0)  # expires at t=10
    store.add_queued("d/m", "t3", b"3", None)
    store.delete_queued(a)
    store.put_session("d/m", {"devices/d/modules/m/inputs/#": 1})
    seq = store.add_upstream({"body": "x"})
    store.commit()
    store.close()
    store = HubStore(tmp_path / "hub.sqlite")
    assert [m.topic for m in store.queued(now=20.0)] == ["t3"]
    assert store.sessions() == {"d/m": {"devices/d/modules/m/inputs/#": 1}}
    assert store.upstream(0, 10) == [(seq, {"body": "x"})]
    assert store.queue_depths() == {"d/m": 1}
    store.close()


def test_serve_writes_hub_json_and_stops_gracefully(tmp_path: Path) -> None:
    config = make_state(tmp_path, "127.0.0.5", https_port=0, admin_port=0, mqtt_port=0)
    seen: dict[str, object] = {}

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        task = loop.create_task(serve(config, ready=ready.set))
        await asyncio.wait_for(ready.wait(), 10)
        seen.update(json.loads(config.runtime_file.read_text()))
        os.kill(os.getpid(), signal.SIGTERM)  # serve handles it: graceful stop
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    listeners = seen["listeners"]
    assert isinstance(listeners, list)
    mqtt = [e for e in listeners if e["name"] == "mqtt"]
    assert mqtt and mqtt[0]["available"] and mqtt[0]["port"] > 0
    assert {e["name"] for e in listeners} >= {"mqtt", "https", "admin", "workload"}
    assert seen["pid"]
    assert not config.runtime_file.exists()
