from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.errors import InputError
from iotedge_cli.manifest.loader import load_file
from iotedge_cli.manifest.model import Manifest
from iotedge_cli.simulator.agent.spec import DEFAULT_STARTUP_ORDER, module_specs

from .helpers import manifest, module, spec

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"


def test_fields_from_manifest() -> None:
    m = manifest(
        {
            "filter": module(
                "reg.io/filter:2.1",
                status="stopped",
                restartPolicy="on-failure",
                startupOrder=2,
                imagePullPolicy="never",
                version="7",
                env={"B": {"value": 1}, "A": {"value": True}, "C": {"value": "x"}},
                createOptions='{"HostConfig":{"Privileged":true}}',
            )
        }
    )
    [s] = module_specs(m)
    assert (s.name, s.image, s.status, s.restart_policy) == (
        "filter",
        "reg.io/filter:2.1",
        "stopped",
        "on-failure",
    )
    assert (s.startup_order, s.image_pull_policy, s.version) == (2, "never", "7")
    assert s.env == (("A", "true"), ("B", "1"), ("C", "x"))
    assert s.create_options == {"HostConfig": {"Privileged": True}}


def test_defaults_are_edge_agents() -> None:
    raw = {"type": "docker", "status": "running", "settings": {"image": "reg:5000/a/sensor"}}
    [s] = module_specs(manifest({"sensor": raw}))
    assert s.restart_policy == "on-unhealthy"
    assert s.startup_order == DEFAULT_STARTUP_ORDER
    assert s.image_pull_policy == "on-create"
    assert s.image == "reg:5000/a/sensor:latest"  # registry port is not a tag
    assert s.create_options == {}


def test_system_modules_only_on_request() -> None:
    m = manifest({"sensor": module()})
    assert [s.name for s in module_specs(m)] == ["sensor"]
    assert [s.name for s in module_specs(m, system=True)] == ["edgeAgent", "edgeHub", "sensor"]


def test_chunked_and_lenient_create_options_are_joined_and_parsed() -> None:
    text = json.dumps({"Env": ["X=" + "y" * 600], "Hostname": "h"})
    raw = module()
    raw["settings"].update({"createOptions": text[:512], "createOptions01": text[512:]})
    [s] = module_specs(manifest({"sensor": raw}))
    assert s.create_options["Hostname"] == "h"
    lenient = spec(createOptions="{'Env': ['A=1'], Cmd: ['run',],}")
    assert lenient.create_options == {"Env": ["A=1"], "Cmd": ["run"]}
    assert spec(createOptions="  null ").create_options == {}


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        ("x", ["module 'bad'", "not an object"]),
        ({"type": "docker", "status": "running"}, ["no settings"]),
        ({"settings": {"image": " "}}, ["no settings.image"]),
        ({"settings": {"image": "${MODULES.bad}"}}, ["placeholder", "${MODULES.bad}"]),
        ({"status": "paused", "settings": {"image": "a"}}, ["status 'paused'", "'running'"]),
        ({"restartPolicy": "sometimes", "settings": {"image": "a"}}, ["restartPolicy"]),
        ({"imagePullPolicy": "always", "settings": {"image": "a"}}, ["imagePullPolicy 'always'"]),
        ({"startupOrder": -1, "settings": {"image": "a"}}, ["startupOrder -1", "4294967295"]),
        ({"startupOrder": "1", "settings": {"image": "a"}}, ["startupOrder '1'"]),
        ({"env": {"A": 1}, "settings": {"image": "a"}}, ["env.A without a value"]),
        ({"settings": {"image": "a", "createOptions": {"a": 1}}}, ["not a string"]),
        ({"settings": {"image": "a", "createOptions": "{oops"}}, ["do not parse"]),
        ({"settings": {"image": "a", "createOptions": "[1]"}}, ["not a JSON object"]),
    ],
)
def test_bad_module_is_a_clear_error(raw: Any, fragments: list[str]) -> None:
    with pytest.raises(InputError) as err:
        module_specs(manifest({"bad": raw}))
    assert "module 'bad'" in err.value.message
    for fragment in fragments:
        assert fragment in err.value.message
    assert err.value.hint


def test_fingerprint_changes_as_edge_agent_recreates() -> None:
    """edgeAgent's IsOnlyModuleStatusChanged: a change of status alone is applied in place;
    a change of restartPolicy or imagePullPolicy makes the module "updated" (recreated)."""
    base = spec(env={"A": {"value": "1"}}, createOptions='{"Cmd":["a"]}')
    assert (
        base.fingerprint
        == spec(env={"A": {"value": "1"}}, createOptions='{"Cmd": ["a"]}').fingerprint
    )
    same = [replace(base, status="stopped"), replace(base, startup_order=0)]
    assert {s.fingerprint for s in same} == {base.fingerprint}
    changed = [
        replace(base, image="sensor:1.1"),
        replace(base, version="2"),
        replace(base, env=(("A", "2"),)),
        replace(base, create_options={"Cmd": ["b"]}),
        replace(base, restart_policy="never"),
        replace(base, image_pull_policy="never"),
    ]
    prints = {s.fingerprint for s in changed}
    assert len(prints) == len(changed) and base.fingerprint not in prints


@pytest.mark.corpus
def test_corpus_manifests_give_specs_or_clear_errors() -> None:
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip("../shared/corpus is not available")
    built = 0
    for path in sorted(corpus.glob("*.json")):
        try:
            m = Manifest.from_doc(load_file(path))
        except InputError:
            continue
        try:
            built += len(module_specs(m, system=True))
        except InputError as exc:
            assert exc.hint and "module '" in exc.message, (path.name, exc.message)
    assert built > 50
