"""The condition AST: frozen dataclasses with 0-based ``[start, end)`` spans.

Spans, static types and resolution details are excluded from equality, so two trees are
equal when they mean the same expression (what the print/parse property test checks).
Parentheses are not nodes: the printer puts back the ones precedence needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "AppProp",
    "Binary",
    "Call",
    "Empty",
    "Expr",
    "LitKind",
    "Literal",
    "QType",
    "SysProp",
    "Unary",
    "children",
]


class QType(str, Enum):
    """Static types of edgeHub's expression tree (``ErrorListener.TypeName``)."""

    UNKNOWN = "unknown"  # not type-checked (template placeholders) or not yet checked
    NUMBER = "number"
    STRING = "string"
    BOOL = "bool"
    NULL = "null"
    UNDEFINED = "undefined"
    QUERY = "$body value"  # QueryValue: dynamic, the result of a $body query


class LitKind(str, Enum):
    BOOL = "bool"
    STRING = "string"
    NUMBER = "number"
    NULL = "null"
    UNDEFINED = "undefined"


@dataclass(frozen=True)
class Literal:
    kind: LitKind
    raw: str  # as written: 'x', "x", 0x1F, -3, 1e-6, true
    value: float | str | bool | None = field(compare=False)
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    type: QType = field(default=QType.UNKNOWN, compare=False)


@dataclass(frozen=True)
class AppProp:
    """``name``: an application property (looked up ignoring case)."""

    name: str
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    type: QType = field(default=QType.UNKNOWN, compare=False)


@dataclass(frozen=True)
class SysProp:
    """``$name`` or ``{$name}``: an application property literally named ``$name``, a
    ``$body.`` query or a system property (see the checker for the resolution order)."""

    name: str  # with the leading '$'
    braced: bool = False
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    type: QType = field(default=QType.UNKNOWN, compare=False)

    @property
    def body_query(self) -> str | None:
        """The path after ``$body.`` (prefix matched ignoring case), else None."""
        if self.name[:6].lower() == "$body.":
            return self.name[6:]
        return None


@dataclass(frozen=True)
class Call:
    name: str  # as written (built-in names are case-insensitive)
    args: tuple[Expr, ...]
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    type: QType = field(default=QType.UNKNOWN, compare=False)
    raw_args: str = field(default="", compare=False)  # token texts joined, no whitespace

    @property
    def name_end(self) -> int:
        return self.start + len(self.name)


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "NOT"
    operand: Expr
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    type: QType = field(default=QType.UNKNOWN, compare=False)
    op_text: str = field(default="", compare=False)  # as written (not, Not, NOT)


@dataclass(frozen=True)
class Binary:
    op: str  # * / % + - || < <= > >= = != <> AND OR ??
    left: Expr
    right: Expr
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    type: QType = field(default=QType.UNKNOWN, compare=False)
    op_start: int = field(default=0, compare=False)
    op_text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Empty:
    """An empty condition (only whitespace or comments): edgeHub evaluates it as undefined."""

    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    type: QType = field(default=QType.UNDEFINED, compare=False)


Expr = Literal | AppProp | SysProp | Call | Unary | Binary | Empty


def children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Call):
        return expr.args
    return ()
