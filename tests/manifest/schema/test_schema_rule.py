"""E1xx schema rules on fixture manifests and on the real-world corpus.

Fixtures: ``tests/fixtures/manifest/schema/positive/*.json`` must produce no E1xx; each
``negative/<name>.json`` has ``<name>.expected`` with lines ``CODE line:col | message fragment``
(``#`` starts a comment), in the order the linter reports them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.diagnostics import Diagnostic
from iotedge_cli.errors import InputError
from iotedge_cli.manifest.lint import LintOptions, all_rules, lint_doc
from iotedge_cli.manifest.loader import SourceDoc, load_file, load_text
from iotedge_cli.manifest.model import Manifest
from iotedge_cli.manifest.schema import (
    AGENT,
    HUB,
    SUPPORTED,
    checker,
    schema_name,
    select_version,
    validator,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "manifest" / "schema"
SCHEMA_CODES = LintOptions(select=("E1",))


def findings(doc: SourceDoc) -> list[Diagnostic]:
    return lint_doc(doc, SCHEMA_CODES)


def read_expected(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head, _, fragment = line.partition("|")
        code, pos = head.split()
        rows.append((code, pos, fragment.strip()))
    return rows


def corpus_docs(corpus: Path) -> dict[str, SourceDoc]:
    docs = {}
    for path in sorted(corpus.glob("*.json")):
        try:
            docs[path.name] = load_file(path)
        except InputError:
            continue  # not JSON until expanded (a bare placeholder in a position json rejects)
    return docs


def corpus_index(corpus: Path) -> dict[str, dict[str, str]]:
    with (corpus / "INDEX.tsv").open(encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}


# --- fixtures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "positive").glob("*.json")), ids=lambda p: p.name
)
def test_positive_fixture_has_no_schema_findings(path: Path) -> None:
    assert [f"{d.code} {d.location}: {d.message}" for d in findings(load_file(path))] == []


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "negative").glob("*.json")), ids=lambda p: p.name
)
def test_negative_fixture_has_exactly_the_expected_findings(path: Path) -> None:
    expected = read_expected(path.with_suffix(".expected"))
    found = findings(load_file(path))
    assert [(d.code, f"{d.location.line}:{d.location.col}") for d in found] == [
        (code, pos) for code, pos, _ in expected
    ]
    for diag, (_, _, fragment) in zip(found, expected, strict=True):
        assert fragment in diag.message
        assert "\n" not in diag.message


def test_every_schema_code_is_exercised_by_a_negative_fixture() -> None:
    codes = {row[0] for p in (FIXTURES / "negative").glob("*.expected") for row in read_expected(p)}
    declared = {code for code in all_rules() if code.startswith("E1")}
    # E110 is the catch-all for schema keywords the bundled schemas do not use today.
    assert declared - codes == {"E110"}


def test_template_placeholders_are_not_findings_but_the_same_values_in_a_manifest_are() -> None:
    template = (FIXTURES / "positive" / "placeholders.template.json").read_text(encoding="utf-8")
    assert findings(load_text(template, "deployment.template.json")) == []
    # Forced out of template mode, $VAR values are checked like any value; ${…} ones are left
    # to the unresolved-placeholder rule (E403), so no E1xx repeats it.
    forced = lint_doc(
        load_text(template, "deployment.template.json"), LintOptions(select=("E1",), template=False)
    )
    assert [d.code for d in forced] == []


# --- messages and locations --------------------------------------------------------------------

MODULE = """{
  "modulesContent": {
    "$edgeAgent": {"properties.desired": {
      "schemaVersion": "1.1",
      "runtime": {"type": "docker", "settings": {}},
      "systemModules": {
        "edgeAgent": {"type": "docker", "settings": {"image": "a:1"}},
        "edgeHub": {"type": "docker", "status": "running", "restartPolicy": "always", "settings": {"image": "h:1"}}
      },
      "modules": {"filtermodule": %s}
    }},
    "$edgeHub": {"properties.desired": {"schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}}}
  }
}"""


def lint_module(spec: str) -> list[tuple[str, str, str]]:
    doc = load_text(MODULE % spec, "m.json")
    return [(d.code, f"{d.location.line}:{d.location.col}", d.message) for d in findings(doc)]


def test_enum_message_names_the_value_and_the_allowed_ones() -> None:
    got = lint_module(
        '{"type": "docker", "status": "running", "restartPolicy": "sometimes", "settings": {"image": "f:1"}}'
    )
    assert got == [
        (
            "E103",
            "10:92",
            "modules.filtermodule.restartPolicy: 'sometimes' is not one of never, on-failure, "
            "on-unhealthy, always",
        )
    ]


def test_missing_property_points_at_the_parent_object() -> None:
    got = lint_module(
        '{"type": "docker", "status": "running", "restartPolicy": "always", "settings": {}}'
    )
    assert [(c, p) for c, p, _ in got] == [("E101", "10:114")]
    assert got[0][2].startswith(
        "missing required property 'image' in modules.filtermodule.settings"
    )


def test_unknown_property_points_at_the_key_and_a_typo_gives_one_finding() -> None:
    got = lint_module(
        '{"type": "docker", "status": "running", "restartpolicy": "always", "settings": {"image": "f:1"}}'
    )
    assert got == [
        (
            "E105",
            "10:75",
            "unknown property 'restartpolicy' in modules.filtermodule: did you mean 'restartPolicy'?",
        )
    ]


def test_malformed_corpus_file_gets_missing_runtime_and_bad_restart_policy(
    corpus_dir: Path,
) -> None:
    doc = load_file(corpus_dir / "cliext__test_edge_deployment_malformed.json")
    got = [(d.code, d.location.line, d.location.col, d.message) for d in findings(doc)]
    assert [g[:3] for g in got] == [("E101", 6, 39), ("E103", 31, 46)]
    assert "'runtime'" in got[0][3]
    assert "'on-failured' is not one of never, on-failure" in got[1][3]


# --- version selection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "value", "selected"),
    [
        (AGENT, "1.0", "1.0"),
        (AGENT, "1.1", "1.1"),
        (AGENT, "1.0.5", "1.0"),
        (AGENT, "1.1.0", "1.1"),
        (AGENT, "1.1.1", None),  # > Version("1.1.0")
        (AGENT, "1.1.0.0", None),  # System.Version: 1.1.0.0 > 1.1.0
        (AGENT, "1", None),
        (AGENT, "1.2", None),
        (AGENT, "2.0", None),
        (AGENT, "9.0", None),
        (AGENT, "11.1", None),
        (AGENT, "x1.1y", None),
        (AGENT, 1.1, None),
        (HUB, "1.0", "1.0"),
        (HUB, "1.2", "1.2"),
        (HUB, "1.3", "1.3"),
        (HUB, "1.3.9", "1.3"),
        (HUB, "1.4", None),
        (HUB, "9.1", None),
        (HUB, "1.10", None),
    ],
)
def test_select_version_follows_the_runtime(section: str, value: Any, selected: str | None) -> None:
    assert select_version(section, value) == selected


def test_placeholder_schema_version_is_allowed_only_in_templates() -> None:
    text = (FIXTURES / "negative" / "e107_v90_v91.json").read_text(encoding="utf-8")
    text = text.replace('"9.0"', '"$EDGEAGENT_SCHEMA_VERSION"').replace(
        '"9.1"', '"$EDGEHUB_SCHEMA_VERSION"'
    )
    assert findings(load_text(text, "deployment.template.json")) == []
    as_manifest = findings(load_text(text, "deployment.json"))
    assert [d.code for d in as_manifest] == ["E107", "E107"]


# --- the corpus ----------------------------------------------------------------------------------


@pytest.mark.corpus
def test_every_corpus_file_lints_without_crashing(corpus_dir: Path) -> None:
    for doc in corpus_docs(corpus_dir).values():
        lint_doc(doc)


@pytest.mark.corpus
def test_corpus_files_the_published_schemas_accept_have_no_schema_findings(
    corpus_dir: Path,
) -> None:
    index = corpus_index(corpus_dir)
    docs = corpus_docs(corpus_dir)
    checked = 0
    for name, row in index.items():
        notes = row["notes"]
        if name not in docs or "INVALID" in notes:
            continue
        if row["kind"] == "generated" and not any(
            f"{twin} {v}: ok" in notes for twin in (AGENT, HUB) for v in SUPPORTED[twin]
        ):
            continue
        if (
            row["kind"] == "template"
            and "schema (per $schema-template): ok" not in notes
            and ("template-4.0 schema (VS Code/iotedgedev default): ok" not in notes)
        ):
            continue
        checked += 1
        assert [f"{d.location}: {d.code} {d.message}" for d in findings(docs[name])] == [], name
    assert checked >= 25


@pytest.mark.corpus
def test_templates_and_layered_corpus_files_have_no_schema_findings(corpus_dir: Path) -> None:
    index = corpus_index(corpus_dir)
    # Real defects found by hand; every other template and layered file is clean.
    known = {"iiiot__publisher.deployment.template.json": ["E101"]}  # no $edgeHub at all
    for name, doc in corpus_docs(corpus_dir).items():
        if (
            index.get(name, {}).get("kind") in ("template", "layered")
            and "INVALID" not in index[name]["notes"]
        ):
            assert [d.code for d in findings(doc)] == known.get(name, []), name


def _sections(doc: SourceDoc) -> list[tuple[str, Any]]:
    m = Manifest.from_doc(doc)
    out: list[tuple[str, Any]] = []
    for twin in (AGENT, HUB):
        whole = m.desired(twin)
        if whole is not None:
            for version in SUPPORTED[twin]:
                out.append((schema_name(twin, version), whole[1]))
    for _, _, section in m.module_twins():
        out.append(("moduletwin", section))
    return out


def test_fast_checker_agrees_with_jsonschema(corpus_dir: Path) -> None:
    docs = list(corpus_docs(corpus_dir).values())
    docs += [load_file(p) for p in sorted(FIXTURES.glob("*/*.json"))]
    compared = 0
    for doc in docs:
        for name, instance in _sections(doc):
            assert checker(name)(instance) == validator(name).is_valid(instance), (doc.name, name)
            compared += 1
        m = Manifest.from_doc(doc)
        for module in m.modules():
            if not module.system:
                for version in SUPPORTED[AGENT]:
                    name = schema_name(AGENT, version)
                    fast = checker(name, "module")(module.spec)
                    assert fast == validator(name, "module").is_valid(module.spec)
        for _, _, route in m.routes():
            for version in SUPPORTED[HUB][1:]:
                name = schema_name(HUB, version)
                assert checker(name, "route")(route) == validator(name, "route").is_valid(route)
    assert compared > 200
