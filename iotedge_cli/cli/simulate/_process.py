"""The hub process: spawn it detached, wait until it answers, stop it.

A detached hub is ``python -m iotedge_cli.simulator.hub.run --config <state>/config.json`` in its
own session, its output appended to ``<state>/hub.log``. It is ready when it has written
``hub.json`` (with its pid) and its admin API answers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from iotedge_cli.errors import ServiceUnavailableError
from iotedge_cli.simulator.client import AdminClient, answering
from iotedge_cli.simulator.state import Running, pid_alive, remove_runtime_file

POLL = 0.05
# Detached hubs started by this process: a Popen collected while its child runs warns
# (ResourceWarning); the hub outlives the command on purpose, so keep the objects.
_DETACHED: list[subprocess.Popen[bytes]] = []


def log_file(state_dir: Path) -> Path:
    return state_dir / "hub.log"


def spawn(state_dir: Path, config: Path) -> subprocess.Popen[bytes]:
    return spawn_detached(
        ["iotedge_cli.simulator.hub.run", "--config", str(config)], log_file(state_dir)
    )


def spawn_detached(module_args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m MODULE ARGS...`` in its own session, output appended to ``log`` (0600);
    the process outlives this one."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", *module_args],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(fd)
    _DETACHED.append(process)
    return process


def wait_ready(process: subprocess.Popen[bytes], state_dir: Path, timeout: float) -> Running:
    """Wait until the spawned hub answers its admin API; on failure stop it and raise with the
    tail of its log."""
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            raise ServiceUnavailableError(
                f"the hub exited with status {code} while starting{_tail(state_dir)}",
                hint=f"the whole log is {log_file(state_dir)}",
            )
        running = answering(state_dir, process.pid)
        if running is not None:
            return running
        if time.monotonic() > deadline:
            terminate(process.pid, timeout=5.0)
            process.poll()
            raise ServiceUnavailableError(
                f"the hub did not answer within {timeout:g} s and was stopped{_tail(state_dir)}",
                hint=f"the whole log is {log_file(state_dir)}",
            )
        time.sleep(POLL)


def _tail(state_dir: Path, lines: int = 5) -> str:
    return tail(log_file(state_dir), lines)


def tail(log: Path, lines: int = 5) -> str:
    """``": a | b | c"``: the last non-blank lines of ``log`` for a one-line error ("" if none)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    last = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return (": " + " | ".join(last)) if last else ""


def wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        _reap(pid)
        if not pid_alive(pid):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)


def _reap(pid: int) -> None:
    for process in _DETACHED:
        if process.pid == pid:
            process.poll()  # reaps our own child and records its exit
            return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # our own child (a hub started by this process)


def terminate(pid: int, *, timeout: float) -> bool:
    """SIGTERM, wait, then SIGKILL; True when the process is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        if wait_exit(pid, timeout):
            return True
    return not pid_alive(pid)


def looks_like_hub(pid: int) -> bool:
    """Is ``pid`` (still) an edgectl process, not an unrelated one that reused a stale pid?"""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no procfs: trust the pid
    except OSError:
        return True
    return b"iotedge_cli" in command or b"edgectl" in command


def stop(state_dir: Path, running: Running, *, timeout: float) -> str:
    """Stop the hub: admin shutdown, else SIGTERM (then SIGKILL); clean up ``hub.json``.

    Returns how it was stopped: ``shutdown``, ``terminated`` or ``stale`` (already gone)."""
    how = "stale"
    if running.alive and looks_like_hub(running.pid):
        how = "shutdown"
        try:
            AdminClient(running.admin, state_dir=state_dir, timeout=3.0).shutdown()
        except ServiceUnavailableError:
            how = "terminated"
        if not wait_exit(running.pid, timeout if how == "shutdown" else 0.0):
            how = "terminated"
            if not terminate(running.pid, timeout=timeout):
                raise ServiceUnavailableError(
                    f"the hub (pid {running.pid}) in {state_dir} does not stop",
                    hint=f"kill it: kill -9 {running.pid}",
                )
    remove_runtime_file(state_dir)
    return how
