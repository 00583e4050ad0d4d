"""Lint rules, one module per family. Each module has ``RULES`` and ``check(ctx)``."""

from __future__ import annotations

RULE_MODULES = (
    "envelope",  # E0xx: root form, duplicate keys, comments, legacy moduleContent
    "schema",  # E1xx: edgectl's JSON schemas per schemaVersion
    "routes",  # E2xx: route syntax, sources, sinks, priorities
    "create_options",  # E3xx: createOptions chunks, JSON, Docker keys and types
    "modules",  # E4xx: images, registries, placeholders, system module versions
    "limits",  # W5xx/E5xx: twin sizes and rules, plaintext secrets
)
