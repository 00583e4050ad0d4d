"""A JSON parser that remembers where every node is.

Theory of operation: a small recursive-descent parser driven by compiled regular expressions
(strings are decoded by the C ``json`` scanner, so escapes behave exactly as in the standard
library). While it builds ordinary Python values it records, for every node, the character
offset of the value and of its member key, keyed by the node's path (a tuple of keys and
indices). Offsets become ``line:col`` only when somebody asks, so valid files pay almost
nothing for the index.

Template mode adds what real deployment templates contain before expansion: a bare
placeholder as a value (``"timeToLiveSecs": ${TTL}``), returned as :class:`Placeholder`, and
``//`` / ``/* */`` comments (iotedgedev reads templates with commentjson). Duplicate keys are
kept (last one wins, as in Newtonsoft's and Python's parsers) and reported to the caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from iotedge_cli.diagnostics import JsonPath

_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_.]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
_BAD_STRING_CHAR = re.compile(r'[\x00-\x1f]|\\(?![\\"/bfnrt]|u[0-9a-fA-F]{4})')


@dataclass(frozen=True)
class Placeholder:
    """A bare (unquoted) template placeholder such as ``${TTL}`` standing in for a value."""

    text: str

    @property
    def name(self) -> str:
        return self.text[2:-1] if self.text.startswith("${") else self.text[1:]

    def __str__(self) -> str:
        return self.text


class JsonSyntaxError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass
class ParseResult:
    value: Any
    offsets: dict[JsonPath, int] = field(default_factory=dict)
    key_offsets: dict[JsonPath, int] = field(default_factory=dict)
    # (path, offset of the repeated key, offset of its first occurrence)
    duplicates: list[tuple[JsonPath, int, int]] = field(default_factory=list)
    placeholders: dict[JsonPath, Placeholder] = field(default_factory=dict)
    comments: list[int] = field(default_factory=list)


_TOKEN = re.compile(
    r'[ \t\n\r]*(?:("[^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*")'  # 1 string
    r"|(-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)(?![0-9A-Za-z_.])"  # 2 number (3 frac, 4 exp)
    r"|([{}\[\],:])"  # 5 punctuation
    r"|(true|false|null)(?![A-Za-z0-9_])"  # 6 literal
    r"|(\$\{[A-Za-z_][A-Za-z0-9_.]*\}|\$[A-Za-z_][A-Za-z0-9_]*)"  # 7 placeholder
    r"|(//[^\n]*|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/)"  # 8 comment
    r")",
    re.DOTALL,
)
_LITERALS = {"true": True, "false": False, "null": None}


def _describe(text: str, pos: int) -> str:
    if pos >= len(text):
        return "end of file"
    ch = text[pos]
    return "a line break" if ch in "\r\n" else repr(ch)


def _bad_token(text: str, pos: int, template: bool) -> JsonSyntaxError:
    """Explain why no token starts at ``pos`` (after skipping white space)."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    if pos >= len(text):
        return JsonSyntaxError("unexpected end of file", pos)
    ch = text[pos]
    if ch == '"':
        end = pos + 1
        while end < len(text) and text[end] not in '"\n':
            end += 2 if text[end] == "\\" else 1
        bad = _BAD_STRING_CHAR.search(text, pos + 1, max(end, pos + 1))
        if bad:
            what = "an invalid escape" if bad.group() == "\\" else "a control character"
            return JsonSyntaxError(f"{what} inside a string (escape it)", bad.start())
        return JsonSyntaxError("unterminated string", pos)
    if ch == "'":
        return JsonSyntaxError('strings must use double quotes (") in JSON', pos)
    if ch == "$":
        m = _PLACEHOLDER.match(text, pos)
        shown = m.group() if m else "$"
        return JsonSyntaxError(
            f"unquoted placeholder {shown!r} is not JSON; expand the template with "
            "`edgectl manifest generate` first",
            pos,
        )
    if ch == "/" and not template:
        return JsonSyntaxError("comments are not allowed in JSON", pos)
    if ch == "-" or ch.isdigit():
        return JsonSyntaxError("invalid number", pos)
    return JsonSyntaxError(f"expected a value, found {_describe(text, pos)}", pos)


