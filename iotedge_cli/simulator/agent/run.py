"""A detached simulation: ``python -m iotedge_cli.simulator.agent.run --state-dir D``.

What ``edgectl simulate start --detach`` spawns (its output goes to ``<state>/agent.log``). It
reads ``<state>/agent.json``, starts the hub's container and the agent loop, marks
``simulation.json`` ready after the first pass, and on SIGTERM/SIGINT removes every container
and the network it created, then exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

log = logging.getLogger("iotedge_cli.simulator.agent")


def main(argv: list[str] | None = None) -> None:
    from iotedge_cli.errors import EdgectlError
    from iotedge_cli.simulator.agent.docker_adapter import engine
    from iotedge_cli.simulator.agent.supervisor import Supervisor, load_settings

    parser = argparse.ArgumentParser(prog="python -m iotedge_cli.simulator.agent.run")
    parser.add_argument("--state-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    supervisor: Supervisor | None = None
    code = 0
    try:
        settings = load_settings(args.state_dir)
        supervisor = Supervisor(settings, engine(), on_event=log.info)
        supervisor.start()
        supervisor.run(stop)
    except EdgectlError as exc:
        log.error("%s", exc.message)
        if exc.hint:
            log.error("hint: %s", exc.hint)
        code = 1
    except Exception:
        log.exception("the simulation stopped")
        code = 1
    finally:
        if supervisor is not None:
            containers, networks = supervisor.teardown()
            log.info("removed %s; network %s", ", ".join(containers) or "nothing", networks)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
