"""``iotedge_cli.manifest.generate.generate``: expansion, chunking, validation, safe writing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.errors import InputError, UsageError
from iotedge_cli.manifest.generate import RECORD, GenerateOptions, GenerateResult, generate
from iotedge_cli.manifest.lint import LintOptions, lint_doc
from iotedge_cli.manifest.loader import load_file
from tests.manifest.generate.helpers import (
    TEMPLATE,
    agent,
    filtermodule,
    line_col_of,
    make_solution,
    routes,
)

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / ".." / "shared" / "corpus"


def run(sol: Path, environ: dict[str, str] | None = None, **kw: Any) -> GenerateResult:
    return generate(GenerateOptions(template=sol / TEMPLATE, **kw), environ or {})


def out_path(sol: Path, platform: str = "amd64") -> Path:
    return sol / "config" / f"deployment.{platform}.json"


def output(sol: Path, platform: str = "amd64") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out_path(sol, platform).read_text("utf-8"))
    return data


def found(result: GenerateResult) -> list[tuple[str, str]]:
    return [(d.code, f"{d.location.line}:{d.location.col}") for d in result.diagnostics]


# --- the happy path ---------------------------------------------------------------------------


def test_fixture_solution_generates_a_clean_manifest(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    result = run(sol)
    assert result.written and result.errors == 0, result.diagnostics
    assert result.output == str(out_path(sol))
    out = output(sol)
    assert "$schema-template" not in out
    assert filtermodule(out)["settings"]["image"] == "localhost:5000/filtermodule:0.0.1-amd64"
    creds = agent(out)["runtime"]["settings"]["registryCredentials"]["local"]
    assert creds == {"username": "demo", "password": "demo-password", "address": "localhost:5000"}
    assert result.images == {"${MODULES.filtermodule}": "localhost:5000/filtermodule:0.0.1-amd64"}
    assert result.variables == [
        "CONTAINER_REGISTRY_USERNAME",
        "CONTAINER_REGISTRY_PASSWORD",
        "CONTAINER_REGISTRY_ADDRESS",
        "MY_SETTING",
        "FILTER_INPUT",
    ]
    doc = load_file(out_path(sol), template=False)
    assert [
        d for d in lint_doc(doc, LintOptions(template=False)) if d.severity.value == "error"
    ] == []


def test_output_is_byte_identical_and_key_order_is_kept(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    run(sol)
    first = out_path(sol).read_bytes()
    run(sol)
    assert out_path(sol).read_bytes() == first
    assert first.endswith(b"}\n") and first.startswith(
        b'{\n  "modulesContent": {\n    "$edgeAgent"'
    )
    keys = list(agent(output(sol))["modules"])
    assert keys == ["tempSensor", "filtermodule"]


def test_platform_and_container_tag(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    result = run(sol, {"CONTAINER_TAG": "ci42"}, platform="arm32v7")
    assert result.written, result.diagnostics
    assert result.output == str(out_path(sol, "arm32v7"))
    image = filtermodule(output(sol, "arm32v7"))["settings"]["image"]
    assert image == "localhost:5000/filtermodule:0.0.1-ci42-arm32v7"  # repository lowercased


def test_debug_suffix_follows_the_platform(tmp_path: Path) -> None:
    image = "${MODULES.filtermodule.debug}"
    sol = make_solution(tmp_path, lambda t: filtermodule(t)["settings"].update(image=image))
    result = run(sol, platform="arm32v7")
    assert [c for c, _ in found(result)] == ["G104"]
    assert "'arm32v7.debug'" in result.diagnostics[0].message


def test_debug_placeholder_and_default_platform_from_dotenv(tmp_path: Path) -> None:
    sol = make_solution(
        tmp_path,
        lambda t: filtermodule(t)["settings"].update(image="${MODULES.filtermodule.debug}"),
    )
    with (sol / ".env").open("a") as f:
        f.write("DEFAULT_PLATFORM=amd64\n")
    result = run(sol)
    assert result.written, result.diagnostics
    assert (
        filtermodule(output(sol))["settings"]["image"]
        == "localhost:5000/filtermodule:0.0.1-amd64.debug"
    )


def test_moduledir_placeholder(tmp_path: Path) -> None:
    image = "${MODULEDIR<modules/filtermodule>.arm32v7}"
    sol = make_solution(tmp_path, lambda t: filtermodule(t)["settings"].update(image=image))
    assert run(sol).written
    assert (
        filtermodule(output(sol))["settings"]["image"]
        == "localhost:5000/filtermodule:0.0.1-arm32v7"
    )


def test_debug_flag_picks_debug_template_and_output_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sol = make_solution(tmp_path)
    (sol / TEMPLATE).rename(sol / "deployment.debug.template.json")
    monkeypatch.chdir(sol)
    result = generate(GenerateOptions(debug=True), {})
    assert result.written
    assert result.template == "deployment.debug.template.json"
    assert result.output == str(Path("config") / "deployment.debug.amd64.json")
    assert (sol / "config" / "deployment.debug.amd64.json").is_file()


def test_yaml_template(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    sol = make_solution(tmp_path)
    data = json.loads((sol / TEMPLATE).read_text())
    (sol / "deployment.template.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = generate(GenerateOptions(template=sol / "deployment.template.yaml"), {})
    assert result.written, result.diagnostics
    assert output(sol) == json.loads(json.dumps(output(sol)))
    assert (
        filtermodule(output(sol))["settings"]["image"] == "localhost:5000/filtermodule:0.0.1-amd64"
    )


# --- variables ------------------------------------------------------------------------------


def test_process_environment_wins_over_dotenv(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    run(sol, {"MY_SETTING": "from-shell"})
    assert filtermodule(output(sol))["env"]["MY_SETTING"]["value"] == "from-shell"


def test_env_file_option(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    other = tmp_path / "other.env"
    other.write_text((sol / ".env").read_text().replace("MY_SETTING=on", "MY_SETTING=other"))
    (sol / ".env").unlink()
    run(sol, env_file=other)
    assert filtermodule(output(sol))["env"]["MY_SETTING"]["value"] == "other"


def test_g_undefined_variables_are_all_reported_with_line_and_column(tmp_path: Path) -> None:
    def edit(t: dict[str, Any]) -> None:
        filtermodule(t)["env"]["MY_SETTING"]["value"] = "x-${NOT_DEFINED_ANYWHERE}-y"
        filtermodule(t)["env"]["OTHER"] = {"value": "$ALSO_UNDEFINED and ${NOT_DEFINED_ANYWHERE}"}

    sol = make_solution(tmp_path, edit)
    result = run(sol)
    tpl = sol / TEMPLATE
    assert found(result) == [
        ("G101", line_col_of(tpl, "${NOT_DEFINED_ANYWHERE}")),
        ("G101", line_col_of(tpl, "$ALSO_UNDEFINED")),
        ("G101", line_col_of(tpl, "${NOT_DEFINED_ANYWHERE}", 1)),
    ]
    first = result.diagnostics[0]
    assert first.location.file == str(tpl)
    assert (
        "${NOT_DEFINED_ANYWHERE} is not defined" in first.message
        and "NOT_DEFINED_ANYWHERE" in first.message
    )
    assert "$$ALSO_UNDEFINED" in result.diagnostics[1].message  # the escape is offered
    assert not result.written and not out_path(sol).exists()


def test_dollar_dollar_is_a_literal_dollar(tmp_path: Path) -> None:
    sol = make_solution(
        tmp_path, lambda t: filtermodule(t)["env"]["MY_SETTING"].update(value="Pa$$word $${X}")
    )
    result = run(sol)
    # the literal "${X}" left in the output looks like a forgotten placeholder to the linter
    assert not result.written and result.errors
    assert run(sol, validate=False).written
    assert filtermodule(output(sol))["env"]["MY_SETTING"]["value"] == "Pa$word ${X}"


def test_l_m_system_tokens_are_never_rewritten(tmp_path: Path) -> None:
    def edit(t: dict[str, Any]) -> None:
        filtermodule(t)["env"]["UPSTREAM"] = {"value": "$upstream and $edgeHub and $body.temp"}

    sol = make_solution(tmp_path, edit)
    run(sol)
    clean = out_path(sol).read_bytes()
    hostile = {
        "upstream": "oops",
        "edgeHub": "hub",
        "edgeAgent": "x",
        "connectionModuleId": "x",
        "body": "b",
    }
    with (sol / ".env").open("a") as f:
        f.write("upstream=oops\nedgeHub=hub\n")
    result = run(sol, hostile)
    assert result.written, result.diagnostics
    assert out_path(sol).read_bytes() == clean
    out = output(sol)
    assert "$edgeHub" in out["modulesContent"]
    assert routes(out)["filterToIoTHub"]["route"].endswith(
        "WHERE $connectionModuleId = 'filtermodule' INTO $upstream"
    )
    assert filtermodule(out)["env"]["UPSTREAM"]["value"] == "$upstream and $edgeHub and $body.temp"


def test_routes_expand_braced_variables_only(tmp_path: Path) -> None:
    route = (
        "FROM /messages/modules/filtermodule/outputs/${OUT} WHERE $undefinedBare = 1 INTO $upstream"
    )
    sol = make_solution(tmp_path, lambda t: routes(t)["filterToIoTHub"].update(route=route))
    result = run(sol, {"OUT": "output1", "undefinedBare": "nope"}, validate=False)
    assert result.written, result.diagnostics
    expected = "FROM /messages/modules/filtermodule/outputs/output1 WHERE $undefinedBare = 1 INTO $upstream"
    assert routes(output(sol))["filterToIoTHub"]["route"] == expected
    # and the string route form of the fixture had ${FILTER_INPUT} expanded
    assert routes(output(sol))["sensorToFilter"].endswith('inputs/input1")')


def test_n_quotes_and_backslashes_stay_valid_json(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    with (sol / ".env").open("a") as f:
        f.write("MY_SETTING='C:\\data \"x\"'\n")
    assert run(sol).written
    assert filtermodule(output(sol))["env"]["MY_SETTING"]["value"] == 'C:\\data "x"'
    shell = {"MY_SETTING": 'a"b\\c\n}{'}
    assert run(sol, shell).written
    assert filtermodule(output(sol))["env"]["MY_SETTING"]["value"] == shell["MY_SETTING"]


def test_bad_placeholders(tmp_path: Path) -> None:
    def edit(t: dict[str, Any]) -> None:
        filtermodule(t)["env"]["A"] = {"value": "${VERSION.filtermodule}"}
        filtermodule(t)["env"]["B"] = {"value": "x ${UNCLOSED"}

    sol = make_solution(tmp_path, edit)
    result = run(sol)
    tpl = sol / TEMPLATE
    assert found(result) == [
        ("G102", line_col_of(tpl, "${VERSION.filtermodule}")),
        ("G102", line_col_of(tpl, "${UNCLOSED")),
    ]
    assert "unsupported placeholder ${VERSION.filtermodule}" in result.diagnostics[0].message
    assert "never closed" in result.diagnostics[1].message


def test_non_string_placeholder_from_the_corpus(tmp_path: Path) -> None:
    template = CORPUS / "iotedgedev__deployment.template.non_str_placeholder.json"
    if not template.is_file():
        pytest.skip(f"reference corpus not present at {CORPUS}")
    environ = {
        "TTL": "7200",
        "EDGE_RUNTIME_VERSION": "1.5",
        "EDGEAGENT_SCHEMA_VERSION": "1.1",
        "EDGEHUB_SCHEMA_VERSION": "1.2",
    }
    out = tmp_path / "deployment.json"
    result = generate(
        # validate=False: the file routes to a module it does not define (the linter's E203)
        GenerateOptions(template=template, output=out, modules_dir=tmp_path, validate=False),
        environ,
    )
    assert result.written, result.diagnostics
    data = json.loads(out.read_text())
    saf = data["modulesContent"]["$edgeHub"]["properties.desired"]["storeAndForwardConfiguration"]
    assert saf == {"timeToLiveSecs": 7200}
    # without TTL the bare placeholder is an error at its own position
    result = generate(
        GenerateOptions(template=template, output=tmp_path / "x.json", validate=False),
        {**environ, "TTL": ""},
    )
    assert result.written  # "" is not JSON: it becomes the string ""
    del environ["TTL"]
    result = generate(
        GenerateOptions(template=template, output=tmp_path / "y.json", validate=False), environ
    )
    assert found(result) == [("G101", line_col_of(template, "${TTL}"))]


def test_bare_placeholder_values_are_parsed_as_json(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    text = (
        (sol / TEMPLATE)
        .read_text()
        .replace('"timeToLiveSecs": 7200', '"timeToLiveSecs": ${TTL}, "x": $FLAG, "y": ${NAME}')
    )
    (sol / TEMPLATE).write_text(text)
    assert run(sol, {"TTL": "60", "FLAG": "true", "NAME": "plain text"}, validate=False).written
    saf = output(sol)["modulesContent"]["$edgeHub"]["properties.desired"][
        "storeAndForwardConfiguration"
    ]
    assert saf == {"timeToLiveSecs": 60, "x": True, "y": "plain text"}


# --- images ---------------------------------------------------------------------------------


def test_d2_unknown_module_lists_module_dirs(tmp_path: Path) -> None:
    sol = make_solution(
        tmp_path, lambda t: filtermodule(t)["settings"].update(image="${MODULES.nosuchmodule}")
    )
    result = run(sol)
    assert found(result) == [("G103", line_col_of(sol / TEMPLATE, "${MODULES.nosuchmodule}"))]
    assert "'nosuchmodule'" in result.diagnostics[0].message
    assert "found: filtermodule" in result.diagnostics[0].message
    assert not out_path(sol).exists()


def test_d4_missing_platform_lists_platforms(tmp_path: Path) -> None:
    sol = make_solution(
        tmp_path,
        lambda t: filtermodule(t)["settings"].update(image="${MODULES.filtermodule.arm64v8}"),
    )
    result = run(sol)
    assert [c for c, _ in found(result)] == ["G104"]
    message = result.diagnostics[0].message
    assert "'arm64v8'" in message and "has: amd64, amd64.debug, arm32v7" in message
    assert "module.json" in message
    assert not run(sol, platform="arm64v8").written  # the default-platform form too


def test_invalid_module_json_names_file_line_col(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    mj = sol / "modules" / "filtermodule" / "module.json"
    mj.write_text(mj.read_text().replace('"version": "0.0.1",', '"version": "0.0.1",,'))
    line, col = line_col_of(mj, ",,").split(":")
    with pytest.raises(InputError) as exc:
        run(sol)
    assert exc.value.message.startswith(f"{mj}:{line}:{int(col) + 1}: invalid JSON")


def test_incomplete_module_json_and_undefined_variable_in_it(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    mj = sol / "modules" / "filtermodule" / "module.json"
    data = json.loads(mj.read_text())
    data["image"]["repository"] = "${NO_SUCH_REGISTRY}/filtermodule"
    del data["image"]["tag"]["version"]
    mj.write_text(json.dumps(data, indent=2))
    result = run(sol)
    assert [c for c, _ in found(result)] == ["G105"]
    message = result.diagnostics[0].message
    assert "${NO_SUCH_REGISTRY} is not defined" in message
    assert "image.tag.version must be a non-empty string" in message
    assert f"module.json:{line_col_of(mj, '${NO_SUCH_REGISTRY}').split(':')[0]}:" in message


# --- createOptions --------------------------------------------------------------------------


def test_h1_633_characters_make_two_chunks(tmp_path: Path) -> None:
    env = ["K=" + "x" * 619]  # {"Env":["K=xxx…"]} is 633 characters minified
    sol = make_solution(
        tmp_path, lambda t: filtermodule(t)["settings"].update(createOptions={"Env": env})
    )
    result = run(sol)
    settings = filtermodule(output(sol))["settings"]
    assert list(settings) == ["image", "createOptions", "createOptions01"]
    assert (len(settings["createOptions"]), len(settings["createOptions01"])) == (512, 121)
    assert json.loads(settings["createOptions"] + settings["createOptions01"]) == {"Env": env}
    chunked = {c.module: (c.characters, c.chunks) for c in result.create_options}
    assert chunked["filtermodule"] == (633, 2)
    assert agent(output(sol))["systemModules"]["edgeAgent"]["settings"]["createOptions"] == "{}"


def test_h2_more_than_4k_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    big = {"Env": [f"K{i}={'x' * 90}" for i in range(50)]}
    sol = make_solution(tmp_path, lambda t: filtermodule(t)["settings"].update(createOptions=big))
    result = run(sol)
    size = len(json.dumps(big, separators=(",", ":")))
    key = '"createOptions": '
    line, col = line_col_of(sol / TEMPLATE, key, 3).split(":")  # the 4th module is filtermodule
    assert found(result) == [("G106", f"{line}:{int(col) + len(key)}")]
    message = result.diagnostics[0].message
    assert "'filtermodule'" in message and f"{size} characters" in message and "4096" in message
    assert not (sol / "config").exists()


def test_string_create_options_and_hand_chunked_ones(tmp_path: Path) -> None:
    def edit(t: dict[str, Any]) -> None:
        filtermodule(t)["settings"]["createOptions"] = '{"Env":["A=1"]}'
        agent(t)["modules"]["tempSensor"]["settings"].update(
            createOptions='{"Env":', createOptions01='["B=2"]}'
        )

    sol = make_solution(tmp_path, edit)
    assert run(sol).written
    mods = agent(output(sol))["modules"]
    assert mods["filtermodule"]["settings"]["createOptions"] == '{"Env":["A=1"]}'
    assert mods["tempSensor"]["settings"]["createOptions01"] == '["B=2"]}'


# --- validation and writing ------------------------------------------------------------------


def test_validation_errors_point_at_the_template_and_block_the_write(tmp_path: Path) -> None:
    sol = make_solution(
        tmp_path, lambda t: agent(t)["systemModules"]["edgeHub"]["settings"].update(image="")
    )
    result = run(sol)
    assert result.errors and not result.written
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    assert all(d.location.file == str(sol / TEMPLATE) for d in errors)
    image_line = int(line_col_of(sol / TEMPLATE, '"image": ""').split(":")[0])
    assert any(d.location.line == image_line for d in errors)
    assert not (sol / "config").exists() or not any((sol / "config").iterdir())
    # --no-validate writes it anyway
    assert run(sol, validate=False).written


def test_refuses_to_overwrite_a_hand_edited_output(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    run(sol)
    record = json.loads((sol / "config" / RECORD).read_text())
    assert set(record["files"]) == {"deployment.amd64.json"}
    run(sol)  # unchanged since we wrote it: fine
    out = out_path(sol)
    out.write_text(out.read_text().replace('"7200"', '"7201"').replace("7200", "7201"))
    with pytest.raises(UsageError) as exc:
        run(sol)
    assert (
        exc.value.message
        == f"{out} exists and was edited since edgectl wrote it; use --force to overwrite it"
    )
    assert "7201" in out.read_text()  # untouched
    assert run(sol, force=True).written
    assert "7201" not in out.read_text()


def test_refuses_to_overwrite_a_file_edgectl_did_not_write(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    target = tmp_path / "mine.json"
    target.write_text("{}\n")
    with pytest.raises(UsageError) as exc:
        run(sol, output=target)
    assert "was not written by edgectl" in exc.value.message
    assert target.read_text() == "{}\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_written_file_mode_follows_umask(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    old = os.umask(0o022)
    try:
        run(sol)
    finally:
        os.umask(old)
    if os.name == "posix":
        assert out_path(sol).stat().st_mode & 0o777 == 0o644


def test_missing_template_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as exc:
        generate(GenerateOptions(), {})
    assert exc.value.message == "deployment.template.json: no such file in the current directory"
    with pytest.raises(InputError, match=r"missing\.json: no such file"):
        generate(GenerateOptions(template=Path("missing.json")), {})


def test_bad_platform_is_a_usage_error(tmp_path: Path) -> None:
    sol = make_solution(tmp_path)
    with pytest.raises(UsageError, match=r"invalid platform '\.\./x'"):
        run(sol, platform="../x")
