"""Lint rules, one module per family. Each module has ``RULES`` and ``check(ctx)``."""

from __future__ import annotations

# Order matters only for readability of the code; findings are sorted by location.
RULE_MODULES = (
    "envelope",  # E0xx: root form, duplicate keys, comments, legacy moduleContent
)
