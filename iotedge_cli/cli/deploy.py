"""``edgectl deploy`` (a manifest to one device, or as an automatic/layered deployment) and
``edgectl deployment list|show|delete``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from iotedge_cli.cli._hub import HUB_CONNECTION_STRING, JSON, STATE_DIR, TO_SIMULATOR, hub_service
from iotedge_cli.cli.common import console, error_boundary, print_json

if TYPE_CHECKING:
    from iotedge_cli.cloud.deployment import DeploymentCounts, LoadedManifest

app = typer.Typer(
    help="List, show and delete automatic and layered IoT Edge deployments.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def deploy(
    manifest: Path = typer.Argument(
        ..., help="A generated deployment manifest (JSON or YAML).", show_default=False
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        "-d",
        help="Apply the manifest to this edge device (replaces its configuration).",
        show_default=False,
    ),
    name: str | None = typer.Option(
        None,
        "--name",
        "-n",
        help="Create an automatic deployment with this id instead.",
        show_default=False,
    ),
    target_condition: str | None = typer.Option(
        None,
        "--target-condition",
        "-t",
        help="""With --name: the devices to target, e.g. "tags.env='prod'".""",
        show_default=False,
    ),
    priority: int = typer.Option(0, "--priority", min=0, help="With --name: the priority."),
    layered: bool = typer.Option(
        False,
        "--layered",
        help="With --name: a layered deployment (properties.desired.<path> content) added on "
        "top of each device's base deployment.",
    ),
    label: list[str] = typer.Option(
        None, "--label", help="With --name: a label KEY=VALUE (repeatable).", show_default=False
    ),
    no_validate: bool = typer.Option(
        False, "--no-validate", help="Deploy even when the manifest linter finds errors."
    ),
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Lint MANIFEST, then deploy it through IoT Hub: to one edge device (--device ID) or as an
    automatic deployment (--name N --target-condition C [--priority P] [--layered]).

    Exit 1 when the manifest has errors (nothing is deployed), 2 for bad input or a refusal
    by the hub (not found, exists already), 3 when the hub cannot be reached or refuses the
    credentials.
    """
    with error_boundary(as_json=as_json):
        from iotedge_cli.cloud import deployment as dep
        from iotedge_cli.errors import UsageError

        _check_target(device, name, target_condition, priority, layered, label)
        labels = dep.parse_labels(label or [])
        if name is not None:
            dep.check_configuration_id(name)
        loaded = dep.load_manifest(manifest, validate=not no_validate)
        _gate(loaded, no_validate)
        if device is not None:
            content = dep.device_content(loaded)
            with hub_service(hub_connection_string, to_simulator, state_dir) as service:
                service.apply_on_device(device, content)
            if as_json:
                print_json(
                    {"device": device, "hub": service.conn.host_name, "modules": _modules(content)}
                )
                return
            typer.echo(
                f"deployed {manifest} to edge device {device} on IoT Hub {service.conn.host_name}"
            )
            return
        if name is None or target_condition is None:  # _check_target made sure of it
            raise UsageError("give --device ID or --name N --target-condition C")
        document = dep.configuration_document(
            loaded,
            name=name,
            target_condition=target_condition,
            priority=priority,
            labels=labels,
            layered=layered,
        )
        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            created = service.create_configuration(document)
        if as_json:
            print_json(_summary(created))
            return
        kind = "layered deployment" if layered else "deployment"
        typer.echo(
            f"created {kind} {name} (priority {priority}) on IoT Hub {service.conn.host_name}, "
            f"targeting {target_condition}"
        )


def _check_target(
    device: str | None,
    name: str | None,
    target_condition: str | None,
    priority: int,
    layered: bool,
    label: list[str] | None,
) -> None:
    from iotedge_cli.errors import UsageError

    if (device is None) == (name is None):
        raise UsageError(
            "give either --device ID (one device) or --name N (an automatic deployment)",
            hint="e.g. edgectl deploy config/deployment.json --device my-edge-device",
        )
    if device is not None:
        extra = [
            option
            for option, given in (
                ("--target-condition", target_condition is not None),
                ("--priority", priority != 0),
                ("--layered", layered),
                ("--label", bool(label)),
            )
            if given
        ]
        if extra:
            raise UsageError(
                f"{', '.join(extra)} only apply to automatic deployments (--name), not --device",
                hint="drop them, or deploy with --name N --target-condition C",
            )
    elif target_condition is None:
        raise UsageError(
            "--name needs --target-condition",
            hint="""e.g. --target-condition "tags.environment='prod'\"""",
        )


