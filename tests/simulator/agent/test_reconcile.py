from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from iotedge_cli.simulator.agent.reconcile import (
    Action,
    ContainerConflictError,
    Create,
    ModuleHistory,
    Observed,
    Recreate,
    Remove,
    Start,
    Stop,
    cool_off,
    next_wakeup,
    plan,
    record,
    runtime_status,
)
from iotedge_cli.simulator.agent.spec import ModuleSpec

from .helpers import spec

NOW = 10_000.0


def mod(name: str = "m", **fields: Any) -> ModuleSpec:
    return replace(spec(name), **fields)


def seen(s: ModuleSpec, state: str, **fields: Any) -> Observed:
    return Observed(s.name, s.fingerprint, state, **fields)  # type: ignore[arg-type]


def kinds(actions: list[Action]) -> list[tuple[str, str]]:
    return [(type(a).__name__, a.name) for a in actions]


@pytest.mark.parametrize("cooled", [True, False])
@pytest.mark.parametrize(
    ("policy", "exit_code", "restarts"),
    [
        ("never", 0, False),
        ("never", 1, False),
        ("on-failure", 0, False),
        ("on-failure", 137, True),
        ("on-unhealthy", 0, False),
        ("on-unhealthy", 2, True),
        ("always", 0, True),
        ("always", 1, True),
    ],
)
def test_exited_module_by_restart_policy(
    policy: str, exit_code: int, restarts: bool, cooled: bool
) -> None:
    s = mod(restart_policy=policy)
    finished = NOW - (10.0 if cooled else 9.9)
    obs = seen(s, "exited", exit_code=exit_code, finished_at=finished)
    actions = plan([s], [obs], NOW, {})
    if restarts and cooled:
        assert actions == [
            Start(
                "m",
                f"exited with code {exit_code}; restart 1 (restartPolicy {policy}, back-off 10 s)",
                restart=True,
            )
        ]
    else:
        assert actions == []
    status = runtime_status(s, obs, None, NOW)
    assert status == ("backoff" if restarts else "stopped" if exit_code == 0 else "failed")


@pytest.mark.parametrize(
    ("policy", "restarts"),
    [("never", False), ("on-failure", True), ("on-unhealthy", True), ("always", True)],
)
def test_unhealthy_running_module(policy: str, restarts: bool) -> None:
    s = mod(restart_policy=policy)
    obs = seen(s, "running", started_at=NOW - 60, health="unhealthy")
    actions = plan([s], [obs], NOW, {})
    assert kinds(actions) == ([("Stop", "m"), ("Start", "m")] if restarts else [])
    assert runtime_status(s, obs, None, NOW) == "unhealthy"


@pytest.mark.parametrize("policy", ["never", "on-failure", "on-unhealthy", "always"])
@pytest.mark.parametrize(
    ("status", "state", "expected"),
    [
        ("running", "missing", [Create("m", "no container", True), Start("m", "created")]),
        ("stopped", "missing", [Create("m", "no container", True)]),
        ("running", "created", [Start("m", "created but not started")]),
        ("stopped", "created", []),
        ("running", "running", []),
        ("stopped", "running", [Stop("m", "desired status is stopped")]),
        ("stopped", "exited", []),
    ],
)
def test_status_and_state(policy: str, status: str, state: str, expected: list[Action]) -> None:
    s = mod(restart_policy=policy, status=status)
    obs = [] if state == "missing" else [seen(s, state, exit_code=1, finished_at=0.0)]
    assert plan([s], obs, NOW, {}) == expected


def test_pull_policy_never_does_not_pull() -> None:
    s = mod(image_pull_policy="never")
    assert plan([s], [], NOW, {})[0] == Create("m", "no container", False)
    old = replace(seen(s, "running"), fingerprint="old")
    assert plan([s], [old], NOW, {})[0] == Recreate("m", "the module definition changed", False)


def test_startup_order_lower_first_stops_in_reverse() -> None:
    a, b, c = mod("a", startup_order=5), mod("b", startup_order=0), mod("c")
    d, e = mod("d", startup_order=1, status="stopped"), mod("e", startup_order=2, status="stopped")
    observed = [seen(d, "running"), seen(e, "running")]
    assert kinds(plan([a, c, b, d, e], observed, NOW, {})) == [
        ("Stop", "e"),
        ("Stop", "d"),
        ("Create", "b"),
        ("Start", "b"),
        ("Create", "a"),
        ("Start", "a"),
        ("Create", "c"),  # default startupOrder 4294967295: last
        ("Start", "c"),
    ]


def test_changed_definition_recreates_only_that_module() -> None:
    a, b = mod("a"), mod("b")
    observed = [seen(a, "running"), replace(seen(b, "running"), fingerprint="before")]
    assert plan([a, b], observed, NOW, {}) == [
        Recreate("b", "the module definition changed", True),
        Start("b", "recreated"),
    ]
    stopped = replace(b, status="stopped")
    assert kinds(plan([a, stopped], observed, NOW, {})) == [("Recreate", "b")]


