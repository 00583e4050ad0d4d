"""A small, strict ``.env`` reader (the subset of python-dotenv that solutions use).

Accepted lines: blank lines, ``# comments``, ``KEY=VALUE`` with an optional ``export``
prefix and spaces around ``=``. Values may be unquoted (a `` #`` starts a comment, trailing
blanks are dropped), single-quoted (literal, may span lines) or double-quoted (``\\n``,
``\\t``, ``\\"``, ``\\\\`` … escapes, may span lines). As in python-dotenv, ``${NAME}`` and
``${NAME:-default}`` inside unquoted and double-quoted values are interpolated, the process
environment first, then keys defined earlier in the file; an unknown name becomes ``""``.

Unlike python-dotenv, a line that is not one of these forms is an error, and every bad line
is reported (``file:line: …``) instead of being skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from iotedge_cli.errors import InputError

_KEY = re.compile(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.\-]*)[ \t]*=[ \t]*")
_INTERPOLATE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "f": "\f",
    "v": "\v",
    "a": "\a",
    "b": "\b",
}
_DOUBLE_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def parse_dotenv(text: str, name: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of a ``.env`` text, in file order; raise :class:`InputError` listing bad lines."""
    environ = environ or {}
    values: dict[str, str] = {}
    problems: list[str] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _KEY.match(line)
        if m is None:
            problems.append(f"{name}:{lineno}: expected KEY=VALUE, found {stripped[:40]!r}")
            continue
        key, rest = m.group(1), line[m.end() :]
        quote = rest[:1]
        if quote in ("'", '"'):
            body = rest[1:]
            # A quoted value may span lines: keep reading until the closing quote.
            end = _closing(body, quote)
            while end < 0 and i < len(lines):
                body += "\n" + lines[i]
                i += 1
                end = _closing(body, quote)
            if end < 0:
                problems.append(f"{name}:{lineno}: {key}: the {quote} quote is never closed")
                continue
            tail = body[end + 1 :].strip()
            if tail and not tail.startswith("#"):
                problems.append(
                    f"{name}:{lineno}: {key}: unexpected text {tail[:20]!r} after the closing quote"
                )
                continue
            raw = body[:end]
            # Single quotes are literal; double quotes take escapes and ${VAR}.
            value = raw if quote == "'" else _interpolate(_unescape(raw), environ, values)
        else:
            hash_at = re.search(r"[ \t]#", rest)
            raw = (rest[: hash_at.start()] if hash_at else rest).strip()
            value = _interpolate(raw, environ, values)
        values[key] = value
    if problems:
        more = (
            f" (and {len(problems) - 1} more: {'; '.join(problems[1:])})"
            if len(problems) > 1
            else ""
        )
        raise InputError(
            problems[0] + more,
            hint="each line must be KEY=VALUE (optionally `export KEY=VALUE`); quote values with spaces",
        )
    return values


def load_dotenv(
    path: Path, display: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    from iotedge_cli.manifest.loader import read_text

    return parse_dotenv(read_text(path, display), display, environ)


def _closing(body: str, quote: str) -> int:
    """Index of the closing quote in ``body`` (backslash escapes count in double quotes only)."""
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and quote == '"':
            i += 2
            continue
        if ch == quote:
            return i
        i += 1
    return -1


def _unescape(raw: str) -> str:
    return _DOUBLE_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw)


def _interpolate(value: str, environ: Mapping[str, str], earlier: Mapping[str, str]) -> str:
    if "${" not in value:
        return value

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        found = environ.get(name) or earlier.get(name)
        return found if found else (default or "")

    return _INTERPOLATE.sub(repl, value)