def _gate(loaded: LoadedManifest, no_validate: bool) -> None:
    """Show the linter's findings (stderr); refuse a manifest with errors (exit 1)."""
    if not loaded.findings:
        return
    from iotedge_cli.cli.render import human
    from iotedge_cli.diagnostics import Report
    from iotedge_cli.errors import FindingsError

    report = Report(files=[str(loaded.path)])
    report.extend(loaded.findings)
    human.render(report, console(stderr=True))
    if loaded.errors and not no_validate:
        count = len(loaded.errors)
        raise FindingsError(
            f"{loaded.path}: {count} error{'' if count == 1 else 's'} found; nothing was deployed",
            hint=f"fix them (`edgectl manifest validate {loaded.path}`), or pass --no-validate "
            "to deploy anyway",
        )


def _modules(content: dict[str, Any]) -> list[str]:
    desired = (content.get("$edgeAgent") or {}).get("properties.desired") or {}
    modules = desired.get("modules") or {}
    return sorted(modules) if isinstance(modules, dict) else []


def _layer_paths(configuration: dict[str, Any]) -> bool:
    content = (configuration.get("content") or {}).get("modulesContent") or {}
    agent = content.get("$edgeAgent") if isinstance(content, dict) else None
    return not (isinstance(agent, dict) and isinstance(agent.get("properties.desired"), dict))


def _summary(configuration: dict[str, Any]) -> dict[str, Any]:
    """A deployment without its content (``show --json`` prints that too)."""
    from iotedge_cli.cloud.deployment import counts

    return {
        "id": configuration.get("id"),
        "priority": configuration.get("priority"),
        "targetCondition": configuration.get("targetCondition"),
        "labels": configuration.get("labels") or {},
        "layered": _layer_paths(configuration),
        "createdTimeUtc": configuration.get("createdTimeUtc"),
        "counts": counts(configuration).as_json(),
    }


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


@app.command("list")
def list_(
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """List the IoT Edge deployments (up to 100) with their device counts."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.cloud.deployment import counts, is_edge_deployment

        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            found = [c for c in service.list_configurations() if is_edge_deployment(c)]
        found.sort(key=lambda c: (-(c.get("priority") or 0), str(c.get("id"))))
        if as_json:
            print_json([_summary(c) for c in found])
            return
        if not found:
            typer.echo("no deployments")
            return
        from iotedge_cli.cli.device import table

        rows = [
            ("DEPLOYMENT", "PRIORITY", "LAYERED", "TARGETED", "APPLIED", "OK", "FAILED", "TARGET")
        ]
        for c in found:
            n = counts(c)
            rows.append(
                (
                    str(c.get("id")),
                    str(c.get("priority")),
                    "yes" if _layer_paths(c) else "no",
                    _count(n.targeted),
                    _count(n.applied),
                    _count(n.reported_successful),
                    _count(n.reported_failed),
                    str(c.get("targetCondition") or ""),
                )
            )
        for line in table(rows):
            typer.echo(line)


@app.command("show")
def show(
    name: str = typer.Argument(..., help="The deployment id.", show_default=False),
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
    as_json: bool = JSON,
) -> None:
    """Show deployment NAME: target, priority, modules and how many devices are targeted, have
    it applied, and report success or failure."""
    with error_boundary(as_json=as_json):
        from iotedge_cli.cloud.deployment import counts

        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            configuration = service.get_configuration(name)
        if as_json:
            print_json({**configuration, "counts": counts(configuration).as_json()})
            return
        for line in render_deployment(configuration, counts(configuration)):
            typer.echo(line)


def render_deployment(configuration: dict[str, Any], n: DeploymentCounts) -> list[str]:
    labels = configuration.get("labels") or {}
    content = (configuration.get("content") or {}).get("modulesContent") or {}
    lines = [
        f"deployment: {configuration.get('id')}",
        f"priority: {configuration.get('priority')}",
        f"layered: {'yes' if _layer_paths(configuration) else 'no'}",
        f"target condition: {configuration.get('targetCondition')}",
    ]
    if labels:
        lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())))
    if configuration.get("createdTimeUtc"):
        lines.append(f"created: {configuration['createdTimeUtc']}")
    lines.append("twins: " + ", ".join(sorted(content)) if content else "twins: none")
    lines += [
        "devices:",
        f"  targeted: {_count(n.targeted)}",
        f"  applied: {_count(n.applied)}",
        f"  reporting success: {_count(n.reported_successful)}",
        f"  reporting failure: {_count(n.reported_failed)}",
    ]
    for metric, value in sorted(n.custom.items()):
        lines.append(f"  {metric}: {value}")
    return lines


@app.command("delete")
def delete(
    name: str = typer.Argument(..., help="The deployment id.", show_default=False),
    hub_connection_string: str | None = HUB_CONNECTION_STRING,
    to_simulator: bool = TO_SIMULATOR,
    state_dir: Path | None = STATE_DIR,
) -> None:
    """Delete deployment NAME (devices keep their modules until another deployment applies)."""
    with error_boundary():
        with hub_service(hub_connection_string, to_simulator, state_dir) as service:
            service.delete_configuration(name)
        typer.echo(f"deleted deployment {name} from IoT Hub {service.conn.host_name}")
