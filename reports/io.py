"""Atomic writes — a report file is replaced whole or not at all (``oracles.checks.files``) — and the
one check, before any work, that an output folder can be written (``unwritable``)."""

from __future__ import annotations

import os
from pathlib import Path

from backprop_reference.oracles.checks.files import write_bytes_atomic

__all__ = ["unwritable", "write_atomic", "write_bytes_atomic"]


def write_atomic(path: Path, text: str) -> None:
    """``write_bytes_atomic`` for UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))


def unwritable(folder: Path, option: str = "--out") -> str | None:
    """Why no report can be written into ``folder`` (``"--out DIR: cannot write there (…)"``), or
    None after creating it and writing (and removing) a file there: every command asks before any work."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        probe = Path(folder) / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return f"{option} {folder}: cannot write there ({type(error).__name__}: {error.strerror or error})"
    return None
