"""(being written)"""

from __future__ import annotations


def schema() -> None:
    """(being written)"""
