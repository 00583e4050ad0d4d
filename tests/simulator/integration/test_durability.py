"""SIGKILL the hub process while a module sends 1000 QoS 1 messages; nothing acknowledged is
lost, order is kept per source (127.0.0.4)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.simulator.integration.harness import DEVICE, IOTHUB, make_state

mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed")

from iotedge_cli.simulator.hub.config import HubConfig  # noqa: E402
from iotedge_cli.simulator.hub.iothub.sas import generate_token  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

IP = "127.0.0.4"
TOTAL = 1000
REPO = Path(__file__).resolve().parents[3]


def start_hub(config: HubConfig, log: Path) -> subprocess.Popen[bytes]:
    config.runtime_file.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "iotedge_cli.simulator.hub.run",
                "--config",
                str(config.state_dir / "config.json"),
                "--log-level",
                "WARNING",
            ],
            stdout=out,
            stderr=out,
            env=env,
        )
    deadline = time.monotonic() + 20
    while not config.runtime_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the hub did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return proc


def keys(config: HubConfig) -> dict[str, str]:
    with sqlite3.connect(config.store_path) as db:
        return dict(db.execute("SELECT client_id, primary_key FROM identities"))


def client(config: HubConfig, module: str, key: str) -> Any:
    cid = f"{DEVICE}/{module}"
    c = mqtt.Client(client_id=cid, clean_session=False, protocol=mqtt.MQTTv311)
    c.username_pw_set(
        f"{IOTHUB}/{cid}/?api-version=2019-10-01",
        generate_token(IOTHUB, DEVICE, module, key, now=time.time()),
    )
    c.tls_set(ca_certs=str(config.ca_cert))
    c.reconnect_delay_set(min_delay=1, max_delay=1)
    c.max_inflight_messages_set(100)
    return c


def first_seen(seqs: list[int]) -> list[int]:
    seen: set[int] = set()
    out = []
    for s in seqs:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def test_sigkill_loses_no_acknowledged_message(tmp_path: Path) -> None:
    config = make_state(tmp_path, IP, https_port=0, admin_port=0)
    (tmp_path / "config.json").write_text(json.dumps(config.to_json()), encoding="utf-8")
    log = tmp_path / "hub.log"
    proc = start_hub(config, log)
    try:
        ids = keys(config)
        sender = client(config, "sensor", ids[f"{DEVICE}/sensor"])
        acked: set[int] = set()
        mids: dict[int, int] = {}
        lock = threading.Lock()
        killed = threading.Event()

        def on_publish(c: Any, u: Any, mid: int) -> None:
            with lock:
                acked.add(mids.get(mid, -1))
                if len(acked) >= 300 and not killed.is_set():
                    killed.set()

        sender.on_publish = on_publish
        sender.connect(IP, 8883)
        sender.loop_start()
        for seq in range(TOTAL):
            output = "toUpstream" if seq % 2 == 0 else "toOffline"
            info = sender.publish(
                f"devices/{DEVICE}/modules/sensor/messages/events/%24.on={output}",
                json.dumps({"seq": seq}).encode(),
                qos=1,
            )
            with lock:
                mids[info.mid] = seq
        assert killed.wait(20), log.read_text()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        acked_before_kill = len(acked)
        proc = start_hub(config, log)
        deadline = time.monotonic() + 60
        while len(acked - {-1}) < TOTAL and time.monotonic() < deadline:
            time.sleep(0.1)
        sender.disconnect()
        sender.loop_stop()
        assert len(acked - {-1}) == TOTAL, f"only {len(acked)} acknowledged"
        assert acked_before_kill < TOTAL  # the kill really came mid-stream

        # the offline module connects for the first time and subscribes
        got: list[int] = []
        receiver = client(config, "offline", ids[f"{DEVICE}/offline"])
        receiver.on_message = lambda c, u, m: got.append(json.loads(m.payload)["seq"])
        receiver.on_connect = lambda c, u, f, rc: c.subscribe(
            f"devices/{DEVICE}/modules/offline/inputs/#", 1
        )
        receiver.connect(IP, 8883)
        receiver.loop_start()
        deadline = time.monotonic() + 30
        while len(set(got)) < TOTAL // 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        receiver.disconnect()
        receiver.loop_stop()
        odd = list(range(1, TOTAL, 2))
        assert first_seen(got) == odd  # every one, first copies in order
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    with sqlite3.connect(config.store_path) as db:
        upstream = [
            json.loads(json.loads(d)["body"])["seq"]
            for (d,) in db.execute("SELECT data FROM upstream ORDER BY seq")
        ]
    assert first_seen(upstream) == list(range(0, TOTAL, 2))
    assert not config.runtime_file.exists()  # removed on the graceful stop
