"""The edgeHub route language: lexer, parser and AST (no CLI code, no printing).

``parse_route("FROM /messages/* INTO $upstream")`` returns a :class:`Route`; a route edgeHub
would reject raises :class:`RouteSyntaxError` (``.reason``, 1-based ``.column``, ``.caret()``),
or its subclass :class:`RouteSinkError` when only the sink is unusable.
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
from iotedge_cli.routes.lexer import RouteSinkError, RouteSyntaxError, Token, TokenType, tokenize
from iotedge_cli.routes.parser import normalise_source, parse_route

__all__ = [
    "BrokeredEndpointSink",
    "PlaceholderSink",
    "Route",
    "RouteSinkError",
    "RouteSyntaxError",
    "Sink",
    "Source",
    "SourceKind",
    "Token",
    "TokenType",
    "UpstreamSink",
    "normalise_source",
    "parse_route",
    "tokenize",
]
