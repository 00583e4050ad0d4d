"""(being written)"""

from __future__ import annotations


def generate() -> None:
    """(being written)"""
