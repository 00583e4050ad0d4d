"""Load JSON or YAML files into a :class:`SourceDoc`: the data plus a path → position index.

Every finding edgectl reports points at ``file:line:col`` of the offending node. Both loaders
record the character offset of each node (and of each member key) while parsing; offsets are
turned into 1-based line and column on demand. Columns count characters, so a tab is one
column, as in editors' "column" and GitHub annotations.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotedge_cli.diagnostics import JsonPath, Location
from iotedge_cli.errors import InputError
from iotedge_cli.manifest import jsonparse
from iotedge_cli.manifest.jsonparse import Placeholder

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class SourceDoc:
    """A parsed file. ``offsets``/``key_offsets`` map paths to character offsets.

    For JSON parsed on the fast path (C ``json``: strict, unique keys) there is no index:
    :meth:`offset_of` finds each path with :func:`jsonparse.locate`, which skips sibling
    subtrees in C. A file with no findings pays nothing for positions; one with a few
    findings pays far less than a full positional parse. ``offsets``/``key_offsets`` are
    filled only on the slow path (templates with bare placeholders or comments, duplicate
    keys, syntax errors, YAML).
    """

    name: str
    text: str
    data: Any
    format: str = "json"
    offsets: dict[JsonPath, int] = field(default_factory=dict)
    key_offsets: dict[JsonPath, int] = field(default_factory=dict)
    duplicates: list[tuple[JsonPath, int, int]] = field(default_factory=list)
    placeholders: dict[JsonPath, Placeholder] = field(default_factory=dict)
    comments: list[int] = field(default_factory=list)
    _line_starts: list[int] | None = None
    _lazy_index: bool = False

    def line_col(self, offset: int) -> tuple[int, int]:
        if self._line_starts is None:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i != -1:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._line_starts = starts
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def offset_of(self, path: JsonPath, *, key: bool = False) -> int:
        """Offset of the node at ``path`` (its key with ``key=True``), else of its nearest ancestor."""
        if self._lazy_index:
            value, key_offset, depth = jsonparse.locate(self.text, tuple(path))
            return key_offset if key and key_offset is not None and depth == len(path) else value
        p = tuple(path)
        if key and p in self.key_offsets:
            return self.key_offsets[p]
        while p:
            if p in self.offsets:
                return self.offsets[p]
            p = p[:-1]
        return self.offsets.get((), 0)

    def location(self, path: JsonPath, *, key: bool = False) -> Location:
        line, col = self.line_col(self.offset_of(path, key=key))
        return Location(self.name, line, col, tuple(path))


def load_text(text: str, name: str, *, fmt: str | None = None, template: bool = True) -> SourceDoc:
    """Parse ``text`` (JSON unless ``fmt`` or ``name`` says YAML) into a :class:`SourceDoc`.

    ``template=True`` accepts bare placeholders and comments (see :mod:`jsonparse`).
    Raises :class:`InputError` naming ``name:line:col`` for a syntax error.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    fmt = fmt or ("yaml" if name.lower().endswith(YAML_SUFFIXES) else "json")
    if fmt == "yaml":
        return _load_yaml(text, name)
    fast = _fast_json(text)
    if fast is not None:
        return SourceDoc(name, text, fast[0], "json", _lazy_index=True)
    try:
        res = jsonparse.parse(text, template=template)
    except jsonparse.JsonSyntaxError as exc:
        doc = SourceDoc(name, text, None)
        line, col = doc.line_col(exc.offset)
        raise InputError(
            f"{name}:{line}:{col}: invalid JSON: {exc.message}",
            hint="fix the syntax at that position (a JSON linter or your editor shows it too)",
        ) from None
    return SourceDoc(
        name,
        text,
        res.value,
        "json",
        res.offsets,
        res.key_offsets,
        res.duplicates,
        res.placeholders,
        res.comments,
    )


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _Duplicate
    return d


def _fast_json(text: str) -> tuple[Any] | None:
    """Strict JSON with unique keys via the C parser, or ``None`` to take the slow path."""
    import json

    try:
        return (json.loads(text, object_pairs_hook=_no_duplicates),)
    except (ValueError, _Duplicate, RecursionError):
        return None


def read_text(path: Path, display: str | None = None) -> str:
    name = display or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{name}: no such file", hint="check the path and the current directory"
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"{name}: is a directory, not a file", hint="name a manifest file"
        ) from None
    except PermissionError:
        raise InputError(f"{name}: permission denied", hint="make the file readable") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        doc = SourceDoc(name, data[: exc.start].decode("utf-8", "replace"), None)
        line, col = doc.line_col(len(doc.text))
        raise InputError(
            f"{name}:{line}:{col}: not UTF-8 text (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8",
        ) from None


def load_file(path: str | Path, *, template: bool = True) -> SourceDoc:
    p = Path(path)
    return load_text(read_text(p, str(path)), str(path), template=template)


# --- YAML -----------------------------------------------------------------------------------


def _load_yaml(text: str, name: str) -> SourceDoc:
    import yaml  # lazy: keeps `edgectl --help` fast

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    doc = SourceDoc(name, text, None, "yaml")
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(
                f"{name}:1:1: the file is empty; expected a mapping",
                hint="add the manifest content",
            )
        doc.data = _walk_yaml(loader, node, (), doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise InputError(
            f"{name}:{line}:{col}: invalid YAML: {exc.problem or exc.context}",
            hint="fix the syntax at that position",
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return doc


def _walk_yaml(loader: Any, node: Any, path: JsonPath, doc: SourceDoc) -> Any:
    import yaml

    doc.offsets[path] = node.start_mark.index
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            child = (*path, key)
            if key in out:
                doc.duplicates.append((child, key_node.start_mark.index, doc.key_offsets[child]))
            doc.key_offsets[child] = key_node.start_mark.index
            out[key] = _walk_yaml(loader, value_node, child, doc)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk_yaml(loader, item, (*path, i), doc) for i, item in enumerate(node.value)]
    value = loader.construct_object(node, deep=True)
    if hasattr(value, "isoformat"):  # YAML timestamps: keep the text, JSON has no dates
        return str(node.value)
    return value
