"""Runtime values of the condition language and its three-valued boolean.

At run time a condition value is one of: ``float`` (number; NaN never escapes, it becomes
undefined), ``str``, ``bool``, ``None`` (null) or :data:`UNDEFINED`. A bool-typed expression
whose value is undefined is :data:`UNDEFINED` too. :class:`TriBool` is the verdict of a whole
condition: a route fires only on :attr:`TriBool.TRUE`.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

__all__ = ["UNDEFINED", "TriBool", "Undefined", "Value", "render_value"]


class TriBool(str, Enum):
    TRUE = "true"
    FALSE = "false"
    UNDEFINED = "undefined"


class Undefined:
    """The single undefined value (missing property, failed query, NaN, ...)."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = Undefined()

Value = float | str | bool | None | Undefined


def render_value(value: object) -> str:
    """A runtime value as edgeHub would print it: ``undefined``, ``null``, ``3``, ``'x'``, ``true``."""
    from iotedge_cli.routes.condition.printer import render_value as _render

    return _render(value)
