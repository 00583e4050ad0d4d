"""$edgeAgent's reported properties as the agent builds them (pure)."""

from __future__ import annotations

from iotedge_cli.simulator.agent.reconcile import Backoff, ModuleHistory, Observed
from iotedge_cli.simulator.agent.report import ModuleEvents, agent_report, module_report, utc
from iotedge_cli.simulator.agent.spec import ModuleSpec

NOW = 1_800_000_000.0
SPEC = ModuleSpec("filter", "reg/filter:1.0", restart_policy="always", version="1.0")


def test_running_module() -> None:
    obs = Observed("filter", SPEC.fingerprint, "running", started_at=NOW - 65)
    entry = module_report(SPEC, obs, None, None, NOW)
    assert entry["runtimeStatus"] == "running"
    assert entry["status"] == "running" and entry["restartPolicy"] == "always"
    assert entry["settings"] == {"image": "reg/filter:1.0"}
    assert entry["exitCode"] is None and entry["restartCount"] == 0
    assert entry["lastStartTimeUtc"] == utc(NOW - 65)
    assert entry["lastStartTimeUtc"].endswith("Z")


def test_backoff_then_failed() -> None:
    obs = Observed("filter", SPEC.fingerprint, "exited", exit_code=1, finished_at=NOW - 1)
    backoff = Backoff(unit=2.0, max_restarts=3)
    entry = module_report(SPEC, obs, ModuleHistory(restart_count=2), None, NOW, backoff)
    assert entry["runtimeStatus"] == "backoff"
    assert entry["exitCode"] == 1 and entry["restartCount"] == 2
    assert "8 s back-off" in entry["statusDescription"]  # 2 s * 2^2
    entry = module_report(SPEC, obs, ModuleHistory(restart_count=3), None, NOW, backoff)
    assert entry["runtimeStatus"] == "failed"
    assert "after 3 restarts" in entry["statusDescription"]


def test_stopped_by_desired_status() -> None:
    spec = ModuleSpec("idle", "img:1", status="stopped")
    entry = module_report(spec, Observed("idle", spec.fingerprint, "created"), None, None, NOW)
    assert entry["runtimeStatus"] == "stopped" and entry["status"] == "stopped"


def test_an_error_before_the_container_exists_is_failed_with_the_message() -> None:
    events = ModuleEvents(last_error="module 'filter': image reg/filter:1.0 is not here")
    entry = module_report(SPEC, None, None, events, NOW)
    assert entry["runtimeStatus"] == "failed"
    assert entry["statusDescription"] == events.last_error


def test_document_shape_and_removed_modules_are_null() -> None:
    doc = agent_report(
        [SPEC],
        [Observed("filter", SPEC.fingerprint, "running", started_at=NOW)],
        {},
        {},
        NOW,
        desired_version=4,
        desired_error=None,
        hub={"runtimeStatus": "running"},
        agent_started=NOW - 10,
        previous_modules=["filter", "old"],
    )
    assert doc["lastDesiredVersion"] == 4
    assert doc["lastDesiredStatus"] == {"code": 200, "description": ""}
    assert doc["schemaVersion"] == "1.1"
    assert doc["systemModules"]["edgeHub"] == {"runtimeStatus": "running"}
    assert doc["systemModules"]["edgeAgent"]["runtimeStatus"] == "running"
    assert doc["modules"]["old"] is None
    assert doc["modules"]["filter"]["runtimeStatus"] == "running"


def test_refused_deployment_is_reported() -> None:
    doc = agent_report(
        [],
        [],
        {},
        {},
        NOW,
        desired_version=None,
        desired_error="bad",
        hub={},
        agent_started=NOW,
    )
    assert doc["lastDesiredStatus"] == {"code": 400, "description": "bad"}


def test_agent_phases_keep_startup_order_and_group_equal_orders() -> None:
    from iotedge_cli.simulator.agent.agent import _phases
    from iotedge_cli.simulator.agent.reconcile import plan

    specs = [
        ModuleSpec("a", "i:1", startup_order=0),
        ModuleSpec("b", "i:1", startup_order=1),
        ModuleSpec("c", "i:1", startup_order=1),
        ModuleSpec("d", "i:1", status="stopped"),
    ]
    observed = [Observed("d", specs[3].fingerprint, "running"), Observed("old", "x", "running")]
    actions = plan(specs, observed, NOW, {})
    phases = _phases(actions, {s.name: s for s in specs})
    names = [[f"{type(a).__name__}:{a.name}" for a in phase] for phase in phases]
    assert names == [
        ["Remove:old", "Stop:d"],
        ["Create:a", "Start:a"],
        ["Create:b", "Start:b", "Create:c", "Start:c"],
    ]
