"""edgectl's schemas against the published ones (azure-iot-cli-extension, SchemaStore).

The published files are read from ``../shared/spec/schemas`` (skipped when absent), never
copied. Where they accept a corpus section, ours must too; where they are known to be wrong,
the tests below document that we deliberately differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft7Validator

from iotedge_cli.errors import InputError
from iotedge_cli.manifest.lint import LintOptions, lint_doc
from iotedge_cli.manifest.loader import load_file, load_text
from iotedge_cli.manifest.model import Manifest

SCHEMA_CODES = LintOptions(select=("E1",))


def published(shared_dir: Path, name: str) -> Any:
    path = shared_dir / "spec" / "schemas" / name
    if not path.is_file():
        pytest.skip(f"published schema not present at {path}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    # like az: draft-07 only when the file says so, else draft-04
    cls = Draft7Validator if "draft-07" in schema.get("$schema", "") else Draft4Validator
    return cls(schema)


def az_section_valid(shared_dir: Path, twin: str, section: Any) -> bool | None:
    """Validate one section as ``az iot edge`` does; ``None`` when az would skip it."""
    desired = section.get("properties.desired") if isinstance(section, dict) else None
    version = desired.get("schemaVersion") if isinstance(desired, dict) else None
    kind = "edgeagent" if twin == "$edgeAgent" else "edgehub"
    name = f"azure-iot-cli-extension__azure-iot-{kind}-deployment-{version}.json"
    if not isinstance(version, str) or not (shared_dir / "spec" / "schemas" / name).is_file():
        return None
    return bool(published(shared_dir, name).is_valid({twin: section}))


@pytest.mark.corpus
def test_where_the_published_schema_accepts_a_section_ours_does_too(
    shared_dir: Path, corpus_dir: Path
) -> None:
    compared = 0
    for path in sorted(corpus_dir.glob("*.json")):
        try:
            doc = load_file(path)
        except InputError:
            continue
        m = Manifest.from_doc(doc)
        if m.template or m.layered:
            continue
        ours = lint_doc(doc, SCHEMA_CODES)
        for twin in ("$edgeAgent", "$edgeHub"):
            if twin in m.content and az_section_valid(shared_dir, twin, m.content[twin]):
                compared += 1
                prefix = m.twin_path(twin)
                mine = [d for d in ours if d.location.path[: len(prefix)] == prefix]
                assert mine == [], (path.name, twin, [d.message for d in mine])
    assert compared >= 30


AGENT_11 = {
    "schemaVersion": "11.1",
    "runtime": {"type": "docker", "settings": {}},
    "systemModules": {
        "edgeAgent": {"type": "docker", "settings": {"image": "a:1"}},
        "edgeHub": {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": {"image": "h:1"},
        },
    },
    "modules": {},
}
HUB_12 = {
    "schemaVersion": "1.2",
    "routes": {"r": "FROM /* INTO $upstream"},
    "storeAndForwardConfiguration": {
        "timeToLiveSecs": 7200,
        "storeLimits": {"maxSizeBytes": 1048576},
    },
    "mqttBroker": {
        "bridges": [{"endpoint": "$upstream", "settings": [{"direction": "in", "topic": "a/#"}]}]
    },
}


def manifest(agent: dict[str, Any], hub: dict[str, Any]) -> dict[str, Any]:
    return {
        "modulesContent": {
            "$edgeAgent": {"properties.desired": agent},
            "$edgeHub": {"properties.desired": hub},
        }
    }


def test_published_unanchored_version_pattern_accepts_11_1_and_we_reject_it(
    shared_dir: Path,
) -> None:
    az = published(shared_dir, "azure-iot-cli-extension__azure-iot-edgeagent-deployment-1.1.json")
    assert az.is_valid({"$edgeAgent": {"properties.desired": AGENT_11}})
    doc = load_text(
        json.dumps(manifest(AGENT_11, {**HUB_12, "mqttBroker": {}}), indent=2), "m.json"
    )
    assert [d.code for d in lint_doc(doc, SCHEMA_CODES)] == ["E107"]


def test_published_deployment_2_0_rejects_mqtt_broker_and_we_accept_it(shared_dir: Path) -> None:
    agent = {**AGENT_11, "schemaVersion": "1.1"}
    hub = {k: v for k, v in HUB_12.items() if k != "storeAndForwardConfiguration"}
    hub["storeAndForwardConfiguration"] = {"timeToLiveSecs": 7200}
    deployment = manifest(agent, hub)
    assert not published(shared_dir, "schemastore__azure-iot-edge-deployment-2.0.json").is_valid(
        deployment
    )
    assert lint_doc(load_text(json.dumps(deployment), "m.json"), SCHEMA_CODES) == []


def test_published_1_2_rejects_store_limits_which_the_runtime_reads_and_we_accept(
    shared_dir: Path,
) -> None:
    az = published(shared_dir, "azure-iot-cli-extension__azure-iot-edgehub-deployment-1.2.json")
    assert not az.is_valid({"$edgeHub": {"properties.desired": HUB_12}})
    deployment = manifest({**AGENT_11, "schemaVersion": "1.1"}, HUB_12)
    assert lint_doc(load_text(json.dumps(deployment), "m.json"), SCHEMA_CODES) == []


def test_there_is_no_published_edgehub_1_3_schema_and_we_have_one(shared_dir: Path) -> None:
    assert not (
        shared_dir
        / "spec"
        / "schemas"
        / "azure-iot-cli-extension__azure-iot-edgehub-deployment-1.3.json"
    ).exists()
    hub = {
        **HUB_12,
        "schemaVersion": "1.3",
        "integrity": {
            "header": {"signercert": ["MIIB"]},
            "signature": {"bytes": "c2ln", "algorithm": "ES256"},
        },
    }
    deployment = manifest({**AGENT_11, "schemaVersion": "1.1"}, hub)
    assert lint_doc(load_text(json.dumps(deployment), "m.json"), SCHEMA_CODES) == []
    hub["schemaVersion"] = "1.2"
    found = lint_doc(
        load_text(json.dumps(manifest({**AGENT_11, "schemaVersion": "1.1"}, hub)), "m.json"),
        SCHEMA_CODES,
    )
    assert [d.code for d in found] == ["E105"]
    assert "needs $edgeHub schemaVersion 1.3 or later" in found[0].message
