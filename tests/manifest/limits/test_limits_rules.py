"""E5xx/W5xx rules: IoT Hub twin limits and rules, plaintext secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.manifest.lint import LintOptions, all_rules, lint_doc
from iotedge_cli.manifest.lint.rules import limits
from iotedge_cli.manifest.lint.rules.limits import secret_name
from iotedge_cli.manifest.loader import load_file
from tests.manifest.modules.rulecases import case_id, cases, expected, run_file, run_text, summary


@pytest.mark.parametrize("path", cases("limits", "negative"), ids=case_id)
def test_negative_fixture_reports_exactly_the_expected_findings(path: Path) -> None:
    assert summary(run_file(limits, path)) == expected(path)


@pytest.mark.parametrize("path", cases("limits", "positive"), ids=case_id)
def test_positive_fixture_has_no_finding(path: Path) -> None:
    assert summary(run_file(limits, path)) == []


def test_the_engine_registers_and_runs_the_family() -> None:
    assert {"W501", "E502", "E503", "E504", "E505", "E506", "E507", "W508"} <= set(all_rules())
    path = cases("limits", "negative")[0]
    assert summary(lint_doc(load_file(path), LintOptions(select=("E5", "W5")))) == expected(path)


def manifest(modules: dict[str, Any], twins: dict[str, Any] | None = None) -> str:
    agent = {
        "schemaVersion": "1.1",
        "runtime": {"type": "docker", "settings": {}},
        "systemModules": {},
        "modules": modules,
    }
    content: dict[str, Any] = {"$edgeAgent": {"properties.desired": agent}, **(twins or {})}
    return json.dumps({"modulesContent": content}, indent=2)


def module(create_options: str = "{}") -> dict[str, Any]:
    return {"type": "docker", "settings": {"image": "redis:7", "createOptions": create_options}}


def agent_size(text: str) -> int:
    """The documented size rule, recomputed independently for an ASCII $edgeAgent section."""

    def size(node: Any) -> int:
        if isinstance(node, dict):
            return sum(len(k) + size(v) for k, v in node.items())
        if isinstance(node, str):
            return len(node)
        if isinstance(node, bool):
            return 4
        return 8

    return size(json.loads(text)["modulesContent"]["$edgeAgent"]["properties.desired"])


@pytest.mark.parametrize(("count", "code"), [(7, None), (8, "W508"), (9, "E502")])
def test_edge_agent_desired_size_against_the_32_kb_limit(count: int, code: str | None) -> None:
    text = manifest(
        {f"m{i}": module("{" + '"Labels":{"x":"' + "y" * 3900 + '"}}') for i in range(count)}
    )
    found = run_text(limits, text)
    size = agent_size(text)
    assert (size > 32768, size > 29491) == (code == "E502", code is not None)
    assert [d.code for d in found] == ([code] if code else [])
    if code:
        d = found[0]
        assert f"{size:,} bytes" in d.message and "32,768" in d.message
        assert (d.location.line, d.location.col) == (
            4,
            7,
        )  # the "properties.desired" key of $edgeAgent


def test_module_twin_size_counts_utf8_and_points_at_the_twin() -> None:
    twin = {"properties.desired": {f"k{i}": "é" * 2000 for i in range(9)}}  # 9 × (2 + 4000) bytes
    found = run_text(limits, manifest({"filter": module()}, {"filter": twin}))
    assert [d.code for d in found] == ["E502"]
    assert "module twin 'filter' desired properties are 36,018 bytes" in found[0].message


def test_secrets_are_flagged_in_templates_only() -> None:
    creds = {"acr": {"username": "u", "password": "hunter2", "address": "myacr.azurecr.io"}}
    text = manifest({"filter": module()}).replace(
        '"settings": {}', '"settings": ' + json.dumps({"registryCredentials": creds})
    )
    assert [d.code for d in run_text(limits, text, "deployment.template.json")] == ["W501"]
    assert [d.code for d in run_text(limits, text, template=True)] == ["W501"]
    # a generated manifest holds the expanded values by design
    assert run_text(limits, text) == []
    assert run_text(limits, text, "deployment.template.json", template=False) == []


@pytest.mark.parametrize(
    "name",
    [
        "PASSWORD",
        "DB_PASSWORD",
        "dbPassword",
        "MQTT_PASSWD",
        "Pwd",
        "ClientSecret",
        "API_KEY",
        "ApiKey",
        "SharedAccessKey",
        "PRIMARY_KEY",
        "SAS_TOKEN",
        "SAS",
        "IOTHUB_CONNECTION_STRING",
        "storageconnectionstring",
        "ConnectionString",
        "DB_CONN_STR",
    ],
)
def test_secret_names(name: str) -> None:
    assert secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "KEYBOARD",
        "KEYBOARD_LAYOUT",
        "KEY_VAULT_NAME",
        "PUBLIC_KEY",
        "PartitionKey",
        "PASSWORD_FILE",
        "TOKEN_LIFETIME",
        "USERNAME",
        "SECRETARY_NAME",
        "MONKEY",
        "TURKEY_COUNT",
    ],
)
def test_not_secret_names(name: str) -> None:
    assert not secret_name(name)


@pytest.mark.corpus
def test_corpus_findings_are_the_known_plaintext_secrets(corpus_dir: Path) -> None:
    found: list[tuple[str, str, int]] = []
    for path in sorted(corpus_dir.glob("*.json")):
        found += [(path.name, d.code, d.location.line) for d in run_file(limits, path)]
    assert found == [
        (
            "blobsample__deployment.template.json",
            "W501",
            80,
        ),  # LOCAL_STORAGE_ACCOUNT_KEY=<real key>
        (
            "blobsample__deployment.template.json",
            "W501",
            106,
        ),  # storageconnectionstring with AccountKey
        ("sammywhamy_issue6662__deployment.template.json", "W501", 15),  # a real ACR password
    ]  # generated manifests (cliext, schemastore fixtures) are not checked for secrets
