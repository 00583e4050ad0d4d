"""Tokens of the edgeHub route language (``Route.g4`` + ``GrammarLexer.g4``).

Theory of operation: edgeHub's ANTLR lexer picks, at every position, the rule that matches
the *longest* text; on a tie the rule defined first wins. We reproduce that with a handful
of anchored regular expressions tried at the current position (comment, string, keyword or
literal, number, ``$property``, operator, identifier) and keep the longest match, earlier
candidates winning ties. That is why ``a-b`` is one identifier, ``3-4`` too, ``1e-6`` is a
number, ``FROMx`` is an identifier and ``TRUE`` is an identifier (literals are lower-case
only) — surprising, but exactly what the runtime does, and what the condition checker of the
next step builds on.

One lexer serves the whole route: the route parser needs only a few token kinds, the
condition (the text between WHERE and INTO) needs all of them.

In template mode a ``${NAME}`` placeholder is part of an identifier (``${MODULE}_x`` is one
identifier), so templates whose routes are completed by a generator still tokenise.

Columns in :class:`RouteSyntaxError` are 1-based character positions in the route text, as
in editors and in edgectl's ``line:col`` locations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from iotedge_cli.errors import EdgectlError

__all__ = ["RouteSinkError", "RouteSyntaxError", "Token", "TokenType", "tokenize"]


class RouteSyntaxError(EdgectlError):
    """A route edgeHub would reject: ``reason`` and the 1-based ``column`` in ``text``."""

    def __init__(self, reason: str, column: int, text: str = "") -> None:
        super().__init__(f"{reason} (column {column})", hint=None)
        self.reason = reason
        self.column = column
        self.text = text

    def caret(self) -> str:
        """The route on one line and a caret under the offending column."""
        line = self.text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
        return f"{line}\n{' ' * (self.column - 1)}^"


class RouteSinkError(RouteSyntaxError):
    """A well-formed sink that edgeHub cannot build an endpoint for (unknown system endpoint,
    function other than BrokeredEndpoint, address not ``/modules/<m>/inputs/<i>``)."""


class TokenType(str, Enum):
    KEYWORD = "keyword"  # SELECT FROM WHERE INTO AND OR NOT (value: upper-case keyword)
    LITERAL = "literal"  # true false null undefined (lower-case only)
    STRING = "string"  # value: decoded text
    NUMBER = "number"
    SYS_PROP = "sys_prop"  # $name, $body.a[0]
    ID = "id"  # application property, function name or path segment
    OP = "op"  # ( ) , + - * / % = != <> < <= > >= || ?? { }
    ERROR = "error"  # text no rule accepts; value: the reason. Always followed by EOF.
    EOF = "eof"


KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "INTO", "AND", "OR", "NOT"})
LITERALS = frozenset({"true", "false", "null", "undefined"})


@dataclass(frozen=True, slots=True)
class Token:
    type: TokenType
    text: str  # as written
    start: int  # 0-based offset in the route text
    value: str = ""  # KEYWORD: upper-case word; STRING: decoded content; else the text

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def column(self) -> int:
        return self.start + 1

    def is_keyword(self, word: str) -> bool:
        return self.type is TokenType.KEYWORD and self.value == word

    def is_op(self, op: str) -> bool:
        return self.type is TokenType.OP and self.text == op

    @property
    def placeholder(self) -> bool:
        """An identifier that contains a template placeholder (template mode only)."""
        return self.type is TokenType.ID and "${" in self.text

    def describe(self) -> str:
        if self.type is TokenType.EOF:
            return "the end of the route"
        return repr(self.text)


# Characters excluded from identifiers and from $property paths (GrammarLexer.g4).
_ID_CHAR = r"[^()<>@,;:\\\"/\[\]?={}\s]"
_ID = re.compile(_ID_CHAR + "+")
_ID_TEMPLATE = re.compile(r"(?:\$\{[^}\s]*\}|" + _ID_CHAR + ")+")
_SYS_PROP = re.compile(r"\$[^()<>@,;:\\\"/?={}\s]+")
# HEX_INTEGER_LITERAL, REAL_LITERAL (two forms), INTEGER_LITERAL; the longest one wins.
_NUMBER_PARTS = tuple(
    re.compile(p)
    for p in (
        r"0[xX][0-9a-fA-F]+",
        r"-?[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?",
        r"-?[0-9]*[eE][+-]?[0-9]+",
        r"-?[0-9]+",
    )
)
_OPERATORS = (
    "||",
    "??",
    "<=",
    ">=",
    "<>",
    "!=",
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "/",
    "%",
    "=",
    "<",
    ">",
    "{",
    "}",
)
_OP = re.compile("|".join(re.escape(op) for op in _OPERATORS))
_SPACE = re.compile(r"\s+")
_STRING_BODY = {'"': re.compile(r'(?:[^"\\]|\\.)*'), "'": re.compile(r"(?:[^'\\]|\\.)*")}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[\"'\\]|.?)", re.DOTALL)


def _longest_number(text: str, pos: int) -> int:
    best = 0
    for pattern in _NUMBER_PARTS:
        m = pattern.match(text, pos)
        if m and m.end() - pos > best:
            best = m.end() - pos
    return best


def _decode(body: str) -> tuple[str, int]:
    """Decode escapes (only ``\\"``, ``\\'``, ``\\\\`` and ``\\u`` + 4 hex digits exist).

    Returns ``(text, -1)``, or ``(partial, index)`` of the first bad escape.
    """
    if "\\" not in body:
        return body, -1
    out: list[str] = []
    last = 0
    for m in _ESCAPE.finditer(body):
        esc = m.group(1)
        if esc.startswith("u") and len(esc) == 5:
            char = chr(int(esc[1:], 16))
        elif esc in ('"', "'", "\\"):
            char = esc
        else:
            return "", m.start()
        out.append(body[last : m.start()])
        out.append(char)
        last = m.end()
    out.append(body[last:])
    return "".join(out), -1


def tokenize(text: str, *, template: bool = False) -> list[Token]:
    """All tokens of ``text`` (whitespace and ``/* */`` comments skipped), ending with EOF.

    Text that no rule accepts (an unterminated string, a bad escape, a stray ``;``) becomes
    one ERROR token, whose ``value`` says why, and lexing stops there. The parser raises it
    only when it gets that far, so the *first* problem in the route is the one reported.
    """
    tokens: list[Token] = []
    append = tokens.append
    ident = _ID_TEMPLATE if template else _ID
    n = len(text)
    pos = 0
    while True:
        m = _SPACE.match(text, pos)
        if m:
            pos = m.end()
        if pos >= n:
            break
        ch = text[pos]
        # A comment is the longest match wherever "/*" is followed, somewhere, by "*/".
        if ch == "/" and text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close != -1:
                pos = close + 2
                continue
        if ch in "\"'":
            body = _STRING_BODY[ch].match(text, pos + 1)
            end = body.end() if body else pos + 1
            if end >= n or text[end] != ch:
                reason = f"unterminated string starting with {ch}: close it with a matching {ch}"
                append(Token(TokenType.ERROR, text[pos:], pos, reason))
                break
            # An identifier may contain ' and win by length ('abc'x); STRING wins ties.
            id_m = ident.match(text, pos) if ch == "'" else None
            if id_m is None or id_m.end() <= end + 1:
                raw = text[pos : end + 1]
                value, bad = _decode(raw[1:-1])
                if bad >= 0:
                    reason = (
                        f"invalid escape '{raw[1 + bad : 3 + bad]}' in a string; only "
                        "\\\" \\' \\\\ and \\u followed by 4 hex digits are allowed"
                    )
                    append(Token(TokenType.ERROR, raw, pos + 1 + bad, reason))
                    break
                append(Token(TokenType.STRING, raw, pos, value))
                pos = end + 1
                continue
        # Longest match among the remaining rules; earlier rule wins a tie.
        id_m = ident.match(text, pos)
        id_len = id_m.end() - pos if id_m else 0
        num_len = _longest_number(text, pos) if (ch.isdigit() or ch in "-.eE0") else 0
        sys_m = _SYS_PROP.match(text, pos) if ch == "$" else None
        sys_len = sys_m.end() - pos if sys_m else 0
        op_m = _OP.match(text, pos)
        op_len = op_m.end() - pos if op_m else 0
        if id_len and id_len >= max(num_len, sys_len, op_len):
            word = text[pos : pos + id_len]
            upper = word.upper()
            if upper in KEYWORDS and id_len > max(num_len, sys_len, op_len):
                append(Token(TokenType.KEYWORD, word, pos, upper))
            elif word in LITERALS and id_len > max(num_len, sys_len, op_len):
                append(Token(TokenType.LITERAL, word, pos, word))
            elif num_len == id_len:
                append(Token(TokenType.NUMBER, word, pos, word))
            elif sys_len == id_len:
                append(Token(TokenType.SYS_PROP, word, pos, word))
            elif op_len == id_len:
                append(Token(TokenType.OP, word, pos, word))
            else:
                append(Token(TokenType.ID, word, pos, word))
            pos += id_len
            continue
        best = max(num_len, sys_len, op_len)
        if best == 0:
            append(Token(TokenType.ERROR, ch, pos, f"invalid character {ch!r}: remove it"))
            break
        word = text[pos : pos + best]
        kind = (
            TokenType.NUMBER
            if num_len == best
            else TokenType.SYS_PROP
            if sys_len == best
            else TokenType.OP
        )
        append(Token(kind, word, pos, word))
        pos += best
    append(Token(TokenType.EOF, "", n))
    return tokens
