"""Diagnostics: the findings that linters (manifests, routes, certificates) return.

A :class:`Diagnostic` carries a stable code (``E101``), a severity, a message that says how
to fix the problem, and a :class:`Location` (file, 1-based line and column, and the JSON path
of the node). A :class:`Report` collects them per run; reporters in ``cli/render`` turn a
report into human text, JSON, GitHub annotations or SARIF.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

JsonPath = tuple[str | int, ...]


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


def json_pointer(path: JsonPath) -> str:
    """RFC 6901 pointer for ``path`` (``""`` is the document root)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


@dataclass(frozen=True)
class Location:
    file: str
    line: int = 0  # 1-based; 0 when unknown
    col: int = 0  # 1-based, counted in characters (a tab is one column)
    path: JsonPath = ()

    @property
    def pointer(self) -> str:
        return json_pointer(self.path)

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


@dataclass(frozen=True)
class Rule:
    """Metadata for one stable diagnostic code (used by --select/--ignore and SARIF)."""

    code: str
    name: str
    severity: Severity
    summary: str
    help: str = ""


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    location: Location

    def sort_key(self) -> tuple[str, int, int, str, str]:
        loc = self.location
        return (loc.file, loc.line, loc.col, self.code, self.message)


@dataclass
class Report:
    """All findings of one run, plus the files that were checked."""

    files: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def extend(self, items: Iterable[Diagnostic]) -> None:
        self.diagnostics.extend(items)

    def sorted(self) -> list[Diagnostic]:
        """Findings in the order the files were given, then by position."""
        order = {name: i for i, name in enumerate(self.files)}
        return sorted(
            self.diagnostics, key=lambda d: (order.get(d.location.file, len(order)), d.sort_key())
        )

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.diagnostics if d.severity is severity)

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.sorted())


def matches_code(code: str, patterns: Iterable[str]) -> bool:
    """True if ``code`` is selected by any pattern: a full code (``E201``) or a prefix (``E2``, ``W``)."""
    return any(code.upper().startswith(p.strip().upper()) for p in patterns if p.strip())
