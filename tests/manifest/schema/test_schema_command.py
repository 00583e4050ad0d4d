"""``edgectl manifest schema``: one JSON schema for editors, checked against the corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from iotedge_cli.cli.app import app
from iotedge_cli.errors import InputError
from iotedge_cli.manifest.jsonparse import Placeholder
from iotedge_cli.manifest.loader import load_file
from iotedge_cli.manifest.model import Manifest

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, ["manifest", "schema", *args])


def as_json(value: Any) -> Any:
    """What an editor sees: a bare placeholder is text to it."""
    if isinstance(value, Placeholder):
        return value.text
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value


def schema_of(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validators.validator_for(document).check_schema(document)
    return jsonschema.validators.validator_for(document)(document)


def test_output_is_one_valid_json_schema_and_template_output_too() -> None:
    assert schema_of().schema["title"] == "Azure IoT Edge deployment manifest (edgectl)"
    assert "$schema-template" in schema_of("--template").schema["properties"]


def corpus_manifests(corpus: Path, kind: str) -> list[tuple[str, Any]]:
    out = []
    for path in sorted(corpus.glob("*.json")):
        try:
            doc = load_file(path)
        except InputError:
            continue
        m = Manifest.from_doc(doc)
        if m.layered or m.form in ("fragment", "unknown", "moduleContent"):
            continue
        if (kind == "template") == m.template:
            out.append((path.name, as_json(doc.data)))
    return out


@pytest.mark.corpus
def test_manifest_schema_accepts_the_valid_corpus_and_rejects_the_broken(corpus_dir: Path) -> None:
    validator = schema_of()
    broken = {"cliext__test_edge_deployment_malformed.json"}  # missing runtime, on-failured
    verdicts = {
        name: validator.is_valid(data) for name, data in corpus_manifests(corpus_dir, "manifest")
    }
    assert len(verdicts) >= 15
    assert (
        {name for name, ok in verdicts.items() if not ok}
        == broken
        | {
            "iotedgedev__deployment.manifest_invalid_schema.json"  # placeholders, username 1, no address
        }
    )


@pytest.mark.corpus
def test_template_schema_accepts_the_corpus_templates(corpus_dir: Path) -> None:
    validator = schema_of("--template")
    templates = corpus_manifests(corpus_dir, "template")
    assert len(templates) >= 15
    rejected = {
        name: [e.message for e in validator.iter_errors(data)][:2]
        for name, data in templates
        if not validator.is_valid(data)
    }
    assert rejected == {
        "iiiot__publisher.deployment.template.json": ["'$edgeHub' is a required property"]
    }


def test_schema_rejects_an_unknown_version_and_a_bad_enum() -> None:
    validator = schema_of()
    agent = {
        "schemaVersion": "1.1",
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
    hub = {
        "schemaVersion": "1.2",
        "routes": {},
        "storeAndForwardConfiguration": {"timeToLiveSecs": 1},
    }
    good = {
        "modulesContent": {
            "$edgeAgent": {"properties.desired": agent},
            "$edgeHub": {"properties.desired": hub},
        }
    }
    assert validator.is_valid(good)
    assert not validator.is_valid(json.loads(json.dumps(good).replace('"1.1"', '"1.2"')))
    assert not validator.is_valid(json.loads(json.dumps(good).replace('"always"', '"sometimes"')))
    assert not validator.is_valid(
        json.loads(
            json.dumps(good)
            .replace('"1.2"', '"1.0"')
            .replace('"routes": {}', '"routes": {"r": {"route": "x"}}')
        )
    )


def test_output_file_is_written_once_and_overwritten_only_with_force(tmp_path: Path) -> None:
    target = tmp_path / "deployment.schema.json"
    first = run("-o", str(target))
    assert first.exit_code == 0
    assert (
        json.loads(target.read_text(encoding="utf-8"))["$id"]
        == "urn:edgectl:schema:deployment-manifest"
    )
    again = run("--template", "-o", str(target))
    assert again.exit_code == 2
    assert "file exists" in again.output and "--force" in again.output
    forced = run("--template", "-o", str(target), "--force")
    assert forced.exit_code == 0
    assert (
        json.loads(target.read_text(encoding="utf-8"))["$id"]
        == "urn:edgectl:schema:deployment-template"
    )


def test_help_explains_the_vs_code_settings() -> None:
    result = runner.invoke(app, ["manifest", "schema", "--help"])
    assert result.exit_code == 0
    assert '"json.schemas": [' in result.output
    assert (
        "edgectl manifest schema --template -o .vscode/deployment.template.schema.json"
        in result.output
    )
