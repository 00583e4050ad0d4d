"""``edgectl simulate monitor``: show ``$upstream`` messages as they arrive."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from iotedge_cli.cli.common import error_boundary
from iotedge_cli.cli.simulate._shared import STATE_DIR, connect
from iotedge_cli.errors import FindingsError

if TYPE_CHECKING:
    from iotedge_cli.simulator.client import AdminClient

POLL_WAIT = 20.0  # seconds per long-poll request
PAGE = 10_000  # the admin API's largest page


def monitor(
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per line (source, connectionDeviceId, ...)."
    ),
    count: int | None = typer.Option(
        None, "--count", "-n", min=1, help="Exit after this many messages."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", "-t", min=0.0, help="Exit after this many seconds."
    ),
    from_start: bool = typer.Option(
        False, "--from-start", help="Also show the messages stored before monitor started."
    ),
    state_dir: Path | None = STATE_DIR,
) -> None:
    """Print messages routed to $upstream (stored by the hub) until Ctrl-C, --count or --timeout.

    With --count N and --timeout S, exits 1 when fewer than N messages came within S seconds.
    """
    with error_boundary():
        client = connect(state_dir)
        after = 0 if from_start else _end(client)
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        try:
            while count is None or seen < count:
                wait = POLL_WAIT
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - time.monotonic()))
                page = client.upstream(
                    after, limit=100 if count is None else count - seen, wait=wait
                )
                for message in page.get("messages") or []:
                    typer.echo(
                        json.dumps(message, ensure_ascii=False) if as_json else human(message)
                    )
                    seen += 1
                after = max(after, int(page.get("last", after)))
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            return
        if count is not None and seen < count:
            raise FindingsError(
                f"timed out after {timeout:g} s with {seen} of {count} messages",
                hint="is the module connected and its route to $upstream right? "
                "see `edgectl simulate status`",
            )


def _end(client: AdminClient) -> int:
    """The sequence number of the last stored message. The status count is a lower bound of
    it (sequence numbers start at 1 and only grow); page from there to the end."""
    after = max(0, int(client.status().get("upstream") or 0))
    while True:
        page = client.upstream(after, limit=PAGE)
        after = max(after, int(page.get("last", after)))
        if len(page.get("messages") or []) < PAGE:
            return after


def human(message: dict[str, Any]) -> str:
    module = message.get("connectionModuleId")
    origin = str(message.get("connectionDeviceId", "?")) + (f"/{module}" if module else "")
    output = message.get("outputName")
    head = f"[{message.get('enqueuedTime', '')}] {origin}"
    if output:
        head += f" ({output})"
    body = message.get("body", "")
    if message.get("bodyEncoding"):
        body = f"<{message['bodyEncoding']}> {body}"
    lines = [f"{head}: {body}"]
    properties = message.get("properties") or {}
    if properties:
        lines.append("  properties: " + json.dumps(properties, ensure_ascii=False))
    return "\n".join(lines)
