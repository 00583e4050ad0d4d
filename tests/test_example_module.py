"""examples/solution's filtermodule is the Python template rendered: keep the two in step."""

from __future__ import annotations

import filecmp
from pathlib import Path

from typer.testing import CliRunner

from iotedge_cli.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "solution" / "modules" / "filtermodule"
# module.json differs on purpose: the example's repository uses ${CONTAINER_REGISTRY_ADDRESS}.
SAME = [
    "main.py",
    "temperature_filter.py",
    "requirements.txt",
    ".dockerignore",
    "Dockerfile.amd64",
    "Dockerfile.amd64.debug",
    "Dockerfile.arm32v7",
    "Dockerfile.arm64v8",
    "tests/conftest.py",
    "tests/test_main.py",
    "tests/test_temperature_filter.py",
]


def test_example_module_equals_a_fresh_render(tmp_path: Path) -> None:
    solution = tmp_path / "sol"
    result = CliRunner().invoke(app, ["new-solution", str(solution)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        app, ["new-module", "filtermodule", "--lang", "python", "--solution", str(solution)]
    )
    assert result.exit_code == 0, result.output
    rendered = solution / "modules" / "filtermodule"
    differ = [
        name for name in SAME if not filecmp.cmp(rendered / name, EXAMPLE / name, shallow=False)
    ]
    assert differ == [], f"regenerate examples/solution/modules/filtermodule: {differ}"
