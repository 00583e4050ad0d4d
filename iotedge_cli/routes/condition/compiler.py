"""compile_condition: parse, type-check and compile a condition into closures.

Theory of operation. One walk over the parsed tree does what edgeHub's
``ConditionVisitor`` does: it gives every node its static type, rejects what the visitor
(or the .NET expression-tree builder behind it) rejects, and builds for each node a
closure ``message -> value``. The closures are composed once; evaluating a message runs
them without looking at the text again. Every node's closure is kept so ``explain`` can
show each sub-expression's value (edgeHub evaluates both sides of AND/OR too; only the
fast path short-circuits where the three-valued result cannot change).

Type rules (``CheckOperands``): arithmetic needs numbers (a ``$body`` value may stand in;
``%`` and unary ``-`` have no ``$body`` form), ``||`` strings, comparisons and ``??`` the
left operand's type on both sides (or a ``$body`` value against bool/number/string/null),
NOT a bool, null or ``$body`` value, AND/OR bool/null/undefined/``$body`` — with
edgeHub's typo: a ``$body`` value on the right is accepted only when the left is one too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from iotedge_cli.routes.condition import bodyquery
from iotedge_cli.routes.condition.ast import (
    AppProp,
    Binary,
    Call,
    Empty,
    Expr,
    Literal,
    LitKind,
    QType,
    SysProp,
    Unary,
)
from iotedge_cli.routes.condition.builtins import BUILTINS, Executor
from iotedge_cli.routes.condition.errors import ConditionError
from iotedge_cli.routes.condition.evaluate import (
    arith,
    compare_bool,
    compare_number,
    compare_query,
    compare_string,
    kleene_and,
    kleene_not,
    kleene_or,
    to_query,
)
from iotedge_cli.routes.condition.parser import has_operator_chars, parse_condition, spaced
from iotedge_cli.routes.condition.printer import render_value
from iotedge_cli.routes.message import MISSING_KEY, NO_BODY, lookup
from iotedge_cli.routes.values import UNDEFINED, TriBool

if TYPE_CHECKING:
    from iotedge_cli.routes.ast import Source
    from iotedge_cli.routes.message import Message

__all__ = ["Condition", "ConditionWarning", "Step", "compile_condition"]

Fn = Callable[["Message"], object]
N, S, B, NL, U, Q = (
    QType.NUMBER,
    QType.STRING,
    QType.BOOL,
    QType.NULL,
    QType.UNDEFINED,
    QType.QUERY,
)
_SUPPORTED = frozenset({NL, N, S, B})
_COMPARISONS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})
_UPPER_LITERALS = {"TRUE", "FALSE", "NULL", "UNDEFINED"}
_TWIN_PREFIXES = ("properties.reported.", "properties.desired.", "tags.")

# edgeHub builds every route source from the route text (CustomMessageSource), never the
# TwinChangeEventMessageSource that TwinChangeIncludes.IsValidMessageSource asks for, so
# twin_change_includes fails to compile in every deployed route. Flip to follow the
# research notes instead (valid on /twinChangeNotifications routes).
TWIN_CHANGE_INCLUDES_IN_ROUTES = False


@dataclass(frozen=True)
class Step:
    start: int
    end: int
    text: str
    value: str  # rendered as edgeHub would: undefined, null, 3, 'x', true


@dataclass(frozen=True)
class ConditionWarning:
    """Something edgeHub accepts but that is almost certainly a mistake."""

    reason: str
    start: int
    end: int
    hint: str | None = None


def _never(_: Message) -> TriBool:
    return TriBool.UNDEFINED


@dataclass(frozen=True)
class Condition:
    text: str
    expr: Expr
    warnings: tuple[ConditionWarning, ...] = field(default=(), compare=False)
    checked: bool = field(default=True, compare=False)  # False: template, not type-checked
    _fn: Callable[[Message], TriBool] = field(default=_never, compare=False, repr=False)
    _steps: tuple[tuple[Expr, Fn], ...] = field(default=(), compare=False, repr=False)

    def evaluate(self, message: Message) -> TriBool:
        """The verdict for ``message``; a route fires only on ``TriBool.TRUE``."""
        return self._fn(message)

    def explain(self, message: Message) -> list[Step]:
        """Every sub-expression and its value, innermost first, the whole condition last."""
        steps = [
            Step(node.start, node.end, self.text[node.start : node.end], render_value(fn(message)))
            for node, fn in self._steps
        ]
        if steps:
            last = self._steps[-1][0]
            verdict = self.evaluate(message).value
            if steps[-1].value != verdict or last.start != 0 or last.end != len(self.text):
                steps.append(Step(0, len(self.text), self.text, verdict))
        return steps


def compile_condition(
    text: str, *, source: Source | None = None, template: bool = False
) -> Condition:
    """Parse and type-check ``text`` and compile it. Raises :class:`ConditionError`.

    ``source`` is the route's source (``twin_change_includes`` depends on it; None: a
    condition on its own, where the function is allowed). With ``template=True`` a
    condition containing ``${...}`` placeholders is parsed but not type-checked, and
    evaluates as undefined.
    """
    if template and "${" in text:
        try:
            expr = parse_condition(text, template=True)
        except ConditionError:
            _tolerant_check(text)
            expr = Empty(0, len(text))
        return Condition(text, expr, checked=False)
    expr = parse_condition(text)
    compiler = _Compiler(text, source)
    typed, fn = compiler.visit(expr)
    final = _verdict(typed.type, fn)
    return Condition(text, typed, tuple(compiler.warnings), True, final, tuple(compiler.steps))


def _verdict(qtype: QType, fn: Fn) -> Callable[[Message], TriBool]:
    t, f, u = TriBool.TRUE, TriBool.FALSE, TriBool.UNDEFINED
    if qtype in (B, Q):

        def verdict(m: Message) -> TriBool:
            r = fn(m)
            return t if r is True else f if r is False else u

        return verdict
    if qtype is NL:
        return lambda m: f  # Convert(Null -> Bool) is False
    return lambda m: u  # a number, string or undefined is never True


def _tolerant_check(text: str) -> None:
    """Template conditions the parser cannot read: keep the old checks (==, parentheses)."""
    depth = 0
    opens: list[int] = []
    in_str: str | None = None
    for i, ch in enumerate(text):
        if in_str:
            if ch == in_str:
                in_str = None
            continue
        if ch in "'\"":
            in_str = ch
        elif ch == "=" and text.startswith("==", i):
            raise ConditionError(
                "'==' is not an operator; use = for equality", i, i + 2, text, "use = for equality"
            )
        elif ch == "(":
            depth += 1
            opens.append(i)
        elif ch == ")":
            if depth == 0:
                raise ConditionError(
                    "unbalanced ')' in the WHERE condition; remove it or add '('", i, i + 1, text
                )
            depth -= 1
            opens.pop()
    if opens:
        raise ConditionError(
            "unclosed '(' in the WHERE condition; add ')'", opens[-1], opens[-1] + 1, text
        )


def _const(value: object) -> Fn:
    return lambda m: value


class _Compiler:
    def __init__(self, text: str, source: Source | None) -> None:
        self.text = text
        self.source = source
        self.warnings: list[ConditionWarning] = []
        self.steps: list[tuple[Expr, Fn]] = []

    def src(self, e: Expr) -> str:
        return self.text[e.start : e.end]

    def error(self, reason: str, start: int, end: int, hint: str | None = None) -> ConditionError:
        if hint:
            reason = f"{reason}; {hint}"
        return ConditionError(reason, start, end, self.text, hint)

    def warn(self, reason: str, e: Expr, hint: str | None = None) -> None:
        if hint:
            reason = f"{reason}; {hint}"
        self.warnings.append(ConditionWarning(reason, e.start, e.end, hint))

    def visit(self, e: Expr) -> tuple[Expr, Fn]:
        typed, fn = self._visit(e)
        self.steps.append((typed, fn))
        return typed, fn

    def _visit(self, e: Expr) -> tuple[Expr, Fn]:
        if isinstance(e, Literal):
            return self.literal(e)
        if isinstance(e, AppProp):
            return self.app_prop(e)
        if isinstance(e, SysProp):
            return self.sys_prop(e)
        if isinstance(e, Call):
            return self.call(e)
        if isinstance(e, Unary):
            return self.unary(e)
        if isinstance(e, Binary):
            return self.binary(e)
        return e, _const(UNDEFINED)

    # --- leaves ----------------------------------------------------------------------

    def literal(self, e: Literal) -> tuple[Expr, Fn]:
        if e.kind is LitKind.NUMBER:
            if e.value is None:  # hex beyond a long: edgeHub yields undefined
                return replace(e, type=U), _const(UNDEFINED)
            return replace(e, type=N), _const(e.value)
        qtype = {LitKind.BOOL: B, LitKind.STRING: S, LitKind.NULL: NL, LitKind.UNDEFINED: U}[e.kind]
        value = UNDEFINED if e.kind is LitKind.UNDEFINED else e.value
        return replace(e, type=qtype), _const(value)

    def app_prop(self, e: AppProp) -> tuple[Expr, Fn]:
        name = e.name
        if name.upper() in _UPPER_LITERALS:
            self.warn(
                f"{name!r} is an application property, not a literal",
                e,
                f"literals are lower-case: write {name.lower()}",
            )
        elif has_operator_chars(name[1:]) or name[0] in "+*%!|&":
            if name.endswith("!"):
                hint = f"for 'not equal' write {name[:-1]} != ... with spaces"
            else:
                hint = f"operators need spaces around them: write {spaced(name)!r}"
            self.warn(f"{name!r} is read as one property name", e, hint)

        def fn(m: Message) -> object:
            v = lookup(m.properties, name)
            return UNDEFINED if v is MISSING_KEY else v

        return replace(e, type=S), fn

    def body_query(self, e: SysProp, query: str) -> Fn:
        if not query:
            raise self.error(
                "$body query cannot be empty", e.start, e.end, "write $body.<property>"
            )
        problem = bodyquery.validate_path(query)
        if problem:
            raise self.error(
                f"invalid $body path {query!r}: {problem}",
                e.start,
                e.end,
                "a path is name[.name...] where a name may end in [<index>]",
            )
        path = bodyquery.compile_path(query)
        lookup_path = bodyquery.lookup_path

        def fn(m: Message) -> object:
            data = m.json_body()
            if data is NO_BODY:
                return UNDEFINED
            return lookup_path(data, path)

        return fn

    def sys_prop(self, e: SysProp) -> tuple[Expr, Fn]:
        name = e.name
        query = e.body_query
        bracket = "[" in name or "]" in name
        if query is not None:
            body = self.body_query(e, query)
            if e.braced or bracket:
                return replace(e, type=Q), body

            def app_or_body(m: Message) -> object:
                props = m.properties
                if props:
                    v = lookup(props, name)
                    if v is not MISSING_KEY:
                        return to_query(v)
                return body(m)

            return replace(e, type=Q), app_or_body
        if bracket:
            return replace(e, type=U), _const(UNDEFINED)
        sys_name = name[1:]
        if e.braced:

            def sys_only(m: Message) -> object:
                v = lookup(m.system_properties, sys_name)
                return UNDEFINED if v is MISSING_KEY else v

            return replace(e, type=S), sys_only

        def app_or_sys(m: Message) -> object:
            props = m.properties
            if props:
                v = lookup(props, name)
                if v is not MISSING_KEY:
                    return v
            v = lookup(m.system_properties, sys_name)
            return UNDEFINED if v is MISSING_KEY else v

        return replace(e, type=S), app_or_sys

    # --- calls -----------------------------------------------------------------------

    def call(self, e: Call) -> tuple[Expr, Fn]:
        key = e.name.lower()
        builtin = BUILTINS.get(key)
        if builtin is None:
            import difflib

            close = difflib.get_close_matches(key, BUILTINS, n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]}()?"
                if close
                else "built-ins are " + ", ".join(sorted(BUILTINS))
            )
            raise self.error(f"Invalid built-in function {e.name!r}", e.start, e.name_end, hint)
        if key == "twin_change_includes":
            return self.twin_change_includes(e)
        visited = [self.visit(a) for a in e.args]
        args = tuple(t for t, _ in visited)
        fns = [f for _, f in visited]
        given = tuple(a.type for a in args)
        executor = next((x for x in builtin.executors if x.matches(given)), None)
        if executor is None:
            raise self.call_error(e, args, builtin.usage)
        fn = self.call_fn(executor, given, fns)
        return replace(e, args=args, type=executor.result), fn

    def call_error(self, e: Call, args: tuple[Expr, ...], usage: str) -> ConditionError:
        given = ", ".join(a.type.value for a in args)
        reason = f"Invalid arguments to built-in function {e.name!r}: {e.name}({given})"
        hint = f"use {usage}"
        bad = next((a for a in args if a.type in (U, NL)), None)
        if bad is not None and isinstance(bad, Literal):
            hint += f"; a literal {bad.raw} cannot be an argument"
        elif (
            any(isinstance(a, AppProp) for a in args)
            and "number" in usage
            and "string" not in usage
        ):
            hint += "; application properties are strings: convert with as_number(...)"
        target = bad if bad is not None else e
        end = target.end if target is not e else e.name_end
        return self.error(reason, target.start, end, hint)

    @staticmethod
    def call_fn(executor: Executor, given: tuple[QType, ...], fns: list[Fn]) -> Fn:
        impl = executor.impl
        if executor.query:
            fns = [
                (lambda m, f=f: to_query(f(m))) if t is S else f  # type: ignore[misc]
                for f, t in zip(fns, given, strict=True)
            ]
        normalise = executor.result is N
        if len(fns) == 1:
            (f0,) = fns
            if normalise:
                return lambda m: _num(impl(f0(m)))
            return lambda m: impl(f0(m))
        if len(fns) == 2:
            f0, f1 = fns
            if normalise:
                return lambda m: _num(impl(f0(m), f1(m)))
            return lambda m: impl(f0(m), f1(m))
        if normalise:
            return lambda m: _num(impl(*[f(m) for f in fns]))
        return lambda m: impl(*[f(m) for f in fns])

    def twin_change_includes(self, e: Call) -> tuple[Expr, Fn]:
        src = self.source
        if src is not None:
            from iotedge_cli.routes.ast import SourceKind

            is_twin = src.kind is SourceKind.TWIN_CHANGES
            if not is_twin:
                raise self.error(
                    f"Invalid built-in function {e.name!r}: it only exists for routes FROM "
                    "/twinChangeNotifications",
                    e.start,
                    e.name_end,
                    "remove it (and edgeHub rejects it even on /twinChangeNotifications routes)"
                    if not TWIN_CHANGE_INCLUDES_IN_ROUTES
                    else "route FROM /twinChangeNotifications",
                )
            if not TWIN_CHANGE_INCLUDES_IN_ROUTES:
                raise self.error(
                    f"Invalid built-in function {e.name!r}: edgeHub compiles every route "
                    "with a plain path source, so twin_change_includes is rejected even "
                    "FROM /twinChangeNotifications",
                    e.start,
                    e.name_end,
                    "remove it; the route then forwards every twin change notification",
                )
        path = e.raw_args
        if not path:
            raise self.error(
                "twin_change_includes argument cannot be empty",
                e.start,
                e.end,
                "write twin_change_includes(properties.reported.<name>)",
            )
        problem = bodyquery.validate_path(path)
        if problem is None and not path.lower().startswith(_TWIN_PREFIXES):
            problem = "supported prefixes are " + ", ".join(repr(p) for p in _TWIN_PREFIXES)
        if problem:
            raise self.error(
                f"{path!r} is not supported by twin_change_includes: {problem}",
                e.args[0].start if e.args else e.start,
                e.args[-1].end if e.args else e.end,
                "write twin_change_includes(properties.reported.<name>)",
            )
        compiled = bodyquery.compile_path(path)
        exists = bodyquery.exists

        def fn(m: Message) -> object:
            data = m.json_body()
            if data is NO_BODY:
                return UNDEFINED
            return exists(data, compiled)

        return replace(e, type=B), fn

    # --- operators -------------------------------------------------------------------

    def unary(self, e: Unary) -> tuple[Expr, Fn]:
        operand, f = self.visit(e.operand)
        t = operand.type
        if e.op == "-":
            if t is N:

                def neg(m: Message) -> object:
                    v = f(m)
                    return UNDEFINED if v is UNDEFINED else -v  # type: ignore[operator]

                return replace(e, operand=operand, type=N), neg
            if t is Q:
                raise self.error(
                    "unary '-' cannot be applied to a $body value (edgeHub fails to compile it)",
                    e.start,
                    e.start + 1,
                    f"write 0 - {self.src(operand)}",
                )
            raise self.error(
                f"Invalid operands to unary operator '-': have '{t.value}', expected 'number'",
                e.start,
                e.start + 1,
                self.number_hint(operand),
            )
        # NOT
        if t is NL:
            return replace(e, operand=operand, type=B), _const(True)
        if t is B:
            return replace(e, operand=operand, type=B), lambda m: kleene_not(f(m))
        if t is Q:

            def not_query(m: Message) -> object:
                v = f(m)
                return (not v) if (v is True or v is False) else UNDEFINED

            return replace(e, operand=operand, type=B), not_query
        raise self.error(
            f"Invalid operands to unary operator 'NOT': have '{t.value}', expected 'bool'",
            e.start,
            e.start + len(e.op_text or "NOT"),
            self.bool_hint(operand),
        )

    def binary(self, e: Binary) -> tuple[Expr, Fn]:
        op = e.op
        try:
            left, lf = self.visit(e.left)
        except ConditionError as exc:
            if op in _COMPARISONS and isinstance(e.left, Unary) and e.left.op == "NOT":
                inner = self.src(e.left.operand)
                hint = f"NOT binds tighter than {op}: write NOT ({inner} {op} {self.src(e.right)})"
                raise self.error(exc.reason.split("; ")[0], exc.start, exc.end, hint) from None
            raise
        right, rf = self.visit(e.right)
        lt, rt = left.type, right.type
        node = replace(e, left=left, right=right)
        op_end = e.op_start + len(e.op_text or op)
        if (
            op in _COMPARISONS
            and isinstance(e.left, Unary)
            and e.left.op == "NOT"
            and not self.text[e.left.end : e.right.start].lstrip().startswith(")")
        ):
            self.warn(
                f"NOT applies to {self.src(e.left.operand)!r} only: this reads "
                f"(NOT {self.src(e.left.operand)}) {op} {self.src(e.right)}",
                e,
                f"write NOT ({self.src(e.left.operand)} {op} {self.src(e.right)})",
            )
        if op in ("*", "/", "%", "+", "-"):
            return self.arithmetic(node, lf, rf, op_end)
        if op == "||":
            if lt not in (S, Q) or rt not in (S, Q):
                hint = (
                    "|| joins strings; use OR for 'or'"
                    if B in (lt, rt)
                    else ("convert numbers with concat() of strings; || joins strings only")
                )
                raise self.operand_error(node, "string", op_end, hint)
            lq = (lambda m: to_query(lf(m))) if lt is S else lf
            rq = (lambda m: to_query(rf(m))) if rt is S else rf
            from iotedge_cli.routes.condition.builtins import BUILTINS as _B

            concat = _B["concat"].executors[0].impl
            return replace(node, type=S), lambda m: concat(lq(m), rq(m))
        if op in _COMPARISONS:
            return self.comparison(node, lf, rf, op_end)
        if op in ("AND", "OR"):
            return self.logical(node, lf, rf, op_end)
        return self.coalesce(node, lf, rf, op_end)

    def operand_error(
        self, e: Binary, expected: str, op_end: int, hint: str | None, at: Expr | None = None
    ) -> ConditionError:
        lt, rt = e.left.type.value, e.right.type.value
        reason = (
            f"Invalid operands to binary operator '{e.op_text or e.op}': have '{lt}' and "
            f"'{rt}', expected '{expected}' and '{expected}'"
        )
        if at is not None:
            return self.error(reason, at.start, at.end, hint)
        return self.error(reason, e.op_start, op_end, hint)

    def number_hint(self, e: Expr) -> str | None:
        if e.type is S:
            return f"convert the string with as_number({self.src(e)})"
        return None

    def bool_hint(self, e: Expr) -> str | None:
        if isinstance(e, AppProp) and e.name.upper() in _UPPER_LITERALS:
            return f"literals are lower-case: write {e.name.lower()}"
        if e.type is S:
            return f"a property is a string: compare it, e.g. {self.src(e)} = 'true'"
        return None

    def arithmetic(self, e: Binary, lf: Fn, rf: Fn, op_end: int) -> tuple[Expr, Fn]:
        op = e.op
        lt, rt = e.left.type, e.right.type
        if lt not in (N, Q) or rt not in (N, Q):
            bad = e.left if lt not in (N, Q) else e.right
            hint = self.number_hint(bad)
            if op == "+" and lt is S and rt is S:
                hint = "join strings with || or concat()"
            raise self.operand_error(e, "number", op_end, hint, at=bad if bad.type is S else None)
        if lt is N and rt is N:

            def num(m: Message) -> object:
                a = lf(m)
                b = rf(m)
                if a is UNDEFINED or b is UNDEFINED:
                    return UNDEFINED
                r = arith(op, a, b)  # type: ignore[arg-type]
                return UNDEFINED if r != r else r

            return replace(e, type=N), num
        if op == "%":
            raise self.error(
                "'%' cannot be applied to a $body value (edgeHub fails to compile it)",
                e.op_start,
                op_end,
                "convert it first: as_number(" + self.src(e.left if lt is Q else e.right) + ")",
            )

        def query(m: Message) -> object:
            a = lf(m)
            b = rf(m)
            if type(a) is float and type(b) is float:
                return arith(op, a, b)
            return UNDEFINED

        return replace(e, type=Q), query

    def comparison(self, e: Binary, lf: Fn, rf: Fn, op_end: int) -> tuple[Expr, Fn]:
        op = e.op
        lt, rt = e.left.type, e.right.type
        if not (lt is rt or (rt is Q and lt in _SUPPORTED) or (lt is Q and rt in _SUPPORTED)):
            raise self.comparison_error(e, op_end)
        if Q in (lt, rt):
            lq = (lambda m: to_query(lf(m))) if lt is S else lf
            rq = (lambda m: to_query(rf(m))) if rt is S else rf
            if isinstance(e.right, Literal) and rt is not Q:
                const = rf(None)  # type: ignore[arg-type]
                return replace(e, type=B), lambda m: compare_query(op, lq(m), const)
            return replace(e, type=B), lambda m: compare_query(op, lq(m), rq(m))
        if lt is N:
            cmp = compare_number
        elif lt is S:
            cmp = compare_string
        elif lt is B:
            cmp = compare_bool
        elif lt is NL:
            value = op in ("=", "<=", ">=")
            return replace(e, type=B), _const(value)
        else:
            return replace(e, type=B), _const(UNDEFINED)
        return replace(e, type=B), lambda m: cmp(op, lf(m), rf(m))

    def comparison_error(self, e: Binary, op_end: int) -> ConditionError:
        lt, rt = e.left.type, e.right.type
        left, right = self.src(e.left), self.src(e.right)
        hint: str | None = None
        at: Expr | None = None
        swallowed = next(
            (x for x in (e.left, e.right) if isinstance(x, AppProp) and has_operator_chars(x.name)),
            None,
        )
        if swallowed is not None and {lt, rt} == {S, N}:
            assert isinstance(swallowed, AppProp)
            hint = (
                f"{swallowed.name!r} is one property name because operators need spaces "
                f"around them: write {spaced(swallowed.name)!r} (and as_number() for a property)"
            )
            at = swallowed
        elif lt is S and rt is N:
            hint, at = f"compare numbers: as_number({left}) {e.op_text} {right}", e.left
        elif lt is N and rt is S:
            hint, at = f"compare numbers: {left} {e.op_text} as_number({right})", e.right
        elif {lt, rt} == {S, B}:
            prop = e.left if lt is S else e.right
            if isinstance(prop, AppProp) and prop.name.upper() in _UPPER_LITERALS:
                hint, at = f"literals are lower-case: write {prop.name.lower()}", prop
            else:
                lit = e.right if rt is B else e.left
                hint = f"properties are strings: compare with '{self.src(lit)}'"
                at = prop
        elif U in (lt, rt):
            other = e.left if rt is U else e.right
            hint = (
                f"anything compared with undefined is undefined; test is_defined({self.src(other)})"
            )
        elif NL in (lt, rt):
            other = e.left if rt is NL else e.right
            hint = (
                f"an absent property is undefined, not null; test NOT is_defined({self.src(other)})"
            )
        expected = lt.value
        lt_, rt_ = lt.value, rt.value
        reason = (
            f"Invalid operands to binary operator '{e.op_text or e.op}': have '{lt_}' and "
            f"'{rt_}', expected '{expected}' and '{expected}'"
        )
        if at is not None:
            return self.error(reason, at.start, at.end, hint)
        return self.error(reason, e.op_start, op_end, hint)

    def logical(self, e: Binary, lf: Fn, rf: Fn, op_end: int) -> tuple[Expr, Fn]:
        op = e.op
        lt, rt = e.left.type, e.right.type
        ok = (NL, B, U)
        left_valid = lt in ok or lt is Q
        right_valid = rt in ok or lt is Q  # edgeHub's CheckBooleanOperands typo
        if not (left_valid and right_valid):
            bad = e.left if not left_valid else e.right
            for side in (e.left, e.right):
                if isinstance(side, AppProp) and side.name.upper() in _UPPER_LITERALS:
                    bad = side
            if rt is Q and not right_valid:
                hint = (
                    f"edgeHub rejects a bare $body value on the right of {op} unless the left is "
                    f"one too: write {self.src(e.right)} = true"
                )
            else:
                hint = (
                    self.bool_hint(bad)
                    or f"{op} combines conditions: compare {self.src(bad)} with something"
                )
            reason = (
                f"Invalid operands to binary operator '{e.op_text or op}': have "
                f"'{lt.value}' and '{rt.value}', expected 'bool' and 'bool'"
            )
            raise self.error(reason, bad.start, bad.end, hint)
        null_result = (NL in (lt, rt)) if op == "AND" else (lt is NL and rt is NL)
        if Q in (lt, rt):
            if null_result:
                raise self.error(
                    f"{op} of a $body value and null cannot be compiled by edgeHub",
                    e.op_start,
                    op_end,
                    "remove the null",
                )
            both_bool = _qv_and if op == "AND" else _qv_or
            return replace(e, type=B), lambda m: both_bool(lf(m), rf(m))
        if (lt is NL and rt is U) or (lt is U and rt is NL):
            raise self.error(
                f"{op} of null and undefined cannot be compiled by edgeHub",
                e.op_start,
                op_end,
                "remove the literal",
            )
        if op == "AND":
            if null_result:
                return replace(e, type=NL), _const(None)

            def and_(m: Message) -> object:
                a = lf(m)
                if a is False:
                    return False
                return kleene_and(a, rf(m))

            return replace(e, type=B), and_
        if lt is NL and rt is NL:
            return replace(e, type=NL), _const(None)
        if lt is NL:
            return replace(e, type=B), rf
        if rt is NL:
            return replace(e, type=B), lf

        def or_(m: Message) -> object:
            a = lf(m)
            if a is True:
                return True
            return kleene_or(a, rf(m))

        return replace(e, type=B), or_

    def coalesce(self, e: Binary, lf: Fn, rf: Fn, op_end: int) -> tuple[Expr, Fn]:
        lt, rt = e.left.type, e.right.type
        if not (lt is rt or (rt is Q and lt in _SUPPORTED) or (lt is Q and rt in _SUPPORTED)):
            hint = "both sides of ?? must have the same type"
            if lt is S and rt is N:
                hint = f"write as_number({self.src(e.left)}) ?? {self.src(e.right)}"
            elif isinstance(e.right, Binary) and e.right.op in _COMPARISONS:
                hint = "?? binds loosest: parenthesise it, e.g. (a ?? 'x') = 'y'"
            raise self.error(
                f"Invalid operands to binary operator '??': have '{lt.value}' and "
                f"'{rt.value}', expected '{lt.value}' and '{lt.value}'",
                e.op_start,
                op_end,
                hint,
            )
        if lt is U:
            return replace(e, type=U), rf
        result = Q if Q in (lt, rt) else lt
        lq = (lambda m: to_query(lf(m))) if (result is Q and lt is S) else lf
        rq = (lambda m: to_query(rf(m))) if (result is Q and rt is S) else rf

        def coalesce(m: Message) -> object:
            v = lq(m)
            return v if v is not UNDEFINED else rq(m)

        return replace(e, type=result), coalesce


def _num(v: object) -> object:
    return UNDEFINED if v != v else v


def _qv_and(a: object, b: object) -> object:
    if (a is True or a is False) and (b is True or b is False):
        return a and b
    return UNDEFINED


def _qv_or(a: object, b: object) -> object:
    if (a is True or a is False) and (b is True or b is False):
        return a or b
    return UNDEFINED
