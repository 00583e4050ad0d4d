"""The error of the condition language."""

from __future__ import annotations

from iotedge_cli.routes.lexer import RouteSyntaxError

__all__ = ["ConditionError"]


class ConditionError(RouteSyntaxError):
    """A condition edgeHub would not compile.

    ``reason``; ``column`` (1-based) and ``start``/``end`` (0-based span) in ``text``;
    ``hint`` (or None). :meth:`caret` underlines the span.
    """

    def __init__(
        self,
        reason: str,
        start: int,
        end: int,
        text: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(reason, start + 1, text)
        self.start = start
        self.end = max(end, start + 1)
        self.hint = hint

    def shifted(self, offset: int, text: str) -> ConditionError:
        """The same error with its span moved by ``offset`` into the enclosing ``text``."""
        return ConditionError(self.reason, self.start + offset, self.end + offset, text, self.hint)

    def caret(self) -> str:
        line = self.text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
        width = max(1, min(self.end, len(line)) - self.start) if self.start < len(line) else 1
        return f"{line}\n{' ' * self.start}{'^' * width}"
