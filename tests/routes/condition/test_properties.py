"""Hypothesis: printing an AST and parsing it back gives the same AST; the parsers raise
nothing but their own errors on arbitrary text."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from iotedge_cli.routes import RouteSyntaxError, parse_route
from iotedge_cli.routes.condition import ConditionError, compile_condition, format_expr
from iotedge_cli.routes.condition.ast import (
    AppProp,
    Binary,
    Call,
    Expr,
    Literal,
    LitKind,
    SysProp,
    Unary,
)
from iotedge_cli.routes.condition.parser import BINARY_PRECEDENCE, parse_condition

_NAMES = st.sampled_from(["a", "key1", "temperature", "x_y", "Level2", "TRUE", "a.b", "$c"])
_SYS = st.sampled_from(
    ["$connectionModuleId", "$body.a", "$body.machine.temperature", "$body.a[0].b", "$x"]
)


def _literals() -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.sampled_from(["true", "false"]).map(lambda t: Literal(LitKind.BOOL, t, t == "true")),
        st.just(Literal(LitKind.NULL, "null", None)),
        st.just(Literal(LitKind.UNDEFINED, "undefined", None)),
        st.sampled_from(["0", "3", "-3", "12.34", "1e-6", ".5", "0x1F", "-0.25E+3"]).map(
            lambda t: Literal(LitKind.NUMBER, t, 0.0)
        ),
        st.sampled_from(["'x'", '"y z"', "'it\\'s'", "''", "'\\u0041'"]).map(
            lambda t: Literal(LitKind.STRING, t, "")
        ),
    )


_LEAVES: st.SearchStrategy[Expr] = st.one_of(
    _literals(),
    _NAMES.filter(lambda n: not n.startswith("$")).map(AppProp),
    _SYS.map(lambda n: SysProp(n, False)),
    _SYS.map(lambda n: SysProp(n, True)),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.tuples(st.sampled_from(sorted(BINARY_PRECEDENCE)), children, children).map(
            lambda t: Binary(t[0], t[1], t[2])
        ),
        st.tuples(st.sampled_from(["-", "NOT"]), children).map(lambda t: Unary(t[0], t[1])),
        st.tuples(
            st.sampled_from(["concat", "is_defined", "LOWER", "f"]),
            st.lists(children, max_size=3),
        ).map(lambda t: Call(t[0], tuple(t[1]))),
    )


EXPRS = st.recursive(_LEAVES, _extend, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(EXPRS)
def test_print_then_parse_gives_the_same_ast(expr: Expr) -> None:
    text = format_expr(expr)
    assert parse_condition(text) == expr, text


@settings(max_examples=300, deadline=None)
@given(EXPRS)
def test_compiling_a_grammatical_condition_raises_only_condition_errors(expr: Expr) -> None:
    with contextlib.suppress(ConditionError):
        compile_condition(format_expr(expr))


_ALPHABET = st.sampled_from(
    [*list("abcxyz019 .,;:()[]{}<>=!|?*/%+-$'\"\\@&\t\n"), "AND", "OR", "NOT", "INTO", "/*", "*/"]
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.lists(_ALPHABET).map("".join)))
def test_condition_compiler_raises_only_its_own_error(text: str) -> None:
    try:
        compile_condition(text)
    except ConditionError as exc:
        assert 0 <= exc.start < exc.end
        assert exc.caret()


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.lists(_ALPHABET).map("".join)), st.booleans())
def test_route_parser_raises_only_its_own_error(tail: str, template: bool) -> None:
    for text in (tail, f"FROM /messages WHERE {tail} INTO $upstream"):
        try:
            parse_route(text, template=template)
        except RouteSyntaxError as exc:
            assert 1 <= exc.column <= len(text) + 1
            assert exc.caret()
