"""Atomic writes: a report file is replaced whole or not at all (``oracles.files``)."""

from __future__ import annotations

from pathlib import Path

from oracles.files import write_bytes_atomic

__all__ = ["write_atomic", "write_bytes_atomic"]


def write_atomic(path: Path, text: str) -> None:
    """``write_bytes_atomic`` for UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))
