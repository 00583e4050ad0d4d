"""Message sources, body parsing rules, explain, and the corpus routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotedge_cli.routes import RouteSyntaxError, parse_route
from iotedge_cli.routes.condition import ConditionError, compile_condition, format_expr
from iotedge_cli.routes.message import Message
from iotedge_cli.routes.values import TriBool

JSON = {"contentType": "application/json", "contentEncoding": "utf-8"}
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"


@pytest.mark.parametrize(
    ("sys", "source"),
    [
        ({}, "/messages"),
        ({"connectionDeviceId": "leaf"}, "/messages"),
        ({"connectionModuleId": "m"}, "/messages/modules/m"),
        ({"connectionModuleId": "m", "outputName": "o"}, "/messages/modules/m/outputs/o"),
        (
            {"messageType": "twinChangeNotification", "connectionModuleId": "m"},
            "/twinChangeNotifications",
        ),
    ],
)
def test_message_source_follows_edgehub(sys: dict[str, str], source: str) -> None:
    assert Message(system_properties=sys).source == source
    assert Message.from_source(source).source == source


def test_from_source_rejects_paths_no_message_has() -> None:
    with pytest.raises(ValueError, match="not a message source"):
        Message.from_source("/messages/events")


def test_body_is_parsed_once() -> None:
    msg = Message(b'{"a": 1}', dict(JSON))
    first = msg.json_body()
    assert msg.json_body() is first == {"a": 1}


def test_route_without_where_is_true_and_where_compiles_with_route_columns() -> None:
    assert parse_route("FROM /messages INTO $upstream").evaluate(Message()) is TriBool.TRUE
    route = parse_route("FROM /messages WHERE $body.a = 1 INTO $upstream")
    assert route.condition_expr is not None
    assert route.evaluate(Message(b'{"a": 1}', dict(JSON))) is TriBool.TRUE
    with pytest.raises(ConditionError) as info:
        parse_route("FROM /messages WHERE a > 1 INTO $upstream")
    assert info.value.caret().splitlines()[1] == " " * 21 + "^"


def test_explain_lists_every_sub_expression() -> None:
    cond = compile_condition("$body.t > 30 AND $connectionModuleId = 'sensor'")
    msg = Message(b'{"t": 35}', {**JSON, "connectionModuleId": "other"})
    steps = [(s.text, s.value) for s in cond.explain(msg)]
    assert steps == [
        ("$body.t", "35"),
        ("30", "30"),
        ("$body.t > 30", "true"),
        ("$connectionModuleId", "'other'"),
        ("'sensor'", "'sensor'"),
        ("$connectionModuleId = 'sensor'", "false"),
        ("$body.t > 30 AND $connectionModuleId = 'sensor'", "false"),
    ]
    assert cond.evaluate(msg) is TriBool.FALSE


def test_explain_shows_the_verdict_when_the_value_is_not_a_bool() -> None:
    steps = compile_condition("3").explain(Message())
    assert [(s.text, s.value) for s in steps] == [("3", "3"), ("3", "undefined")]


def test_condition_error_caret_underlines_the_span() -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition("a = 1")
    assert info.value.caret() == "a = 1\n^"
    assert info.value.hint is not None and "as_number(a) = 1" in info.value.hint


def test_format_expr_normalises_spacing_and_parentheses() -> None:
    cond = compile_condition("NOT(a='x')AND(b = 'y' OR c = 'z')")
    assert format_expr(cond.expr) == "NOT (a = 'x') AND (b = 'y' OR c = 'z')"


def test_template_condition_is_not_type_checked() -> None:
    cond = compile_condition("temperature > ${LIMIT}", template=True)
    assert not cond.checked
    assert cond.evaluate(Message()) is TriBool.UNDEFINED


def _corpus_routes() -> list[tuple[str, str, bool]]:
    from iotedge_cli.manifest.loader import load_file
    from iotedge_cli.manifest.model import Manifest

    corpus = SHARED / "corpus"
    found = []
    for path in sorted(corpus.glob("*.json")):
        manifest = Manifest.from_doc(load_file(path))
        for name, _, value in manifest.routes():
            text = value.get("route") if isinstance(value, dict) else value
            if isinstance(text, str) and text.strip():
                found.append((f"{path.name}:{name}", text, manifest.template))
    return found


def test_corpus_routes_parse_and_conditions_evaluate() -> None:
    if not (SHARED / "corpus").is_dir():
        pytest.skip("../shared/corpus is not available")
    with_where = []
    for where, text, template in _corpus_routes():
        if "malformed" in where:
            with pytest.raises(RouteSyntaxError):
                parse_route(text, template=template)
            continue
        route = parse_route(text, template=template)
        if route.condition_expr is not None:
            with_where.append(route)
    assert with_where, "the corpus has routes with WHERE"
    leaf = Message.from_source("/messages", system_properties={"connectionDeviceId": "leaf"})
    module = Message.from_source("/messages/modules/sensor/outputs/out")
    for route in with_where:
        assert route.condition_expr is not None and route.condition_expr.checked
        assert route.condition_expr.warnings == ()
        if route.condition == "NOT IS_DEFINED($connectionModuleId)":
            assert route.evaluate(leaf) is TriBool.TRUE
            assert route.evaluate(module) is TriBool.FALSE
        for msg in (leaf, module, Message(b"{}", dict(JSON))):
            assert route.evaluate(msg) in set(TriBool)
