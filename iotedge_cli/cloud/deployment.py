"""What ``edgectl deploy`` sends: a checked manifest's modules content, as one device's
configuration or as an automatic (optionally layered) deployment; and the counts a deployment
reports back. Pure: no SDK, no network.

IoT Hub classifies an edge deployment as *layered* when a twin's content uses
``properties.desired.<path>`` keys (so ``$edgeAgent`` has no complete ``properties.desired``);
such a deployment adds to the base deployment of a device instead of replacing it. ``--layered`` makes that intent explicit: a layered manifest without
it, or a whole-``properties.desired`` manifest with it, is refused rather than deployed with
the other meaning. Applying to a single device always replaces its whole configuration, so it
takes base (whole-twin) content only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotedge_cli.diagnostics import Diagnostic, Severity
from iotedge_cli.errors import UsageError

__all__ = [
    "SYSTEM_METRICS",
    "DeploymentCounts",
    "LoadedManifest",
    "check_configuration_id",
    "configuration_document",
    "counts",
    "device_content",
    "load_manifest",
    "parse_labels",
]

AGENT = "$edgeAgent"
HUB = "$edgeHub"
DESIRED = "properties.desired"
# IoT Hub's configuration ids: up to 128 lower-case letters, digits and these characters.
_CONFIGURATION_ID = re.compile(r"^[a-z0-9\-:+%_#*?!(),=@;$']{1,128}$")
# System metrics IoT Hub computes for every edge deployment (the portal's "Targeted", "Applied",
# "Reporting Success", "Reporting Failure").
SYSTEM_METRICS = ("targetedCount", "appliedCount", "reportedSuccessfulCount", "reportedFailedCount")


@dataclass(frozen=True)
class LoadedManifest:
    """A manifest file's modules content, whether it is layered, and the linter's findings."""

    path: Path
    modules_content: dict[str, Any]
    layered: bool
    findings: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.findings if d.severity is Severity.ERROR]


def load_manifest(path: Path, *, validate: bool = True) -> LoadedManifest:
    """Read ``path`` (JSON or YAML; any envelope the linter accepts) and, with ``validate``,
    lint it as a generated manifest (placeholders left in it are errors)."""
    from iotedge_cli.manifest.lint import LintOptions, lint_doc
    from iotedge_cli.manifest.loader import load_file
    from iotedge_cli.manifest.model import Manifest

    # Validating, a comment or bare placeholder is a finding with a code; unvalidated, only
    # strict JSON (or YAML) can be sent.
    doc = load_file(path, template=validate)
    manifest = Manifest.from_doc(doc)
    if manifest.form == "unknown" or not manifest.content:
        raise UsageError(
            f"{path}: no modulesContent found",
            hint='a deployment manifest is {"modulesContent": {"$edgeAgent": ..., "$edgeHub": '
            '...}} (or wrapped in "content"); generate one with `edgectl manifest generate`',
        )
    findings = lint_doc(doc, LintOptions(template=False)) if validate else []
    return LoadedManifest(path, manifest.content, manifest.layered, findings)


def _layered_keys(content: Mapping[str, Any]) -> list[str]:
    return [
        f"{twin}/{key}"
        for twin, section in content.items()
        if isinstance(section, dict)
        for key in section
        if key.startswith(DESIRED + ".")
    ]


def device_content(loaded: LoadedManifest) -> dict[str, Any]:
    """The modules content to apply to one device: base form, ``$edgeAgent`` and ``$edgeHub``."""
    layered = _layered_keys(loaded.modules_content)
    if layered:
        raise UsageError(
            f"{loaded.path}: a layered manifest ({layered[0]}) cannot be applied to one device",
            hint="applying to a device replaces its whole configuration: give a base manifest, "
            "or deploy the layer with --name N --target-condition C --layered",
        )
    for twin in (AGENT, HUB):
        section = loaded.modules_content.get(twin)
        if not isinstance(section, dict) or not isinstance(section.get(DESIRED), dict):
            raise UsageError(
                f"{loaded.path}: modulesContent has no {twin} with {DESIRED}",
                hint="a device's configuration needs both $edgeAgent and $edgeHub",
            )
    return loaded.modules_content


def check_configuration_id(name: str) -> str:
    if not _CONFIGURATION_ID.match(name):
        raise UsageError(
            f"--name {name!r} is not a valid deployment id",
            hint="use up to 128 lower-case letters, digits and - : + % _ # * ? ! ( ) , = @ ; $ '",
        )
    return name


def parse_labels(values: Iterable[str]) -> dict[str, str]:
    """``--label k=v`` options as a dict; :class:`UsageError` for a malformed or repeated key."""
    labels: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--label {value!r} is not KEY=VALUE", hint="e.g. --label env=prod")
        if key in labels:
            raise UsageError(f"--label {key!r} is given twice", hint="give each label once")
        labels[key] = text
    return labels


def configuration_document(
    loaded: LoadedManifest,
    *,
    name: str,
    target_condition: str,
    priority: int,
    labels: Mapping[str, str],
    layered: bool,
) -> dict[str, Any]:
    """The deployment in the REST API's form (what ``PUT /configurations/{id}`` takes)."""
    check_configuration_id(name)
    if not target_condition.strip():
        raise UsageError(
            "--target-condition is empty",
            hint="""select devices by twin tags, e.g. --target-condition "tags.env='prod'\"""",
        )
    found = _layered_keys(loaded.modules_content)
    agent = loaded.modules_content.get(AGENT)
    base = isinstance(agent, dict) and isinstance(agent.get(DESIRED), dict)
    if layered and base:
        raise UsageError(
            f"{loaded.path}: --layered, but the manifest sets the whole {AGENT} {DESIRED} "
            "(a base deployment)",
            hint='a layer sets paths, e.g. "$edgeAgent": {"properties.desired.modules.filter": '
            '{...}}, "$edgeHub": {"properties.desired.routes.up": "FROM ..."}; drop --layered '
            "for a base deployment",
        )
    if not layered and (found or not base):
        what = found[0] if found else f"no complete {AGENT} {DESIRED}"
        raise UsageError(
            f"{loaded.path}: the manifest is layered ({what}); IoT Hub would deploy it as a "
            "layer on top of each device's base deployment",
            hint="pass --layered if that is meant, or give a base manifest",
        )
    if not layered:
        device_content(loaded)
    return {
        "id": name,
        "schemaVersion": "1.0",
        "labels": dict(labels),
        "content": {"modulesContent": loaded.modules_content},
        "targetCondition": target_condition,
        "priority": priority,
    }