def _parse(text: str, template: bool) -> ParseResult:
    """Iterative parser: one regex match per token, an explicit stack for containers."""
    res = ParseResult(value=None)
    offsets = res.offsets
    key_offsets = res.key_offsets
    match = _TOKEN.match
    n = len(text)
    pos = 0
    # Stack entries: [container, path, state, key]; state for objects: 0 expect key or '}',
    # 1 expect ':', 2 expect value, 3 expect ',' or '}', 4 expect key (after a comma);
    # for arrays: 0 expect value or ']', 2 expect value (after a comma), 3 expect ',' or ']'.
    stack: list[list[Any]] = []
    root: Any = None
    have_root = False
    while True:
        m = match(text, pos)
        if m is None:
            if not text[pos:].strip(" \t\r\n"):
                break
            raise _bad_token(text, pos, template)
        assert m.lastindex is not None
        tpos = m.start(m.lastindex)
        pos = m.end()
        g = m.lastindex
        if g == 8:
            if not template:
                raise JsonSyntaxError("comments are not allowed in JSON", tpos)
            res.comments.append(tpos)
            continue
        top = stack[-1] if stack else None
        if g == 5 and text[tpos] in ",:}]":
            ch = text[tpos]
            if top is None:
                raise JsonSyntaxError(
                    f"unexpected {ch!r} after the end of the document"
                    if have_root
                    else f"expected a value, found {ch!r}",
                    tpos,
                )
            state = top[2]
            is_obj = type(top[0]) is dict
            if ch == ",":
                if state != 3:
                    raise JsonSyntaxError("unexpected ','", tpos)
                top[2] = 4 if is_obj else 2
                continue
            if ch == ":":
                if not is_obj or state != 1:
                    raise JsonSyntaxError("unexpected ':'", tpos)
                top[2] = 2
                continue
            if ch in "}]":
                want = "}" if is_obj else "]"
                if ch != want:
                    raise JsonSyntaxError(
                        f"expected {'property' if is_obj else 'value'} or {want!r}, found {ch!r}",
                        tpos,
                    )
                if state == 4 or (state == 2 and not is_obj):
                    raise JsonSyntaxError(
                        f"trailing comma before {ch!r} is not allowed in JSON", tpos
                    )
                if state not in (0, 3):
                    raise JsonSyntaxError(f"unexpected {ch!r}", tpos)
                stack.pop()
                if not stack:
                    have_root = True
                continue
        if top is not None:
            is_obj = type(top[0]) is dict
            state = top[2]
            if is_obj and state in (0, 4):
                if g != 1:
                    raise JsonSyntaxError(
                        f"expected a property name in double quotes, found {_describe(text, tpos)}",
                        tpos,
                    )
                raw = m.group(1)
                key = raw[1:-1] if "\\" not in raw else _decode(raw, tpos)
                path = (*top[1], key)
                if key in top[0]:
                    res.duplicates.append((path, tpos, key_offsets[path]))
                key_offsets[path] = tpos
                top[3] = key
                top[2] = 1
                continue
            if is_obj and state == 1:
                raise JsonSyntaxError(f"expected ':' after property name {top[3]!r}", tpos)
            if state == 3:
                want = "'}'" if is_obj else "']'"
                raise JsonSyntaxError(
                    f"expected ',' or {want}, found {_describe(text, tpos)}", tpos
                )
            path = (*top[1], top[3]) if is_obj else (*top[1], len(top[0]))
        else:
            if have_root:
                raise JsonSyntaxError(
                    f"unexpected {_describe(text, tpos)} after the end of the document", tpos
                )
            path = ()
        offsets[path] = tpos
        if g == 1:
            raw = m.group(1)
            value: Any = raw[1:-1] if "\\" not in raw else _decode(raw, tpos)
        elif g == 2:
            value = float(m.group(2)) if (m.group(3) or m.group(4)) else int(m.group(2))
        elif g == 6:
            value = _LITERALS[m.group(6)]
        elif g == 7:
            if not template:
                raise _bad_token(text, tpos, template)
            value = Placeholder(m.group(7))
            res.placeholders[path] = value
        else:  # '{' or '['
            value = {} if text[tpos] == "{" else []
        if top is not None:
            if type(top[0]) is dict:
                top[0][top[3]] = value
            else:
                top[0].append(value)
            top[2] = 3
        else:
            root = value
            have_root = g != 5
        if g == 5:
            stack.append([value, path, 0, None])
            if len(stack) > 1000:
                raise JsonSyntaxError("the document is nested too deeply", tpos)
    if stack:
        raise JsonSyntaxError(
            f"unexpected end of file: {'object' if type(stack[-1][0]) is dict else 'array'} not closed",
            n,
        )
    if not have_root:
        raise JsonSyntaxError("the file is empty; expected a JSON object", 0)
    res.value = root
    return res


