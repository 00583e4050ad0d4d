"""Positions inside JSON string literals: from a character of the decoded value to the file.

Linters that analyse text stored in a JSON string (createOptions, routes) report findings at
the exact character of the file, so an offset into the decoded string is walked through the
literal's escapes (``\\"``, ``\\n``, ``\\u`` escapes, surrogate pairs).
"""

from __future__ import annotations

__all__ = ["file_offset"]


def file_offset(text: str, start: int, local: int) -> int:
    """File offset of character ``local`` of the JSON string literal at ``start``.

    Falls back to ``start`` when the node is not a string literal there.
    """
    if not text.startswith('"', start):
        return start
    pos = start + 1
    for _ in range(local):
        if pos >= len(text) or text[pos] == '"':
            return start
        if text[pos] != "\\":
            pos += 1
        elif text.startswith("\\u", pos):
            pos += 6
            if _surrogate(text, pos - 4, "89AB") and _surrogate(text, pos + 2, "CDEF"):
                pos += 6  # a surrogate pair decodes to one character
        else:
            pos += 2
    return pos


def _surrogate(text: str, at: int, second: str) -> bool:
    """``text[at:at+4]`` is hex D?xx with ? in ``second`` (and preceded by ``\\u``)."""
    return (
        text[at - 2 : at] == "\\u"
        and text[at : at + 1] in ("d", "D")
        and text[at + 1 : at + 2].upper() in tuple(second)
    )
