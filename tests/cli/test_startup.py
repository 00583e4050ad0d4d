"""Start-up stays light: `edgectl --help` imports no command group and no heavy library.

Timing belongs in bench/; this checks the cause of slowness (imports) deterministically.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("cryptography", "jsonschema", "yaml", "docker", "azure", "rich", "pydantic")

PROBE = """
import json, sys
from iotedge_cli.cli.app import main
try:
    main({argv!r})
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted(sys.modules)))
"""


def imported_by(argv: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["nosuchcommand"]])
def test_root_commands_import_no_group_and_nothing_heavy(argv: list[str]) -> None:
    modules = imported_by(argv)
    assert not {
        m
        for m in modules
        if m.startswith(
            ("iotedge_cli.cli.manifest", "iotedge_cli.cli.routes", "iotedge_cli.cli.certs")
        )
    }
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_a_group_imports_only_itself() -> None:
    modules = imported_by(["routes", "--help"])
    assert "iotedge_cli.cli.routes" in modules
    assert "iotedge_cli.cli.certs" not in modules
    assert "iotedge_cli.cli.manifest" not in modules
    assert "cryptography" not in modules
