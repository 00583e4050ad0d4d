"""The WHERE-condition language: parse, type-check, compile to closures, evaluate, explain.

``compile_condition("$body.t > 30 AND $connectionModuleId = 'sensor'")`` returns a
:class:`Condition`; ``condition.evaluate(message)`` returns a :class:`TriBool`. A condition
edgeHub would not compile raises :class:`ConditionError` (a :class:`RouteSyntaxError`);
things edgeHub accepts but that are almost certainly mistakes are ``condition.warnings``.
"""

from __future__ import annotations

from iotedge_cli.routes.condition.ast import Expr, QType
from iotedge_cli.routes.condition.compiler import (
    Condition,
    ConditionWarning,
    Step,
    compile_condition,
)
from iotedge_cli.routes.condition.errors import ConditionError
from iotedge_cli.routes.condition.parser import parse_condition
from iotedge_cli.routes.condition.printer import format_expr

__all__ = [
    "Condition",
    "ConditionError",
    "ConditionWarning",
    "Expr",
    "QType",
    "Step",
    "compile_condition",
    "format_expr",
    "parse_condition",
]
