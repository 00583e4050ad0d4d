"""Parse a route: ``[SELECT *] FROM <path> [WHERE <condition>] INTO <sink>`` (``Route.g4``).

The route level is a tiny recursive-descent parser over the shared token stream. The
condition is cut out verbatim, as edgeHub does (``RouteFactory``), and compiled with
:func:`iotedge_cli.routes.condition.compile_condition` (parse + type check, with the
route's source); its errors are re-raised with columns inside the route text.

Whatever edgeHub rejects while it reads the twin raises :class:`RouteSyntaxError`; sinks it
cannot build an endpoint for raise the subclass :class:`RouteSinkError`. Columns are 1-based.
"""

from __future__ import annotations

from functools import lru_cache

from iotedge_cli.routes.ast import (
    BrokeredEndpointSink,
    PlaceholderSink,
    Route,
    Sink,
    Source,
    SourceKind,
    UpstreamSink,
)
from iotedge_cli.routes.condition import (
    Condition,
    ConditionError,
    compile_condition,
    parse_condition,
)
from iotedge_cli.routes.lexer import RouteSinkError, RouteSyntaxError, Token, TokenType, tokenize

__all__ = ["normalise_source", "parse_route"]

_SINK_EXAMPLE = '$upstream or BrokeredEndpoint("/modules/<module>/inputs/<input>")'
_SOURCE_EXAMPLE = "FROM /messages/* or FROM /messages/modules/<module>/outputs/<output>"


def parse_route(text: str, *, template: bool = False) -> Route:
    """Parse one route string. ``template=True`` lets ``${NAME}`` stand in for a word.

    Raises :class:`RouteSyntaxError` (or :class:`RouteSinkError` for a bad sink).
    """
    result = _parse_cached(text, template)
    if isinstance(result, RouteSyntaxError):
        # A fresh exception each time: raising mutates __traceback__.
        raise _fresh(result)
    return result


def _fresh(exc: RouteSyntaxError) -> RouteSyntaxError:
    if isinstance(exc, ConditionError):
        return ConditionError(exc.reason, exc.start, exc.end, exc.text, exc.hint)
    return type(exc)(exc.reason, exc.column, exc.text)


@lru_cache(maxsize=4096)
def _parse_cached(text: str, template: bool) -> Route | RouteSyntaxError:
    try:
        return _Parser(text, template).route()
    except RouteSyntaxError as exc:
        return exc.with_traceback(None)


