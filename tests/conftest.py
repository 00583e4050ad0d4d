"""Shared test fixtures: where the reference material is, and Docker gating."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture
def corpus_dir() -> Path:
    """``../shared/corpus`` (real public manifests); skip with a reason when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"reference corpus not present at {CORPUS}")
    return CORPUS


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"reference material not present at {SHARED}")
    return SHARED


def _docker_reachable() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=5)
    except Exception:
        return False
    try:
        client.ping()
    except Exception:
        return False
    finally:
        client.close()  # an unclosed client's socket surfaces later as a ResourceWarning
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Docker tests skip without an engine, except when EDGECTL_REQUIRE_DOCKER=1 (CI)."""
    if not any(item.get_closest_marker("docker") for item in items):
        return
    if os.environ.get("EDGECTL_REQUIRE_DOCKER") == "1" or _docker_reachable():
        return
    skip = pytest.mark.skip(
        reason="no Docker engine reachable (set EDGECTL_REQUIRE_DOCKER=1 to fail instead)"
    )
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(skip)
