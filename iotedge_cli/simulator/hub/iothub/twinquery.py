"""Target conditions of IoT Hub configurations: the twin-query subset the simulator evaluates.

A target condition is the ``WHERE`` part of an IoT Hub twin query, evaluated against one
device twin document (``{"deviceId", "tags", "capabilities": {"iotEdge"}, "properties":
{...}, "status"}``). Supported: property paths (``tags.env``, ``tags.site.floor``,
``deviceId``, ``capabilities.iotEdge``, ``properties.reported.x``, ``$``-names such as
``properties.desired.$version``), string (``'x'`` or ``"x"``, backslash escapes), number,
``true``/``false``/``null`` literals, ``=``, ``!=`` (also ``<>``), ``AND``, ``OR``, ``NOT``
and parentheses, plus the condition ``*`` (every device). Anything else (``<``, ``IN``,
functions, ``[...]`` paths) is refused with a :class:`TwinQueryError` that names it and its
column.

Case rules (IoT Hub's): keywords and the literals ``true``/``false``/``null`` ignore case;
property names and string values are compared exactly (twin property names are
case-sensitive, as are device ids).

Theory of operation: a small hand-written lexer, then a precedence (Pratt) parser building
frozen dataclasses; evaluation is three-valued as in IoT Hub's SQL dialect. A path that is
absent, or a comparison between values of different types, is *undefined*; ``NOT``
undefined stays undefined, ``AND``/``OR`` follow SQL's three-valued logic, and a condition
that ends undefined does not target the device. So ``tags.env != 'prod'`` is false for a
device without ``tags.env``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = [
    "And",
    "Compare",
    "Condition",
    "Everything",
    "Literal",
    "Not",
    "Or",
    "Path",
    "TwinQueryError",
    "evaluate",
    "matches",
    "parse_condition",
]


class TwinQueryError(ValueError):
    """A condition the simulator cannot evaluate: ``reason`` at the 1-based ``column``."""

    def __init__(self, reason: str, column: int, text: str) -> None:
        caret = " " * (column - 1) + "^"
        super().__init__(f"{reason} (column {column})\n  {text}\n  {caret}")
        self.reason = reason
        self.column = column
        self.text = text


# --- AST --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Compare:
    op: str  # "=" or "!="
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class And:
    left: Condition
    right: Condition


@dataclass(frozen=True)
class Or:
    left: Condition
    right: Condition


@dataclass(frozen=True)
class Everything:
    """The condition ``*``."""


Operand: TypeAlias = Path | Literal
Condition: TypeAlias = Compare | Not | And | Or | Literal | Path | Everything

# --- lexer ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>!=|<>|<=|>=|=|<|>|\(|\)|\.|\[|\]|,|\*|\+|/|%)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false", "null"}
_UNSUPPORTED_WORDS = {
    "in",
    "nin",
    "is",
    "like",
    "between",
    "select",
    "from",
    "where",
    "group",
    "by",
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # string number name keyword op end
    text: str
    column: int  # 1-based
    value: Any = None


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] in "'\"":
                raise TwinQueryError("unterminated string literal", pos + 1, text)
            raise TwinQueryError(f"unexpected character {text[pos]!r}", pos + 1, text)
        kind = m.lastgroup or ""
        raw = m.group()
        column = pos + 1
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "string":
            tokens.append(_Tok("string", raw, column, _unescape(raw[1:-1])))
        elif kind == "number":
            value: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Tok("number", raw, column, value))
        elif kind == "name" and raw.lower() in _KEYWORDS:
            tokens.append(_Tok("keyword", raw.lower(), column, raw))
        else:
            tokens.append(_Tok(kind, raw, column))
    tokens.append(_Tok("end", "", len(text) + 1))
    return tokens


# --- parser -----------------------------------------------------------------------------

_BINDING = {"or": 10, "and": 20}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, reason: str, tok: _Tok) -> TwinQueryError:
        return TwinQueryError(reason, tok.column, self.text)

    def parse(self) -> Condition:
        first = self.peek()
        if first.kind == "end":
            raise self.fail("the target condition is empty; write e.g. tags.env='prod'", first)
        if first.text == "*" and self.tokens[self.i + 1].kind == "end":
            return Everything()
        cond = self.expression(0)
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(f"unexpected {tok.text!r}; expected AND, OR or the end", tok)
        return cond

    def expression(self, min_binding: int) -> Condition:
        left = self.prefix()
        while True:
            tok = self.peek()
            binding = _BINDING.get(tok.text) if tok.kind == "keyword" else None
            if binding is None or binding <= min_binding:
                return left
            self.take()
            right = self.expression(binding)
            left = Or(left, right) if tok.text == "or" else And(left, right)

    def prefix(self) -> Condition:
        tok = self.peek()
        if tok.kind == "keyword" and tok.text == "not":
            self.take()
            return Not(self.expression(25))  # NOT binds tighter than AND, looser than =
        if tok.kind == "op" and tok.text == "(":
            self.take()
            inner = self.expression(0)
            close = self.take()
            if close.text != ")":
                raise self.fail(f"expected ')' but found {close.text or 'the end'!r}", close)
            return inner
        left = self.operand()
        op = self.peek()
        if op.kind == "op" and op.text in ("=", "!=", "<>"):
            self.take()
            right = self.operand()
            return Compare("=" if op.text == "=" else "!=", left, right)
        if op.kind == "op" and op.text in ("<", ">", "<=", ">="):
            raise self.fail(
                f"operator {op.text!r} is not supported by the simulator; use = or !=", op
            )
        if op.kind == "name" and op.text.lower() in _UNSUPPORTED_WORDS:
            raise self.fail(
                f"{op.text.upper()} is not supported by the simulator; use =, !=, AND, OR, NOT",
                op,
            )
        return left

    def operand(self) -> Operand:
        tok = self.take()
        if tok.kind == "string" or tok.kind == "number":
            return Literal(tok.value)
        if tok.kind == "keyword" and tok.text in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[tok.text])
        if tok.kind == "name":
            if tok.text.lower() in _UNSUPPORTED_WORDS:
                raise self.fail(f"{tok.text.upper()} is not supported by the simulator", tok)
            if self.peek().text == "(":
                raise self.fail(
                    f"function {tok.text}() is not supported by the simulator; "
                    "compare a property with = or !=",
                    tok,
                )
            parts = [tok.text]
            while self.peek().text in (".", "["):
                dot = self.take()
                if dot.text == "[":
                    raise self.fail("[...] property access is not supported; use a.b", dot)
                name = self.take()
                if name.kind not in ("name", "keyword"):
                    raise self.fail(
                        f"expected a property name after '.', found {name.text or 'the end'!r}",
                        name,
                    )
                parts.append(name.value if name.kind == "keyword" else name.text)
            return Path(tuple(parts))
        what = "the end" if tok.kind == "end" else repr(tok.text)
        raise self.fail(
            f"expected a property path or a literal, found {what}",
            tok,
        )


def parse_condition(text: str) -> Condition:
    """Parse a target condition; raises :class:`TwinQueryError`."""
    return _Parser(text).parse()


# --- evaluation -------------------------------------------------------------------------

_UNDEFINED: Any = object()


def _resolve(path: Path, doc: Mapping[str, Any]) -> Any:
    value: Any = doc
    for part in path.parts:
        if not isinstance(value, Mapping) or part not in value:
            return _UNDEFINED
        value = value[part]
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


def _value(operand: Operand, doc: Mapping[str, Any]) -> Any:
    return operand.value if isinstance(operand, Literal) else _resolve(operand, doc)


def evaluate(cond: Condition, doc: Mapping[str, Any]) -> bool | None:
    """True, False, or None for *undefined* (see the module docstring)."""
    if isinstance(cond, Everything):
        return True
    if isinstance(cond, Compare):
        left, right = _value(cond.left, doc), _value(cond.right, doc)
        if left is _UNDEFINED or right is _UNDEFINED:
            return None
        kind = _kind(left)
        if kind != _kind(right) or kind == "other":
            return None
        equal = bool(left == right)
        return equal if cond.op == "=" else not equal
    if isinstance(cond, Not):
        inner = evaluate(cond.operand, doc)
        return None if inner is None else not inner
    if isinstance(cond, And):
        left_b, right_b = evaluate(cond.left, doc), evaluate(cond.right, doc)
        if left_b is False or right_b is False:
            return False
        return None if left_b is None or right_b is None else True
    if isinstance(cond, Or):
        left_b, right_b = evaluate(cond.left, doc), evaluate(cond.right, doc)
        if left_b is True or right_b is True:
            return True
        return None if left_b is None or right_b is None else False
    value = _value(cond, doc)  # a bare path or literal: true only when it is true
    return value if isinstance(value, bool) else None


def matches(cond: Condition, doc: Mapping[str, Any]) -> bool:
    """Does the condition target this twin? (undefined -> no)."""
    return evaluate(cond, doc) is True