def _decode(raw: str, pos: int) -> str:
    try:
        value: str = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(f"invalid string: {exc.msg}", pos + exc.pos) from None
    return value


def parse(text: str, *, template: bool = False) -> ParseResult:
    """Parse ``text``; raise :class:`JsonSyntaxError` with the offset of the first problem."""
    return _parse(text, template)


_SPACE = re.compile(r"[ \t\n\r]*")


def _ws(text: str, pos: int) -> int:
    """The offset of the first non-space character at or after ``pos``."""
    m = _SPACE.match(text, pos)
    return m.end() if m else pos


def locate(text: str, path: JsonPath) -> tuple[int, int | None, int]:
    """Find ``path`` in *strict* JSON ``text`` without building an index.

    Returns ``(value_offset, key_offset, depth)``: the offset of the deepest node found along
    ``path``, the offset of its member key (``None`` for array items and the root) and how many
    parts of ``path`` were matched. Sibling subtrees are skipped by the C scanner
    (``raw_decode``), so one lookup costs a fraction of a full positional parse. The text must
    have unique keys (the loader's fast path guarantees it).
    """
    decode = _DECODER.raw_decode
    pos = _ws(text, 0)
    key_pos: int | None = None
    for depth, part in enumerate(path):
        ch = text[pos : pos + 1]
        if ch == "{" and isinstance(part, str):
            pos = _ws(text, pos + 1)
            while text.startswith('"', pos):
                start = pos
                key, pos = _scanstring(text, pos + 1)
                pos = _ws(text, _ws(text, pos) + 1)  # past the ':'
                if key == part:
                    key_pos = start
                    break
                pos = _ws(text, decode(text, pos)[1])
                if text.startswith(",", pos):
                    pos = _ws(text, pos + 1)
            else:
                return _back(text, path, depth)
        elif ch == "[" and isinstance(part, int) and part >= 0:
            pos = _ws(text, pos + 1)
            for _ in range(part):
                if text.startswith("]", pos):
                    return _back(text, path, depth)
                pos = _ws(text, decode(text, pos)[1])
                if not text.startswith(",", pos):
                    return _back(text, path, depth)
                pos = _ws(text, pos + 1)
            if text.startswith("]", pos):
                return _back(text, path, depth)
            key_pos = None
        else:
            return _back(text, path, depth)
    return pos, key_pos, len(path)


def _back(text: str, path: JsonPath, depth: int) -> tuple[int, int | None, int]:
    """The location of the deepest ancestor that exists (``path[:depth]``)."""
    value, key, _ = locate(text, path[:depth])
    return value, key, depth


_DECODER = json.JSONDecoder()
# The C string scanner behind json (typeshed does not declare it; same signature as in CPython).
_scanstring: Callable[[str, int], tuple[str, int]] = getattr(json.decoder, "scanstring")  # noqa: B009
