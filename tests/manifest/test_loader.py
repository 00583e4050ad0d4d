"""The loader's position index: every finding's file:line:col comes from here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotedge_cli.errors import InputError
from iotedge_cli.manifest import jsonparse
from iotedge_cli.manifest.jsonparse import Placeholder
from iotedge_cli.manifest.loader import load_file, load_text


def where(
    text: str, path: tuple[str | int, ...], *, key: bool = False, name: str = "m.json"
) -> tuple[int, int]:
    loc = load_text(text, name).location(path, key=key)
    return loc.line, loc.col


def test_positions_of_values_and_keys() -> None:
    text = '{\n  "a": {\n    "b": [10, "x"]\n  }\n}\n'
    assert where(text, ("a",)) == (2, 8)
    assert where(text, ("a",), key=True) == (2, 3)
    assert where(text, ("a", "b", 1)) == (3, 15)
    assert where(text, ("a", "b"), key=True) == (3, 5)


def test_tabs_count_as_one_column() -> None:
    text = '{\n\t"a":\t{"b":\t1}\n}'
    assert where(text, ("a", "b")) == (2, 13)
    assert where(text, ("a", "b"), key=True) == (2, 8)


def test_crlf_line_endings() -> None:
    text = '{\r\n  "a": 1,\r\n  "b": 2\r\n}\r\n'
    assert where(text, ("b",)) == (3, 8)


def test_missing_path_falls_back_to_nearest_ancestor() -> None:
    text = '{\n  "a": {\n    "b": 1\n  }\n}'
    assert where(text, ("a", "zzz", "q")) == (2, 8)


def test_duplicate_keys_keep_last_and_record_both_places() -> None:
    doc = load_text('{"a": 1,\n "a": 2}', "d.json")
    assert doc.data == {"a": 2}
    [(path, offset, first)] = doc.duplicates
    assert path == ("a",)
    assert doc.line_col(offset) == (2, 2)
    assert doc.line_col(first) == (1, 2)


def test_bom_is_ignored() -> None:
    assert load_text('\ufeff{"a": 1}', "b.json").data == {"a": 1}


def test_template_mode_accepts_bare_placeholders_and_comments() -> None:
    doc = load_text('// note\n{"ttl": ${TTL}, /* x */ "n": $N}', "t.json")
    assert doc.data == {"ttl": Placeholder("${TTL}"), "n": Placeholder("$N")}
    assert doc.data["ttl"].name == "TTL"
    assert doc.location(("ttl",)).line == 2
    assert len(doc.comments) == 2


@pytest.mark.parametrize(
    ("text", "where_", "fragment"),
    [
        ('{"a": 1,}', "1:9", "trailing comma"),
        ("[1,]", "1:4", "trailing comma"),
        ('{"a" 1}', "1:6", "expected ':'"),
        ("{'a': 1}", "1:2", "double quotes"),
        ("", "1:1", "empty"),
        ('{"a": 1', "1:8", "not closed"),
        ('{"a": tru}', "1:7", "expected a value"),
        ('{"a": 01}', "1:7", "invalid number"),
        ('{"a": 1}}', "1:9", "after the end"),
        ('{"a": "\\q"}', "1:8", "invalid"),
        ('{\n  "a": "x\ty"\n}', "2:10", "control character"),
        ('{"a": "unterminated\n}', "1:7", "unterminated"),
        ('{"a": [1 2]}', "1:10", "expected ','"),
        ('{"ttl": ${TTL}}', "1:9", "unquoted placeholder"),
        ("// c\n{}", "1:1", "comments"),
    ],
)
def test_strict_json_errors_name_line_and_column(text: str, where_: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        load_text(text, "bad.json", template=False)
    assert info.value.message.startswith(f"bad.json:{where_}: invalid JSON: ")
    assert fragment in info.value.message


def test_parser_agrees_with_the_standard_library() -> None:
    text = json.dumps(
        {
            "s": 'é\\"\n\u2603',
            "n": [0, -1, 1.5, 2e10, -0.25e-3],
            "b": [True, False, None],
            "o": {"": {}},
        },
        ensure_ascii=False,
    )
    assert jsonparse.parse(text).value == json.loads(text)


def test_yaml_positions_and_duplicates() -> None:
    text = "modulesContent:\n  a: 1\n  b:\n    - x\n    - y\n  a: 2\n"
    doc = load_text(text, "m.yaml")
    assert doc.format == "yaml"
    assert doc.data == {"modulesContent": {"a": 2, "b": ["x", "y"]}}
    loc = doc.location(("modulesContent", "b", 1))
    assert (loc.line, loc.col) == (5, 7)
    assert [doc.line_col(o) for _, o, _ in doc.duplicates] == [(6, 3)]


def test_yaml_syntax_error_names_line_and_column() -> None:
    with pytest.raises(InputError) as info:
        load_text("a: [1, 2\nb: 3\n", "bad.yaml")
    assert info.value.message.startswith("bad.yaml:")
    assert "invalid YAML" in info.value.message


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_file(tmp_path / "missing.json")
    with pytest.raises(InputError, match="is a directory"):
        load_file(tmp_path)
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(InputError, match=r"latin1.json:1:8: not UTF-8"):
        load_file(bad)


def test_every_corpus_file_loads_with_positions(corpus_dir: Path) -> None:
    for path in sorted(corpus_dir.glob("*.json")):
        doc = load_file(path)
        assert isinstance(doc.data, dict), path.name
        # the lazily built index agrees with the fast path's data
        assert doc.location(()).line == 1 or doc.text.lstrip().startswith(("{", "/"))


def test_fast_locate_agrees_with_the_full_index_on_every_corpus_node(corpus_dir: Path) -> None:
    checked = 0
    for path in sorted(corpus_dir.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        try:
            json.loads(text)
        except ValueError:
            continue  # templates that are not JSON take the slow path, which builds the index
        full = jsonparse.parse(text)
        for node, offset in full.offsets.items():
            value, key, depth = jsonparse.locate(text, node)
            assert (value, depth) == (offset, len(node)), (path.name, node)
            if node and isinstance(node[-1], str):
                assert key == full.key_offsets[node], (path.name, node)
            checked += 1
    assert checked > 3000


def test_fast_locate_falls_back_to_the_nearest_ancestor() -> None:
    text = '{"a": {"b": [1, {"c": 2}]}, "z": 0}'
    assert jsonparse.locate(text, ("a", "b", 1, "c")) == (text.index("2"), text.index('"c"'), 4)
    assert jsonparse.locate(text, ("a", "b", 5)) == (text.index("[1"), text.index('"b"'), 2)
    assert jsonparse.locate(text, ("a", "nope", "x")) == (text.index('{"b"'), 1, 1)
    assert jsonparse.locate(text, ("z", "deeper")) == (text.index("0}"), text.index('"z"'), 1)
