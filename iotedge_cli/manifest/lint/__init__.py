"""The manifest linter: loaders → rules → a :class:`Report`.

Each module in :mod:`rules` declares ``RULES`` (its stable codes) and a ``check(ctx)``
function. Codes: E0xx file and envelope, E1xx schema, E2xx routes, E3xx createOptions,
E4xx images and modules, W5xx limits and hygiene.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from types import ModuleType

from iotedge_cli.diagnostics import Diagnostic, Location, Report, Rule, Severity, matches_code
from iotedge_cli.errors import InputError
from iotedge_cli.manifest.lint.context import Context, LintOptions
from iotedge_cli.manifest.lint.rules import RULE_MODULES
from iotedge_cli.manifest.loader import SourceDoc, load_file
from iotedge_cli.manifest.model import Manifest

__all__ = ["LintOptions", "all_rules", "lint_doc", "lint_paths"]

PARSE_ERROR = Rule(
    "E001",
    "unreadable-file",
    Severity.ERROR,
    "The file cannot be read or is not valid JSON/YAML.",
    "Fix the syntax at the reported position; nothing else is checked until the file parses.",
)


@cache
def _rule_modules() -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"{__name__}.rules.{m}") for m in RULE_MODULES)


@cache
def all_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {PARSE_ERROR.code: PARSE_ERROR}
    for mod in _rule_modules():
        for rule in mod.RULES:
            if rule.code in rules:
                raise RuntimeError(f"duplicate rule code {rule.code} in {mod.__name__}")
            rules[rule.code] = rule
    return dict(sorted(rules.items(), key=lambda item: (int(item[0][1:]), item[0])))


def _checks() -> list[Callable[[Context], None]]:
    return [mod.check for mod in _rule_modules()]


def lint_doc(doc: SourceDoc, options: LintOptions | None = None) -> list[Diagnostic]:
    """All findings for one parsed document, filtered by ``options.select``/``ignore``."""
    options = options or LintOptions()
    ctx = Context(Manifest.from_doc(doc), options, all_rules())
    for check in _checks():
        check(ctx)
    found = ctx.diagnostics
    if options.select:
        found = [d for d in found if matches_code(d.code, options.select)]
    if options.ignore:
        found = [d for d in found if not matches_code(d.code, options.ignore)]
    return sorted(found, key=Diagnostic.sort_key)


def lint_paths(paths: Iterable[str | Path], options: LintOptions | None = None) -> Report:
    """Lint every file; unreadable files become E001 findings and are listed in ``unreadable``."""
    report = Report()
    for path in paths:
        name = str(path)
        report.files.append(name)
        try:
            doc = load_file(path)
        except InputError as exc:
            report.unreadable.append(name)
            report.diagnostics.append(_parse_error(name, exc))
            continue
        report.extend(lint_doc(doc, options))
    return report


def _parse_error(name: str, exc: InputError) -> Diagnostic:
    # InputError messages start with "file:line:col: "; keep the location structured.
    line = col = 0
    message = exc.message
    if message.startswith(name + ":"):
        rest = message[len(name) + 1 :]
        parts = rest.split(":", 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            line, col, message = int(parts[0]), int(parts[1]), parts[2].strip()
        else:
            message = rest.strip()
    return Diagnostic(PARSE_ERROR.code, Severity.ERROR, message, Location(name, line, col))
