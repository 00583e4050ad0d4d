"""``iotedge_cli.manifest.dotenv``: the .env subset solutions use, with every bad line reported."""

from __future__ import annotations

import pytest

from iotedge_cli.errors import InputError
from iotedge_cli.manifest.dotenv import parse_dotenv

GOOD = """\
# a comment

PLAIN=value
SPACED = spaced value   # trailing comment
export EXPORTED=yes
SINGLE='C:\\data "x" # not a comment'
DOUBLE="line1\\nline2 \\"q\\" \\\\"
EMPTY=
HASH=a#b
MULTI="first
second"
REF=${PLAIN}-${MISSING:-fallback}-${MISSING}
LITERAL='${PLAIN}'
"""


def test_good_lines() -> None:
    assert parse_dotenv(GOOD, ".env") == {
        "PLAIN": "value",
        "SPACED": "spaced value",
        "EXPORTED": "yes",
        "SINGLE": 'C:\\data "x" # not a comment',
        "DOUBLE": 'line1\nline2 "q" \\',
        "EMPTY": "",
        "HASH": "a#b",
        "MULTI": "first\nsecond",
        "REF": "value-fallback-",
        "LITERAL": "${PLAIN}",
    }


def test_interpolation_prefers_the_environment() -> None:
    assert parse_dotenv("A=${HOME_DIR}/x\n", ".env", {"HOME_DIR": "/home/u"}) == {"A": "/home/u/x"}


def test_every_bad_line_is_reported_with_file_and_line() -> None:
    text = "OK=1\nnot a pair\n=nokey\nQ='unclosed\n"
    with pytest.raises(InputError) as exc:
        parse_dotenv(text, "sol/.env")
    message = exc.value.message
    assert message.startswith("sol/.env:2: expected KEY=VALUE, found 'not a pair'")
    assert "sol/.env:3: expected KEY=VALUE" in message
    assert "sol/.env:4: Q: the ' quote is never closed" in message
    assert "\n" not in message
    assert exc.value.hint and "KEY=VALUE" in exc.value.hint


def test_text_after_closing_quote() -> None:
    with pytest.raises(InputError, match=r"\.env:1: A: unexpected text 'junk'"):
        parse_dotenv('A="v" junk\n', ".env")
