"""Add a module to a user's deployment template by inserting text, never by re-serialising.

Theory of operation: the template is parsed once (template mode: comments and bare
placeholders allowed) only to learn *where* things are. For each object that gains members
($edgeAgent modules, $edgeHub routes, modulesContent for the module twin, and optionally
registryCredentials) we find, in the original text, the end of its last member's value (or the
inside of an empty object) with a small scanner that skips strings, comments and ``${…}``, and
plan one insertion there. The new members are serialised with the indentation the file already
uses (detected from the object's own members, else from the file's first level). Insertions are
applied from the end of the text backwards, so every other byte (key order, spacing, comments,
line endings) stays as the user left it. A comment after the last member stays on its line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from iotedge_cli.diagnostics import JsonPath
from iotedge_cli.errors import UsageError
from iotedge_cli.manifest.loader import SourceDoc, load_text
from iotedge_cli.manifest.model import AGENT, HUB, Manifest

DESIRED = "properties.desired"
SENSOR = "SimulatedTemperatureSensor"
_SCALAR = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_]\w*|[^\s,\]}/]+")
_DEFAULT_THRESHOLD = 25


@dataclass(frozen=True)
class ModuleAddition:
    """What a new module brings to a deployment template."""

    name: str
    image: str  # ${MODULES.<name>} or ${MODULES.<name>.debug}
    credential: tuple[str, dict[str, str]] | None = None  # registryCredentials entry to add


@dataclass(frozen=True)
class _Insertion:
    start: int
    end: int  # == start unless whitespace inside an empty object is replaced
    text: str


def module_entry(image: str) -> dict[str, Any]:
    return {
        "version": "1.0",
        "type": "docker",
        "status": "running",
        "restartPolicy": "always",
        "settings": {"image": image, "createOptions": {}},
    }


def add_module(text: str, display: str, addition: ModuleAddition) -> str:
    """``text`` with the module, its routes and twin inserted; raise :class:`UsageError` if it exists."""
    doc = load_text(text, display, template=True)
    manifest = Manifest.from_doc(doc)
    if manifest.form not in ("modulesContent", "content.modulesContent") or manifest.layered:
        raise UsageError(
            f"{display}: not a full deployment template with modulesContent; edgectl adds modules "
            "only to those",
            hint="add the module to this file by hand, or point --solution at the solution folder",
        )
    base = manifest.base
    name = addition.name
    modules_path = (*base, AGENT, DESIRED, "modules")
    routes_path = (*base, HUB, DESIRED, "routes")
    modules = _object(doc, modules_path, display)
    routes = _object(doc, routes_path, display)
    content = _object(doc, base, display)
    lower = {k.lower(): k for k in modules}
    if name.lower() in lower:
        raise UsageError(
            f"{display}: module {lower[name.lower()]!r} is already in the template",
            hint="choose another name, or remove the module from the template first",
        )
    new_routes: list[tuple[str, Any]] = []
    if SENSOR in modules:
        new_routes.append(
            (
                f"{SENSOR}To{name}",
                f"FROM /messages/modules/{SENSOR}/outputs/temperatureOutput "
                f'INTO BrokeredEndpoint("/modules/{name}/inputs/input1")',
            )
        )
    new_routes.append(
        (f"{name}ToIoTHub", f"FROM /messages/modules/{name}/outputs/* INTO $upstream")
    )
    for key, _ in new_routes:
        if key in routes:
            raise UsageError(
                f"{display}: route {key!r} already exists in the template",
                hint="rename or remove that route, or choose another module name",
            )
    if name in content:
        raise UsageError(
            f"{display}: modulesContent already has a module twin {name!r}",
            hint="remove it, or choose another module name",
        )
    editor = _Editor(doc)
    insertions = [
        editor.insert(modules_path, [(name, module_entry(addition.image))]),
        editor.insert(routes_path, new_routes),
        editor.insert(base, [(name, {DESIRED: {"TemperatureThreshold": _DEFAULT_THRESHOLD}})]),
    ]
    if addition.credential is not None:
        settings_path = (*base, AGENT, DESIRED, "runtime", "settings")
        settings = _object(doc, settings_path, display)
        key, value = addition.credential
        if isinstance(settings.get("registryCredentials"), dict):
            creds_path = (*settings_path, "registryCredentials")
            if key not in settings["registryCredentials"]:
                insertions.append(editor.insert(creds_path, [(key, value)]))
        else:
            insertions.append(editor.insert(settings_path, [("registryCredentials", {key: value})]))
    return _apply(text, insertions)


def _object(doc: SourceDoc, path: JsonPath, display: str) -> dict[str, Any]:
    node: Any = doc.data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        where = ".".join(str(p) for p in path)
        raise UsageError(
            f"{display}: {where} is missing or not an object, so the module cannot be added",
            hint=f"add an empty object there ({where}: {{}}), then run the command again",
        )
    return node


def _apply(text: str, insertions: Sequence[_Insertion]) -> str:
    for ins in sorted(insertions, key=lambda i: i.start, reverse=True):
        text = text[: ins.start] + ins.text + text[ins.end :]
    return text


class _Editor:
    def __init__(self, doc: SourceDoc) -> None:
        self.doc = doc
        self.text = doc.text
        self.nl = "\r\n" if "\r\n" in self.text else "\n"
        self.unit = self._file_unit()

    def insert(self, path: JsonPath, members: Sequence[tuple[str, Any]]) -> _Insertion:
        doc, text = self.doc, self.text
        node: Any = doc.data
        for part in path:
            node = node[part]
        open_at = doc.offset_of(path)
        close_at = _value_end(text, open_at) - 1
        outer = _indent_at(text, open_at)
        if not node:
            inside = text[open_at + 1 : close_at]
            indent = outer + self.unit
            body = self._members(members, indent, self.unit)
            if inside.strip():  # only comments inside: keep them after the new members
                return _Insertion(open_at + 1, open_at + 1, self.nl + indent + body)
            return _Insertion(open_at + 1, close_at, self.nl + indent + body + self.nl + outer)
        keys = list(node)
        first_key = doc.offset_of((*path, keys[0]), key=True)
        if _line_start(text, first_key) <= open_at:  # members share the line with "{": compact
            body = ", ".join(
                f"{json.dumps(k, ensure_ascii=False)}: "
                f"{json.dumps(v, ensure_ascii=False, separators=(', ', ': '))}"
                for k, v in members
            )
            end = _value_end(text, doc.offset_of((*path, keys[-1])))
            return _Insertion(end, end, ", " + body)
        indent = _indent_at(text, first_key)
        unit = indent[len(outer) :] if indent.startswith(outer) and indent != outer else self.unit
        end = _value_end(text, doc.offset_of((*path, keys[-1])))
        eol = text.find("\n", end)
        eol = len(text) if eol < 0 else eol
        if eol > end and text[eol - 1] == "\r":
            eol -= 1
        rest = text[end:eol].strip()
        body = self._members(members, indent, unit)
        if not rest or rest.startswith("//") or (rest.startswith("/*") and rest.endswith("*/")):
            if not rest:
                return _Insertion(end, end, "," + self.nl + indent + body)
            # keep a trailing comment on the line of the member it belongs to
            return _Insertion(end, eol, "," + text[end:eol] + self.nl + indent + body)
        return _Insertion(end, end, "," + self.nl + indent + body)

    def _members(self, members: Sequence[tuple[str, Any]], indent: str, unit: str) -> str:
        parts = []
        for key, value in members:
            body = json.dumps(value, ensure_ascii=False, indent=unit)
            parts.append(
                json.dumps(key, ensure_ascii=False) + ": " + body.replace("\n", self.nl + indent)
            )
        return ("," + self.nl + indent).join(parts)

    def _file_unit(self) -> str:
        """The indentation of the root object's first member (one level), else two spaces."""
        data = self.doc.data
        if isinstance(data, dict) and data:
            at = self.doc.offset_of((next(iter(data)),), key=True)
            indent = _indent_at(self.text, at)
            if indent and _line_start(self.text, at) + len(indent) == at:
                return indent
        return "  "


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _indent_at(text: str, offset: int) -> str:
    start = _line_start(text, offset)
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def _value_end(text: str, i: int) -> int:
    """Offset just past the JSON(-template) value starting at ``i``."""
    ch = text[i]
    if ch == '"':
        return _string_end(text, i)
    if ch not in "{[":
        m = _SCALAR.match(text, i)
        return m.end() if m else i + 1
    depth = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = _string_end(text, i)
            continue
        if ch == "/" and text.startswith("//", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if ch == "/" and text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
            continue
        if ch == "$" and text.startswith("${", i):
            close = text.find("}", i)
            i = n if close < 0 else close + 1
            continue
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _string_end(text: str, i: int) -> int:
    j = i + 1
    while True:
        j = text.index('"', j)
        backslashes = 0
        k = j - 1
        while text[k] == "\\":
            backslashes += 1
            k -= 1
        if backslashes % 2 == 0:
            return j + 1
        j += 1
