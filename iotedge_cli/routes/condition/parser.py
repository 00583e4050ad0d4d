"""A Pratt parser for WHERE conditions (``Condition.g4``), producing an untyped AST.

Precedence follows the ANTLR alternative order, tightest first: primaries, prefix ``-``,
prefix ``NOT``, ``* / %``, ``+ - ||``, ``< <= > >=``, ``= != <>``, ``AND``, ``OR``, ``??``;
binary operators are left-associative. ANTLR4 gives a prefix operator's operand the
precedence of the prefix alternative itself, which is tighter than every binary operator,
so ``NOT a = b`` is ``(NOT a) = b`` and ``-a * b`` is ``(-a) * b``: the operand of a
prefix operator is a primary or another prefix expression, never a binary one.

Inside a route the condition is followed by INTO, so tokens left over after a complete
expression are a syntax error (edgeHub's route grammar rejects them too).
"""

from __future__ import annotations

import re

from iotedge_cli.routes.condition.ast import (
    AppProp,
    Binary,
    Call,
    Empty,
    Expr,
    Literal,
    LitKind,
    SysProp,
    Unary,
)
from iotedge_cli.routes.condition.errors import ConditionError
from iotedge_cli.routes.lexer import Token, TokenType, tokenize

__all__ = ["BINARY_PRECEDENCE", "PREFIX_PRECEDENCE", "parse_condition", "spaced"]

# Binding power of each binary operator (higher binds tighter).
BINARY_PRECEDENCE: dict[str, int] = {
    "??": 10,
    "OR": 20,
    "AND": 30,
    "=": 40,
    "!=": 40,
    "<>": 40,
    "<": 50,
    "<=": 50,
    ">": 50,
    ">=": 50,
    "+": 60,
    "-": 60,
    "||": 60,
    "*": 70,
    "/": 70,
    "%": 70,
}
PREFIX_PRECEDENCE = 80

_OPERATOR_CHARS = re.compile(r"[-+*%!|&]")


def spaced(word: str) -> str:
    """``a-b`` -> ``a - b``: what an identifier with swallowed operators probably meant."""
    out = re.sub(r"\s*(\|\||&&|!=|[-+*%])\s*", r" \1 ", word).strip()
    return re.sub(r"\s+", " ", out)


def has_operator_chars(word: str) -> bool:
    return _OPERATOR_CHARS.search(word) is not None