def test_removes_only_owned_modules_not_desired() -> None:
    a = mod("a")
    observed = [
        seen(a, "running"),
        Observed("gone", "x", "exited"),
        Observed("theirs", None, "running", owned=False),
        Observed("nothing", None, "missing"),
    ]
    assert plan([a], observed, NOW, {}) == [Remove("gone", "not in the deployment")]


def test_foreign_container_with_a_module_name_is_an_error() -> None:
    a = mod("a")
    with pytest.raises(ContainerConflictError) as err:
        plan([a], [Observed("a", None, "exited", owned=False)], NOW, {})
    assert "'a'" in err.value.message and "docker rm -f a" in (err.value.hint or "")


def test_back_off_doubles_up_to_300_s_then_gives_up() -> None:
    assert [cool_off(n) for n in range(7)] == [10, 20, 40, 80, 160, 300, 300]
    s = mod(restart_policy="always")
    history: dict[str, ModuleHistory] = {}
    now = 0.0
    waits = []
    for _ in range(20):
        obs = seen(s, "exited", exit_code=137, finished_at=now)
        due = next_wakeup([s], [obs], now, history)
        assert due is not None
        assert plan([s], [obs], due - 0.5, history) == []
        assert runtime_status(s, obs, history.get("m"), due - 0.5) == "backoff"
        actions = plan([s], [obs], due, history)
        assert kinds(actions) == [("Start", "m")]
        history = record(history, actions, [obs], due)
        waits.append(due - now)
        now = due + 1.0  # it runs for a second and dies again
    assert waits[:7] == [10, 20, 40, 80, 160, 300, 300]
    assert history["m"].restart_count == 20
    dead = seen(s, "exited", exit_code=137, finished_at=now)
    assert plan([s], [dead], now + 10_000, history) == []
    assert next_wakeup([s], [dead], now, history) is None
    assert runtime_status(s, dead, history["m"], now) == "failed"


def test_restart_count_resets_after_ten_minutes_running() -> None:
    s = mod(restart_policy="always")
    history = {"m": ModuleHistory(restart_count=5)}
    early = seen(s, "running", started_at=NOW - 599)
    assert record(history, [], [early], NOW)["m"].restart_count == 5
    healthy = seen(s, "running", started_at=NOW - 600)
    history = record(history, [], [healthy], NOW)
    assert history["m"].restart_count == 0
    crashed = seen(s, "exited", exit_code=1, finished_at=NOW + 5)
    assert kinds(plan([s], [crashed], NOW + 15, history)) == [("Start", "m")]


def test_agent_stop_then_status_running_starts_at_once() -> None:
    s = mod(restart_policy="never")
    stopped = replace(s, status="stopped")
    actions = plan([stopped], [seen(s, "running")], NOW, {})
    history = record({}, actions, [seen(s, "running")], NOW)
    assert history["m"] == ModuleHistory(0, stopped_by_agent=True)
    exited = seen(s, "exited", exit_code=143, finished_at=NOW + 1)
    assert runtime_status(s, exited, history["m"], NOW + 2) == "stopped"
    again = plan([s], [exited], NOW + 2, history)
    assert again == [Start("m", "desired status changed to running")]
    assert record(history, again, [exited], NOW + 2)["m"] == ModuleHistory(0, False)


def test_record_resets_on_create_and_drops_removed() -> None:
    history = {"a": ModuleHistory(4), "b": ModuleHistory(2)}
    actions: list[Action] = [
        Recreate("a", "changed", True),
        Start("a", "recreated"),
        Remove("b", "not in the deployment"),
    ]
    assert record(history, actions, [], NOW) == {"a": ModuleHistory(0, False)}


def test_runtime_status_pending_and_running() -> None:
    s = mod()
    assert runtime_status(s, None, None, NOW) == "pending"
    assert runtime_status(s, seen(s, "created"), None, NOW) == "pending"
    assert runtime_status(s, seen(s, "running", health="healthy"), None, NOW) == "running"
    assert runtime_status(replace(s, status="stopped"), None, None, NOW) == "stopped"


@pytest.mark.parametrize("policy", ["never", "on-failure", "on-unhealthy", "always"])
@pytest.mark.parametrize("status", ["running", "stopped"])
@pytest.mark.parametrize("orders", [(0, 1, 2), (2, 1, 0), (1, 1, 0), (7, 7, 7)])
def test_every_policy_status_and_startup_order(
    policy: str, status: str, orders: tuple[int, int, int]
) -> None:
    """Whatever the policy and status, modules are created in ascending startupOrder (ties
    by name), and only modules whose desired status is running are started."""
    specs = [
        mod(name, restart_policy=policy, status=status, startup_order=order)
        for name, order in zip("xyz", orders, strict=True)
    ]
    actions = plan(specs, [], NOW, {})
    created = [a.name for a in actions if isinstance(a, Create)]
    expected = [s.name for s in sorted(specs, key=lambda s: (s.startup_order, s.name))]
    assert created == expected
    started = [a.name for a in actions if isinstance(a, Start)]
    assert started == (expected if status == "running" else [])
    for spec_ in specs:  # each module's own actions stay in order: create, then start
        own = [type(a).__name__ for a in actions if a.name == spec_.name]
        assert own == (["Create", "Start"] if status == "running" else ["Create"])