class _Parser:
    def __init__(self, text: str, template: bool) -> None:
        self.text = text
        self.template = template
        self.tokens = tokenize(text, template=template)
        self.i = 0

    # --- token stream -------------------------------------------------------------------

    def peek(self) -> Token:
        tok = self.tokens[self.i]
        if tok.type is TokenType.ERROR:
            raise RouteSyntaxError(tok.value, tok.column, self.text)
        return tok

    def advance(self) -> Token:
        tok = self.peek()
        if tok.type is not TokenType.EOF:
            self.i += 1
        return tok

    def error(
        self, reason: str, tok: Token, cls: type[RouteSyntaxError] = RouteSyntaxError
    ) -> RouteSyntaxError:
        return cls(reason, tok.column, self.text)

    # --- route ------------------------------------------------------------------------

    def route(self) -> Route:
        first = self.peek()
        if first.type is TokenType.EOF:
            raise RouteSyntaxError(
                "the route is empty; write FROM <source> INTO <sink>", 1, self.text
            )
        select_star = False
        if first.is_keyword("SELECT"):
            self.advance()
            star = self.peek()
            if not star.is_op("*"):
                raise self.error(
                    f"expected '*' after SELECT, found {star.describe()}: routes only "
                    "support SELECT * (or leave SELECT out)",
                    star,
                )
            self.advance()
            select_star = True
        head = self.peek()
        if not head.is_keyword("FROM"):
            if select_star or _looks_like(head, "FROM"):
                raise self.error(f"expected FROM, found {head.describe()}", head)
            raise self.error(
                f"a route starts with FROM (or SELECT * FROM), found {head.describe()}", head
            )
        self.advance()
        source = self.source()
        condition: str | None = None
        condition_offset: int | None = None
        condition_expr: Condition | None = None
        tok = self.peek()
        if tok.is_keyword("WHERE"):
            self.advance()
            condition, condition_offset = self.condition()
            tok = self.peek()
        if not tok.is_keyword("INTO"):
            if tok.type is TokenType.EOF:
                raise self.error(f"missing INTO <sink> at the end; e.g. INTO {_SINK_EXAMPLE}", tok)
            if _looks_like(tok, "INTO") or _looks_like(tok, "WHERE"):
                raise self.error(f"expected WHERE or INTO, found {tok.describe()}", tok)
            raise self.error(
                f"expected WHERE or INTO after the source, found {tok.describe()}", tok
            )
        self.advance()
        sink = self.sink()
        end = self.peek()
        if end.type is not TokenType.EOF:
            raise self.error(f"unexpected {end.describe()} after the sink; remove it", end)
        if condition is not None and condition_offset is not None:
            try:
                condition_expr = compile_condition(condition, source=source, template=self.template)
            except ConditionError as exc:
                raise exc.shifted(condition_offset, self.text) from None
        return Route(
            self.text, select_star, source, condition, condition_offset, sink, condition_expr
        )

    def source(self) -> Source:
        slash = self.peek()
        if not slash.is_op("/"):
            if slash.type is TokenType.EOF or slash.is_keyword("INTO") or slash.is_keyword("WHERE"):
                raise self.error(f"missing source after FROM; e.g. {_SOURCE_EXAMPLE}", slash)
            raise self.error(
                f"the source must be a path starting with '/', found {slash.describe()}; "
                f"e.g. {_SOURCE_EXAMPLE}",
                slash,
            )
        items: list[Token] = []
        while self.peek().is_op("/"):
            self.advance()
            item = self.peek()
            if not (item.type is TokenType.ID or item.is_op("*")):
                raise self.error(
                    f"expected a path segment or '*' after '/', found {item.describe()}", item
                )
            items.append(self.advance())
        path = "".join("/" + t.text for t in items)
        return normalise_source(path, slash.start, [t.text for t in items], self.template)

    def condition(self) -> tuple[str, int]:
        start = self.i
        while not (self.peek().is_keyword("INTO") or self.peek().type is TokenType.EOF):
            self.advance()
        tokens = self.tokens[start : self.i]
        stop = self.peek()
        if not tokens:
            raise self.error(
                "empty WHERE condition: write a condition after WHERE or remove WHERE", stop
            )
        if stop.type is TokenType.EOF:
            raise self.error(
                f"missing INTO <sink> after the WHERE condition; e.g. INTO {_SINK_EXAMPLE}", stop
            )
        begin, end = tokens[0].start, tokens[-1].end
        condition = self.text[begin:end]
        if not (self.template and "${" in condition):
            try:  # syntax errors come before sink errors, as in edgeHub's route grammar
                parse_condition(condition)
            except ConditionError as exc:
                raise exc.shifted(begin, self.text) from None
        return condition, begin

    def sink(self) -> Sink:
        tok = self.peek()
        if tok.type is TokenType.EOF:
            raise self.error(f"missing sink after INTO; write INTO {_SINK_EXAMPLE}", tok)
        if tok.type is TokenType.SYS_PROP:
            self.advance()
            if tok.text.lower() == "$upstream":
                return UpstreamSink(tok.text, tok.start)
            raise self.error(
                f'system endpoint {tok.text!r} is not supported (edgeHub: "System endpoint type '
                f'not supported"); the only system endpoint is $upstream',
                tok,
                RouteSinkError,
            )
        if tok.type is TokenType.STRING:
            raise self.error(
                f"a bare address is not a sink; write BrokeredEndpoint({tok.text})", tok
            )
        if tok.type is not TokenType.ID:
            raise self.error(
                f"expected a sink after INTO, found {tok.describe()}; write {_SINK_EXAMPLE}", tok
            )
        self.advance()
        if not self.peek().is_op("("):
            if tok.placeholder and self.template:
                return PlaceholderSink(tok.text, tok.start)
            if tok.text.lower() == "upstream":
                raise self.error(
                    f"the system endpoint must be written $upstream, found {tok.describe()}", tok
                )
            raise self.error(f"expected {_SINK_EXAMPLE} after INTO, found {tok.describe()}", tok)
        self.advance()
        arg = self.peek()
        if arg.type is not TokenType.STRING:
            raise self.error(
                f"the endpoint address must be a quoted string, found {arg.describe()}; "
                f'e.g. {tok.text}("/modules/<module>/inputs/<input>")',
                arg,
            )
        self.advance()
        close = self.peek()
        if not close.is_op(")"):
            raise self.error(
                f"expected ')' after the endpoint address, found {close.describe()}", close
            )
        self.advance()
        if tok.text.lower() != "brokeredendpoint":
            raise self.error(
                f"unknown endpoint function {tok.text!r}; the only one is "
                'BrokeredEndpoint("/modules/<module>/inputs/<input>")',
                tok,
                RouteSinkError,
            )
        return self.brokered(tok, arg)

    def brokered(self, func: Token, arg: Token) -> BrokeredEndpointSink:
        address = arg.value
        # edgeHub: trim, drop one leading and one trailing '/', split, exactly 4 segments,
        # [1] = module, [3] = input. It ignores [0] and [2]; we require the real words.
        trimmed = address.strip()
        if trimmed.startswith("/"):
            trimmed = trimmed[1:]
        if trimmed.endswith("/"):
            trimmed = trimmed[:-1]
        parts = trimmed.split("/")
        if (
            len(parts) != 4
            or parts[0] != "modules"
            or parts[2] != "inputs"
            or not parts[1].strip()
            or not parts[3].strip()
        ):
            raise self.error(
                f"BrokeredEndpoint address {address!r} must be exactly "
                '"/modules/<module>/inputs/<input>"',
                arg,
                RouteSinkError,
            )
        return BrokeredEndpointSink(parts[1], parts[3], address, func.start)


