"""The 24 built-in functions (names case-insensitive) with their edgeHub signatures.

Each function has *executors* tried in order (``Builtin.Get``): the first whose argument
types match is used. ``Args`` matches exact static types, or — when the executor accepts
QueryValues — a ``$body`` value in place of a bool/number/string/null parameter;
``VarArgs`` repeats its last type; ``AnyArgs(n)`` only checks the count. Executors that
accept QueryValues convert every argument to a QueryValue first, so their runtime checks
see the *dynamic* type (``length($body.n)`` on a number is undefined, not an error).
``twin_change_includes`` takes raw path text and is handled by the compiler.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from iotedge_cli.routes.condition.ast import QType
from iotedge_cli.routes.condition.evaluate import MISSING, NULL_STRING, utf16_len
from iotedge_cli.routes.values import UNDEFINED

__all__ = ["BUILTINS", "Builtin", "Executor", "signature_text"]

N, S, B, NL, U, Q = (
    QType.NUMBER,
    QType.STRING,
    QType.BOOL,
    QType.NULL,
    QType.UNDEFINED,
    QType.QUERY,
)
_SUPPORTED = frozenset({NL, N, S, B})  # QueryValue.IsSupportedType

Impl = Callable[..., object]


@dataclass(frozen=True)
class Executor:
    params: tuple[QType, ...]  # empty with any_arity: AnyArgs
    result: QType
    impl: Impl
    query: bool = False  # IsQueryValueSupported
    varargs: bool = False
    any_arity: int = -1

    def matches(self, given: tuple[QType, ...]) -> bool:
        if self.any_arity >= 0:
            return len(given) == self.any_arity
        if self.varargs:
            n = len(self.params) - 1
            if len(given) < n:
                return False
            want = list(self.params[:n]) + [self.params[n]] * (len(given) - n)
            return all(g == t or (self.query and g == Q) for g, t in zip(given, want, strict=True))
        if len(given) != len(self.params):
            return False
        return all(
            t == g
            or (self.query and ((g == Q and t in _SUPPORTED) or (t == Q and g in _SUPPORTED)))
            for t, g in zip(self.params, given, strict=True)
        )


@dataclass(frozen=True)
class Builtin:
    name: str
    executors: tuple[Executor, ...]
    usage: str  # e.g. "substring(string, number[, number])"


def _num(x: float) -> object:
    return UNDEFINED if x != x else x


def _math(fn: Callable[[float], float]) -> Impl:
    def impl(v: object) -> object:
        if type(v) is not float:
            return UNDEFINED
        try:
            return _num(fn(v))
        except (ValueError, OverflowError):
            return UNDEFINED

    return impl


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 or x != x else math.nan


def _round_fn(fn: Callable[[float], int]) -> Callable[[float], float]:
    def impl(x: float) -> float:
        return x if math.isinf(x) or x != x else float(fn(x))

    return impl


def _sign(x: float) -> float:
    return math.nan if x != x else float((x > 0) - (x < 0))


def _pow(x: float, y: float) -> float:
    """Math.Pow (IEEE pow): no exceptions."""
    try:
        return math.pow(x, y)
    except OverflowError:
        odd = y == math.floor(y) and math.fmod(y, 2) != 0
        return -math.inf if x < 0 and odd else math.inf
    except ValueError:
        if x == 0:
            odd = y == math.floor(y) and math.fmod(y, 2) != 0
            return math.copysign(math.inf, x) if odd else math.inf
        return math.nan


def _power(x: object, y: object) -> object:
    if type(x) is not float or type(y) is not float:
        return UNDEFINED
    return _num(_pow(x, y))


def _square(x: object) -> object:
    if type(x) is not float:
        return UNDEFINED
    return _num(_pow(x, 2.0))


# NumberStyles.Any with the invariant culture: white space, a leading or trailing sign or
# parentheses, thousands separators, a decimal point, an exponent, the currency sign.
_NUMBER = re.compile(
    r"[\t-\r ]*(?P<open>\()?[\t-\r ]*(?P<lead>[+-])?¤?[\t-\r ]*"
    r"(?P<int>[0-9][0-9,]*)?(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]+))?"
    r"[\t-\r ]*¤?(?P<trail>[+-])?[\t-\r ]*(?P<close>\))?[\t-\r ]*"
)
_SPECIAL = {"infinity": math.inf, "∞": math.inf, "-infinity": -math.inf, "-∞": -math.inf}


def parse_number(text: str) -> float | None:
    """C# ``double.TryParse(text, NumberStyles.Any, CultureInfo.InvariantCulture)``."""
    stripped = text.strip(" \t\n\v\f\r")
    special = _SPECIAL.get(stripped.lower())
    if special is not None:
        return special
    if stripped.lower() in ("nan", "-nan"):
        return None  # NaN: undefined either way
    m = _NUMBER.fullmatch(text)
    if m is None:
        return None
    digits, frac = m.group("int") or "", m.group("frac")
    if not digits and not frac:
        return None
    if bool(m.group("open")) != bool(m.group("close")):
        return None
    signs = [s for s in (m.group("lead"), m.group("trail")) if s]
    if len(signs) > 1 or (m.group("open") and signs):
        return None
    number = float(f"{digits.replace(',', '') or '0'}.{frac or '0'}e{m.group('exp') or '0'}")
    negative = (signs and signs[0] == "-") or m.group("open")
    return -number if negative else number


