"""SARIF 2.1.0: one run for code-scanning services (GitHub code scanning, Azure DevOps, IDEs).

Files are referenced as the user named them: a relative path becomes a relative URI under
``%SRCROOT%`` (the checkout root the uploader resolves), an absolute one a ``file:`` URI. Our
columns count characters, not UTF-16 code units, so the run declares
``columnKind: unicodeCodePoints`` to keep non-ASCII lines exact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from iotedge_cli import __version__
from iotedge_cli.diagnostics import Diagnostic, Report, Rule, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/edgectl/"
SRCROOT = "%SRCROOT%"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# RFC 3986 pchar minus what confuses SARIF consumers; everything else is percent-encoded.
_SAFE = "/-._~!$&'()*+,;=:@"


def artifact_location(file: str) -> dict[str, str]:
    """``{"uri": ...}`` for ``file``, plus ``uriBaseId`` when the path is relative."""
    if PurePosixPath(file).is_absolute():
        return {"uri": PurePosixPath(file).as_uri()}
    windows = PureWindowsPath(file)
    if windows.is_absolute():
        return {"uri": windows.as_uri()}
    relative = file.replace("\\", "/")
    while relative.startswith("./"):
        relative = relative[2:]
    # A first segment with ':' would read as a URI scheme; "./" keeps it a relative path.
    uri = quote(relative, safe=_SAFE)
    if ":" in uri.split("/", 1)[0]:
        uri = "./" + uri
    return {"uri": uri, "uriBaseId": SRCROOT}


def _text(value: str) -> dict[str, str]:
    return {"text": value}


def _descriptor(rule: Rule) -> dict[str, Any]:
    details = rule.help or rule.summary
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": _text(rule.summary),
        "fullDescription": _text(details),
        "help": _text(details),
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
    }


def _result(
    d: Diagnostic, rule_index: Mapping[str, int], artifacts: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    loc = d.location
    physical: dict[str, Any] = {"artifactLocation": dict(artifacts[loc.file])}
    if loc.line:
        region = {"startLine": loc.line}
        if loc.col:
            region["startColumn"] = loc.col
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if loc.path:
        location["logicalLocations"] = [{"fullyQualifiedName": loc.pointer}]
    result: dict[str, Any] = {"ruleId": d.code}
    if d.code in rule_index:
        result["ruleIndex"] = rule_index[d.code]
    result["level"] = _LEVEL[d.severity]
    result["message"] = _text(d.message)
    result["locations"] = [location]
    return result


def to_document(report: Report, rules: Mapping[str, Rule]) -> dict[str, Any]:
    """The SARIF log as plain data (``render`` serialises it)."""
    descriptors = [_descriptor(rule) for rule in rules.values()]
    rule_index = {code: i for i, code in enumerate(rules)}
    diagnostics = report.sorted()
    files = list(dict.fromkeys([*report.files, *(d.location.file for d in diagnostics)]))
    locations = [artifact_location(file) for file in files]
    artifacts = {
        file: {**loc, "index": i}
        for i, (file, loc) in enumerate(zip(files, locations, strict=True))
    }
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "edgectl",
                        "informationUri": INFORMATION_URI,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": descriptors,
                    }
                },
                "invocations": [{"executionSuccessful": not report.unreadable}],
                "artifacts": [{"location": loc} for loc in locations],
                "columnKind": "unicodeCodePoints",
                "results": [_result(d, rule_index, artifacts) for d in diagnostics],
            }
        ],
    }


def render(report: Report, rules: Mapping[str, Rule]) -> str:
    return json.dumps(to_document(report, rules), indent=2, ensure_ascii=False) + "\n"
