"""Manifests shared by the ``edgectl routes`` CLI tests."""

from __future__ import annotations

import json
from typing import Any

MODULE = {
    "version": "1.0",
    "type": "docker",
    "status": "running",
    "restartPolicy": "always",
    "settings": {"image": "example.azurecr.io/m:1.0", "createOptions": "{}"},
}


def manifest(
    routes: dict[str, Any], *, modules: tuple[str, ...] = ("sensor", "filter"), ttl: int = 7200
) -> str:
    """A deployment manifest with ``modules`` and ``routes`` (JSON text, 2-space indent)."""
    doc = {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "runtime": {"type": "docker", "settings": {}},
                    "systemModules": {},
                    "modules": dict.fromkeys(modules, MODULE),
                }
            },
            "$edgeHub": {
                "properties.desired": {
                    "schemaVersion": "1.2",
                    "routes": routes,
                    "storeAndForwardConfiguration": {"timeToLiveSecs": ttl},
                }
            },
        }
    }
    return json.dumps(doc, indent=2) + "\n"


FLOW = manifest(
    {
        "sensorToFilter": (
            "FROM /messages/modules/sensor/outputs/temperatureOutput "
            'INTO BrokeredEndpoint("/modules/filter/inputs/input1")'
        ),
        "filterToCloud": {
            "route": (
                'FROM /messages/modules/filter/outputs/* WHERE $body.kind = "\\"hot\\" <x>" '
                "INTO $upstream"
            ),
            "priority": 0,
            "timeToLiveSecs": 60,
        },
        "leafToCloud": (
            "FROM /messages/* WHERE NOT is_defined($connectionModuleId) AND "
            "$connectionDeviceId <> 'thermostat-0001' INTO $upstream"
        ),
        "twins": 'FROM /twinChangeNotifications INTO BrokeredEndpoint("/modules/ghost/inputs/twin")',
        "never": "FROM /messages/events INTO $upstream",
    }
)
