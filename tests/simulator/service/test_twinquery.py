"""Target conditions: parse + evaluate (table-driven), and the errors for what is not supported."""

from __future__ import annotations

from typing import Any

import pytest

from iotedge_cli.simulator.hub.iothub.twinquery import (
    TwinQueryError,
    evaluate,
    matches,
    parse_condition,
)

TWIN: dict[str, Any] = {
    "deviceId": "edge-1",
    "status": "enabled",
    "capabilities": {"iotEdge": True},
    "tags": {"env": "prod", "site": {"floor": 3, "name": "Lab A"}, "beta": False, "n": 1.5},
    "properties": {"desired": {"$version": 4}, "reported": {"fw": "1.2"}},
}

CASES: list[tuple[str, bool | None]] = [
    ("tags.env = 'prod'", True),
    ("tags.env='prod'", True),
    ('tags.env = "prod"', True),
    ("tags.env = 'PROD'", False),  # string values are case-sensitive
    ("tags.ENV = 'prod'", None),  # and so are property names: undefined
    ("tags.env != 'dev'", True),
    ("tags.env <> 'prod'", False),
    ("tags.missing != 'x'", None),  # undefined, not true
    ("NOT tags.missing = 'x'", None),
    ("tags.site.floor = 3", True),
    ("tags.site.floor = 3.0", True),
    ("tags.site.floor = '3'", None),  # different types: undefined
    ("tags.site.name = 'Lab A'", True),
    ("tags.n = 1.5", True),
    ("tags.beta = false", True),
    ("tags.beta = FALSE", True),  # keywords and boolean literals ignore case
    ("deviceId = 'edge-1'", True),
    ("deviceId = 'EDGE-1'", False),
    ("capabilities.iotEdge = true", True),
    ("capabilities.iotEdge", True),
    ("tags.env", None),  # a bare non-boolean path
    ("properties.desired.$version = 4", True),
    ("properties.reported.fw = '1.2'", True),
    ("tags.env = 'prod' AND tags.site.floor = 3", True),
    ("tags.env = 'prod' and tags.site.floor = 4", False),
    ("tags.env = 'dev' OR tags.site.floor = 3", True),
    ("tags.env = 'dev' or tags.missing = 1", None),
    ("tags.env = 'prod' OR tags.missing = 1", True),
    ("tags.env = 'dev' AND tags.missing = 1", False),
    ("NOT tags.env = 'dev'", True),
    ("not (tags.env = 'prod' AND tags.beta = true)", True),
    ("tags.env = 'dev' OR tags.env = 'prod' AND tags.beta = true", False),  # AND binds first
    ("(tags.env = 'dev' OR tags.env = 'prod') AND tags.beta = false", True),
    ("NOT tags.env = 'dev' AND tags.beta = true", False),  # NOT binds tighter than AND
    ("tags.site.name = 'it\\'s'", False),
    ("tags.nothing = null", None),
    ("*", True),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_evaluate(text: str, expected: bool | None) -> None:
    cond = parse_condition(text)
    assert evaluate(cond, TWIN) is expected
    assert matches(cond, TWIN) is (expected is True)


def test_null_literal_compares_with_null() -> None:
    assert matches(parse_condition("tags.x = null"), {"tags": {"x": None}})


ERRORS: list[tuple[str, str, int]] = [
    ("", "empty", 1),
    ("tags.env = 'prod", "unterminated string", 12),
    ("tags.floor > 3", "operator '>' is not supported", 12),
    ("tags.env IN ['a', 'b']", "IN is not supported", 10),
    ("is_defined(tags.env)", "function is_defined() is not supported", 1),
    ("tags['env'] = 'x'", "[...] property access is not supported", 5),
    ("tags.env = 'a' tags.x = 'b'", "expected AND, OR or the end", 16),
    ("(tags.env = 'a'", "expected ')'", 16),
    ("tags.env = ", "expected a property path or a literal, found the end", 12),
    ("tags. = 'a'", "expected a property name", 7),
    ("tags.env # 'a'", "unexpected character '#'", 10),
    ("SELECT * FROM devices", "SELECT is not supported", 1),
]


@pytest.mark.parametrize(("text", "reason", "column"), ERRORS)
def test_unsupported_or_bad_syntax(text: str, reason: str, column: int) -> None:
    with pytest.raises(TwinQueryError) as info:
        parse_condition(text)
    assert reason in info.value.reason
    assert info.value.column == column
    lines = str(info.value).splitlines()
    assert lines[1] == f"  {text}"
    assert lines[2] == "  " + " " * (column - 1) + "^"