def parse_condition(text: str, *, template: bool = False) -> Expr:
    """Parse ``text`` (the condition alone). Raises :class:`ConditionError`."""
    return _Parser(text, tokenize(text, template=template)).condition()


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0

    def error(
        self, reason: str, start: int, end: int | None = None, hint: str | None = None
    ) -> ConditionError:
        if hint:
            reason = f"{reason}; {hint}"
        return ConditionError(reason, start, end if end is not None else start + 1, self.text, hint)

    def double_equals(self, tok: Token) -> ConditionError:
        end = self.tokens[self.i + 1].end if tok.end == self.tokens[self.i + 1].start else tok.end
        return ConditionError(
            "'==' is not an operator: use = for equality",
            tok.start,
            max(end, tok.end + 1),
            self.text,
            "use = for equality",
        )

    def peek(self) -> Token:
        tok = self.tokens[self.i]
        if tok.type is TokenType.ERROR:
            raise self.error(tok.value, tok.start, max(tok.start + 1, min(tok.end, len(self.text))))
        if tok.type is TokenType.KEYWORD and tok.value not in ("AND", "OR", "NOT"):
            raise self.error(
                f"unexpected keyword {tok.text!r} in the condition",
                tok.start,
                tok.end,
                "a condition cannot contain SELECT, FROM, WHERE or INTO",
            )
        return tok

    def advance(self) -> Token:
        tok = self.peek()
        if tok.type is not TokenType.EOF:
            self.i += 1
        return tok

    # --- grammar ---------------------------------------------------------------------

    def condition(self) -> Expr:
        first = self.peek()
        if first.type is TokenType.EOF:
            return Empty(0, 0)
        expr = self.expr(0)
        tok = self.peek()
        if tok.type is not TokenType.EOF:
            raise self.trailing(tok, expr)
        return expr

    def trailing(self, tok: Token, expr: Expr) -> ConditionError:
        if tok.is_op(")"):
            return self.error(
                "unbalanced ')' in the WHERE condition", tok.start, tok.end, "remove it or add '('"
            )
        if tok.is_op("="):
            return self.error("unexpected '='", tok.start, tok.end)
        if tok.type is TokenType.ID and tok.text in ("&&", "&"):
            return self.error(
                f"{tok.text!r} is not an operator", tok.start, tok.end, "use AND (and OR for '||')"
            )
        if (tok.type is TokenType.ID and tok.text[0] in "-+*%!|&") or (
            tok.type is TokenType.NUMBER and tok.text.startswith("-")
        ):
            return self.error(
                f"unexpected {tok.text!r} after {self.text[expr.start : expr.end]!r}",
                tok.start,
                tok.end,
                "operators must be surrounded by spaces: write "
                f"{self.text[expr.start : expr.end] + ' ' + spaced(tok.text)!r}",
            )
        return self.error(
            f"unexpected {tok.describe()} after a complete condition",
            tok.start,
            tok.end,
            "join conditions with AND or OR, and put spaces around operators",
        )

    def expr(self, rbp: int) -> Expr:
        left = self.prefix()
        while True:
            tok = self.peek()
            op = self.binary_op(tok)
            if op is None or BINARY_PRECEDENCE[op] <= rbp:
                return left
            self.advance()
            if op == "=" and self.tokens[self.i].is_op("="):
                raise self.double_equals(tok)
            right = self.operand(tok, BINARY_PRECEDENCE[op])
            left = Binary(
                op, left, right, left.start, right.end, op_start=tok.start, op_text=tok.text
            )

    @staticmethod
    def binary_op(tok: Token) -> str | None:
        if tok.type is TokenType.KEYWORD and tok.value in ("AND", "OR"):
            return tok.value
        if tok.type is TokenType.OP and tok.text in BINARY_PRECEDENCE:
            return tok.text
        return None

    def operand(self, op: Token, bp: int) -> Expr:
        nxt = self.peek()
        if nxt.type is TokenType.EOF or nxt.is_op(")") or nxt.is_op(","):
            where = "the end of the condition" if nxt.type is TokenType.EOF else repr(nxt.text)
            raise self.error(
                f"expected an expression after {op.text!r}, found {where}",
                nxt.start if nxt.type is not TokenType.EOF else op.start,
                nxt.end if nxt.type is not TokenType.EOF else op.end,
                "complete or remove the operator",
            )
        return self.expr(bp)

    def prefix(self) -> Expr:
        tok = self.peek()
        kind = tok.type
        if kind is TokenType.OP:
            if tok.text == "(":
                self.advance()
                if self.peek().is_op(")"):
                    raise self.error("empty parentheses", tok.start, self.peek().end)
                inner = self.expr(0)
                close = self.peek()
                if not close.is_op(")"):
                    if close.type is TokenType.EOF:
                        raise self.error(
                            "unclosed '(' in the WHERE condition", tok.start, tok.end, "add ')'"
                        )
                    raise self.trailing(close, inner)
                self.advance()
                return inner
            if tok.text == "-":
                self.advance()
                operand = self.operand(tok, PREFIX_PRECEDENCE)
                return Unary("-", operand, tok.start, operand.end, op_text="-")
            if tok.text == "{":
                self.advance()
                prop = self.peek()
                if prop.type is not TokenType.SYS_PROP:
                    raise self.error(
                        f"expected a $property after '{{', found {prop.describe()}",
                        prop.start,
                        prop.end,
                        "braces only wrap a system property: {$name}",
                    )
                self.advance()
                close = self.peek()
                if not close.is_op("}"):
                    raise self.error(
                        f"expected '}}' after {prop.text!r}, found {close.describe()}",
                        close.start if close.type is not TokenType.EOF else prop.start,
                        close.end if close.type is not TokenType.EOF else prop.end,
                        "write {$name}",
                    )
                self.advance()
                return SysProp(prop.text, True, tok.start, close.end)
            if tok.text == "=" and self.tokens[self.i + 1].is_op("="):
                raise self.double_equals(tok)
            raise self.error(
                f"expected an expression, found {tok.describe()}",
                tok.start,
                tok.end,
                "an operator needs an operand on each side",
            )
        if kind is TokenType.KEYWORD:  # NOT (AND/OR cannot start an expression)
            if tok.value == "NOT":
                self.advance()
                operand = self.operand(tok, PREFIX_PRECEDENCE)
                return Unary("NOT", operand, tok.start, operand.end, op_text=tok.text)
            raise self.error(
                f"expected an expression before {tok.text!r}",
                tok.start,
                tok.end,
                "AND and OR need a condition on each side",
            )
        self.advance()
        if kind is TokenType.LITERAL:
            lit = {
                "true": (LitKind.BOOL, True),
                "false": (LitKind.BOOL, False),
                "null": (LitKind.NULL, None),
                "undefined": (LitKind.UNDEFINED, None),
            }[tok.text]
            return Literal(lit[0], tok.text, lit[1], tok.start, tok.end)
        if kind is TokenType.STRING:
            return Literal(LitKind.STRING, tok.text, tok.value, tok.start, tok.end)
        if kind is TokenType.NUMBER:
            return Literal(LitKind.NUMBER, tok.text, _number(tok.text), tok.start, tok.end)
        if kind is TokenType.SYS_PROP:
            return SysProp(tok.text, False, tok.start, tok.end)
        if kind is TokenType.ID:
            if self.peek().is_op("("):
                return self.call(tok)
            return AppProp(tok.text, tok.start, tok.end)
        # EOF
        raise self.error("expected an expression, found the end of the condition", tok.start)

    def call(self, name: Token) -> Call:
        open_ = self.advance()
        args: list[Expr] = []
        first = self.i
        if not self.peek().is_op(")"):
            while True:
                nxt = self.peek()
                if nxt.is_op(",") or nxt.is_op(")") or nxt.type is TokenType.EOF:
                    raise self.error(
                        f"expected an argument, found {nxt.describe()}",
                        nxt.start if nxt.type is not TokenType.EOF else open_.start,
                        nxt.end if nxt.type is not TokenType.EOF else open_.end,
                        f"remove the extra ',' or complete the call to {name.text}()",
                    )
                args.append(self.expr(0))
                sep = self.peek()
                if sep.is_op(","):
                    self.advance()
                    continue
                if sep.is_op(")"):
                    break
                if sep.type is TokenType.EOF:
                    raise self.error(
                        f"unclosed '(' of {name.text}(", open_.start, open_.end, "add ')'"
                    )
                raise self.trailing(sep, args[-1])
        raw = "".join(t.text for t in self.tokens[first : self.i])
        close = self.advance()
        return Call(name.text, tuple(args), name.start, close.end, raw_args=raw)


def _number(text: str) -> float | None:
    """C#: hex via long, else double.TryParse; None where edgeHub yields undefined (a hex
    literal beyond a long, or a REAL_LITERAL without digits such as ``E0``)."""
    if text[:2] in ("0x", "0X"):
        value = int(text[2:], 16)
        return float(value) if value <= 0x7FFF_FFFF_FFFF_FFFF else None
    try:
        return float(text)
    except ValueError:
        return None
