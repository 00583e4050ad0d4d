"""E4xx rules: images, registry credentials, placeholders, runtime versions, orphan twins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.manifest.lint import LintOptions, all_rules, lint_doc
from iotedge_cli.manifest.lint.rules import modules
from iotedge_cli.manifest.loader import load_file
from tests.manifest.modules.rulecases import case_id, cases, expected, run_file, run_text, summary

FAMILY = ("E4", "W4", "I4")


@pytest.mark.parametrize("path", cases("modules", "negative"), ids=case_id)
def test_negative_fixture_reports_exactly_the_expected_findings(path: Path) -> None:
    assert summary(run_file(modules, path)) == expected(path)


@pytest.mark.parametrize("path", cases("modules", "positive"), ids=case_id)
def test_positive_fixture_has_no_finding(path: Path) -> None:
    assert summary(run_file(modules, path)) == []


def test_the_engine_registers_and_runs_the_family() -> None:
    assert {"E401", "E402", "E403", "E404", "E405", "W406", "W407", "W408", "W409", "I410"} <= set(
        all_rules()
    )
    path = next(p for p in cases("modules", "negative") if p.parent.name == "config")
    found = lint_doc(load_file(path), LintOptions(select=FAMILY))
    assert summary(found) == expected(path)


# --- the competitors' bad-input matrix, rows D2, D3, D4, G --------------------------------------


def manifest(image: str, env: dict[str, str] | None = None, **creds: Any) -> str:
    module: dict[str, Any] = {"type": "docker", "status": "running", "settings": {"image": image}}
    if env:
        module["env"] = {k: {"value": v} for k, v in env.items()}
    settings: dict[str, Any] = {"minDockerVersion": "v1.25"}
    if creds:
        settings["registryCredentials"] = creds
    agent = {
        "schemaVersion": "1.1",
        "runtime": {"type": "docker", "settings": settings},
        "systemModules": {
            "edgeAgent": {
                "type": "docker",
                "settings": {"image": "mcr.microsoft.com/azureiotedge-agent:1.5"},
            },
            "edgeHub": {
                "type": "docker",
                "settings": {"image": "mcr.microsoft.com/azureiotedge-hub:1.5"},
            },
        },
        "modules": {"filtermodule": module},
    }
    hub = {"schemaVersion": "1.2", "routes": {"up": "FROM /messages/* INTO $upstream"}}
    doc = {
        "modulesContent": {
            "$edgeAgent": {"properties.desired": agent},
            "$edgeHub": {"properties.desired": hub},
        }
    }
    return json.dumps(doc, indent=2)


@pytest.mark.parametrize(
    ("row", "image", "env", "fragment"),
    [
        ("D2", "${MODULES.nosuchmodule}", None, "no module folder 'nosuchmodule'"),
        ("D4", "${MODULES.filtermodule.arm64v8}", None, "${MODULES.filtermodule.arm64v8}"),
        (
            "G",
            "localhost:5000/filtermodule:1.0",
            {"MY_SETTING": "${NOT_DEFINED_ANYWHERE}"},
            "define NOT_DEFINED_ANYWHERE",
        ),
    ],
)
def test_leftover_placeholders_in_a_generated_manifest_are_errors(
    row: str, image: str, env: dict[str, str] | None, fragment: str
) -> None:
    text = manifest(image, env)
    found = run_text(modules, text, "config/deployment.amd64.json")
    assert [d.code for d in found] == ["E403"], row
    assert fragment in found[0].message
    assert "edgectl manifest generate" in found[0].message
    line = next(i for i, s in enumerate(text.splitlines(), 1) if ("${" in s))
    assert found[0].location.line == line
    # the same text is fine as a template, and when the caller says so
    assert run_text(modules, text, "deployment.template.json") == []
    assert run_text(modules, text, "x.json", template=True) == []
    assert [d.code for d in run_text(modules, text, "x.template.json", template=False)] == ["E403"]


def test_d3_empty_image() -> None:
    text = manifest("")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip() == '"image": ""')
    found = run_text(modules, text)
    assert [(d.code, d.location.line, d.location.col) for d in found] == [("E401", line, 24)]
    assert "module 'filtermodule' has an empty image" in found[0].message


def test_system_tokens_and_pipeline_tokens_are_not_placeholders() -> None:
    text = manifest(
        "$upstream:443/filtermodule:1.0",
        {"ROUTE_TO": "$upstream", "WHO": "$edgeHub", "PRICE": "$$5"},
    )
    assert run_text(modules, text, "config/deployment.amd64.json") == []
    piped = run_text(modules, manifest("<Container_Registry>/filtermodule:<Build.BuildNumber>"))
    assert [(d.code, d.severity.value) for d in piped] == [("I410", "info")]


def test_unresolved_credential_variables_in_a_generated_manifest() -> None:
    cred = {
        "username": "$CONTAINER_REGISTRY_USERNAME_acr",
        "password": "pw",
        "address": "myacr.azurecr.io",
    }
    found = run_text(modules, manifest("myacr.azurecr.io/f:1", acr=cred))
    assert [d.code for d in found] == ["E403"]
    assert "$CONTAINER_REGISTRY_USERNAME_acr" in found[0].message
    assert (
        run_text(modules, manifest("myacr.azurecr.io/f:1", acr=cred), "deployment.template.json")
        == []
    )


def test_private_registry_matching_is_case_insensitive_and_skips_layered_and_unknown() -> None:
    cred = {"username": "u", "password": "pw", "address": "MyACR.azurecr.io"}
    assert run_text(modules, manifest("myacr.azurecr.io/f:1", acr=cred)) == []
    missing = run_text(modules, manifest("other.azurecr.io/f:1", acr=cred))
    assert [d.code for d in missing] == ["W407", "W406"]  # the credential comes first in the file
    assert '"address": "other.azurecr.io"' in missing[1].message
    # an address only the generator knows: no guess either way
    templ = {"username": "u", "password": "pw", "address": "${CONTAINER_REGISTRY_ADDRESS}"}
    assert (
        run_text(modules, manifest("other.azurecr.io/f:1", acr=templ), "deployment.template.json")
        == []
    )


@pytest.mark.parametrize(
    ("tag", "finding"),
    [
        ("1.0", True),
        ("1.1.3", True),
        ("1.2-linux-amd64", True),
        ("1.3", True),
        ("1.4", False),
        ("1.5", False),
        ("latest", False),
        ("2.0", False),
    ],
)
def test_w408_end_of_life_runtime(tag: str, finding: bool) -> None:
    text = manifest("redis:7").replace("azureiotedge-hub:1.5", f"azureiotedge-hub:{tag}")
    found = run_text(modules, text)
    assert [d.code for d in found] == (["W408"] if finding else [])
    if finding:
        assert "azureiotedge-hub:1.5" in found[0].message


# --- the real corpus ------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_errors_are_exactly_the_known_defects(corpus_dir: Path) -> None:
    errors: list[tuple[str, str, int]] = []
    warnings: dict[str, set[str]] = {}
    for path in sorted(corpus_dir.glob("*.json")):
        for d in run_file(modules, path):
            if d.severity.value == "error":
                errors.append((path.name, d.code, d.location.line))
            else:
                warnings.setdefault(d.code, set()).add(path.name)
    malformed = "cliext__test_edge_deployment_malformed.json"
    invalid = "iotedgedev__deployment.manifest_invalid_schema.json"  # ${…} left, no template marker
    assert errors == [
        (malformed, "E401", 12),
        (malformed, "E401", 21),
        (invalid, "E403", 5),
        (invalid, "E403", 17),
        (invalid, "E403", 18),
        (invalid, "E405", 19),
        (invalid, "E403", 28),
        (invalid, "E403", 36),
        (invalid, "E403", 57),
    ]
    assert "W406" not in warnings and "W409" not in warnings
    assert warnings["W407"] == {
        "cliext__test_edge_deployment.json",
        "schemastore__test_deployment-1.0_deployment.json",
        "schemastore__test_deployment-2.0_deployment.json",
    }
