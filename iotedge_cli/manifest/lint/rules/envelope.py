"""E0xx: the file as a whole: its envelope, duplicate keys and comments."""

from __future__ import annotations

from iotedge_cli.diagnostics import Rule, Severity
from iotedge_cli.manifest.lint.context import Context

RULES = [
    Rule(
        "E002",
        "no-modules-content",
        Severity.ERROR,
        "The file is not a deployment manifest: no modulesContent object.",
        'A manifest is {"modulesContent": {"$edgeAgent": {...}, "$edgeHub": {...}}}, optionally '
        'wrapped as {"content": {"modulesContent": ...}}.',
    ),
    Rule(
        "W003",
        "legacy-module-content",
        Severity.WARNING,
        "The legacy `moduleContent` root is deprecated.",
        "Rename `moduleContent` to `modulesContent`; az iot edge accepts the old name with a warning.",
    ),
    Rule(
        "W004",
        "duplicate-key",
        Severity.WARNING,
        "A key appears twice in one object; only the last value is used.",
        "Remove or merge the earlier occurrence: JSON parsers keep the last value silently.",
    ),
    Rule(
        "E005",
        "json-comment",
        Severity.ERROR,
        "A deployment manifest (not a template) contains a comment.",
        "IoT Hub and az iot edge reject comments in a manifest; keep them in templates only, "
        "which `edgectl manifest generate` strips.",
    ),
]


def check(ctx: Context) -> None:
    m = ctx.manifest
    doc = m.doc
    if m.form == "unknown":
        ctx.report(
            "E002",
            'no "modulesContent" object found; a deployment manifest looks like '
            '{"modulesContent": {"$edgeAgent": {...}, "$edgeHub": {...}}}',
            (),
        )
    elif m.form == "moduleContent":
        ctx.report(
            "W003",
            "`moduleContent` is the legacy root name; rename it to `modulesContent`",
            m.base,
            key=True,
        )
    for path, offset, first in doc.duplicates:
        ctx.report_at(
            "W004",
            f"duplicate key {path[-1]!r} (first at line {doc.line_col(first)[0]}); "
            "the last value wins: remove or merge the other",
            offset,
        )
    if ctx.template:
        return  # templates are not strict JSON until expanded; generate drops comments
    for offset in doc.comments:
        ctx.report_at(
            "E005", "comment in JSON: IoT Hub and az iot edge reject it; remove it", offset
        )
