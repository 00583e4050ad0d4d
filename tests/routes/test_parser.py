"""The language-neutral route case suite (``cases/routes.json``) driving :func:`parse_route`.

Each case: ``route``; ``ok``; for failures ``error`` (a fragment of the reason), ``column``
(1-based) and ``sink_error`` (raised as RouteSinkError, i.e. lint code E204); for successes any
of ``source_prefix``, ``source_kind``, ``module``, ``output``, ``glob_item``, ``sink``
(the endpoint text), ``select_star``, ``condition``, ``condition_offset``. ``template`` turns
on placeholder words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.routes import RouteSinkError, RouteSyntaxError, parse_route

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "cases" / "routes.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[c["route"][:60] or "<empty>" for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    template = case.get("template", False)
    if not case["ok"]:
        with pytest.raises(RouteSyntaxError) as info:
            parse_route(case["route"], template=template)
        exc = info.value
        assert case["error"] in exc.reason
        assert exc.column == case["column"], exc.caret()
        assert isinstance(exc, RouteSinkError) == case.get("sink_error", False)
        return
    route = parse_route(case["route"], template=template)
    src = route.source
    expected = {
        "source_prefix": src.normalised_prefix,
        "source_kind": src.kind.value,
        "module": src.module,
        "output": src.output,
        "glob_item": src.glob_item,
        "sink": route.sink.endpoint,
        "select_star": route.select_star,
        "condition": route.condition,
        "condition_offset": route.condition_offset,
    }
    for key, actual in expected.items():
        if key in case:
            assert actual == case[key], key
    if route.condition is not None and route.condition_offset is not None:
        start = route.condition_offset
        assert case["route"][start : start + len(route.condition)] == route.condition


def test_error_caret_points_at_the_column() -> None:
    with pytest.raises(RouteSyntaxError) as info:
        parse_route("FROM /messages/* INTO upstream")
    assert info.value.caret() == ("FROM /messages/* INTO upstream\n                      ^")
    assert info.value.message.endswith("(column 23)")


def test_caret_keeps_columns_for_multiline_routes() -> None:
    with pytest.raises(RouteSyntaxError) as info:
        parse_route("FROM /messages/*\nINTO\tupstream")
    line, caret = info.value.caret().split("\n")
    assert line[caret.index("^") :].startswith("upstream")


def test_repeated_failures_raise_fresh_exceptions() -> None:
    # Results are cached; a cached error must not carry an old traceback around.
    errors = []
    for _ in range(2):
        with pytest.raises(RouteSyntaxError) as info:
            parse_route("FORM /x INTO $upstream")
        errors.append(info.value)
    assert errors[0] is not errors[1]
    assert errors[0].reason == errors[1].reason


def test_source_matching_is_a_case_insensitive_prefix() -> None:
    src = parse_route("FROM /messages/modules/Filter/* INTO $upstream").source
    assert src.matches("/messages/modules/filter")
    assert src.matches("/messages/modules/FILTER/outputs/out1")
    assert not src.matches("/messages/modules/filter2/outputs/out1")
    assert not src.matches("/twinChangeNotifications")
    everything = parse_route("FROM /* INTO $upstream").source
    assert everything.matches("/twinChangeNotifications")
    assert everything.overlaps(src) and src.overlaps(everything)
    other = parse_route("FROM /messages/modules/b/* INTO $upstream").source
    assert not other.overlaps(src)
