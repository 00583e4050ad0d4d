"""A module -> the body of Docker's ``POST /containers/create`` (what the docker SDK's
low-level ``create_container`` sends), the way edgeAgent and edgelet build it
(``../shared/spec/manifests-routes-certs.md`` §3, ``hub-protocol.md`` §8).

* Every createOptions key is kept, known or not (edgelet keeps unknown keys too; Docker
  ignores what it does not know) - never silently dropped as iotedgehubdev does.
* Env: the manifest's ``env``, then the variables edgeAgent injects (``RuntimeLogLevel`` only
  when the manifest does not set it), then ``createOptions.Env``, which wins for duplicate
  names (edgelet ``merge_env``); sorted by name.
* Labels: createOptions ``Labels`` plus edgectl's own, which win (``stop`` finds exactly
  what edgectl created by ``net.azure-devices.edge.owner=edgectl``).
* Network: the simulation's bridge network unless createOptions gives
  ``NetworkingConfig.EndpointsConfig``; the module named ``edgeHub`` gets the gateway
  hostname as a network alias, as edgeAgent's ``InjectNetworkAliases`` does.
* The hub's CA is bind-mounted read-only and named by ``EdgeModuleCACertificateFile``; the
  workload API is HTTP (``IOTEDGE_WORKLOADURI``), so no socket is mounted.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from iotedge_cli.simulator.agent.spec import ModuleSpec

OWNER_LABEL = "net.azure-devices.edge.owner"
OWNER = "edgectl"
SIMULATION_LABEL = "edgectl.simulation"
FINGERPRINT_LABEL = "edgectl.fingerprint"
MODULE_LABEL = "edgectl.module"
ORIGINAL_IMAGE_LABEL = "net.azure-devices.edge.original-image"
CA_MOUNT = "/run/edgectl/ca.pem"
API_VERSION = "2022-08-03"  # what current aziot-edged gives (hub-protocol.md §8)
AUTH_SCHEME = "sasToken"
RUNTIME_LOG_LEVEL = "Information"
HUB_MODULE = "edgeHub"


def injected_env(
    spec: ModuleSpec,
    *,
    device_id: str,
    iothub_hostname: str,
    gateway_hostname: str,
    generation_id: str,
    workload_uri: str,
    ca_path: str | None,
) -> dict[str, str]:
    """The variables edgeAgent adds to every module (``CreateOrUpdateCommand.GetEnvVars``)."""
    env = {
        "IOTEDGE_MODULEID": spec.name,
        "IOTEDGE_DEVICEID": device_id,
        "IOTEDGE_IOTHUBHOSTNAME": iothub_hostname,
        "IOTEDGE_GATEWAYHOSTNAME": gateway_hostname,
        "IOTEDGE_WORKLOADURI": workload_uri,
        "IOTEDGE_APIVERSION": API_VERSION,
        "IOTEDGE_AUTHSCHEME": AUTH_SCHEME,
        "IOTEDGE_MODULEGENERATIONID": generation_id,
    }
    if ca_path is not None:
        env["EdgeModuleCACertificateFile"] = CA_MOUNT
    return env


def container_create_args(
    spec: ModuleSpec,
    *,
    device_id: str,
    iothub_hostname: str,
    gateway_hostname: str,
    network: str,
    hub_alias: str | None,
    generation_id: str,
    workload_uri: str,
    ca_path: str | None,
    labels: Mapping[str, str],
    simulation_id: str,
) -> dict[str, Any]:
    """The create body for ``spec``; the container name is ``spec.name``.

    ``labels`` are extra labels (they lose to edgectl's own); ``hub_alias`` is the network
    alias given to the ``edgeHub`` module (normally the gateway hostname).
    """
    body: dict[str, Any] = copy.deepcopy(dict(spec.create_options))
    body["Image"] = spec.image
    body["Env"] = _env(
        spec,
        body.get("Env"),
        injected_env(
            spec,
            device_id=device_id,
            iothub_hostname=iothub_hostname,
            gateway_hostname=gateway_hostname,
            generation_id=generation_id,
            workload_uri=workload_uri,
            ca_path=ca_path,
        ),
    )
    user_labels = body.get("Labels")
    body["Labels"] = {
        **(user_labels if isinstance(user_labels, dict) else {}),
        **labels,
        OWNER_LABEL: OWNER,
        SIMULATION_LABEL: simulation_id,
        MODULE_LABEL: spec.name,
        FINGERPRINT_LABEL: spec.fingerprint,
        ORIGINAL_IMAGE_LABEL: spec.image,
    }
    host = body.get("HostConfig")
    host = host if isinstance(host, dict) else {}
    if ca_path is not None:
        binds = host.get("Binds")
        host["Binds"] = [*(binds if isinstance(binds, list) else []), f"{ca_path}:{CA_MOUNT}:ro"]
    networking = body.get("NetworkingConfig")
    user_endpoints = isinstance(networking, dict) and bool(networking.get("EndpointsConfig"))
    if not user_endpoints:
        endpoint: dict[str, Any] = {}
        if spec.name == HUB_MODULE and hub_alias:
            endpoint["Aliases"] = [hub_alias]
        body["NetworkingConfig"] = {
            **(networking if isinstance(networking, dict) else {}),
            "EndpointsConfig": {network: endpoint},
        }
        host.setdefault("NetworkMode", network)
    body["HostConfig"] = host
    return body


def _env(spec: ModuleSpec, options_env: Any, injected: Mapping[str, str]) -> list[str]:
    merged: dict[str, str | None] = dict(spec.env)
    merged.update(injected)
    merged.setdefault("RuntimeLogLevel", RUNTIME_LOG_LEVEL)
    if isinstance(options_env, list):
        for item in options_env:
            if isinstance(item, str):
                key, eq, value = item.partition("=")
                merged[key] = value if eq else None  # a bare NAME stays bare, as Docker reads it
    return [k if v is None else f"{k}={v}" for k, v in sorted(merged.items())]
