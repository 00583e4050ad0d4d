"""Build manifests and module specs for the agent tests."""

from __future__ import annotations

import json
from typing import Any

from iotedge_cli.manifest.loader import load_text
from iotedge_cli.manifest.model import Manifest
from iotedge_cli.simulator.agent.spec import ModuleSpec, module_specs


def manifest(modules: dict[str, Any], name: str = "deployment.json") -> Manifest:
    data = {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "runtime": {"type": "docker", "settings": {}},
                    "systemModules": {
                        "edgeAgent": {"type": "docker", "settings": {"image": "agent:1.4"}},
                        "edgeHub": {
                            "type": "docker",
                            "status": "running",
                            "restartPolicy": "always",
                            "settings": {"image": "hub:1.4"},
                        },
                    },
                    "modules": modules,
                }
            },
            "$edgeHub": {"properties.desired": {"schemaVersion": "1.1", "routes": {}}},
        }
    }
    return Manifest.from_doc(load_text(json.dumps(data), name, template=False))


def module(image: str = "sensor:1.0", **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"image": image}
    if "createOptions" in extra:
        settings["createOptions"] = extra.pop("createOptions")
    return {
        "type": "docker",
        "status": "running",
        "restartPolicy": "always",
        "settings": settings,
        **extra,
    }


def spec(name: str = "sensor", **fields: Any) -> ModuleSpec:
    [only] = module_specs(manifest({name: module(**fields)}))
    return only
