"""Runtime operations on condition values, mirroring edgeHub's C# types.

Theory of operation. edgeHub compiles a condition into a .NET expression tree whose nodes
have static types (double, string, Bool, Null, Undefined, QueryValue) and whose *undefined*
is spelt differently per type: NaN for numbers, a sentinel string for strings,
``Bool.Undefined`` for bools, ``QueryValue.Undefined`` for ``$body`` values. Here every
static type shares one :data:`UNDEFINED`; a number that would be NaN becomes undefined
as soon as it is produced, except inside ``$body`` arithmetic where C# keeps a NaN
``QueryValue`` (it is *defined* there and compares below every number).

Runtime values per static type:

* number: ``float`` or UNDEFINED;  bool: ``True``/``False``/UNDEFINED;  null: ``None``;
* string: ``str``, ``None`` (a property whose value is null) or UNDEFINED;
* QueryValue: ``float`` (NaN allowed), ``str``, ``bool``, ``None`` (JSON null or a null
  converted to a QueryValue), :data:`MISSING` (the shared ``QueryValue.Null`` a missing
  ``$body`` path returns — ``is_null`` tells it apart by reference, see builtins),
  :data:`NULL_STRING` (a null string converted) or UNDEFINED.

Cross-type QueryValue comparisons do not fail: they order by type
(bool < number < string < null), so ``$body.missing > 30`` is *true* in edgeHub.
"""

from __future__ import annotations

import math
import re
from typing import Final

from iotedge_cli.routes.values import UNDEFINED

__all__ = [
    "MISSING",
    "NULL_STRING",
    "arith",
    "compare_bool",
    "compare_number",
    "compare_query",
    "compare_string",
    "is_date_string",
    "kleene_and",
    "kleene_not",
    "kleene_or",
    "ordinal_cmp",
    "to_query",
    "utf16_len",
]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING: Final = _Sentinel("MISSING")
NULL_STRING: Final = _Sentinel("NULL_STRING")
NAN: Final = float("nan")
INF: Final = float("inf")

# QueryValueType order: None < Bool < Double < String < Null < Object
_RANK_BOOL, _RANK_DOUBLE, _RANK_STRING, _RANK_NULL = 1, 2, 3, 4


def to_query(value: object) -> object:
    """Convert a string-typed value to a QueryValue (the only conversion that changes it)."""
    if value is None:
        return NULL_STRING
    return value


def _rank(v: object) -> int:
    if v is True or v is False:
        return _RANK_BOOL
    if type(v) is float:
        return _RANK_DOUBLE
    if type(v) is str or v is NULL_STRING:
        return _RANK_STRING
    return _RANK_NULL  # None, MISSING


def ordinal_cmp(a: str, b: str) -> int:
    """C# ``string.Compare(a, b, Ordinal)``: UTF-16 code units."""
    if a == b:
        return 0
    if not (a.isascii() and b.isascii()):
        a_units, b_units = a.encode("utf-16-be"), b.encode("utf-16-be")
        return -1 if a_units < b_units else 1
    return -1 if a < b else 1


def _double_cmp(a: float, b: float) -> int:
    """C# ``double.CompareTo``: NaN equals NaN and sorts below everything."""
    if a < b:
        return -1
    if a > b:
        return 1
    if a == b:
        return 0
    a_nan, b_nan = a != a, b != b
    if a_nan and b_nan:
        return 0
    return -1 if a_nan else 1


_OPS: dict[str, tuple[bool, bool, bool]] = {
    # op: result for (cmp < 0, cmp == 0, cmp > 0)
    "=": (False, True, False),
    "!=": (True, False, True),
    "<>": (True, False, True),
    "<": (True, False, False),
    "<=": (True, True, False),
    ">": (False, False, True),
    ">=": (False, True, True),
}


def _verdict(op: str, cmp: int) -> bool:
    lt, eq, gt = _OPS[op]
    return lt if cmp < 0 else eq if cmp == 0 else gt


def compare_number(op: str, a: object, b: object) -> object:
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    assert isinstance(a, float) and isinstance(b, float)
    return _verdict(op, _double_cmp(a, b))


def compare_string(op: str, a: object, b: object) -> object:
    if type(a) is not str or type(b) is not str:
        return UNDEFINED  # undefined or a null-valued property
    return _verdict(op, ordinal_cmp(a, b))


def compare_bool(op: str, a: object, b: object) -> object:
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return _verdict(op, int(bool(a)) - int(bool(b)))


def compare_query(op: str, a: object, b: object) -> object:
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return _verdict(op, -1 if ra < rb else 1)
    if ra == _RANK_DOUBLE:
        assert isinstance(a, float) and isinstance(b, float)
        return _verdict(op, _double_cmp(a, b))
    if ra == _RANK_STRING:
        if a is NULL_STRING or b is NULL_STRING:
            return _verdict(op, 0 if a is b else -1 if a is NULL_STRING else 1)
        assert isinstance(a, str) and isinstance(b, str)
        return _verdict(op, ordinal_cmp(a, b))
    if ra == _RANK_BOOL:
        return _verdict(op, int(bool(a)) - int(bool(b)))
    return _verdict(op, 0)  # null vs null


def kleene_and(a: object, b: object) -> object:
    if a is False or b is False:
        return False
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return True


def kleene_or(a: object, b: object) -> object:
    if a is True or b is True:
        return True
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return False


def kleene_not(a: object) -> object:
    if a is UNDEFINED:
        return UNDEFINED
    return not a


def _divide(a: float, b: float) -> float:
    if b == 0.0:
        if a == 0.0 or a != a:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)
    return a / b


def _modulo(a: float, b: float) -> float:
    if b == 0.0 or math.isinf(a) or a != a or b != b:
        return NAN
    if math.isinf(b):
        return a
    return math.fmod(a, b)


def arith(op: str, a: float, b: float) -> float:
    """IEEE double arithmetic as C# does it (no exceptions; NaN and infinities)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return _divide(a, b)
    return _modulo(a, b)


def utf16_len(s: str) -> int:
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le")) // 2


# Json.NET turns ISO-8601 date-time strings into dates (DateParseHandling.DateTime): a
# $body query that ends on one yields an object, i.e. undefined.
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*"
    r"|/Date\(-?\d+(?:[+-]\d{4})?\)/",
    re.ASCII,
)


def is_date_string(s: str) -> bool:
    return (len(s) >= 19 and _DATE.fullmatch(s) is not None) or (
        s.startswith("/Date(") and (_DATE.fullmatch(s) is not None)
    )
