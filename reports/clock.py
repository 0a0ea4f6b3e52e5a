"""The one timing harness: the report's timing section and ``make bench`` both time with it.

``measure(calls)`` times zero-argument callables that return when their work
is done (JAX results waited for, the GPU synchronised — the caller's job):

* ``warmups`` untimed calls of each first (first-call allocation, JAX's
  compilation, torch's initialisation); the first one's duration is kept;
* then rounds of one timed call each, the methods taking turns in an order
  that rotates every round, so load on a shared machine falls on all of them
  alike;
* at least ``rounds`` rounds; with ``seconds_wanted``, fast calls get more,
  up to ``most_rounds``, so that about that much time is timed;
* ``budget_s``: a method whose warm-up took over twice the budget is not
  timed at all, and one whose first timed call took over the budget gets no
  second — each says so in its note.

Each timed call records its wall time (``time.perf_counter``) and the
process's CPU time (``time.process_time``, all threads): on a shared machine
the CPU time shows the work when other processes take a core.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Hashable, Mapping


@dataclass
class Samples:
    """One method's timed calls (wall and CPU seconds), its first warm-up, a note."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    warmup_s: float | None = None
    note: str = ""
    done: bool = False  # no more rounds wanted

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def minimum(self) -> float:
        return min(self.wall)

    @property
    def best(self) -> tuple[float, float]:
        """(wall, CPU) seconds of the fastest call."""
        return min(zip(self.wall, self.cpu))


def _timed(call: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(
    calls: Mapping[Hashable, Callable[[], object]],
    *,
    warmups: int = 1,
    rounds: int = 1,
    most_rounds: int | None = None,
    seconds_wanted: float | None = None,
    budget_s: float | None = None,
) -> dict[Hashable, Samples]:
    """Time every call (module docstring); ``Samples`` per key, in ``calls``' order."""
    samples = {key: Samples() for key in calls}
    for key, call in calls.items():
        for n in range(warmups):
            seconds, _ = _timed(call)
            if n == 0:
                samples[key].warmup_s = seconds
        warm = samples[key].warmup_s
        if budget_s is not None and warm is not None and warm > 2 * budget_s:
            samples[key].wall, samples[key].cpu = [warm], [math.nan]
            samples[key].note = f"warm-up call only (first-call costs included): it took {warm:.2g} s, over twice the budget {budget_s:g} s"
            samples[key].done = True
    keys = list(calls)
    most = most_rounds if most_rounds is not None else rounds
    for r in range(most):
        order = keys[r % len(keys):] + keys[: r % len(keys)]
        pending = [key for key in order if not samples[key].done]
        if not pending:
            break
        for key in pending:
            wall, cpu = _timed(calls[key])
            s = samples[key]
            s.wall.append(wall)
            s.cpu.append(cpu)
            if budget_s is not None and s.wall[0] > budget_s:
                s.note = f"one timed call only: it took {s.wall[0]:.2g} s, over the budget {budget_s:g} s"
                s.done = True
                continue
            wanted = rounds
            if seconds_wanted is not None:
                wanted = min(most, max(rounds, math.floor(seconds_wanted / s.wall[0])))
            if len(s.wall) >= wanted:
                s.done = True
    return samples
