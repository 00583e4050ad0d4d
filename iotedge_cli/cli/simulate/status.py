"""``edgectl simulate status``: listeners, identities, connected clients, queue depths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.cli.simulate._shared import JSON, STATE_DIR, connect


def status(state_dir: Path | None = STATE_DIR, as_json: bool = JSON) -> None:
    """Show the modules (desired and runtime status, image, restarts, exit code, uptime, last
    error — as the agent reports them to $edgeAgent), what the hub listens on, its
    identities, connected clients and queues."""
    with error_boundary(as_json=as_json):
        import time

        from iotedge_cli.simulator.agent.supervisor import read_simulation

        client = connect(state_dir)
        doc = client.status()
        sim = read_simulation(client.state_dir)
        if sim is not None:
            reported = client.twin("$edgeAgent").get("reported") or {}
            doc["simulation"] = sim
            now = time.time()
            doc["modules"] = {
                k: {**v, "uptimeSeconds": _uptime_seconds(v, now)}
                for k, v in (reported.get("modules") or {}).items()
                if isinstance(v, dict)
            }
            doc["systemModules"] = reported.get("systemModules") or {}
            doc["lastDesiredVersion"] = reported.get("lastDesiredVersion")
            doc["lastDesiredStatus"] = reported.get("lastDesiredStatus")
        if as_json:
            print_json(doc)
            return
        lines = render(doc, client.state_dir)
        if sim is not None:
            lines[1:1] = render_modules(doc)
        for line in lines:
            typer.echo(line)


def render_modules(doc: dict[str, Any]) -> list[str]:
    """The modules table of an agent simulation (from ``$edgeAgent``'s reported properties)."""
    sim = doc.get("simulation") or {}
    lines = [
        f"simulation: network {sim.get('network')}, hub container edgeHub "
        f"({sim.get('hubImage')}), gateway {sim.get('gatewayHostname')}, agent pid "
        f"{sim.get('pid')}"
    ]
    status = doc.get("lastDesiredStatus") or {}
    if status.get("code") not in (None, 200):
        lines.append(f"deployment refused: {status.get('description')}")
    modules = doc.get("modules") or {}
    lines.append(f"modules ({len(modules)}):" + ("" if modules else " none"))
    header = ("MODULE", "DESIRED", "RUNTIME", "RESTARTS", "EXIT", "UPTIME", "IMAGE")
    rows = [header]
    notes: list[str] = []
    for name, entry in sorted(modules.items()):
        runtime = str(entry.get("runtimeStatus", "?"))
        exit_code = entry.get("exitCode")
        rows.append(
            (
                name,
                str(entry.get("status", "?")),
                runtime,
                str(entry.get("restartCount", 0)),
                "-" if exit_code is None else str(exit_code),
                _uptime(entry.get("uptimeSeconds")),
                str((entry.get("settings") or {}).get("image", "?")),
            )
        )
        description = entry.get("statusDescription")
        if runtime not in ("running", "stopped") and description:
            notes.append(f"  {name}: {description}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append(
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
    return lines + notes


def _uptime_seconds(entry: dict[str, Any], now: float) -> int | None:
    """Seconds a running module has been up (from ``lastStartTimeUtc``), else None."""
    import datetime as dt

    started = entry.get("lastStartTimeUtc")
    if entry.get("runtimeStatus") != "running" or not isinstance(started, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0, int(now - moment.timestamp()))


def _uptime(seconds: Any) -> str:
    if not isinstance(seconds, int):
        return "-"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def render(doc: dict[str, Any], state_dir: Path) -> list[str]:
    lines = [f"state: {state_dir}", "listeners:"]
    for item in doc.get("listeners") or []:
        port = item.get("port")
        where = f"{item.get('address')}" + ("" if port is None else f":{port}")
        extra = "" if item.get("available", True) else f"  unavailable: {item.get('error')}"
        lines.append(f"  {item.get('name', '?'):<10} {where}{extra}")
    identities = [_identity(i) for i in doc.get("identities") or []]
    lines.append(f"identities ({len(identities)}): " + (", ".join(identities) or "none"))
    clients = doc.get("clients") or []
    lines.append(f"clients ({len(clients)}):" + ("" if clients else " none"))
    for item in clients:
        lines.append(
            f"  {item.get('clientId')}  {item.get('transport', '')}  "
            f"since {item.get('connectedSince', '?')}"
        )
    queues = doc.get("queues") or {}
    waiting = {k: v for k, v in queues.items() if v}
    lines.append(
        "queues: " + (", ".join(f"{k} {v}" for k, v in sorted(waiting.items())) or "empty")
    )
    lines.append(f"$upstream messages: {doc.get('upstream', 0)}")
    return lines


def _identity(item: Any) -> str:
    if isinstance(item, dict):
        name = item.get("id") or item.get("clientId") or item.get("identity") or "?"
        return f"{name} (x509)" if item.get("x509") else str(name)
    return str(item)
