"""Tokenisation follows ANTLR's longest-match rule (GrammarLexer.g4), surprises included."""

from __future__ import annotations

import pytest

from iotedge_cli.routes import TokenType, tokenize


def kinds(text: str, template: bool = False) -> list[tuple[str, str]]:
    return [(t.type.value, t.text) for t in tokenize(text, template=template)[:-1]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a - b", [("id", "a"), ("op", "-"), ("id", "b")]),
        ("a-b", [("id", "a-b")]),  # an unspaced operator is swallowed into the identifier
        ("3-4", [("id", "3-4")]),
        ("1e-6", [("number", "1e-6")]),
        ("-12 0x1F 3.5", [("number", "-12"), ("number", "0x1F"), ("number", "3.5")]),
        ("a!=b", [("id", "a!"), ("op", "="), ("id", "b")]),
        ("a != b", [("id", "a"), ("op", "!="), ("id", "b")]),
        ("FROM from FROMx", [("keyword", "FROM"), ("keyword", "from"), ("id", "FROMx")]),
        ("true TRUE null", [("literal", "true"), ("id", "TRUE"), ("literal", "null")]),
        ("$body.a[0].b", [("sys_prop", "$body.a[0].b")]),
        ("{$x}", [("op", "{"), ("sys_prop", "$x"), ("op", "}")]),
        ("* ** || ??", [("op", "*"), ("id", "**"), ("op", "||"), ("op", "??")]),
        ("'abc'x", [("id", "'abc'x")]),  # ' is an identifier character; longer wins
        ("'it\\'s'x", [("string", "'it\\'s'"), ("id", "x")]),  # but \\ is not
        ("/* c */ x", [("id", "x")]),
        ("/*x", [("op", "/"), ("id", "*x")]),  # no closing */: not a comment
    ],
)
def test_longest_match(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


def test_string_value_is_decoded() -> None:
    (tok,) = tokenize(r"'a\'b\"c\\d\u0041'")[:-1]
    assert tok.type is TokenType.STRING
    assert tok.value == "a'b\"c\\dA"


def test_errors_become_one_token_then_eof() -> None:
    tokens = tokenize("x ; y")
    assert [t.type for t in tokens] == [TokenType.ID, TokenType.ERROR, TokenType.EOF]
    assert tokens[1].column == 3
    assert "invalid character ';'" in tokens[1].value


def test_placeholders_are_words_in_templates() -> None:
    assert kinds("${MODULE}_x/y", template=True) == [
        ("id", "${MODULE}_x"),
        ("op", "/"),
        ("id", "y"),
    ]
    assert kinds("${A}") != [("id", "${A}")]
