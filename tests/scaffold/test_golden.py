"""Golden file trees: what `new-solution` + `new-module --lang L` writes, file by file.

Refresh with ``pytest tests/scaffold --update-golden`` and review the diff. A generated
``.gitignore`` is stored as ``_gitignore``: under its real name git would apply it to the
golden tree itself (and ignore the golden ``.env``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.scaffold.helpers import GOLDEN, LANGUAGES, scaffold, tree


def stored(rel: str) -> str:
    return "/".join("_gitignore" if part == ".gitignore" else part for part in rel.split("/"))


def test_every_packaged_language_is_covered() -> None:
    assert {"python", "node"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_generated_tree_matches_golden(tmp_path: Path, language: str, update_golden: bool) -> None:
    solution = scaffold(tmp_path, language)
    actual = {stored(rel): data for rel, data in tree(solution).items()}
    golden = GOLDEN / language
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        for rel, data in actual.items():
            target = golden / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return
    if not golden.is_dir():
        pytest.fail(f"no golden tree for {language}: run pytest tests/scaffold --update-golden")
    expected = tree(golden)
    assert sorted(actual) == sorted(expected), "file list differs from the golden tree"
    for rel, data in actual.items():
        assert data.decode("utf-8") == expected[rel].decode("utf-8"), f"{language}: {rel} differs"
