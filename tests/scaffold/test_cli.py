"""`edgectl new-solution`, `new-module` and `templates list`: output, refusals, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import invoke
from tests.cli.test_startup import imported_by
from tests.scaffold.helpers import LANGUAGES, MODULE, ok, tree


def test_new_solution_output(tmp_path: Path) -> None:
    run = ok(["new-solution", str(tmp_path / "demo"), "-m", MODULE])
    assert run.stdout == (
        f"Created solution {tmp_path / 'demo'} (16 files) with python module FilterModule "
        "(image localhost:5000/filtermodule).\n"
        f"Next: cd {tmp_path / 'demo'} && edgectl manifest generate\n"
    )
    assert run.stderr == ""


def test_new_module_json_output_and_lowercased_repository(tmp_path: Path) -> None:
    ok(["new-solution", str(tmp_path / "s")])
    run = ok(
        [
            "new-module",
            "Filter",
            "--solution",
            str(tmp_path / "s"),
            "--repository",
            "localhost:5000/MyFilter",
            "--json",
        ]
    )
    data = json.loads(run.stdout)
    assert data["repository"] == "localhost:5000/myfilter"
    assert data["notes"] == [
        "repository 'localhost:5000/MyFilter' lowercased to 'localhost:5000/myfilter' "
        "(Docker repositories are lowercase)"
    ]
    assert "module.json" in data["created"]
    assert len(data["edited"]) == 2
    module_json = json.loads((tmp_path / "s" / "modules" / "Filter" / "module.json").read_text())
    assert module_json["image"]["repository"] == "localhost:5000/myfilter"


def test_templates_list(tmp_path: Path) -> None:
    run = ok(["templates", "list"])
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == LANGUAGES
    assert any(line.startswith("python  Python module: azure-iot-device") for line in lines)
    data = json.loads(ok(["templates", "list", "--json"]).stdout)
    assert [t["language"] for t in data["templates"]] == LANGUAGES


def test_existing_solution_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "keep.txt").write_text("mine")
    run = invoke(["new-solution", str(tmp_path / "s")])
    assert run.exit_code == 2
    assert run.stderr == (
        f"error: {tmp_path / 's'} exists and is not empty; edgectl never overwrites files\n"
        "hint: choose a new (or empty) folder, or add modules with 'edgectl new-module'\n"
    )
    assert tree(tmp_path / "s") == {"keep.txt": b"mine"}


def test_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    ok(["new-solution", str(tmp_path / "s")])
    assert (tmp_path / "s" / "deployment.template.json").is_file()


def test_usage_errors_write_nothing(tmp_path: Path) -> None:
    cases = [
        (["--runtime-version", "1.2"], "unsupported runtime version '1.2'"),
        (["-m", MODULE, "--lang", "cobol"], "no module template for language 'cobol' (available: "),
        (["-m", "bad/name"], "invalid module name 'bad/name'"),
        (["--registry", "https://myacr.azurecr.io"], "invalid registry"),
    ]
    for args, fragment in cases:
        run = invoke(["new-solution", str(tmp_path / "s"), *args])
        assert run.exit_code == 2, args
        assert run.stderr.startswith("error: ") and fragment in run.stderr, run.stderr
        assert "\nhint: " in run.stderr
        assert list(tmp_path.iterdir()) == []


def test_new_module_outside_a_solution(tmp_path: Path) -> None:
    run = invoke(["new-module", MODULE, "--solution", str(tmp_path)])
    assert run.exit_code == 2
    assert f"no deployment.template.json in {tmp_path}" in run.stderr
    assert list(tmp_path.iterdir()) == []


def user_template(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "mytemplate"
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def test_user_template_dir(tmp_path: Path) -> None:
    ok(["new-solution", str(tmp_path / "s")])
    folder = user_template(
        tmp_path,
        {
            "template.json": '{"language": "go", "description": "mine"}',
            "module.json.j2": '{"image": {"repository": "{{ repository }}", "tag": {"version": "1.0", '
            '"platforms": {"amd64": "./Dockerfile", "amd64.debug": "./Dockerfile"}}}}\n',
            "Dockerfile.j2": "ARG BASE_IMAGE=golang\nFROM ${BASE_IMAGE}\n# {{ module_name_snake }} {{ language }} {{ solution_name }}\n",
            "cmd/{{ module_name_lower }}/main.go": "package main // {{ copied verbatim }}\n",
        },
    )
    ok(["new-module", "MyMod", "--solution", str(tmp_path / "s"), "--template-dir", str(folder)])
    module = tmp_path / "s" / "modules" / "MyMod"
    assert tree(module) == {
        "Dockerfile": b"ARG BASE_IMAGE=golang\nFROM ${BASE_IMAGE}\n# my_mod go s\n",
        "cmd/mymod/main.go": b"package main // {{ copied verbatim }}\n",
        "module.json": b'{"image": {"repository": "localhost:5000/mymod", "tag": {"version": "1.0", '
        b'"platforms": {"amd64": "./Dockerfile", "amd64.debug": "./Dockerfile"}}}}\n',
    }
    ok(["manifest", "generate", str(tmp_path / "s" / "deployment.template.json")])


def test_undefined_variable_and_sandbox_are_errors_and_write_nothing(tmp_path: Path) -> None:
    ok(["new-solution", str(tmp_path / "s")])
    before = tree(tmp_path / "s")
    for text, fragment in [
        ("line one\n{{ modul_name }}\n", "main.txt.j2:2: 'modul_name' is undefined"),
        ("{{ module_name.__class__.__mro__ }}\n", "main.txt.j2"),
        ("{% if %}\n", "main.txt.j2:1: template syntax error"),
    ]:
        folder = user_template(tmp_path, {"main.txt.j2": text})
        run = invoke(
            ["new-module", "M", "--solution", str(tmp_path / "s"), "--template-dir", str(folder)]
        )
        assert run.exit_code == 2, text
        assert fragment in run.stderr, run.stderr
        assert tree(tmp_path / "s") == before


def test_failure_half_way_leaves_nothing_behind(tmp_path: Path) -> None:
    ok(["new-solution", str(tmp_path / "s")])
    before = tree(tmp_path / "s")
    # "a" is a file and also a folder holding "a/b": the write fails after files were staged
    folder = user_template(tmp_path, {"a": "x", "b/c": "y"})
    (folder / "b" / "c").unlink()
    (folder / "b").rmdir()
    (folder / "{{ 'a' }}").mkdir()
    (folder / "{{ 'a' }}" / "b").write_text("y")
    run = invoke(
        ["new-module", "M", "--solution", str(tmp_path / "s"), "--template-dir", str(folder)]
    )
    assert run.exit_code == 2
    assert "nothing was changed" in run.stderr
    assert tree(tmp_path / "s") == before
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(
        [
            ".env",
            ".gitignore",
            "deployment.debug.template.json",
            "deployment.template.json",
            "modules",
        ]
    )
    assert list((tmp_path / "s" / "modules").iterdir()) == []


def test_help_imports_no_scaffolding() -> None:
    modules = imported_by(["--help"])
    assert not {
        m
        for m in modules
        if m.startswith(("iotedge_cli.scaffold", "iotedge_cli.cli.scaffold", "jinja2"))
    }
    modules = imported_by(["new-solution", "--help"])
    assert "iotedge_cli.cli.scaffold" in modules
    assert "jinja2" not in modules
    assert "iotedge_cli.cli.manifest" not in modules
