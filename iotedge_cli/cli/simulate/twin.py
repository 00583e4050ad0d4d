"""``edgectl simulate twin``: show a module's twin, or patch its desired properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.cli.simulate._shared import JSON, STATE_DIR, connect, parse_json
from iotedge_cli.errors import UsageError


def twin(
    identity: str = typer.Argument(..., help="A module of the edge device, or a leaf device id."),
    set_: str | None = typer.Option(
        None,
        "--set",
        help="A JSON object: patch the desired properties (null removes a property); the hub "
        "pushes the patch to the connected module.",
    ),
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Print the twin (desired and reported properties), after applying --set if given."""
    with error_boundary(as_json=as_json):
        patch: dict[str, Any] | None = None
        if set_ is not None:
            value = parse_json(set_, "--set")
            if not isinstance(value, dict):
                raise UsageError(
                    f"--set {set_!r} is not a JSON object",
                    hint="""give the desired properties to change, e.g. --set '{"threshold": 30}'""",
                )
            patch = value
        client = connect(state_dir)
        doc = client.twin(identity) if patch is None else client.patch_twin(identity, patch)
        if as_json:
            print_json(doc)
            return
        for line in render(doc):
            typer.echo(line)


def render(doc: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for part in ("desired", "reported"):
        section = doc.get(part)
        if not isinstance(section, dict):
            continue
        lines.append(f"{part} ($version {section.get('$version', '?')}):")
        body = {k: v for k, v in section.items() if k not in ("$version", "$metadata")}
        text = json.dumps(body, indent=2, ensure_ascii=False)
        lines += ["  " + line for line in text.splitlines()]
    return lines
