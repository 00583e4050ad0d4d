"""The generated modules' own checks: pytest + py_compile (Python), node --check + --test (Node)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scaffold.helpers import LANGUAGES, MODULE, ok


def module_dir(tmp_path: Path, language: str) -> Path:
    ok(["new-solution", str(tmp_path / "s"), "-m", MODULE, "--lang", language])
    return tmp_path / "s" / "modules" / MODULE


def test_python_module_unit_tests_pass_without_the_sdk(tmp_path: Path) -> None:
    module = module_dir(tmp_path, "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(module)],
        cwd=module,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_python_module_compiles(tmp_path: Path) -> None:
    module = module_dir(tmp_path, "python")
    files = sorted(str(p) for p in module.rglob("*.py"))
    assert len(files) >= 5
    result = subprocess.run(
        [sys.executable, "-m", "py_compile", *files], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (module / "requirements.txt").read_text() == "azure-iot-device~=2.14\n"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("node is not on PATH (required in CI)")
        pytest.skip("node is not on PATH")
    return found


def test_node_module_checks_and_tests(tmp_path: Path) -> None:
    exe = node()
    module = module_dir(tmp_path, "node")
    scripts = sorted(module.rglob("*.js"))
    assert {p.name for p in scripts} == {"app.js", "filter.js", "filter.test.js"}
    for script in scripts:
        result = subprocess.run([exe, "--check", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, (script, result.stderr)
    result = subprocess.run(
        [exe, "--test", "test/filter.test.js"],
        cwd=module,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 4" in result.stdout


@pytest.mark.parametrize("language", LANGUAGES)
def test_dockerfiles_take_a_base_image_and_module_json_lists_them(
    tmp_path: Path, language: str
) -> None:
    import json

    module = module_dir(tmp_path, language)
    data = json.loads((module / "module.json").read_text())
    assert data["image"]["repository"] == "localhost:5000/filtermodule"
    assert data["language"] == language
    platforms = data["image"]["tag"]["platforms"]
    assert set(platforms) == {"amd64", "amd64.debug", "arm32v7", "arm64v8"}
    for dockerfile in platforms.values():
        lines = (module / dockerfile).read_text().splitlines()
        assert lines[0].startswith("ARG BASE_IMAGE="), dockerfile
        assert len(lines[0]) > len("ARG BASE_IMAGE=")
        assert "FROM ${BASE_IMAGE}" in lines
    assert (module / ".dockerignore").is_file()


def test_python_dockerfile_installs_from_wheels_when_present(tmp_path: Path) -> None:
    module = module_dir(tmp_path, "python")
    text = (module / "Dockerfile.amd64").read_text()
    assert text.startswith("ARG BASE_IMAGE=python:3.11-slim-bookworm\nFROM ${BASE_IMAGE}\n")
    assert "COPY requirements.txt ./" in text
    assert "--no-index --find-links /tmp/wheels" in text
    assert "USER 10001:10001" in text
    assert text.rstrip().endswith('CMD ["python3", "-u", "./main.py"]')
    assert "arm64v8/python:3.11-slim-bookworm" in (module / "Dockerfile.arm64v8").read_text()
    assert "debugpy" in (module / "Dockerfile.amd64.debug").read_text()
