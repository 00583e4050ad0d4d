"""E2xx route rules on fixture manifests and on the real-world corpus.

Fixtures: ``tests/fixtures/manifest/routes/positive/*.json`` must produce no E2xx/W2xx (I2xx
notes are allowed); each ``negative/<name>.json`` has ``<name>.expected`` listing every
E2xx/W2xx/I2xx finding, with lines ``CODE line:col [severity] | message fragment`` (``#``
starts a comment).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iotedge_cli.diagnostics import Diagnostic
from iotedge_cli.manifest.lint import LintOptions, lint_doc
from iotedge_cli.manifest.loader import load_file, load_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "manifest" / "routes"
ROUTE_CODES = LintOptions(select=("E2", "W2", "I2"))
ROUTE_PROBLEMS = LintOptions(select=("E2", "W2"))


def findings(path: Path, options: LintOptions = ROUTE_CODES) -> list[Diagnostic]:
    return lint_doc(load_file(path), options)


def read_expected(path: Path) -> list[tuple[str, str, str | None, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head, _, fragment = line.partition("|")
        code, pos, *severity = head.split()
        rows.append((code, pos, severity[0] if severity else None, fragment.strip()))
    return rows


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "positive").glob("*.json")), ids=lambda p: p.name
)
def test_positive_fixture_has_no_route_findings(path: Path) -> None:
    found = findings(path, ROUTE_PROBLEMS)
    assert [f"{d.code} {d.location}: {d.message}" for d in found] == []


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "negative").glob("*.json")), ids=lambda p: p.name
)
def test_negative_fixture_has_exactly_the_expected_findings(path: Path) -> None:
    expected = read_expected(path.with_suffix(".expected"))
    found = findings(path)
    assert [(d.code, f"{d.location.line}:{d.location.col}") for d in found] == [
        (code, pos) for code, pos, _, _ in expected
    ]
    for diag, (_, _, severity, fragment) in zip(found, expected, strict=True):
        assert fragment in diag.message
        if severity:
            assert diag.severity.value == severity
        assert "\n" not in diag.message


def test_every_route_code_has_a_negative_fixture() -> None:
    from iotedge_cli.manifest.lint.rules.routes import RULES

    covered = {
        code
        for exp in (FIXTURES / "negative").glob("*.expected")
        for code, *_ in read_expected(exp)
    }
    assert {r.code for r in RULES} <= covered


def _hub_only(routes: str, *, options: LintOptions = ROUTE_CODES) -> list[Diagnostic]:
    text = (
        '{"modulesContent": {"$edgeHub": {"properties.desired": {"schemaVersion": "1.1", '
        '"routes": ' + routes + "}}}}"
    )
    return lint_doc(load_text(text, "m.json"), options)


def test_template_placeholders_are_words_only_in_templates() -> None:
    routes = '{"r": "FROM /messages/modules/${SRC}/* INTO $upstream"}'
    as_template = LintOptions(select=("E2", "W2"), template=True)
    assert _hub_only(routes, options=as_template) == []
    plain = _hub_only(routes, options=LintOptions(select=("E2", "W2"), template=False))
    assert [(d.code, d.location.path[-1]) for d in plain] == [("E201", "r")]
    assert "found '{'" in plain[0].message


def test_non_string_routes_are_left_to_the_schema_rules() -> None:
    assert _hub_only('{"a": 5, "b": {"priority": 1}, "c": {"route": 7}}') == []


# --- corpus -------------------------------------------------------------------------

# Every E2xx/W2xx finding on the corpus, each checked by hand against the file.
CORPUS_EXPECTED: dict[str, list[tuple[str, str]]] = {
    # "FROM device messages ..." - the source is not a path.
    "cliext__test_edge_deployment_malformed.json": [("E201", "44:35")],
    # CameraCaptureGA is not deployed (the module is camera-capture).
    "customvision_rpi__deployment.template.json": [("W202", "106:38")],
    # csharpmodule / csharpfunction are not deployed (only tempSensor is).
    "iotedgedev__deployment.manifest_invalid_schema.json": [
        ("E203", "59:37"),
        ("W202", "60:37"),
        ("W202", "61:39"),
    ],
    # filtermodule is not deployed (only tempSensor is).
    "iotedgedev__deployment.template.non_str_placeholder.json": [("E203", "71:37")],
    # /messages/modules/HealthMonitor/output: "output" is not "outputs"; never matches.
    "raalabs_timeseries__deployment.template.json": [("W206", "72:38")],
    # csharp is not deployed; the sink says cmodule but the module id is CMODULE.
    "schemastore__test_deployment-1.0_deployment.json": [("W202", "74:29"), ("E203", "75:30")],
    "schemastore__test_deployment-2.0_deployment.json": [("W202", "77:29"), ("E203", "78:30")],
    # $edgeHub-only fragment: no module checks, but route pri0 (/messages/*, priority 0)
    # shadows cmoduleToIoTHub and csharpToIoTHub on $upstream.
    "schemastore__test_edgehub-1.2_deployment.json": [("W205", "51:20"), ("W205", "51:20")],
}


@pytest.mark.corpus
def test_corpus_route_findings(corpus_dir: Path) -> None:
    actual: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(corpus_dir.glob("*.json")):
        try:
            doc = load_file(path)
        except Exception:  # unreadable files are E001, not ours
            continue
        found = [
            (d.code, f"{d.location.line}:{d.location.col}") for d in lint_doc(doc, ROUTE_CODES)
        ]
        if found:
            actual[path.name] = found
    expected = {k: v for k, v in CORPUS_EXPECTED.items() if (corpus_dir / k).exists()}
    assert actual == expected


@pytest.mark.corpus
def test_corpus_lowercase_from_parses(corpus_dir: Path) -> None:
    from iotedge_cli.manifest.model import Manifest
    from iotedge_cli.routes import parse_route

    path = corpus_dir / "cliext__test_edge_deployment_layered.json"
    if not path.exists():
        pytest.skip(f"{path.name} not in the corpus")
    routes = list(Manifest.from_doc(load_file(path)).routes())
    assert routes
    for _, _, text in routes:
        assert text.startswith("from ")
        assert parse_route(text).source.normalised_prefix == "/messages/"


def test_template_conditions_with_placeholders_are_not_type_checked() -> None:
    routes = '{"r": "FROM /messages/* WHERE ${LEVEL} > 30 INTO $upstream"}'
    as_template = LintOptions(select=("E2", "W2"), template=True)
    assert _hub_only(routes, options=as_template) == []


def test_condition_errors_in_layered_manifests_point_inside_the_string() -> None:
    text = (
        '{"modulesContent": {"$edgeHub": {\n'
        '  "properties.desired.routes.hot": {"route": '
        '"FROM /messages/* WHERE \\"\\\\\\"\\" = $x AND level > 3 INTO $upstream"}}}}'
    )
    [diag] = lint_doc(load_text(text, "layered.json"), ROUTE_CODES)
    line = text.split("\n")[1]
    assert (diag.code, diag.location.line) == ("E208", 2)
    assert line[diag.location.col - 1 :].startswith("level > 3")
    assert diag.location.path[-1] == "route"
