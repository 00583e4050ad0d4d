"""A read-only view of a deployment manifest, whatever its envelope.

Accepted envelopes: ``{"modulesContent": …}`` (what ``az iot edge set-modules`` takes),
``{"content": {"modulesContent": …}}`` (``az iot edge deployment create``), the legacy
``moduleContent`` root, and a bare fragment with ``$edgeAgent``/``$edgeHub`` at the top.
A *layered* deployment addresses parts of a twin with flattened keys such as
``"properties.desired.modules.sensor"``; :meth:`Manifest.desired_items` hides the difference
so rules can walk modules and routes of both forms and still report exact paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from iotedge_cli.diagnostics import JsonPath
from iotedge_cli.manifest.loader import SourceDoc

AGENT = "$edgeAgent"
HUB = "$edgeHub"
DESIRED = "properties.desired"
SYSTEM_MODULE_NAMES = ("edgeAgent", "edgeHub")


@dataclass(frozen=True)
class ModuleDef:
    """A module under ``$edgeAgent``: ``systemModules.<name>`` or ``modules.<name>``."""

    name: str
    path: JsonPath
    spec: Any
    system: bool


@dataclass
class Manifest:
    doc: SourceDoc
    form: str  # "modulesContent" | "content.modulesContent" | "moduleContent" | "fragment" | "unknown"
    base: JsonPath
    content: dict[str, Any]
    layered: bool
    template: bool

    @classmethod
    def from_doc(cls, doc: SourceDoc) -> Manifest:
        data = doc.data
        form: str = "unknown"
        base: JsonPath = ()
        content: dict[str, Any] = {}
        if isinstance(data, dict):
            inner = data.get("content")
            if isinstance(data.get("modulesContent"), dict):
                form, base, content = "modulesContent", ("modulesContent",), data["modulesContent"]
            elif isinstance(inner, dict) and isinstance(inner.get("modulesContent"), dict):
                form, base = "content.modulesContent", ("content", "modulesContent")
                content = inner["modulesContent"]
            elif isinstance(data.get("moduleContent"), dict):
                form, base, content = "moduleContent", ("moduleContent",), data["moduleContent"]
            elif AGENT in data or HUB in data:
                form, base, content = "fragment", (), data
        layered = any(
            isinstance(twin, dict) and any(k.startswith(DESIRED + ".") for k in twin)
            for twin in content.values()
        )
        return cls(doc, form, base, content, layered, is_template(doc))

    # --- sections -----------------------------------------------------------------------

    def twin_path(self, twin: str) -> JsonPath:
        return (*self.base, twin)

    def desired(self, twin: str) -> tuple[JsonPath, dict[str, Any]] | None:
        """``properties.desired`` of ``twin`` when given as a whole object (non-layered form)."""
        section = self.content.get(twin)
        if isinstance(section, dict) and isinstance(section.get(DESIRED), dict):
            return (*self.base, twin, DESIRED), section[DESIRED]
        return None

    def desired_items(self, twin: str, prefix: str) -> Iterator[tuple[str, JsonPath, Any]]:
        """Members of ``properties.desired.<prefix>`` of ``twin``, in both forms.

        Yields ``(name, path, value)``; e.g. ``desired_items("$edgeHub", "routes")`` yields every
        route whether written as ``properties.desired.routes.r1`` or inside ``routes``.
        """
        section = self.content.get(twin)
        if not isinstance(section, dict):
            return
        whole = self.desired(twin)
        if whole is not None:
            path, desired = whole
            node: Any = desired
            node_path = path
            for part in prefix.split(".") if prefix else []:
                if not isinstance(node, dict) or not isinstance(node.get(part), dict):
                    node = None
                    break
                node, node_path = node[part], (*node_path, part)
            if isinstance(node, dict):
                for name, value in node.items():
                    yield name, (*node_path, name), value
        flat = f"{DESIRED}.{prefix}" if prefix else DESIRED
        for key, value in section.items():
            if key == flat and isinstance(value, dict):
                for name, v in value.items():
                    yield name, (*self.base, twin, key, name), v
            elif key.startswith(flat + ".") and "." not in key[len(flat) + 1 :]:
                yield key[len(flat) + 1 :], (*self.base, twin, key), value

    def modules(self) -> Iterator[ModuleDef]:
        for name, path, spec in self.desired_items(AGENT, "systemModules"):
            yield ModuleDef(name, path, spec, True)
        for name, path, spec in self.desired_items(AGENT, "modules"):
            yield ModuleDef(name, path, spec, False)

    def user_module_names(self) -> set[str]:
        return {m.name for m in self.modules() if not m.system}

    def routes(self) -> Iterator[tuple[str, JsonPath, Any]]:
        yield from self.desired_items(HUB, "routes")

    def schema_version(self, twin: str) -> tuple[JsonPath, Any] | None:
        whole = self.desired(twin)
        if whole is not None and "schemaVersion" in whole[1]:
            return (*whole[0], "schemaVersion"), whole[1]["schemaVersion"]
        section = self.content.get(twin)
        key = f"{DESIRED}.schemaVersion"
        if isinstance(section, dict) and key in section:
            return (*self.base, twin, key), section[key]
        return None

    def module_twins(self) -> Iterator[tuple[str, JsonPath, Any]]:
        """Twins of user modules: every ``modulesContent`` key but the two system twins."""
        for name, section in self.content.items():
            if name not in (AGENT, HUB):
                yield name, (*self.base, name), section


def is_template(doc: SourceDoc) -> bool:
    """Is ``doc`` a deployment *template* (placeholders allowed) rather than a manifest?

    By the naming convention of iotedgedev and VS Code (``deployment.template.json``,
    ``deployment.debug.template.json``), by a ``$schema-template`` key, or because it holds
    something only a template can (a bare ``${VAR}`` value). Text placeholders such
    as ``"${MODULES.x}"`` do *not* make a file a template: in a generated manifest they are
    leftovers the linter must report.
    """
    base = doc.name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if "template" in base:
        return True
    if isinstance(doc.data, dict) and "$schema-template" in doc.data:
        return True
    return bool(doc.placeholders)
