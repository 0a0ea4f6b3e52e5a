"""Atomic writes, written once: a file is replaced whole or not at all.

Golden files, Taylor plots and the report's files all go through here
(``reports.io`` re-exports it): a temporary file beside the target, flushed
and synced, made readable as the umask allows, then renamed over it; an
interruption leaves any previous file intact.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic_with(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(handle)`` on a temporary binary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; these files are for reading
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    write_atomic_with(path, lambda handle: handle.write(data))