@dataclass(frozen=True)
class DeploymentCounts:
    """``systemMetrics`` of a deployment; None where the hub has not computed a count."""

    targeted: int | None
    applied: int | None
    reported_successful: int | None
    reported_failed: int | None
    custom: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "targeted": self.targeted,
            "applied": self.applied,
            "reportedSuccessful": self.reported_successful,
            "reportedFailed": self.reported_failed,
            "custom": self.custom,
        }


def counts(configuration: Mapping[str, Any]) -> DeploymentCounts:
    def results(key: str) -> dict[str, Any]:
        section = configuration.get(key)
        found = section.get("results") if isinstance(section, dict) else None
        return found if isinstance(found, dict) else {}

    system = results("systemMetrics")

    def number(name: str) -> int | None:
        value = system.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    custom = {
        k: v
        for k, v in results("metrics").items()
        if isinstance(v, int) and not isinstance(v, bool)
    }
    targeted, applied, successful, failed = (number(m) for m in SYSTEM_METRICS)
    return DeploymentCounts(targeted, applied, successful, failed, custom)


def is_edge_deployment(configuration: Mapping[str, Any]) -> bool:
    """An edge deployment has ``content.modulesContent`` (ADM configurations do not)."""
    content = configuration.get("content")
    return isinstance(content, dict) and bool(content.get("modulesContent"))