def _as_number(v: object) -> object:
    if type(v) is str:
        parsed = parse_number(v)
        return UNDEFINED if parsed is None else _num(parsed)
    if type(v) is float:
        return _num(v)
    return UNDEFINED


def _str(v: object) -> str | None:
    """A QueryValue that is a real string, else None."""
    return v if type(v) is str else None


def _length(v: object) -> object:
    s = _str(v)
    return UNDEFINED if s is None else float(utf16_len(s))


def _case(fn: Callable[[str], str]) -> Impl:
    def impl(v: object) -> object:
        s = _str(v)
        if s is None:
            return UNDEFINED
        # invariant simple case mapping: one character stays one character
        out = fn(s)
        if len(out) == len(s):
            return out
        return "".join(c2 if len(c2 := fn(c)) == 1 else c for c in s)

    return impl


def _units(s: str) -> list[int] | None:
    """UTF-16 code units of s when it has characters outside the BMP, else None."""
    if s.isascii() or all(ord(c) < 0x10000 for c in s):
        return None
    b = s.encode("utf-16-le")
    return [b[i] | (b[i + 1] << 8) for i in range(0, len(b), 2)]


def _from_units(units: list[int]) -> str:
    raw = b"".join(u.to_bytes(2, "little") for u in units)
    return raw.decode("utf-16-le", errors="surrogatepass")


def _substring(v: object, start: object, length: object = None) -> object:
    s = _str(v)
    if s is None or type(start) is not float:
        return UNDEFINED
    units = _units(s)
    n = len(units) if units is not None else len(s)
    if length is None:
        if not 0 <= start <= n:
            return UNDEFINED
        a, b = int(start), n
    else:
        if type(length) is not float:
            return UNDEFINED
        if not (0 <= start < n and 0 <= length <= n - start):
            return UNDEFINED
        a = int(start)
        b = a + int(length)
    return s[a:b] if units is None else _from_units(units[a:b])


def _two_strings(fn: Callable[[str, str], object]) -> Impl:
    def impl(a: object, b: object) -> object:
        sa, sb = _str(a), _str(b)
        if sa is None or sb is None:
            return UNDEFINED
        return fn(sa, sb)

    return impl


