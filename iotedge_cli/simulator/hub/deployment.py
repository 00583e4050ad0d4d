"""A deployment posted to a running hub (``edgectl simulate deploy``, the admin API's
``POST /api/v1/deployment``): checked and compiled before the hub changes anything.

Pure: no sockets, no files, no hub state. :func:`parse_deployment` either returns everything
:meth:`Hub.apply_deployment` needs (the text to store, the user modules, every twin's desired
properties, the compiled routes) or raises :class:`DeploymentError` with one message that
says what to fix, so a refused deployment leaves the running simulation as it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from iotedge_cli.manifest.model import AGENT, DESIRED, HUB, Manifest
from iotedge_cli.routes.router import RouteSpec

__all__ = ["Deployment", "DeploymentError", "parse_deployment"]

# edgeAgent's module names (the manifest linter's rule E104)
_MODULE_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_EXAMPLE = '{"modulesContent": {"$edgeAgent": {"properties.desired": {...}}, "$edgeHub": {...}}}'


class DeploymentError(ValueError):
    """A body the hub refuses (HTTP 400); nothing was changed."""


@dataclass(frozen=True)
class Deployment:
    """A checked deployment manifest."""

    text: str  # the manifest as JSON text: what is stored as the hub's deployment file
    modules: tuple[str, ...]  # user modules, in manifest order
    desired: dict[str, dict[str, Any]]  # $edgeAgent, $edgeHub and each user module
    routes: tuple[RouteSpec, ...]
    default_ttl: int


def _has_desired(section: Any) -> bool:
    return isinstance(section, dict) and (
        isinstance(section.get(DESIRED), dict) or any(k.startswith(DESIRED + ".") for k in section)
    )


def parse_deployment(data: Any) -> Deployment:
    """Check ``data`` (a generated manifest: ``{"modulesContent": {...}}`` or another envelope
    :class:`Manifest` reads) and compile it; :class:`DeploymentError` when it cannot be used."""
    from iotedge_cli.manifest.loader import load_text
    from iotedge_cli.routes.router import routes_from_manifest, store_and_forward_ttl
    from iotedge_cli.simulator.hub.iothub.twin import desired_from_manifest

    if not isinstance(data, dict):
        raise DeploymentError(
            f"a deployment must be a JSON object like {_EXAMPLE}, not {type(data).__name__}"
        )
    text = json.dumps(data, indent=2) + "\n"
    manifest = Manifest.from_doc(load_text(text, "deployment.json", template=False))
    if manifest.form == "unknown":
        raise DeploymentError(f"the body is not a deployment manifest; send {_EXAMPLE}")
    if manifest.template:
        raise DeploymentError(
            "the body is a deployment template ($schema-template); generate the manifest first "
            "with edgectl manifest generate"
        )
    if not _has_desired(manifest.content.get(AGENT)):
        raise DeploymentError(
            f"the deployment has no {AGENT} {DESIRED}: it must say which modules run"
        )
    specs, problems = routes_from_manifest(manifest, template=False)
    if problems:
        listed = "; ".join(p.message for p in problems)  # each message names its route
        raise DeploymentError(f"the deployment's routes do not parse: {listed}")
    modules: list[str] = []
    for module in manifest.modules():
        if module.system or module.name in (AGENT, HUB) or module.name in modules:
            continue
        if not _MODULE_NAME.match(module.name):
            raise DeploymentError(
                f"module name {module.name!r} is not valid: use letters, digits, '_' and '-'"
            )
        modules.append(module.name)
    try:
        desired = {name: desired_from_manifest(manifest, name) for name in (AGENT, HUB, *modules)}
    except ValueError as exc:  # pragma: no cover - JSON bodies hold JSON values only
        raise DeploymentError(str(exc)) from None
    return Deployment(text, tuple(modules), desired, tuple(specs), store_and_forward_ttl(manifest))
