"""The language-neutral condition suite (``cases/conditions.json``) driving compile_condition.

See the ``comment`` at the top of the case file for its format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotedge_cli.routes.condition import ConditionError, compile_condition
from iotedge_cli.routes.message import Message

DATA: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "cases" / "conditions.json").read_text(encoding="utf-8")
)
CASES: list[dict[str, Any]] = DATA["cases"]
_CODECS = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}


def build_message(spec: dict[str, Any]) -> Message:
    sys = dict(spec.get("sys", {}))
    for key in ("contentType", "contentEncoding"):
        if key in spec:
            sys[key] = spec[key]
    codec = _CODECS.get(str(spec.get("contentEncoding", "utf-8")).lower(), "utf-8")
    if "body_text" in spec:
        body = spec["body_text"].encode(codec)
    elif "body" in spec:
        body = json.dumps(spec["body"]).encode(codec)
    else:
        body = b""
    return Message(body, sys, dict(spec.get("props", {})))


def message_for(case: dict[str, Any]) -> Message:
    spec = case["message"]
    return build_message(DATA["messages"][spec] if isinstance(spec, str) else spec)


def test_the_suite_is_large_enough() -> None:
    assert sum("expected" in c for c in CASES) >= 150
    assert sum("error" in c for c in CASES) >= 50


@pytest.mark.parametrize("case", CASES, ids=[c["condition"][:70] or "<empty>" for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    text = case["condition"]
    if "error" in case:
        with pytest.raises(ConditionError) as info:
            compile_condition(text)
        exc = info.value
        assert case["error"] in exc.reason, exc.reason
        assert exc.column == case["column"], exc.caret()
        assert exc.start < exc.end <= max(len(text), exc.start + 1)
        return
    condition = compile_condition(text)
    assert condition.evaluate(message_for(case)).value == case["expected"]
    warnings = [w.reason for w in condition.warnings]
    if "warning" in case:
        assert any(case["warning"] in w for w in warnings), warnings
    else:
        assert warnings == []
