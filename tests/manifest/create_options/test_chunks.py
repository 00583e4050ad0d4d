"""split/join of createOptions chunks and the agent's chunk-naming rules."""

from __future__ import annotations

import json

import pytest

from iotedge_cli.manifest import createoptions as co


def test_split_names_and_sizes() -> None:
    text = "x" * (512 * 2 + 7)
    chunks = co.split_create_options(text)
    assert list(chunks) == ["createOptions", "createOptions01", "createOptions02"]
    assert [len(v) for v in chunks.values()] == [512, 512, 7]


def test_split_exactly_512_is_one_chunk() -> None:
    assert co.split_create_options("a" * 512) == {"createOptions": "a" * 512}
    assert list(co.split_create_options("a" * 513)) == ["createOptions", "createOptions01"]


def test_split_empty() -> None:
    assert co.split_create_options("") == {"createOptions": ""}


def test_split_counts_characters_not_bytes() -> None:
    text = "é😀" * 300  # 600 characters, 1800 UTF-8 bytes
    chunks = co.split_create_options(text)
    assert [len(v) for v in chunks.values()] == [512, 88]
    assert all(len(v.encode("utf-8")) <= co.CHUNK_MAX_BYTES for v in chunks.values())
    assert co.join_create_options(chunks) == text


@pytest.mark.parametrize("n_chunks", [1, 2, 8, 9, 12, 100])
def test_round_trip(n_chunks: int) -> None:
    text = "".join(chr(0x41 + i % 26) for i in range(512 * (n_chunks - 1) + 3))
    chunks = co.split_create_options(text)
    assert len(chunks) == n_chunks
    assert list(chunks)[-1] == co.chunk_name(n_chunks - 1)
    assert co.join_create_options({"image": "x", **chunks}) == text
    assert co.naming_problems(list(chunks)) == []


def test_eight_and_nine_chunks_of_json() -> None:
    value = {"Env": [f"V{i:03d}={'x' * 40}" for i in range(90)]}
    text = co.stringify_create_options(value)
    chunks = co.split_create_options(text)
    assert len(chunks) == 9 and len(chunks) > co.TOOL_MAX_CHUNKS
    assert json.loads(co.join_create_options(chunks) or "") == value
    fewer = co.split_create_options(co.stringify_create_options({"Env": value["Env"][:80]}))
    assert len(fewer) == 8


def test_split_refuses_more_than_100_chunks() -> None:
    with pytest.raises(co.CreateOptionsTooLargeError, match="needs 101 chunks"):
        co.split_create_options("x" * (512 * 100 + 1))


def test_join_uses_the_agents_order_and_ignores_other_settings() -> None:
    settings = {"createOptions01": "b", "image": "i", "CREATEOPTIONS": "a", "createOptions02": "c"}
    assert co.join_create_options(settings) == "abc"
    assert co.join_create_options({"image": "i"}) is None


def test_join_rejects_objects() -> None:
    with pytest.raises(TypeError):
        co.join_create_options({"createOptions": {"HostConfig": {}}})


def test_stringify_is_compact() -> None:
    assert (
        co.stringify_create_options({"HostConfig": {"Privileged": True}})
        == '{"HostConfig":{"Privileged":true}}'
    )


@pytest.mark.parametrize(
    ("keys", "fatal_key", "fragment"),
    [
        (
            ["createOptions", "createOptions01", "createOptions03"],
            "createOptions03",
            "out of sequence",
        ),
        (["createOptions01", "createOptions02"], "createOptions01", "without a first chunk"),
        (["createOptions", "createOptionsOld"], "createOptionsOld", "contains 'createOptions'"),
        (["createOptions", "createOptions02"], "createOptions02", "must be 'createOptions01'"),
    ],
)
def test_naming_fatal(keys: list[str], fatal_key: str, fragment: str) -> None:
    ordered = [k for k, _ in co.find_chunks(dict.fromkeys(keys, ""))]
    problems = [p for p in co.naming_problems(ordered) if p.fatal]
    assert len(problems) == 1
    assert problems[0].key == fatal_key
    assert fragment in problems[0].message


def test_naming_accepted_but_not_canonical() -> None:
    problems = co.naming_problems(["createoptions", "createOptions1"])
    assert [(p.key, p.fatal) for p in problems] == [
        ("createoptions", False),
        ("createOptions1", False),
    ]


def test_ten_chunks_with_one_digit_names_break_the_order() -> None:
    keys = ["createOptions", *[f"createOptions{i}" for i in range(1, 11)]]
    ordered = [k for k, _ in co.find_chunks(dict.fromkeys(keys, ""))]
    fatal = [p for p in co.naming_problems(ordered) if p.fatal]
    assert fatal and fatal[0].key == "createOptions10"  # sorts before createOptions2
