"""``edgectl simulate send``: put a message on a module's input, as if routed to it."""

from __future__ import annotations

from pathlib import Path

import typer

from iotedge_cli.cli.common import error_boundary
from iotedge_cli.cli.simulate._shared import STATE_DIR, connect
from iotedge_cli.errors import InputError, UsageError


def send(
    module: str | None = typer.Option(
        None,
        "--module",
        help="The target module. Default: the module of single-module mode (start --module).",
    ),
    input_name: str = typer.Option(..., "--input", help="The module's input name."),
    data: str | None = typer.Option(None, "--data", help="The message body (text)."),
    data_file: Path | None = typer.Option(
        None, "--data-file", help="Read the body from this file (UTF-8 text)."
    ),
    content_type: str | None = typer.Option(
        None, "--content-type", help="contentType system property, e.g. application/json."
    ),
    content_encoding: str | None = typer.Option(
        None, "--content-encoding", help="contentEncoding system property, e.g. utf-8."
    ),
    prop: list[str] = typer.Option(
        [], "--prop", help="An application property KEY=VALUE (repeatable)."
    ),
    state_dir: Path | None = STATE_DIR,
) -> None:
    """Send a message to a module's input through the running hub."""
    with error_boundary():
        if (data is None) == (data_file is None):
            raise UsageError(
                "give exactly one of --data TEXT and --data-file F",
                hint="e.g. --data '{\"temperature\": 21.5}'",
            )
        body = data if data is not None else _read(data_file)
        properties = parse_props(prop)
        client = connect(state_dir)
        client.send(
            input_name=input_name,
            data=body,
            module_id=module,
            content_type=content_type,
            content_encoding=content_encoding,
            properties=properties,
        )
        target = f"{module}/{input_name}" if module else input_name
        typer.echo(f"sent {len(body.encode('utf-8'))} bytes to {target}")


def parse_props(items: list[str]) -> dict[str, str]:
    properties: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(
                f"--prop {item!r} is not KEY=VALUE",
                hint="e.g. --prop alert=true (repeat --prop for more)",
            )
        properties[key] = value
    return properties


def _read(path: Path | None) -> str:
    assert path is not None
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: is not UTF-8 text; the admin API carries text bodies",
            hint="send text (e.g. JSON) or base64-encode the file first",
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
