"""``$body.<path>`` and ``twin_change_includes(<path>)``: path validation and lookup.

Validation follows ``JsonPath.g4`` as ANTLR runs it: ``name[INT]? ('.' name[INT]?)*`` where
a name excludes ``()<>@,;:\\"/[]?={}.`` and tab/newline, a run of digits is an INT (not a
name), and — the start rule has no EOF — anything after a complete path is ignored rather
than rejected. At run time Json.NET's ``SelectTokens`` reads the whole text; text it cannot
read (what validation ignored) throws, which edgeHub logs and turns into undefined.

Lookup: missing path -> :data:`MISSING` (a null), a JSON object/array, a date-time string
(Json.NET parses those into dates) or several matches (``*``) -> undefined, else the leaf.
"""

from __future__ import annotations

import re
from typing import Any

from iotedge_cli.routes.condition.evaluate import MISSING, is_date_string
from iotedge_cli.routes.values import UNDEFINED

__all__ = ["Path", "compile_path", "lookup_path", "validate_path"]

_TOKEN = re.compile(
    r"(?P<int>[0-9]+(?![^()<>@,;:\\\"/\[\].?={}\t\n\r]))|(?P<id>[^()<>@,;:\\\"/\[\].?={}\t\n\r]+)|(?P<op>[.\[\]])|(?P<bad>.)",
    re.DOTALL,
)

Path = tuple[tuple[str, tuple[int, ...]], ...]


def validate_path(path: str) -> str | None:
    """Why ``JsonPath.g4`` rejects ``path`` (None when it is accepted)."""
    toks = [(m.lastgroup or "", m.group()) for m in _TOKEN.finditer(path)]
    toks = [t for t in toks if t[0] != "bad"]  # lexer errors are not reported by edgeHub
    toks.append(("eof", ""))
    i = 0

    def name(after: str) -> str | None:
        nonlocal i
        kind, text = toks[i]
        if kind != "id":
            found = "the end" if kind == "eof" else repr(text)
            return f"expected a property name {after}, found {found}"
        i += 1
        if toks[i] == ("op", "["):
            i += 1
            if toks[i][0] != "int":
                found = "the end" if toks[i][0] == "eof" else repr(toks[i][1])
                return f"expected an array index (digits) after '[', found {found}"
            i += 1
            if toks[i] != ("op", "]"):
                return "expected ']' after the array index"
            i += 1
        return None

    problem = name("at the start")
    if problem:
        return problem
    while toks[i] == ("op", "."):
        i += 1
        problem = name("after '.'")
        if problem:
            return problem
    return None


_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[[0-9]+\])*)")
_INDEX = re.compile(r"\[([0-9]+)\]")


def compile_path(path: str) -> Path | None:
    """The steps Json.NET would take, or None when it would throw (always undefined)."""
    steps: list[tuple[str, tuple[int, ...]]] = []
    for part in path.split("."):
        m = _SEGMENT.fullmatch(part)
        if m is None:
            return None
        steps.append((m.group(1), tuple(int(x) for x in _INDEX.findall(m.group(2)))))
    return tuple(steps)


def _walk(data: Any, path: Path) -> list[Any]:
    """Every node ``path`` selects in ``data`` (empty when the path is missing)."""
    nodes: list[Any] = [data]
    for name, indices in path:
        nxt: list[Any] = []
        for node in nodes:
            if name == "*":
                if isinstance(node, dict):
                    nxt.extend(node.values())
                elif isinstance(node, list):
                    nxt.extend(node)
            elif isinstance(node, dict) and name in node:
                nxt.append(node[name])
        for index in indices:
            nxt = [n[index] for n in nxt if isinstance(n, list) and index < len(n)]
        nodes = nxt
        if not nodes:
            break
    return nodes


def lookup_path(data: Any, path: Path | None) -> object:
    """Query a parsed JSON object; returns a QueryValue (see the module docstring)."""
    if path is None:
        return UNDEFINED
    nodes = _walk(data, path)
    if not nodes:
        return MISSING
    if len(nodes) > 1:
        return UNDEFINED
    return leaf(nodes[0])


def leaf(value: Any) -> object:
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return UNDEFINED if is_date_string(value) else value
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return float("inf") if value > 0 else float("-inf")
    return UNDEFINED  # object or array


def exists(data: Any, path: Path | None) -> object:
    """twin_change_includes: True if present (any value), False if missing."""
    if path is None:
        return UNDEFINED
    return bool(_walk(data, path))
