"""E3xx rules on small in-memory manifests: severities, forms and edge cases the fixtures don't show."""

from __future__ import annotations

import json
from typing import Any

from iotedge_cli.diagnostics import Diagnostic, Severity
from iotedge_cli.manifest.lint import LintOptions, all_rules, lint_doc
from iotedge_cli.manifest.loader import load_text


def _manifest(settings: dict[str, Any], *, template: bool = False) -> str:
    doc: dict[str, Any] = {"$schema-template": "4.0.0"} if template else {}
    doc["modulesContent"] = {
        "$edgeAgent": {
            "properties.desired": {
                "schemaVersion": "1.1",
                "modules": {"m": {"type": "docker", "settings": {"image": "img:1", **settings}}},
            }
        }
    }
    return json.dumps(doc, indent=2)


def _lint(text: str, name: str = "deployment.json", **options: Any) -> list[Diagnostic]:
    found = lint_doc(load_text(text, name), LintOptions(**options))
    return [d for d in found if d.code[1:2] == "3"]


def _codes(text: str, name: str = "deployment.json", **options: Any) -> list[str]:
    return [d.code for d in _lint(text, name, **options)]


def test_rules_are_registered() -> None:
    codes = {c for c in all_rules() if c[1:2] == "3"}
    assert codes == {"E301", "E302", "W303", "E304", "W305", "E306", "W307", "E308", "E309", "E310"}


def test_more_than_100_chunks() -> None:
    chunks = {("createOptions" if i == 0 else f"createOptions{i:02d}"): "" for i in range(101)}
    chunks["createOptions"] = "{}"
    found = _lint(_manifest(chunks))
    assert [d.code for d in found] == ["E306", "E304"]
    assert "reads only 100 (up to 'createOptions99')" in found[0].message
    # a 101st chunk has a three-digit name, which sorts between createOptions10 and 11
    assert "'createOptions100' is out of sequence" in found[1].message


def test_template_object_over_100_chunks() -> None:
    text = _manifest({"createOptions": {"Env": ["A=" + "x" * (512 * 100)]}}, template=True)
    assert _codes(text) == ["E306"]


def test_non_canonical_names_and_key_case_are_warnings() -> None:
    text = _manifest({"createoptions": '{"hostConfig": {}}'})
    found = _lint(text)
    assert [(d.code, d.severity) for d in found] == [
        ("E304", Severity.WARNING),
        ("E308", Severity.WARNING),
    ]


def test_array_value_is_not_an_object() -> None:
    assert _codes(_manifest({"createOptions": [1, 2]})) == ["E302"]
    assert _codes(_manifest({"createOptions": '"just a string"'})) == ["E302"]


def test_non_string_chunk() -> None:
    found = _lint(_manifest({"createOptions": "{", "createOptions01": 5}))
    assert [d.code for d in found] == ["E301"]
    assert "'createOptions01' of module 'm' is a number" in found[0].message


def test_empty_and_null_are_empty_options() -> None:
    for value in ("", "  ", "null", None):
        assert _codes(_manifest({"createOptions": value})) == []


def test_object_is_fine_in_a_template_only() -> None:
    obj = {"HostConfig": {"Privileged": True}}
    assert _codes(_manifest({"createOptions": obj}, template=True)) == []
    assert _codes(_manifest({"createOptions": obj})) == ["E310"]
    assert _codes(_manifest({"createOptions": obj}), template=True) == []


def test_template_placeholders_do_not_make_invalid_json() -> None:
    options = '{"HostConfig": {"Memory": ${MEMORY}, "Binds": ["${DIR}:/d"], "ShmSize": "$SHM"}}'
    assert _codes(_manifest({"createOptions": options}, template=True)) == []
    # the same text in a deployment manifest: an unexpanded placeholder is a JSON error
    found = _lint(_manifest({"createOptions": options}), template=False)
    assert [d.code for d in found] == ["E301"]
    assert "unexpanded placeholder '${MEMORY}'" in found[0].message


def test_bare_placeholder_value_is_skipped() -> None:
    text = '{"modulesContent": {"$edgeAgent": {"properties.desired": {"modules": {"m": {"settings": {"createOptions": ${OPTS}}}}}}}}'
    assert _codes(text) == []


def test_system_modules_are_checked() -> None:
    doc = {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "systemModules": {
                        "edgeHub": {
                            "settings": {
                                "createOptions": '{"HostConfig":{"PortBindings":{"443/tcp":[{"HostPort":443}]}}}'
                            }
                        }
                    }
                }
            }
        }
    }
    found = _lint(json.dumps(doc))
    assert [d.code for d in found] == ["E309"]
    assert "module 'edgeHub'" in found[0].message


def test_yaml_template_object_points_at_nodes() -> None:
    text = (
        "$schema-template: 4.0.0\n"
        "modulesContent:\n"
        "  $edgeAgent:\n"
        "    properties.desired:\n"
        "      modules:\n"
        "        m:\n"
        "          settings:\n"
        "            createOptions:\n"
        "              HostConfig:\n"
        "                Privileged: 'yes'\n"
    )
    found = _lint(text, "deployment.template.yaml")
    assert [(d.code, d.location.line, d.location.col) for d in found] == [("E309", 10, 29)]


def test_yaml_string_falls_back_to_the_node() -> None:
    text = (
        "modulesContent:\n"
        "  $edgeAgent:\n"
        "    properties.desired:\n"
        "      modules:\n"
        "        m:\n"
        "          settings:\n"
        "            createOptions: '{\"HostConfg\": {}}'\n"
    )
    found = _lint(text, "deployment.yaml")
    assert [(d.code, d.location.line, d.location.col) for d in found] == [("E308", 7, 28)]
