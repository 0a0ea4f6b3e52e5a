"""A progress bar for long checks: on a terminal only, and only once a check has run a second.

``with progress(total, what) as tick: … tick(n)`` — ``tqdm`` on stderr when
stderr is a TTY, shown after ``DELAY_S`` (a quick check prints nothing); in a
log or under pytest's capture, nothing at all.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

DELAY_S = 1.0


@contextmanager
def progress(total: int, what: str) -> Iterator[Callable[[int], None]]:
    stream = sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield lambda n: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=what, unit="eval", delay=DELAY_S, leave=False, file=stream) as bar:
        yield bar.update
