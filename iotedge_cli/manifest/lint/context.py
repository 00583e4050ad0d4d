"""What a lint rule sees: the manifest, the options, and a way to report findings."""

from __future__ import annotations

from dataclasses import dataclass, field

from iotedge_cli.diagnostics import Diagnostic, JsonPath, Location, Rule, Severity
from iotedge_cli.manifest.model import Manifest


@dataclass(frozen=True)
class LintOptions:
    strict: bool = False  # warnings count as failures (exit 1)
    select: tuple[str, ...] = ()  # only these codes / prefixes
    ignore: tuple[str, ...] = ()  # drop these codes / prefixes
    template: bool | None = None  # placeholders allowed; None = decide from the file


@dataclass
class Context:
    manifest: Manifest
    options: LintOptions
    rules: dict[str, Rule]
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def template(self) -> bool:
        """True when placeholders (``${MODULES.x}``, ``$VAR``) are allowed in this file."""
        if self.options.template is not None:
            return self.options.template
        return self.manifest.template

    def report(
        self,
        code: str,
        message: str,
        path: JsonPath,
        *,
        key: bool = False,
        severity: Severity | None = None,
    ) -> None:
        """Record a finding at ``path`` (at its key with ``key=True``, e.g. for a bad name)."""
        rule = self.rules[code]  # KeyError here means a rule forgot to declare its code
        location = self.manifest.doc.location(path, key=key)
        self.diagnostics.append(Diagnostic(code, severity or rule.severity, message, location))

    def report_at(
        self, code: str, message: str, offset: int, *, severity: Severity | None = None
    ) -> None:
        """Record a finding at a character offset of the file (for text, not nodes)."""
        doc = self.manifest.doc
        line, col = doc.line_col(offset)
        location = Location(doc.name, line, col)
        self.diagnostics.append(
            Diagnostic(code, severity or self.rules[code].severity, message, location)
        )
