"""Simulator hub performance beside mosquitto: routed QoS 1 throughput, latency, memory.

Prints, side by side in one run, with the same paho-mqtt client code for both servers:
- throughput: QoS 1 messages/s received, sender -> server -> receiver, 200-byte payloads, a
  window of 20 unacknowledged publishes; on the hub the message is routed
  ``FROM /messages/modules/sender/outputs/out INTO BrokeredEndpoint("/modules/receiver/inputs/in")``
  (clients authenticate as the SDK does: TLS to the edge CA, SAS password, clean_session=0);
  on mosquitto it is a plain publish -> subscribe (target: hub >= 0.5 x mosquitto);
- latency: p50/p99 end to end (a monotonic timestamp in the payload) at a steady, paced
  1000 msg/s (target: hub p99 <= 10 ms);
- memory: VmRSS of the hub process idle after start and with 100 connected module clients
  (targets: <= 60 MB / <= 150 MB), mosquitto's beside it.

The hub runs as its own process (``python -m iotedge_cli.simulator.hub.run``) in a temporary
state directory; mosquitto (Debian package ``mosquitto``, installed with apt-get when absent and
running as root) runs with a temporary config (``set_tcp_nodelay true``) on the same loopback
address, by default over TLS with the hub's server certificate (``--mosquitto-transport plain``
for plain TCP). Everything binds to 127.0.0.x and is removed on exit, also on Ctrl-C.
``--profile FILE`` runs the hub under cProfile and prints where it spends its time.

Usage: python bench/hub_bench.py [--seconds S] [--latency-seconds S] [--rate N] [--clients N]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parents[1]
DEVICE = "bench-device"
IOTHUB = "bench-hub.azure-devices.net"
API_VERSION = "2019-10-01"
STAMP = struct.Struct("!QQ")  # sequence number, time.monotonic_ns() at publish

# Targets (issue 6, "Must show").
TARGET_RATIO = 0.5
TARGET_P99_MS = 10.0
TARGET_IDLE_MB = 60.0
TARGET_CLIENTS_MB = 150.0


# --- the servers ------------------------------------------------------------------------------


@dataclass
class Server:
    """One MQTT server under test and how a client reaches it."""

    name: str
    host: str
    port: int
    pid: int
    ca_cert: Path | None  # None: plain TCP
    keys: dict[str, str] = field(default_factory=dict)  # module -> SAS key (hub only)
    routed: bool = False  # True: the hub (module topics + routes); False: plain pub -> sub

    def pub_topic(self, module: str, output: str) -> str:
        return f"devices/{DEVICE}/modules/{module}/messages/events/%24.on={output}"

    def sub_topic(self, module: str, peer: str = "sender", output: str = "out") -> str:
        if self.routed:
            return f"devices/{DEVICE}/modules/{module}/inputs/#"
        return self.pub_topic(peer, output)


def manifest(extra_modules: int) -> dict[str, Any]:
    names = ["sender", "receiver", *(f"m{i:03d}" for i in range(extra_modules))]
    modules = {
        name: {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": {"image": f"example/{name}:1"},
        }
        for name in names
    }
    return {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "runtime": {"type": "docker", "settings": {}},
                    "systemModules": {},
                    "modules": modules,
                }
            },
            "$edgeHub": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "routes": {
                        "bench": "FROM /messages/modules/sender/outputs/out "
                        'INTO BrokeredEndpoint("/modules/receiver/inputs/in")'
                    },
                    "storeAndForwardConfiguration": {"timeToLiveSecs": 7200},
                }
            },
        }
    }


class Processes:
    """Child processes and temporary directories, removed on exit (also on Ctrl-C/SIGTERM)."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.dirs: list[Path] = []

    def tempdir(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self.dirs.append(path)
        return path

    def spawn(
        self, name: str, argv: list[str], log: Path, **kwargs: Any
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
                **kwargs,
            )
        self.children.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def close(self) -> None:
        for _, proc in reversed(self.children):
            self.stop(proc)
        self.children.clear()
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)
        self.dirs.clear()


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_port(host: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{log.stem} exited ({proc.returncode}):\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {host}:{port} after 20 s:\n{log.read_text()}")


# The hub under cProfile with a CPU clock (time.process_time): on a busy machine a wall clock
# would charge the time the hub waits for a CPU to whatever call it was preempted in.
PROFILED_HUB = """
import cProfile, sys, time
from iotedge_cli.simulator.hub.run import main
out = sys.argv[1]
profiler = cProfile.Profile(time.process_time)
profiler.enable()
try:
    main(sys.argv[2:])
finally:
    profiler.disable()
    profiler.dump_stats(out)
"""


def start_hub(procs: Processes, bind: str, modules: int, profile: Path | None) -> Server:
    from iotedge_cli.simulator.client import AdminClient
    from iotedge_cli.simulator.state import (
        ensure_certs,
        ensure_state_dir,
        make_config,
        read_running,
        write_config,
    )

    state = ensure_state_dir(procs.tempdir("edgectl-hub-bench-") / "state")
    manifest_path = state.parent / "deployment.json"
    manifest_path.write_text(json.dumps(manifest(modules)), encoding="utf-8")
    certs = ensure_certs(state, device_id=DEVICE, gateway_hostname=bind)
    config = make_config(
        state,
        certs,
        gateway_hostname=bind,
        bind=bind,
        device_id=DEVICE,
        iothub_hostname=IOTHUB,
        mqtt_port=0,
        https_port=0,
        admin_port=0,
        manifest=manifest_path,
    )
    config_file = write_config(config)
    argv = [sys.executable, "-m", "iotedge_cli.simulator.hub.run"]
    if profile is not None:
        argv = [sys.executable, "-c", PROFILED_HUB, str(profile)]
    argv += ["--config", str(config_file), "--log-level", "WARNING"]
    log = state / "hub.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # cwd=REPO: "python -m" puts the cwd first on sys.path; run this tree's hub.
    proc = procs.spawn("hub", argv, log, env=env, cwd=REPO)
    deadline = time.monotonic() + 30
    while (running := read_running(state)) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the hub did not start:\n{log.read_text()}")
        time.sleep(0.05)
    mqtt = next(e for e in running.listeners if e.get("name") == "mqtt")
    port = int(mqtt["port"])
    wait_port(bind, port, proc, log)
    admin = AdminClient(running.admin, state_dir=state)
    keys = {}
    for name in ["sender", "receiver", *(f"m{i:03d}" for i in range(modules))]:
        conn = admin.credentials(name)["EdgeHubConnectionString"]
        fields = dict(part.split("=", 1) for part in conn.split(";"))
        keys[name] = fields["SharedAccessKey"]
    return Server("edgectl hub", bind, port, proc.pid, config.ca_cert, keys, routed=True)


def find_mosquitto() -> str | None:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def mosquitto_binary() -> str:
    found = find_mosquitto()
    if found:
        return found
    how = "apt-get install -y mosquitto  (Debian package; the bench starts its own broker)"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"mosquitto is absent; running: {how}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "mosquitto"], env=env, check=False)
        found = find_mosquitto()
        if found:
            return found
    raise SystemExit(
        f"mosquitto is not installed; install it with: sudo {how}, "
        "or skip it with --mosquitto-transport none"
    )


def start_mosquitto(procs: Processes, bind: str, tls_from: Server | None) -> Server:
    binary = mosquitto_binary()
    folder = procs.tempdir("edgectl-mosquitto-bench-")
    port = free_port(bind)
    lines = [
        f"listener {port} {bind}",
        "allow_anonymous true",
        "set_tcp_nodelay true",
        "persistence false",
        # no drops while the receiver lags the sender (the default queue is 1000 messages)
        "max_queued_messages 0",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
    ]
    if os.geteuid() == 0:
        lines.append("user root")  # keep the rights to read the key in our 0700 temp dir
    ca: Path | None = None
    if tls_from is not None and tls_from.ca_cert is not None:
        certs = tls_from.ca_cert.parent
        chain = next(certs.glob(f"iot-edge-server-{bind}*full-chain.cert.pem"))
        key = next(certs.glob(f"private/iot-edge-server-{bind}*.key.pem"))
        lines += [f"certfile {chain}", f"keyfile {key}"]
        ca = tls_from.ca_cert
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = folder / "mosquitto.log"
    proc = procs.spawn("mosquitto", [binary, "-c", str(conf)], log)
    wait_port(bind, port, proc, log)
    return Server("mosquitto", bind, port, proc.pid, ca)


def mosquitto_version() -> str:
    try:
        out = subprocess.run(
            [mosquitto_binary(), "-h"], capture_output=True, text=True, check=False, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.splitlines()[0].rpartition(" ")[2] if out else "?"


# --- the clients (identical for both servers) -------------------------------------------------


def sas_token(key: str, module: str, ttl: int = 3600) -> str:
    """As azure-iot-device builds it (hub-protocol §3.3)."""
    sr = quote(f"{IOTHUB}/devices/{DEVICE}/modules/{module}", safe="")
    se = str(int(time.time() + ttl))
    digest = hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()
    sig = quote(base64.b64encode(digest).decode(), safe="")
    return f"SharedAccessSignature sr={sr}&sig={sig}&se={se}"


def username(module: str) -> str:
    agent = (
        f"azure-iot-device-iothub-py/2.14.0({platform.python_version()};"
        f"{platform.system()} {platform.release()};{platform.machine()})"
    )
    query = urlencode([("api-version", API_VERSION), ("DeviceClientType", agent)], quote_via=quote)
    return f"{IOTHUB}/{DEVICE}/{module}/?{query}"


DUMMY_KEY = base64.b64encode(b"\0" * 32).decode()


class Client:
    """A paho-mqtt 1.6.1 client set up as the SDK's (client id ``device/module``,
    clean_session=0, MQTT 3.1.1, TLS to the server's CA when it has one), with its own loop
    thread."""

    def __init__(self, server: Server, module: str) -> None:
        import paho.mqtt.client as mqtt  # type: ignore[import-untyped]

        self.server = server
        self.module = module
        cid = f"{DEVICE}/{module}"
        self.c = mqtt.Client(client_id=cid, clean_session=False, protocol=mqtt.MQTTv311)
        self.c.username_pw_set(
            username(module), sas_token(server.keys.get(module, DUMMY_KEY), module)
        )
        if server.ca_cert is not None:
            self.c.tls_set(ca_certs=str(server.ca_cert))
        self.c.max_inflight_messages_set(1000)  # the window is ours (Flow), not paho's
        self.c.max_queued_messages_set(0)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.rc: int | None = None
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda c, u, mid, granted: self.subscribed.set()

    def _on_connect(self, c: Any, u: Any, flags: Any, rc: int) -> None:
        self.rc = rc
        self.connected.set()

    def start(self, subscribe: list[str] | None = None, timeout: float = 20.0) -> Client:
        self.c.connect(self.server.host, self.server.port, keepalive=60)
        self.c.loop_start()
        if not self.connected.wait(timeout) or self.rc != 0:
            raise SystemExit(f"{self.server.name}: {self.module} did not connect (rc={self.rc})")
        if subscribe:
            self.c.subscribe([(topic, 1) for topic in subscribe])
            if not self.subscribed.wait(timeout):
                raise SystemExit(f"{self.server.name}: {self.module}: no SUBACK")
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.c.disconnect()
        self.c.loop_stop()


class Flow:
    """sender -> server -> receiver, QoS 1, at most ``window`` publishes unacknowledged."""

    def __init__(self, server: Server, window: int, size: int) -> None:
        self.server = server
        self.size = size
        self.window = threading.Semaphore(window)
        self.lock = threading.Lock()
        self.seen: set[int] = set()
        self.latencies: list[int] = []  # ns, first copy of each sequence number
        self.last_arrival = 0
        self.arrived = threading.Condition(self.lock)
        self.seq = 0
        self.receiver = Client(server, "receiver")
        self.receiver.c.on_message = self._on_message
        self.sender = Client(server, "sender")
        self.sender.c.on_publish = lambda c, u, mid: self.window.release()
        self.topic = server.pub_topic("sender", "out")
        self.padding = b"x" * max(0, size - STAMP.size)

    def __enter__(self) -> Flow:
        self.receiver.start([self.server.sub_topic("receiver")])
        self.sender.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sender.stop()
        self.receiver.stop()

    def _on_message(self, c: Any, u: Any, msg: Any) -> None:
        now = time.monotonic_ns()
        seq, stamp = STAMP.unpack_from(msg.payload)
        with self.lock:
            if seq not in self.seen:
                self.seen.add(seq)
                self.latencies.append(now - stamp)
                self.last_arrival = now
                self.arrived.notify_all()

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()
            self.latencies.clear()

    def publish(self) -> int:
        if not self.window.acquire(timeout=30):
            raise SystemExit(f"{self.server.name}: no PUBACK for 30 s")
        seq = self.seq
        self.seq += 1
        payload = STAMP.pack(seq, time.monotonic_ns()) + self.padding
        self.sender.c.publish(self.topic, payload, qos=1)
        return seq

    def drain(self, first: int, last: int, timeout: float = 30.0) -> int:
        """Wait until every sequence number in [first, last) arrived; the count that did."""
        want = set(range(first, last))
        deadline = time.monotonic() + timeout
        with self.lock:
            while not want <= self.seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.arrived.wait(min(left, 0.5))
            return len(want & self.seen)

    def saturate(self, seconds: float) -> tuple[float, int, int]:
        """(messages/s received, sent, received) publishing as fast as the window allows."""
        warm = self.seq
        for _ in range(200):  # warm-up: TLS, routes, the store
            self.publish()
        self.drain(warm, self.seq)
        self.reset()
        first = self.seq
        start = time.monotonic_ns()
        end = start + int(seconds * 1e9)
        while time.monotonic_ns() < end:
            self.publish()
        got = self.drain(first, self.seq)
        with self.lock:
            elapsed = (self.last_arrival - start) / 1e9
        return got / elapsed if elapsed > 0 else 0.0, self.seq - first, got

    def paced(self, rate: float, seconds: float) -> tuple[list[int], float, int, int]:
        """(latencies ns, achieved send rate, sent, received) at a steady ``rate``."""
        warm = self.seq
        for _ in range(100):
            self.publish()
            time.sleep(1 / rate)
        self.drain(warm, self.seq)
        self.reset()
        first = self.seq
        count = int(rate * seconds)
        interval = 1e9 / rate
        start = time.monotonic_ns()
        for i in range(count):
            due = start + int(i * interval)
            wait = due - time.monotonic_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            self.publish()
        achieved = count / ((time.monotonic_ns() - start) / 1e9)
        got = self.drain(first, self.seq)
        with self.lock:
            latencies = sorted(self.latencies)
        return latencies, achieved, count, got


def percentile(values: list[int], p: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))
    return values[index] / 1e6  # ms


# --- memory -----------------------------------------------------------------------------------


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB from /proc/<pid>/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found.get("VmRSS", float("nan")), found.get("VmHWM", float("nan"))


@contextlib.contextmanager
def connected(server: Server, count: int) -> Iterator[list[Client]]:
    """``count`` module clients connected, each subscribed as the SDK does."""
    clients: list[Client] = []
    try:
        for i in range(count):
            name = f"m{i:03d}"
            topics = [
                server.sub_topic(name, peer=name, output="in")
                if not server.routed
                else f"devices/{DEVICE}/modules/{name}/inputs/#",
                "$iothub/methods/POST/#",
                "$iothub/twin/res/#",
                "$iothub/twin/PATCH/properties/desired/#",
            ]
            clients.append(Client(server, name).start(topics))
        yield clients
    finally:
        for client in clients:
            client.stop()


# --- the run ----------------------------------------------------------------------------------


def sched_ns(pid: int) -> tuple[int, int]:
    """(ns on a CPU, ns runnable but waiting for a CPU), all threads of ``pid``
    (/proc/<pid>/task/*/schedstat)."""
    run = wait = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().split()
            run += int(fields[0])
            wait += int(fields[1])
    return run, wait


class Sched:
    """On-CPU and run-queue-wait time of some processes over a stretch of wall time, as
    fractions of that time (1.0 = one core busy / one thread always waiting)."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.start = time.monotonic_ns()
        self.before = [sched_ns(pid) for pid in pids]

    def stop(self) -> list[tuple[float, float]]:
        wall = time.monotonic_ns() - self.start
        after = [sched_ns(pid) for pid in self.pids]
        return [
            ((a[0] - b[0]) / wall, (a[1] - b[1]) / wall)
            for a, b in zip(after, self.before, strict=True)
        ]


@dataclass
class Figures:
    rates: list[float] = field(default_factory=list)  # one per round
    cpu: list[float] = field(default_factory=list)  # server on CPU, fraction of wall time
    waiting: list[float] = field(default_factory=list)  # server waiting for a CPU
    client_cpu: list[float] = field(default_factory=list)  # this process (the clients)
    client_waiting: list[float] = field(default_factory=list)
    sent: int = 0
    got: int = 0
    p50: float = float("nan")
    p99: float = float("nan")
    pmax: float = float("nan")
    paced_rate: float = float("nan")
    paced_sent: int = 0
    paced_got: int = 0
    idle: float = float("nan")
    clients: float = float("nan")
    after: float = float("nan")
    peak: float = float("nan")

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else float("nan")


def memory(server: Server, figures: Figures, clients: int) -> None:
    time.sleep(0.5)
    figures.idle = rss_mb(server.pid)[0]
    if clients:
        with connected(server, clients):
            time.sleep(1.0)
            figures.clients = rss_mb(server.pid)[0]
        time.sleep(0.5)


def measure(servers: list[Server], args: argparse.Namespace) -> list[Figures]:
    """Memory first (idle, then with clients), then throughput in ``args.rounds`` rounds that
    alternate between the servers (so a noisy neighbour hurts both alike), then latency."""
    figures = [Figures() for _ in servers]
    for server, f in zip(servers, figures, strict=True):
        memory(server, f, args.clients)
    with contextlib.ExitStack() as stack:
        flows = [stack.enter_context(Flow(s, args.window, args.payload)) for s in servers]
        for _ in range(args.rounds):
            for server, flow, f in zip(servers, flows, figures, strict=True):
                sched = Sched(server.pid, os.getpid())
                rate, sent, got = flow.saturate(args.seconds)
                (cpu, waiting), (client_cpu, client_waiting) = sched.stop()
                f.cpu.append(cpu)
                f.waiting.append(waiting)
                f.client_cpu.append(client_cpu)
                f.client_waiting.append(client_waiting)
                f.rates.append(rate)
                f.sent += sent
                f.got += got
        for flow, f in zip(flows, figures, strict=True):
            lat, f.paced_rate, f.paced_sent, f.paced_got = flow.paced(
                args.rate, args.latency_seconds
            )
            f.p50, f.p99 = percentile(lat, 50), percentile(lat, 99)
            f.pmax = lat[-1] / 1e6 if lat else float("nan")
    for server, f in zip(servers, figures, strict=True):
        f.after, f.peak = rss_mb(server.pid)
    return figures


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(hub: Figures, ref: Figures | None, args: argparse.Namespace, transport: str) -> None:
    print()
    head = f"{'':44}{'edgectl hub':>14}"
    print(head + (f"{'mosquitto':>14}" if ref else "") + "   target")
    r = ref or Figures()

    def row(label: str, a: float | str, b: float | str, fmt: str, target: str = "") -> None:
        cells = f"{a:{fmt}}".rjust(14) + (f"{b:{fmt}}".rjust(14) if ref else "")
        print(f"  {label:42}{cells}   {target}".rstrip())

    def spread(f: Figures) -> str:
        return " ".join(f"{x:.0f}" for x in f.rates)

    ratio = hub.rate / r.rate if ref and r.rate else float("nan")
    ratio_text = f"{ratio:.2f}x mosquitto (>= {TARGET_RATIO}x): {verdict(ratio >= TARGET_RATIO)}"
    row(
        f"throughput, QoS 1 msgs/s, median of {args.rounds}",
        hub.rate,
        r.rate,
        ".0f",
        ratio_text if ref else "",
    )
    print(f"    each round: hub {spread(hub)}" + (f"; mosquitto {spread(r)}" if ref else ""))
    row("  server on CPU, % of wall time", pct(hub.cpu), pct(r.cpu), ".0f")
    row("  server waiting for a CPU, % of wall time", pct(hub.waiting), pct(r.waiting), ".0f")
    row("  clients (this process) on CPU, %", pct(hub.client_cpu), pct(r.client_cpu), ".0f")
    row("  clients waiting for a CPU, %", pct(hub.client_waiting), pct(r.client_waiting), ".0f")
    row("  server CPU per message, us", per_message(hub.cpu, hub), per_message(r.cpu, r), ".1f")
    row(
        "  clients CPU per message, us",
        per_message(hub.client_cpu, hub),
        per_message(r.client_cpu, r),
        ".1f",
    )
    row("  messages sent, all rounds", hub.sent, r.sent, ".0f")
    row("  messages received (unique)", hub.got, r.got, ".0f")
    row(f"latency at {args.rate:.0f} msg/s, p50 ms", hub.p50, r.p50, ".2f")
    p99_ok = verdict(hub.p99 <= TARGET_P99_MS)
    row("  p99 ms", hub.p99, r.p99, ".2f", f"hub <= {TARGET_P99_MS:.0f} ms: {p99_ok}")
    row("  max ms", hub.pmax, r.pmax, ".2f")
    row("  achieved send rate msg/s", hub.paced_rate, r.paced_rate, ".0f")
    row(
        "  sent/received", f"{hub.paced_sent}/{hub.paced_got}", f"{r.paced_sent}/{r.paced_got}", "s"
    )
    idle_ok = verdict(hub.idle <= TARGET_IDLE_MB)
    target = f"hub <= {TARGET_IDLE_MB:.0f}: {idle_ok}"
    row("RSS idle after start, MB", hub.idle, r.idle, ".1f", target)
    if args.clients:
        clients_ok = verdict(hub.clients <= TARGET_CLIENTS_MB)
        target = f"hub <= {TARGET_CLIENTS_MB:.0f}" + (
            f": {clients_ok}" if args.clients == 100 else " (at 100)"
        )
        row(f"RSS with {args.clients} connected clients, MB", hub.clients, r.clients, ".1f", target)
    row("RSS after the load, MB", hub.after, r.after, ".1f")
    row("peak RSS (VmHWM), MB", hub.peak, r.peak, ".1f")
    print()
    print(
        f"method: paho-mqtt 1.6.1 clients in this process (one loop thread each), QoS 1, "
        f"{args.payload}-byte payloads, window {args.window}; throughput {args.rounds} x "
        f"{args.seconds:g} s (+ drain) alternating servers; latency {args.latency_seconds:g} s "
        f"paced; hub over TLS with SAS, routed module -> module; mosquitto "
        f"{mosquitto_version() if ref else '-'} ({transport}, set_tcp_nodelay true) plain "
        f"pub -> sub; CPU figures are medians over the throughput rounds (/proc schedstat); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end."
    )


def per_message(cpu: list[float], f: Figures) -> float:
    """CPU microseconds per received message, median over the rounds."""
    costs = [c / rate * 1e6 for c, rate in zip(cpu, f.rates, strict=True) if rate > 0]
    return statistics.median(costs) if costs else float("nan")


def pct(values: list[float]) -> float:
    """The median, in percent (threads add up: 150 = one and a half cores)."""
    return statistics.median(values) * 100 if values else float("nan")


def print_profile(path: Path, top: int) -> None:
    import pstats

    if not path.exists():
        print(f"no profile written at {path} (the hub did not exit cleanly)")
        return
    print()
    print(f"hub profile ({path}): top {top} by own time")
    stats = pstats.Stats(str(path)).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    print(f"hub profile: top {top} by cumulative time")
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="saturated throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per server")
    parser.add_argument("--latency-seconds", type=float, default=5.0, help="paced latency run")
    parser.add_argument("--rate", type=float, default=1000.0, help="paced rate, msg/s")
    parser.add_argument("--window", type=int, default=20, help="QoS 1 publishes in flight")
    parser.add_argument("--payload", type=int, default=200, help="payload bytes (>= 16)")
    parser.add_argument("--clients", type=int, default=100, help="clients for the RSS figure")
    parser.add_argument("--bind", default="127.0.0.9", help="loopback address for both servers")
    parser.add_argument(
        "--mosquitto-transport",
        choices=("tls", "plain", "none"),
        default="tls",
        help="tls: the hub's certificate (fair); plain: TCP; none: skip mosquitto",
    )
    parser.add_argument("--profile", type=Path, help="run the hub under cProfile, write FILE")
    parser.add_argument("--profile-top", type=int, default=30, help="functions to print")
    args = parser.parse_args()
    if not args.bind.startswith("127."):
        parser.error("--bind must be a 127.0.0.x loopback address")
    if args.payload < STAMP.size:
        parser.error(f"--payload must be at least {STAMP.size} bytes")

    procs = Processes()

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # also when started from a shell that ignores SIGINT for background jobs
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        hub = start_hub(procs, args.bind, args.clients, args.profile)
        ref_server = None
        if args.mosquitto_transport != "none":
            tls = hub if args.mosquitto_transport == "tls" else None
            ref_server = start_mosquitto(procs, args.bind, tls)
        print(f"hub pid {hub.pid} on {hub.host}:{hub.port} (TLS)", end="")
        if ref_server:
            print(
                f", mosquitto pid {ref_server.pid} on {ref_server.host}:{ref_server.port} "
                f"({args.mosquitto_transport})",
                end="",
            )
        print(flush=True)
        servers = [hub] if ref_server is None else [ref_server, hub]
        figures = measure(servers, args)
        report(figures[-1], figures[0] if ref_server else None, args, args.mosquitto_transport)
        for name, proc in procs.children:
            if name == "hub":
                procs.stop(proc, timeout=60)  # graceful: cProfile writes on exit
        if args.profile is not None:
            print_profile(args.profile, args.profile_top)
    except KeyboardInterrupt:
        print("interrupted; stopping the servers", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        procs.close()


if __name__ == "__main__":
    main()
