"""``edgectl device``: device identities and twins in IoT Hub's registry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli._hub import HUB_CONNECTION_STRING, JSON, STATE_DIR, TO_SIMULATOR, hub_service
from iotedge_cli.cli.common import error_boundary, print_json

app = typer.Typer(
    help="Create, show, list and delete device identities in IoT Hub; read and tag their twins.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NAME = typer.Argument(..., help="The device id.", show_default=False)


@app.command("create")
def create(
    name: str = NAME,
    edge: bool = typer.Option(False, "--edge", help="An IoT Edge device (it runs modules)."),
    auth: str = typer.Option(
        "sas",
        "--auth",
        help="sas (keys made by edgectl), x509-thumbprint (with --cert) or x509-ca (a "
        "certificate signed by a CA verified in the hub).",
    ),
    cert: Path | None = typer.Option(
        None, "--cert", help="With --auth x509-thumbprint: the device's certificate (PEM or DER)."
    ),
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Register device NAME. Keys are not printed: see `edgectl device connection-string`."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.cloud import devices

        devices.check_auth(auth, cert)
        thumbprint = devices.thumbprint_of(cert) if cert is not None else None
        keys = devices.new_keys() if auth == "sas" else None
        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            doc = service.create_device(
                name, edge=edge, auth=auth, keys=keys, thumbprint=thumbprint
            )
        if as_json:
            print_json(devices.without_keys(doc))
            return
        kind = "edge device" if edge else "device"
        typer.echo(f"created {kind} {name} ({auth}) on IoT Hub {service.conn.host_name}")
        if auth == "sas":
            typer.echo(f"  its connection string: edgectl device connection-string {name}")


@app.command("show")
def show(
    name: str = NAME,
    show_keys: bool = typer.Option(False, "--show-keys", help="Print the SAS keys too."),
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Show device NAME: kind, authentication, status, connection state."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.cloud import devices

        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            doc = service.get_device(name)
        shown = doc if show_keys else devices.without_keys(doc)
        if as_json:
            print_json(shown)
            return
        for line in render_device(shown):
            typer.echo(line)


def render_device(doc: dict[str, Any]) -> list[str]:
    from iotedge_cli.cloud import devices

    lines = [
        f"deviceId: {doc.get('deviceId')}",
        f"edge: {'yes' if devices.is_edge(doc) else 'no'}",
        f"authentication: {devices.auth_type(doc)}",
    ]
    for key in ("status", "connectionState", "lastActivityTime", "deviceScope"):
        if doc.get(key) not in (None, ""):
            lines.append(f"{key}: {doc[key]}")
    auth = doc.get("authentication") or {}
    for section in ("symmetricKey", "x509Thumbprint"):
        for key, value in (auth.get(section) or {}).items():
            if value:
                lines.append(f"{key}: {value}")
    return lines


@app.command("list")
def list_(
    edge: bool = typer.Option(False, "--edge", help="Only IoT Edge devices."),
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """List the devices of the hub (up to 1000)."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.cloud import devices

        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            found = service.list_devices()
        found = [devices.without_keys(d) for d in found if devices.is_edge(d) or not edge]
        found.sort(key=lambda d: str(d.get("deviceId")))
        if as_json:
            print_json(found)
            return
        if not found:
            typer.echo("no edge devices" if edge else "no devices")
            return
        rows = [("DEVICE", "EDGE", "AUTH", "STATUS", "CONNECTION")]
        rows += [
            (
                str(d.get("deviceId")),
                "yes" if devices.is_edge(d) else "no",
                devices.auth_type(d),
                str(d.get("status") or "-"),
                str(d.get("connectionState") or "-"),
            )
            for d in found
        ]
        for line in table(rows):
            typer.echo(line)


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


@app.command("delete")
def delete(
    name: str = NAME,
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
) -> None:
    """Delete device NAME (and its modules and twin)."""
    with error_boundary():
        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            service.delete_device(name)
        typer.echo(f"deleted device {name} from IoT Hub {service.conn.host_name}")


@app.command("connection-string")
def connection_string(
    name: str = NAME,
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Print device NAME's connection string (it contains the primary key)."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.cloud import devices
        from iotedge_cli.cloud.connection import device_connection_string

        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            doc = service.get_device(name)
        key = devices.primary_key(doc)
        text = device_connection_string(service.conn.host_name, name, key)
        if as_json:
            print_json({"deviceId": name, "connectionString": text})
            return
        typer.echo(text)


@app.command("twin")
def twin(
    device_id: str = typer.Argument(..., help="The device id.", show_default=False),
    module: str | None = typer.Option(
        None, "--module", "-m", help="A module's twin instead (e.g. $edgeAgent)."
    ),
    set_tags: str | None = typer.Option(
        None,
        "--set-tags",
        help="""A JSON object merged into the twin's tags (null removes one), e.g. '{"env": "prod"}'.""",
    ),
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Show a device's (or module's) twin: tags, desired and reported properties; --set-tags
    changes the tags first."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.errors import UsageError

        tags: dict[str, Any] | None = None
        if set_tags is not None:
            try:
                value = json.loads(set_tags)
            except ValueError as exc:
                value = exc
            if not isinstance(value, dict):
                problem = (
                    f"is not JSON: {value}"
                    if isinstance(value, ValueError)
                    else ("is not a JSON object")
                )
                raise UsageError(
                    f"--set-tags {set_tags!r} {problem}",
                    hint="""quote it for the shell, e.g. --set-tags '{"env": "prod"}'""",
                )
            tags = value
        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            if tags is not None:
                service.update_tags(device_id, tags, module)
            doc = service.get_twin(device_id, module)
        if as_json:
            print_json(doc)
            return
        for line in render_twin(doc):
            typer.echo(line)


def render_twin(doc: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    name = doc.get("deviceId", "?") + (f"/{doc['moduleId']}" if doc.get("moduleId") else "")
    lines.append(f"twin of {name} (etag {doc.get('etag', '?')})")
    sections: list[tuple[str, Any]] = [("tags", doc.get("tags") or {})]
    properties = doc.get("properties") or {}
    for part in ("desired", "reported"):
        sections.append((part, properties.get(part) or {}))
    for title, section in sections:
        body = {k: v for k, v in section.items() if k != "$metadata"}
        version = body.pop("$version", None)
        lines.append(f"{title}:" if version is None else f"{title} ($version {version}):")
        text = json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True)
        lines += ["  " + line for line in text.splitlines()]
    return lines
