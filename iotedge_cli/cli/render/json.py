"""One JSON document describing the whole run (stable shape; see README "JSON output")."""

from __future__ import annotations

import json
from collections.abc import Mapping

from iotedge_cli.diagnostics import Report, Rule, Severity


def to_document(report: Report, rules: Mapping[str, Rule]) -> dict[str, object]:
    return {
        "version": 1,
        "files": report.files,
        "unreadable": report.unreadable,
        "summary": {
            "files": len(report.files),
            "errors": report.errors,
            "warnings": report.warnings,
            "infos": report.count(Severity.INFO),
        },
        "diagnostics": [
            {
                "code": d.code,
                "rule": rules[d.code].name if d.code in rules else None,
                "severity": d.severity.value,
                "message": d.message,
                "file": d.location.file,
                "line": d.location.line,
                "column": d.location.col,
                "path": d.location.pointer,
            }
            for d in report
        ],
    }


def render(report: Report, rules: Mapping[str, Rule]) -> str:
    return json.dumps(to_document(report, rules), indent=2, ensure_ascii=False) + "\n"
