"""The hub process: open the store, start the listeners, run until told to stop.

``python -m iotedge_cli.simulator.hub.run --config STATE_DIR/config.json`` (what
``edgectl simulate start`` spawns) or :func:`serve` in-process (tests run it in a background
event-loop thread). Listeners that cannot be opened (443 without root, a port in use) or whose
module is not built are recorded in ``hub.listeners`` with ``available: false`` and an
``error``; the hub runs with the rest, except that the MQTT listener is required.

While running, ``state_dir/hub.json`` holds ``{"pid", "listeners", "admin"}``; it is removed
on a graceful stop (SIGTERM, SIGINT, or the admin API's shutdown). ``pid`` is
``config.owner_pid`` when set (a hub in a container: the host supervisor's pid is the one the
CLI can check and signal); ``admin`` is ``http://127.0.0.1:PORT`` or ``unix:///abs/admin.sock``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iotedge_cli.simulator.hub.config import HubConfig, load_config

__all__ = ["main", "serve"]

log = logging.getLogger("iotedge_cli.simulator.hub")

# (listener name, module, function) of the HTTP helper's listeners, started when present.
_OPTIONAL = (
    ("https", "iotedge_cli.simulator.hub.web", "start_https"),
    ("admin", "iotedge_cli.simulator.hub.admin", "start_admin"),
    ("workload", "iotedge_cli.simulator.hub.workload", "start_workload"),
)


def _entry(name: str, address: str, port: int, error: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "address": address,
        "port": port,
        "available": error is None,
        "error": error,
    }


def _write_runtime(config: HubConfig, listeners: list[dict[str, Any]]) -> None:
    admin = next((e for e in listeners if e["name"] == "admin" and e["available"]), None)
    uri = None
    if admin is not None:
        uri = admin.get("uri") or f"http://127.0.0.1:{admin['port']}"
    data = {
        "pid": os.getpid() if config.owner_pid is None else config.owner_pid,
        "listeners": listeners,
        "admin": uri,
    }
    path = config.runtime_file
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _bound(server: asyncio.AbstractServer, address: str, port: int) -> tuple[str, int]:
    """The TCP address and port ``server`` listens on (the defaults for unix sockets)."""
    sockets = getattr(server, "sockets", None) or ()
    for sock in sockets:
        with contextlib.suppress(OSError):
            name = sock.getsockname()
            if isinstance(name, tuple) and len(name) >= 2 and isinstance(name[1], int):
                return str(name[0]), name[1]
    return address, port


async def serve(config: HubConfig, *, ready: Callable[[], None] | None = None) -> None:
    """Run the hub until SIGTERM/SIGINT (when in the main thread) or ``Hub.request_shutdown``;
    ``ready`` is called once the listeners accept connections and ``hub.json`` is written."""
    from iotedge_cli.simulator.hub.hub import Hub
    from iotedge_cli.simulator.hub.mqtt_listener import start_mqtt
    from iotedge_cli.simulator.hub.store import HubStore

    config.state_dir.mkdir(parents=True, exist_ok=True)
    store = HubStore(config.store_path)
    hub = Hub(config, store)
    servers: list[asyncio.AbstractServer] = []
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    try:
        await hub.start()
        try:
            mqtt = await start_mqtt(hub, config)
        except OSError as exc:
            raise OSError(
                f"cannot listen for MQTT on {config.bind}:{config.mqtt_port}: {exc.strerror or exc}"
            ) from exc
        servers.append(mqtt)
        hub.listeners.append(_entry("mqtt", *_bound(mqtt, config.bind, config.mqtt_port)))
        for name, module_name, function in _OPTIONAL:
            try:
                start = getattr(importlib.import_module(module_name), function)
            except (ImportError, AttributeError):
                hub.listeners.append(_entry(name, config.bind, 0, "not built"))
                continue
            before = len(hub.listeners)
            try:
                server = await start(hub, config)
            except Exception as exc:  # one listener failing must not stop the hub
                log.exception("listener %s failed to start", name)
                hub.listeners.append(_entry(name, config.bind, 0, str(exc) or type(exc).__name__))
                continue
            if server is not None:
                servers.append(server)
            if len(hub.listeners) == before:  # the starter did not record itself
                if server is None:
                    hub.listeners.append(_entry(name, config.bind, 0, "not started"))
                else:  # e.g. the admin API, which is always on 127.0.0.1
                    hub.listeners.append(_entry(name, *_bound(server, config.bind, 0)))
        for entry in hub.listeners:
            if not entry.get("available", False):
                log.warning("listener %s is unavailable: %s", entry.get("name"), entry.get("error"))
        _write_runtime(config, hub.listeners)
        # Signal handlers only in the main thread of a loop that supports them (tests run the
        # hub in a thread; Windows loops have none): then request_shutdown is the way to stop.
        unsupported = (NotImplementedError, RuntimeError, ValueError)
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(*unsupported):
                loop.add_signal_handler(signum, hub.request_shutdown)
                handled.append(signum)
        log.info("hub ready: %s", ", ".join(f"{e['name']}:{e['port']}" for e in hub.listeners))
        if ready is not None:
            ready()
        await hub.shutdown_requested.wait()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        for server in servers:
            server.close()
        await hub.stop()
        for server in servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        store.close()
        with contextlib.suppress(FileNotFoundError):
            config.runtime_file.unlink()


def main(argv: list[str] | None = None) -> None:
    """``python -m iotedge_cli.simulator.hub.run --config state_dir/config.json``."""
    parser = argparse.ArgumentParser(prog="python -m iotedge_cli.simulator.hub.run")
    parser.add_argument("--config", required=True, type=Path, help="the state dir's config.json")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING ...")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(args.config)
        asyncio.run(serve(config))
    except Exception as exc:  # the log is what the user reads
        log.error("the hub stopped: %s", exc)
        raise SystemExit(1) from exc


if __name__ == "__main__":
    main()
