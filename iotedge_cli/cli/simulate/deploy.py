"""``edgectl simulate deploy``: apply a changed manifest to the running simulation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from iotedge_cli.cli.common import error_boundary, print_json
from iotedge_cli.cli.simulate._shared import JSON, STATE_DIR, connect


def deploy(
    manifest: Path = typer.Argument(..., help="The new deployment manifest (generated)."),
    state_dir: Path | None = STATE_DIR,
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="Wait until the agent has applied it."
    ),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, help="How long to wait (s)."),
    as_json: bool = JSON,
) -> None:
    """Apply MANIFEST to the running simulation, as a new deployment from IoT Hub would be.

    The hub updates identities, routes and module twins in place; the agent recreates only
    the modules whose definition changed (image, version, env, createOptions, restartPolicy,
    imagePullPolicy), starts or stops modules whose status alone changed, removes modules no
    longer deployed and creates new ones.
    """
    with error_boundary(as_json=as_json):
        import json

        from iotedge_cli.cli.simulate.start import check_manifest
        from iotedge_cli.manifest.loader import load_file
        from iotedge_cli.manifest.model import Manifest
        from iotedge_cli.simulator.agent.spec import module_specs

        check_manifest(manifest)
        doc = load_file(manifest)
        module_specs(Manifest.from_doc(doc))  # a module the agent cannot run: refuse now
        client = connect(state_dir)
        summary = client.deploy(json.loads(json.dumps(doc.data)))
        desired_version = (client.twin("$edgeAgent").get("desired") or {}).get("$version")
        modules: dict[str, Any] = {}
        converged = False
        if wait:
            converged, modules = _wait(client, desired_version, timeout)
        if as_json:
            print_json(
                {
                    "deployment": summary,
                    "desiredVersion": desired_version,
                    "converged": converged,
                    "modules": modules,
                }
            )
            return
        typer.echo(f"deployed {manifest} (desired version {desired_version})")
        for key in ("added", "removed", "desiredChanged"):
            names = summary.get(key) or []
            if names:
                typer.echo(f"  {key}: {', '.join(names)}")
        if wait:
            typer.echo("applied by the agent" if converged else f"not converged in {timeout:g} s")
            for name, entry in sorted(modules.items()):
                if isinstance(entry, dict):
                    typer.echo(f"  {name:<20} {entry.get('runtimeStatus')}")


def _wait(client: Any, version: Any, timeout: float) -> tuple[bool, dict[str, Any]]:
    """Until ``$edgeAgent`` reports ``lastDesiredVersion >= version`` and no module pending."""
    deadline = time.monotonic() + timeout
    modules: dict[str, Any] = {}
    while True:
        reported = client.twin("$edgeAgent").get("reported") or {}
        modules = reported.get("modules") or {}
        last = reported.get("lastDesiredVersion")
        settled = all(
            not isinstance(m, dict) or m.get("runtimeStatus") != "pending" for m in modules.values()
        )
        if isinstance(last, int) and isinstance(version, int) and last >= version and settled:
            return True, modules
        if time.monotonic() > deadline:
            return False, modules
        time.sleep(0.2)
