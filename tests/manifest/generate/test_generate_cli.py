"""``edgectl manifest generate`` through the CLI: exit codes and what users see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iotedge_cli.cli.app import app
from tests.manifest.generate.helpers import TEMPLATE, filtermodule, line_col_of, make_solution

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "solution"


def invoke(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    monkeypatch.chdir(cwd)
    for name in ("CONTAINER_TAG", "DEFAULT_PLATFORM", "upstream", "edgeHub"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(app, ["manifest", "generate", *args], catch_exceptions=False)


def test_success_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sol = make_solution(tmp_path)
    result = invoke([], sol, monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Wrote config/deployment.amd64.json (platform amd64) from deployment.template.json.\n"
        "  image ${MODULES.filtermodule} -> localhost:5000/filtermodule:0.0.1-amd64\n"
        "  createOptions serialised for 4 modules\n"
    )


def test_json_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sol = make_solution(tmp_path)
    result = invoke(["--json", "-P", "arm32v7"], sol, monkeypatch, CONTAINER_TAG="ci42")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["output"] == "config/deployment.arm32v7.json" and doc["written"] is True
    assert doc["images"] == [
        {
            "placeholder": "${MODULES.filtermodule}",
            "image": "localhost:5000/filtermodule:0.0.1-ci42-arm32v7",
        }
    ]
    assert "demo-password" not in result.stdout  # variable names only, never values
    assert doc["summary"] == {"errors": 0, "warnings": 0}


def test_findings_exit_1_with_locations_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def edit(t: dict[str, Any]) -> None:
        filtermodule(t)["settings"]["image"] = "${MODULES.nosuchmodule}"
        filtermodule(t)["env"]["MY_SETTING"]["value"] = "${NOT_DEFINED_ANYWHERE}"

    sol = make_solution(tmp_path, edit)
    result = invoke([], sol, monkeypatch)
    assert result.exit_code == 1
    tpl = sol / TEMPLATE
    lines = result.output.splitlines()
    assert lines[0] == (
        f"deployment.template.json:{line_col_of(tpl, '${NOT_DEFINED_ANYWHERE}')}: G101 variable "
        "${NOT_DEFINED_ANYWHERE} is not defined; set NOT_DEFINED_ANYWHERE in .env or the environment"
    )
    assert lines[1].startswith(
        f"deployment.template.json:{line_col_of(tpl, '${MODULES.nosuchmodule}')}: G103 "
    )
    assert "(found: filtermodule)" in lines[1]
    assert lines[-2:] == [
        "Found 2 errors, 0 warnings in 1 file.",
        "Not written: config/deployment.amd64.json (fix the errors above).",
    ]
    assert not (sol / "config").exists()


def test_findings_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sol = make_solution(
        tmp_path,
        lambda t: filtermodule(t)["settings"].update(image="${MODULES.filtermodule.arm64v8}"),
    )
    result = invoke(["--json"], sol, monkeypatch)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["written"] is False
    [d] = doc["diagnostics"]
    assert (d["code"], d["file"], d["pointer"]) == (
        "G104",
        "deployment.template.json",
        "/modulesContent/$edgeAgent/properties.desired/modules/filtermodule/settings/image",
    )


def test_p_missing_template_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke([], tmp_path, monkeypatch)
    assert result.exit_code == 2
    assert "error: deployment.template.json: no such file in the current directory" in result.output
    assert "hint: run this in the solution folder" in result.output
    result = invoke(["--json", "nope.json"], tmp_path, monkeypatch)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"] == "nope.json: no such file"


def test_bad_dotenv_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sol = make_solution(tmp_path)
    (sol / ".env").write_text("GOOD=1\noops\n")
    result = invoke([], sol, monkeypatch)
    assert result.exit_code == 2
    assert "error: .env:2: expected KEY=VALUE, found 'oops'" in result.output


def test_hand_edited_output_needs_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sol = make_solution(tmp_path)
    assert invoke([], sol, monkeypatch).exit_code == 0
    out = sol / "config" / "deployment.amd64.json"
    out.write_text(out.read_text() + " ")
    result = invoke([], sol, monkeypatch)
    assert result.exit_code == 2
    assert (
        "error: config/deployment.amd64.json exists and was edited since edgectl wrote it; "
        "use --force to overwrite it"
    ) in result.output
    assert out.read_text().endswith("}\n ")
    assert invoke(["--force"], sol, monkeypatch).exit_code == 0
    assert out.read_text().endswith("}\n")


def test_l_m_hostile_shell_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sol = make_solution(tmp_path)
    assert invoke(["-o", "clean.json"], sol, monkeypatch).exit_code == 0
    assert (
        invoke(["-o", "hostile.json"], sol, monkeypatch, upstream="oops", edgeHub="hub").exit_code
        == 0
    )
    assert (sol / "clean.json").read_bytes() == (sol / "hostile.json").read_bytes()


def test_example_solution_generates_and_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    sol = tmp_path / "solution"
    shutil.copytree(EXAMPLE, sol, ignore=shutil.ignore_patterns("config"))
    for args in ([], ["--debug"], ["-P", "arm32v7"], ["-P", "arm64v8"]):
        result = invoke(args, sol, monkeypatch)
        assert result.exit_code == 0, (args, result.output)
    outputs = sorted(p.name for p in (sol / "config").glob("deployment.*.json"))
    assert outputs == [
        "deployment.amd64.json",
        "deployment.arm32v7.json",
        "deployment.arm64v8.json",
        "deployment.debug.amd64.json",
    ]
    monkeypatch.chdir(sol)
    check = CliRunner().invoke(app, ["manifest", "validate", *(f"config/{n}" for n in outputs)])
    assert check.exit_code == 0, check.output
    # W501 (plaintext password) is expected in generated output: the value came from .env
    assert "0 errors" in check.output or "No problems" in check.output
