"""Print an AST back to condition text, and render runtime values as edgeHub shows them.

``format_expr`` puts spaces around every binary operator and after a unary minus (``-x``
or ``-3`` would lex as one identifier or number) and adds the parentheses precedence
needs, so ``parse_condition(format_expr(ast)) == ast``.
"""

from __future__ import annotations

import math

from iotedge_cli.routes.condition.ast import (
    AppProp,
    Binary,
    Call,
    Empty,
    Expr,
    Literal,
    SysProp,
    Unary,
)
from iotedge_cli.routes.condition.parser import BINARY_PRECEDENCE

__all__ = ["format_expr", "format_number", "render_value"]

# The parser's binding powers: printing must parenthesise exactly where parsing would differ.
_PRECEDENCE = BINARY_PRECEDENCE


def format_expr(expr: Expr) -> str:
    """The condition text of ``expr`` (comments and redundant parentheses dropped)."""
    if isinstance(expr, Literal):
        return expr.raw
    if isinstance(expr, AppProp):
        return expr.name
    if isinstance(expr, SysProp):
        return "{" + expr.name + "}" if expr.braced else expr.name
    if isinstance(expr, Call):
        return f"{expr.name}({', '.join(format_expr(a) for a in expr.args)})"
    if isinstance(expr, Unary):
        inner = format_expr(expr.operand)
        if isinstance(expr.operand, Binary):
            inner = f"({inner})"
        return f"- {inner}" if expr.op == "-" else f"NOT {inner}"
    if isinstance(expr, Binary):
        prec = _PRECEDENCE[expr.op]
        left, right = format_expr(expr.left), format_expr(expr.right)
        if isinstance(expr.left, Binary) and _PRECEDENCE[expr.left.op] < prec:
            left = f"({left})"
        if isinstance(expr.right, Binary) and _PRECEDENCE[expr.right.op] <= prec:
            right = f"({right})"
        return f"{left} {expr.op} {right}"
    assert isinstance(expr, Empty)
    return ""


def format_number(x: float) -> str:
    """C# ``double.ToString()`` (.NET Core 3.0+): shortest round-trip digits, scientific
    notation below 1E-05 and from 1E+15, ``Infinity``/``-Infinity``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    from decimal import Decimal

    sign, digits_t, exp = Decimal(repr(x)).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digits_t)).rstrip("0") or "0"
    exp += len("".join(map(str, digits_t))) - len(digits)
    e10 = len(digits) + exp - 1
    minus = "-" if sign else ""
    if -5 < e10 < 15:
        if exp >= 0:
            return minus + digits + "0" * exp
        point = len(digits) + exp
        if point > 0:
            return minus + digits[:point] + "." + digits[point:]
        return minus + "0." + "0" * (-point) + digits
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{minus}{mantissa}E{'+' if e10 >= 0 else '-'}{abs(e10):02d}"


def render_value(value: object) -> str:
    """A runtime value as edgeHub would print it: undefined, null, 3, 'x', true."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value is None:
        return "null"
    name = repr(value)
    if name in ("MISSING", "NULL_STRING"):
        return "null"
    return "undefined"