def _index_of(s: str, t: str) -> float:
    units = _units(s)
    if units is None and _units(t) is None:
        return float(s.find(t))
    su = s.encode("utf-16-le")
    tu = t.encode("utf-16-le")
    i = su.find(tu)
    while i != -1 and i % 2:
        i = su.find(tu, i + 1)
    return float(i // 2 if i != -1 else -1)


def _concat(*args: object) -> object:
    out = []
    for a in args:
        if type(a) is str:
            out.append(a)
        elif a is NULL_STRING:
            continue  # a null-valued property concatenates as ""
        else:
            return UNDEFINED
    return "".join(out)


def _is_bool(v: object) -> object:
    if v is UNDEFINED:
        return UNDEFINED
    return v is True or v is False


def _is_number(v: object) -> object:
    return type(v) is float and math.isfinite(v)


def _is_string(v: object) -> object:
    return type(v) is str


def _is_defined(v: object) -> object:
    return v is not UNDEFINED


def _is_null_string(v: object) -> object:
    return v is None  # a null-valued property (undefined is not null)


def _is_null_query(v: object) -> object:
    # IsNull.RuntimeQueryValue: `input != QueryValue.Null` compares references, so it is
    # true for any present value (JSON null or not) and false for a missing path.
    if v is UNDEFINED:
        return UNDEFINED
    return v is not MISSING


def _const(value: object) -> Impl:
    def impl(*_: object) -> object:
        return value

    return impl


def _identity(v: object) -> object:
    return v


def _one_number(fn: Callable[[float], float]) -> tuple[Executor, ...]:
    return (Executor((N,), N, _math(fn), query=True),)


def _b(name: str, usage: str, *executors: Executor) -> Builtin:
    return Builtin(name, tuple(executors), usage)


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        _b("abs", "abs(number)", *_one_number(math.fabs)),
        _b("exp", "exp(number)", *_one_number(_exp)),
        _b("power", "power(number, number)", Executor((N, N), N, _power, query=True)),
        _b("square", "square(number)", Executor((N,), N, _square, query=True)),
        _b("ceiling", "ceiling(number)", *_one_number(_round_fn(math.ceil))),
        _b("floor", "floor(number)", *_one_number(_round_fn(math.floor))),
        _b("sign", "sign(number)", *_one_number(_sign)),
        _b("sqrt", "sqrt(number)", *_one_number(_sqrt)),
        _b(
            "as_number",
            "as_number(string or number)",
            Executor((S,), N, _as_number, query=True),
            Executor((N,), N, _identity),
        ),
        _b(
            "is_bool",
            "is_bool(value)",
            Executor((B,), B, _is_bool, query=True),
            Executor((), B, _const(False), any_arity=1),
        ),
        _b(
            "is_defined",
            "is_defined(value)",
            Executor((S,), B, _is_defined),
            Executor((N,), B, _is_defined),
            Executor((B,), B, _is_defined),
            Executor((U,), B, _const(False)),
            Executor((NL,), B, _const(True)),
            Executor((Q,), B, _is_defined),
        ),
        _b(
            "is_null",
            "is_null(value)",
            Executor((S,), B, _is_null_string),
            Executor((Q,), B, _is_null_query),
            Executor((NL,), B, _const(True)),
            Executor((), B, _const(False), any_arity=1),
        ),
        _b(
            "is_number",
            "is_number(value)",
            Executor((N,), B, _is_number, query=True),
            Executor((), B, _const(False), any_arity=1),
        ),
        _b(
            "is_string",
            "is_string(value)",
            Executor((S,), B, _is_string, query=True),
            Executor((), B, _const(False), any_arity=1),
        ),
        _b(
            "concat",
            "concat(string, string, ...)",
            Executor((S, S, S), S, _concat, query=True, varargs=True),
        ),
        _b("length", "length(string)", Executor((S,), N, _length, query=True)),
        _b("lower", "lower(string)", Executor((S,), S, _case(str.lower), query=True)),
        _b("upper", "upper(string)", Executor((S,), S, _case(str.upper), query=True)),
        _b(
            "substring",
            "substring(string, number[, number])",
            Executor((S, N), S, _substring, query=True),
            Executor((S, N, N), S, _substring, query=True),
        ),
        _b(
            "index_of",
            "index_of(string, string)",
            Executor((S, S), N, _two_strings(_index_of), query=True),
        ),
        _b(
            "starts_with",
            "starts_with(string, string)",
            Executor((S, S), B, _two_strings(str.startswith), query=True),
        ),
        _b(
            "ends_with",
            "ends_with(string, string)",
            Executor((S, S), B, _two_strings(str.endswith), query=True),
        ),
        _b(
            "contains",
            "contains(string, string)",
            Executor((S, S), B, _two_strings(lambda s, t: t in s), query=True),
        ),
        _b("twin_change_includes", "twin_change_includes(properties.reported.<path>)"),
    )
}


def signature_text(name: str) -> str:
    return BUILTINS[name].usage
