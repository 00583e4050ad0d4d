"""``edgectl simulate status``: listeners, identities, connected clients, queue depths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.cli.simulate._shared import JSON, STATE_DIR, connect


def status(state_dir: Path | None = STATE_DIR, as_json: bool = JSON) -> None:
    """Show what the running hub listens on, its identities, connected clients and queues."""
    with error_boundary(as_json=as_json):
        client = connect(state_dir)
        doc = client.status()
        if as_json:
            print_json(doc)
            return
        for line in render(doc, client.state_dir):
            typer.echo(line)


def render(doc: dict[str, Any], state_dir: Path) -> list[str]:
    lines = [f"state: {state_dir}", "listeners:"]
    for item in doc.get("listeners") or []:
        where = f"{item.get('address')}:{item.get('port')}"
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