def _looks_like(tok: Token, keyword: str) -> bool:
    """A misspelt keyword: one letter changed, added, dropped, or two swapped (FORM, FRM)."""
    if tok.type is not TokenType.ID:
        return False
    word = tok.text.upper()
    if len(word) == len(keyword):
        diff = [i for i, (a, b) in enumerate(zip(word, keyword, strict=True)) if a != b]
        return len(diff) <= 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == keyword[diff[1]]
            and word[diff[1]] == keyword[diff[0]]
        )
    short, long_ = sorted((word, keyword), key=len)
    if len(long_) - len(short) != 1:
        return False
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def normalise_source(
    path: str, offset: int = 0, items: list[str] | None = None, template: bool = False
) -> Source:
    """Build a :class:`Source` from its path text, normalised as edgeHub does."""
    if items is None:
        items = path.split("/")[1:]
    prefix = path.strip().rstrip("*")
    if len(prefix) > 1:
        prefix = prefix.rstrip("/")
    if not prefix.endswith("/"):
        prefix += "/"
    # A '*' glued to a name, or anywhere but the last segment, is taken literally.
    last = len(items) - 1
    glob_item = next(
        (it for i, it in enumerate(items) if "*" in it and (i < last or it.rstrip("*"))),
        None,
    )
    segs = [s for s in prefix.split("/") if s]
    kind, module, output, reason = _classify(segs, template)
    if any("*" in s for s in segs):
        kind, reason = SourceKind.NEVER, "'*' is a wildcard only as the whole last segment"
    return Source(path, prefix, kind, module, output, offset, reason, glob_item)


def _classify(
    segs: list[str], template: bool
) -> tuple[SourceKind, str | None, str | None, str | None]:
    def word(i: int, expected: str) -> bool | None:
        s = segs[i]
        if template and "${" in s:
            return None  # unknown until the template is expanded
        return s.lower() == expected.lower()

    if not segs:
        return SourceKind.ALL, None, None, None
    root = word(0, "messages")
    if root is None:
        return SourceKind.TEMPLATE, None, None, None
    if not root:
        if word(0, "twinChangeNotifications"):
            if len(segs) == 1:
                return SourceKind.TWIN_CHANGES, None, None, None
            return SourceKind.NEVER, None, None, "nothing lies below /twinChangeNotifications"
        return (
            SourceKind.NEVER,
            None,
            None,
            "edgeHub only creates /messages/... and /twinChangeNotifications sources",
        )
    if len(segs) == 1:
        return SourceKind.TELEMETRY, None, None, None
    second = word(1, "modules")
    if second is None:
        return SourceKind.TEMPLATE, None, None, None
    if not second:
        return (
            SourceKind.NEVER,
            None,
            None,
            "below /messages only /messages/modules/<module>[/outputs/<output>] exists",
        )
    if len(segs) == 2:
        return SourceKind.MODULES, None, None, None
    module = segs[2]
    if len(segs) == 3:
        return SourceKind.MODULE, module, None, None
    fourth = word(3, "outputs")
    if fourth is None:
        return SourceKind.TEMPLATE, module, None, None
    if not fourth:
        return (
            SourceKind.NEVER,
            module,
            None,
            f"after the module name only /outputs/<output> can follow, not /{segs[3]}",
        )
    if len(segs) == 4:
        return SourceKind.OUTPUTS, module, None, None
    if len(segs) == 5:
        return SourceKind.OUTPUT, module, segs[4], None
    return SourceKind.NEVER, module, segs[4], "nothing lies below /outputs/<output>"
