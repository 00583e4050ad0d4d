"""``edgectl simulate start``: a whole simulation on Docker (hub + agent + module containers),
or, with ``--hub-only``, the simulator's hub for modules you run yourself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import error_boundary
from iotedge_cli.errors import UsageError


def start(
    manifest: Path | None = typer.Option(
        None,
        "--manifest",
        "-m",
        help="The deployment manifest (generated, e.g. config/deployment.amd64.json): its "
        "modules get identities, its routes and module twins are served.",
    ),
    solution: Path | None = typer.Option(
        None,
        "--solution",
        "-s",
        help="A solution folder (deployment.template.json + modules/): its manifest is "
        "generated first (as `edgectl manifest generate`).",
    ),
    platform: str = typer.Option(
        "amd64", "--platform", "-P", help="With --solution: the platform to generate and build."
    ),
    build: bool = typer.Option(
        False,
        "--build",
        help="With --solution: build every module image from its module.json Dockerfile first.",
    ),
    base_image: str | None = typer.Option(
        None,
        "--base-image",
        help="Build arg BASE_IMAGE for the module Dockerfiles (e.g. a local image when no "
        "registry is reachable); also the hub's image unless --hub-image is given.",
    ),
    hub_image: str | None = typer.Option(
        None,
        "--hub-image",
        help="Image the hub's container runs (any image with python3 >= 3.10; edgectl mounts "
        "itself into it). Default: --base-image, else python:3.11-slim-bookworm.",
    ),
    module: str | None = typer.Option(
        None,
        "--module",
        help="Single-module mode (iotedgehubdev 'start -i'): one module NAME whose outputs go "
        "to $upstream; needs --inputs.",
    ),
    inputs: str | None = typer.Option(
        None, "--inputs", "-i", help="With --module: its input names, comma-separated."
    ),
    hub_only: bool = typer.Option(
        False,
        "--hub-only",
        help="Run only the hub, as a process on this machine; you run the modules yourself "
        "(e.g. from an IDE) with `edgectl simulate modulecred`.",
    ),
    detach: bool = typer.Option(
        False,
        "--detach",
        "-d",
        help="Run in the background; return once the hub answers and the modules are created.",
    ),
    state_dir: Path | None = typer.Option(
        None,
        "--state-dir",
        help="The simulation's state directory. Default: <solution>/.edgectl/simulate, where "
        "the solution is --solution, the manifest's directory (its parent for a config/ "
        "folder) or the working directory.",
        show_default=False,
    ),
    gateway_host: str | None = typer.Option(
        None,
        "--gateway-host",
        help="The host name modules connect to (GatewayHostName; the server certificate's "
        "SAN). Default: the device id (the hub container's network alias); with --hub-only "
        "localhost when binding 127.0.0.1, else the bind address.",
    ),
    bind: str = typer.Option("127.0.0.1", "--bind", help="The address the hub listens on."),
    admin_port: int = typer.Option(
        53000,
        "--admin-port",
        min=0,
        max=65535,
        help="Port of the admin API (always on 127.0.0.1).",
    ),
    mqtt_port: int = typer.Option(
        8883,
        "--mqtt-port",
        min=0,
        max=65535,
        help="MQTT over TLS port. The Azure IoT SDKs always use 8883.",
    ),
    https_port: int = typer.Option(
        443,
        "--https-port",
        min=0,
        max=65535,
        help="HTTPS + MQTT-over-WebSocket port. The SDKs always use 443.",
    ),
    device_id: str = typer.Option(
        "edgectl-device", "--device-id", help="The simulated edge device's id."
    ),
    timeout: float = typer.Option(
        30.0,
        "--timeout",
        min=1.0,
        help="How long to wait for the hub (and, with --detach, the agent) to be ready (s).",
    ),
) -> None:
    """Start a simulation of an IoT Edge device on this machine's Docker engine.

    Default: an agent (on this machine) runs every module of the deployment as a container,
    as edgeAgent does, on a bridge network with the hub in a container named edgeHub that
    modules reach at the gateway hostname on 8883 and 443. With --solution the manifest is
    generated (and with --build the module images are built) first. Foreground: Ctrl-C stops
    and removes everything it created. With --detach, stop it with `edgectl simulate stop`.

    --hub-only: only the hub, as a process here (MQTT/TLS 8883, HTTPS/WebSocket 443 —
    skipped with a notice when not permitted — and the admin API on 127.0.0.1:53000); you run
    the modules yourself. Keys, certificates and the hub's store live in the state directory.
    """
    with error_boundary():
        if not hub_only:
            if module is not None or inputs is not None:
                raise UsageError(
                    "--module/--inputs (single-module mode) need --hub-only",
                    hint="edgectl simulate start --module NAME --inputs in1 --hub-only",
                )
            from iotedge_cli.cli.simulate._agent import start_agent

            start_agent(
                manifest=manifest,
                solution=solution,
                platform=platform,
                build=build,
                base_image=base_image,
                hub_image=hub_image,
                detach=detach,
                state_dir=state_dir,
                gateway_host=gateway_host,
                device_id=device_id,
                timeout=timeout,
            )
            return
        if solution is not None or build or base_image is not None or hub_image is not None:
            raise UsageError(
                "--solution, --build, --base-image and --hub-image are for the full "
                "simulation, not --hub-only",
                hint="generate the manifest (`edgectl manifest generate`) and pass --manifest",
            )
        from iotedge_cli.cli.simulate import _process
        from iotedge_cli.simulator import state

        single = _mode(manifest, module, inputs)
        state.check_bind(bind)
        directory = state.ensure_state_dir(
            state_dir
            if state_dir is not None
            else state.solution_dir(manifest) / state.STATE_SUBDIR
        )
        running = state.read_running(directory)
        if running is not None and running.alive:
            raise UsageError(
                f"a simulation is already running in {directory} (pid {running.pid})",
                hint=f"stop it first: edgectl simulate stop --state-dir {directory}",
            )
        state.remove_runtime_file(directory)
        gateway = gateway_host or state.default_gateway_host(bind)
        certs = state.ensure_certs(directory, device_id=device_id, gateway_hostname=gateway)
        config = state.make_config(
            directory,
            certs,
            gateway_hostname=gateway,
            bind=bind,
            device_id=device_id,
            mqtt_port=mqtt_port,
            https_port=https_port,
            admin_port=admin_port,
            manifest=manifest,
            single_module=single,
        )
        config_file = state.write_config(config)
        if detach:
            process = _process.spawn(directory, config_file)
            ready = _process.wait_ready(process, directory, timeout)
            _report(directory, ready.pid, ready.listeners, detached=True)
            return
        _foreground(config)


def _mode(
    manifest: Path | None, module: str | None, inputs: str | None
) -> tuple[str, tuple[str, ...]] | None:
    """Check the manifest-or-module choice; the single-module spec, or None for a manifest."""
    if manifest is not None and (module is not None or inputs is not None):
        raise UsageError(
            "--manifest and --module/--inputs cannot be used together",
            hint="give a manifest, or one module with its inputs",
        )
    if manifest is not None:
        check_manifest(manifest)
        return None
    if module is None:
        raise UsageError(
            "nothing to simulate: give --manifest M or --module NAME --inputs in1,in2"
            + (" (--inputs needs --module)" if inputs is not None else ""),
            hint="edgectl simulate start --manifest config/deployment.amd64.json --hub-only",
        )
    from iotedge_cli.certs.hostname import check_device_id

    check_device_id(module, what="module name")
    names = [name.strip() for name in (inputs or "").split(",")]
    if inputs is None or not all(names):
        raise UsageError(
            f"--module {module} needs --inputs with its input names, comma-separated"
            + (f" (got {inputs!r})" if inputs is not None else ""),
            hint=f"edgectl simulate start --module {module} --inputs input1,input2 --hub-only",
        )
    return module, tuple(dict.fromkeys(names))


def check_manifest(manifest: Path) -> None:
    from iotedge_cli.manifest.loader import load_file

    doc = load_file(manifest)
    if doc.placeholders:
        raise UsageError(
            f"{manifest} is a deployment template (it has ${{...}} placeholders)",
            hint=f"generate the manifest first: edgectl manifest generate {manifest}",
        )
    if not isinstance(doc.data, dict):
        raise UsageError(
            f"{manifest} is not a deployment manifest (its top level is not an object)",
            hint="pass a manifest made by `edgectl manifest generate`",
        )


def _report(directory: Path, pid: int, listeners: list[dict[str, Any]], *, detached: bool) -> None:
    typer.echo(f"hub ready (pid {pid}, state {directory})")
    for listener in listeners:
        name = str(listener.get("name", "?"))
        where = f"{listener.get('address')}:{listener.get('port')}"
        if listener.get("available", True):
            typer.echo(f"  {name:<10} {where}")
        else:
            typer.echo(f"  {name:<10} {where}  unavailable: {listener.get('error')}")
    suffix = f" --state-dir {directory}"
    typer.echo(f"module settings: edgectl simulate modulecred NAME{suffix}")
    if detached:
        typer.echo(f"stop it with:    edgectl simulate stop{suffix}")
    else:
        typer.echo("press Ctrl-C to stop")


def _foreground(config: Any) -> None:
    import asyncio
    import contextlib

    from iotedge_cli.simulator.hub.run import serve
    from iotedge_cli.simulator.state import read_running

    def ready() -> None:
        running = read_running(config.state_dir)
        listeners = running.listeners if running is not None else []
        _report(config.state_dir, _pid(), listeners, detached=False)

    with contextlib.suppress(KeyboardInterrupt):  # serve() has already stopped gracefully
        asyncio.run(serve(config, ready=ready))
    typer.echo("hub stopped")


def _pid() -> int:
    import os

    return os.getpid()
