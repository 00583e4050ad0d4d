"""The edgeHub route language: lexer, parser and AST (no CLI code, no printing).

``parse_route("FROM /messages/* INTO $upstream")`` returns a :class:`Route`; a route edgeHub
would reject raises :class:`RouteSyntaxError` (``.reason``, 1-based ``.column``, ``.caret()``),
or its subclass :class:`RouteSinkError` when only the sink is unusable, or
:class:`ConditionError` when the WHERE condition does not compile. ``route.evaluate(message)``
gives the condition's three-valued verdict (:class:`TriBool`).
"""

from __future__ import annotations

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
    ConditionWarning,
    Step,
    compile_condition,
)
from iotedge_cli.routes.lexer import RouteSinkError, RouteSyntaxError, Token, TokenType, tokenize
from iotedge_cli.routes.message import Message
from iotedge_cli.routes.parser import normalise_source, parse_route
from iotedge_cli.routes.values import TriBool

__all__ = [
    "BrokeredEndpointSink",
    "Condition",
    "ConditionError",
    "ConditionWarning",
    "Message",
    "PlaceholderSink",
    "Route",
    "RouteSinkError",
    "RouteSyntaxError",
    "Sink",
    "Source",
    "SourceKind",
    "Step",
    "Token",
    "TokenType",
    "TriBool",
    "UpstreamSink",
    "compile_condition",
    "normalise_source",
    "parse_route",
    "tokenize",
]
