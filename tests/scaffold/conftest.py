"""Scaffolding tests: the golden trees, and the option that refreshes them.

``pytest tests/scaffold --update-golden`` rewrites ``golden/<language>/`` from the templates;
review the result with ``git diff``. The golden files are generated code, not tests of ours.
"""

from __future__ import annotations

import pytest

collect_ignore_glob = ["golden/*"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/scaffold/golden/ from the templates instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    # getoption with a default: the option exists only when this conftest loaded at start-up
    return bool(request.config.getoption("--update-golden", default=False))
