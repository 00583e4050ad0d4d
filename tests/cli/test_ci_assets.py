"""The shipped CI assets: pre-commit hooks and the GitHub workflow run commands that work."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.helpers import CLEAN, DUPLICATE, invoke, schema_errors, write

ROOT = Path(__file__).resolve().parents[2]
SCHEMASTORE = "https://json.schemastore.org/"


def _yaml(relative: str) -> Any:
    return yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))


def _hooks() -> dict[str, dict[str, Any]]:
    return {hook["id"]: hook for hook in _yaml(".pre-commit-hooks.yaml")}


def test_pre_commit_hooks_match_the_schema() -> None:
    assert (
        schema_errors(SCHEMASTORE + "pre-commit-hooks.json", _yaml(".pre-commit-hooks.yaml")) == []
    )


def test_pre_commit_config_example_matches_the_schema() -> None:
    readme = (ROOT / "examples/ci/README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)
    config = yaml.safe_load(block)
    assert schema_errors(SCHEMASTORE + "pre-commit-config.json", config) == []
    assert [h["id"] for h in config["repos"][0]["hooks"]] == ["edgectl-validate"]


def test_pre_commit_hooks() -> None:
    hooks = _hooks()
    assert set(hooks) == {"edgectl-validate", "edgectl-validate-strict"}
    assert hooks["edgectl-validate"]["entry"] == "edgectl manifest validate"
    assert hooks["edgectl-validate-strict"]["entry"] == "edgectl manifest validate --strict"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["files"] == r"deployment.*\.json$|deployment.*\.ya?ml$"
        assert hook["name"]


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("deployment.template.json", True),
        ("config/deployment.debug.template.json", True),
        ("config/deployment.amd64.json", True),
        ("deployment.yaml", True),
        ("layered/deployment.yml", True),
        ("modules/filter/module.json", False),
        ("deployment.template.json.bak", False),
        ("package.json", False),
    ],
)
def test_pre_commit_file_pattern(path: str, matched: bool) -> None:
    # pre-commit applies `files` with re.search to each path relative to the repository root.
    pattern = re.compile(_hooks()["edgectl-validate"]["files"])
    assert bool(pattern.search(path)) is matched


@pytest.mark.parametrize(
    ("hook", "exit_code"), [("edgectl-validate", 0), ("edgectl-validate-strict", 1)]
)
def test_pre_commit_entries_run(
    hook: str, exit_code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"deployment.json": CLEAN, "config/deployment.dup.json": DUPLICATE})
    monkeypatch.chdir(tmp_path)
    program, *args = shlex.split(_hooks()[hook]["entry"])
    assert program == "edgectl"
    run = invoke([*args, "deployment.json", "config/deployment.dup.json"])
    assert run.exit_code == exit_code
    assert "config/deployment.dup.json:6:9: W004 " in run.stdout


def _workflow() -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean true.
    raw: dict[Any, Any] = _yaml("examples/ci/github-workflow.yml")
    return {"on" if key is True else str(key): value for key, value in raw.items()}


def test_workflow_matches_the_schema() -> None:
    assert schema_errors(SCHEMASTORE + "github-workflow.json", _workflow()) == []


def _steps() -> list[dict[str, Any]]:
    workflow = _workflow()
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["security-events"] == "write"
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_workflow_steps() -> None:
    steps = _steps()
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert uses == ["actions/checkout", "actions/setup-python", "github/codeql-action/upload-sarif"]
    runs = [s["run"] for s in steps if "run" in s]
    assert any("pip install edgectl" in r for r in runs)
    assert "edgectl manifest validate --format github config/*.json" in runs
    (sarif_step,) = [r for r in runs if "--format sarif" in r]
    redirect = re.search(r">\s*(\S+)", sarif_step)
    assert redirect is not None
    (upload,) = [
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    ]
    assert upload["with"]["sarif_file"] == redirect.group(1)


def test_workflow_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"config/deployment.json": CLEAN, "config/deployment.dup.json": DUPLICATE})
    monkeypatch.chdir(tmp_path)
    files = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "config").glob("*.json"))
    for command in (s["run"] for s in _steps() if "edgectl manifest validate" in s.get("run", "")):
        line = command.split(">")[0]
        program, *args = shlex.split(line)
        assert program == "edgectl"
        args = [a for a in args if a != "config/*.json"] + files
        run = invoke(args)
        assert run.exit_code == 0
        assert "deployment.dup.json" in run.stdout
