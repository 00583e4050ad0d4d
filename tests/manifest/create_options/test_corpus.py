"""The real manifests in ../shared/corpus: E3xx/W3xx findings are exactly the hand-checked ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotedge_cli.manifest.lint import lint_paths

pytestmark = pytest.mark.corpus

# Every finding below was checked by hand against the file (see the createOptions report).
# All of them are warnings: these files deploy (the notes call them valid), so nothing here
# may be an error.
KNOWN: dict[str, list[tuple[str, str, str]]] = {
    # {"MemorySwap":0} at the top level: a legacy placement Docker still copies
    "cliext__smoke_edge_deployment_content.json": [("E308", "8:44", "warning")],
    "cliext__test_edge_deployment_layered.json": [("E308", "8:44", "warning")],
    # ...and MemoryReservation at the top level, which Docker ignores there (the setting is lost)
    "cliext__test_edge_deployment.json": [
        ("E308", "11:52", "warning"),
        ("E308", "11:69", "warning"),
    ],
    # "Privileged":"true" (a string): works only because Newtonsoft converts it
    "iotedge__edgehub_restart_deployment.template.json": [("E309", "277:65", "warning")],
    "schemastore__test_template-2.0_long_haul_deployment.template.json": [
        ("E309", "257:65", "warning")
    ],
}


def test_corpus_findings_are_the_known_ones(corpus_dir: Path) -> None:
    files = sorted(corpus_dir.glob("*.json"))
    report = lint_paths(files)
    got: dict[str, list[tuple[str, str, str]]] = {}
    for d in report.sorted():
        if d.code[1:2] == "3":
            name = Path(d.location.file).name
            got.setdefault(name, []).append(
                (d.code, f"{d.location.line}:{d.location.col}", d.severity.value)
            )
    present = {f.name for f in files}
    assert got == {name: rows for name, rows in KNOWN.items() if name in present}
