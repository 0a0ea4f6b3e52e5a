"""Where the stencils' objective is evaluated: two ways, one interface.

* ``Loop`` — one element at a time: the element is set in a work array,
  E is evaluated in full, the element is put back.  Works for any function
  (``check_gradient``), and for a network it is the baseline the benchmark
  compares the batches with (``network_loop``).
* ``NetworkBatches`` — a network's objective at many moved elements at once,
  reusing the unmoved forward pass below each moved layer
  (``oracles.methods.numerical.network_batches``); the same E to rounding, much
  faster.  Single points (the kink brackets) go to a ``network_loop``.

Both give ``stencils.differentiate`` the same thing: E at the stencil points
and whether each point changed the kink pattern (which side of its kink each
relu/leaky_relu unit is on, and each maxout unit's winning piece).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from backprop_reference.oracles.methods.numerical.network_batches import Job as BatchJob
from backprop_reference.oracles.methods.trees import network_slots
from backprop_reference.oracles.methods.numerical.network_batches import Objective
from backprop_reference.oracles.methods.numerical.stencils import Job, failure, safely
from backprop_reference.oracles.methods.progress import progress
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import _forward, objective_from


class Loop:
    """E as a function of ``work`` (one array per leaf, moved in place one
    element at a time); ``evaluate()`` returns ``(E, kink pattern)``, the
    pattern ``b""`` where kinks are not seen.  ``theta``: the real point when
    ``work`` is a complex copy of it; ``fixed``: per leaf, the elements that
    move nothing (masked weights), or None; ``sees_kinks``: ``evaluate`` gives
    the kink pattern; ``finds_kinks``: E is opaque, and its kinks are found
    from its values."""

    def __init__(
        self,
        work: Sequence[np.ndarray],
        evaluate: Callable[[], tuple[Any, bytes]],
        *,
        theta: Sequence[np.ndarray] | None = None,
        fixed: Sequence[np.ndarray | None] | None = None,
        sees_kinks: bool = False,
        finds_kinks: bool = False,
    ):
        self.work = list(work)
        if not all(w.flags.c_contiguous for w in self.work):
            raise ValueError("the work arrays must be C-contiguous: one element is moved through a flat view")
        self.leaves = list(theta) if theta is not None else [w.copy() for w in self.work]
        self.evaluate = evaluate
        self._fixed = list(fixed) if fixed is not None else [None] * len(self.work)
        self.sees_kinks = sees_kinks
        self.finds_kinks = finds_kinks  # an opaque function: its kinks are found from its values (stencils.jumped)
        self._E0: tuple[Any, bytes] | None = None
        self.failures: dict[tuple[int, int], str] = {}  # (leaf, flat index) -> the first exception f raised with it moved

    def failed(self, i: int, k: int, value, error: BaseException) -> None:
        """f raised with element k of leaf i at ``value`` (off its domain): E is NaN there, and
        the first such exception per element is kept for the verdict (``stencils.Outside``)."""
        self.failures.setdefault((i, int(k)), failure(error))

    def _unmoved(self) -> tuple[Any, bytes]:
        if self._E0 is None:
            self._E0 = self.evaluate()
        return self._E0

    @property
    def E0(self):
        return self._unmoved()[0]

    def fixed(self, i: int) -> np.ndarray | None:
        return self._fixed[i]

    def at(self, i: int, k: int, value) -> tuple[Any, bytes]:
        flat = self.work[i].reshape(-1)  # a view: the work arrays are C-contiguous
        saved = flat[k]
        flat[k] = value
        try:
            return self.evaluate()
        finally:
            flat[k] = saved

    def run(self, jobs: list[Job]) -> None:
        pattern = self._unmoved()[1]
        with progress(sum(job.flat.size * job.count for job in jobs), "stencil points, one at a time") as tick:
            for job in jobs:
                points = job.points(job.flat)
                E, changed = [], np.zeros(points.shape, dtype=bool)
                for q, k in enumerate(job.flat):
                    row = []
                    for s, value in enumerate(points[q]):
                        moved = safely(lambda: self.at(job.leaf, int(k), value),
                                       lambda error: self.failed(job.leaf, int(k), value, error))
                        E_s, p_s = moved if isinstance(moved, tuple) else (moved, pattern)  # NaN where f raised: off its domain
                        row.append(E_s)
                        changed[q, s] = p_s != pattern
                    E.append(row)
                    tick(job.count)
                job.finish(job.flat, np.array(E).reshape(points.shape), changed)


# --- networks ------------------------------------------------------------------------------------


def kink_pattern(mlp: MLP, zs: list[np.ndarray]) -> bytes:
    """Which side of every kink each unit is on (and each maxout's winner)."""
    parts = []
    for l, z in enumerate(zs, start=1):
        activation = mlp.activation(l)
        for kink in activation.kinks:
            parts.append(np.packbits(z > kink).tobytes())
        if activation.pieces:
            parts.append(np.argmax(z, axis=-1).astype(np.int8).tobytes())
    return b"".join(parts)


def _has_kinks(mlp: MLP) -> bool:
    return any(a.kinks or a.pieces for a in (mlp.activation(l) for l in range(1, mlp.depth + 1)))


def network_fixed(mlp: MLP, params: Params) -> list[np.ndarray | None]:
    """Per leaf, the weights a mask holds at 0: moving one changes nothing."""
    return [None if which == 1 or mlp.mask(l) is None else mlp.mask(l) == 0 for l, which in network_slots(params)]


def network_loop(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> Loop:
    """The canonical objective ``reference.loss`` and its kink pattern, one
    element at a time on copies of ``params``."""
    work = [[np.array(W, order="C"), None if b is None else np.array(b, order="C")] for W, b in params]  # the loop writes through reshape(-1)
    kinks = _has_kinks(mlp)

    def evaluate() -> tuple[Any, bytes]:
        zs, _ = _forward(mlp, work, X)
        return objective_from(mlp, zs[-1], Y), (kink_pattern(mlp, zs) if kinks else b"")

    leaves = [work[l - 1][which] for l, which in network_slots(params)]
    return Loop(leaves, evaluate, fixed=network_fixed(mlp, params), sees_kinks=kinks)


class NetworkBatches:
    """A network's E at many moved elements per forward pass (``Objective``),
    with ``activation(l)`` and ``per_sample(y, z)`` the caller's: the canonical
    ones for the real stencils, the complex step's own for it.  ``points``
    become the moves (θ' − θ) the batches apply; single points go to ``probe``."""

    finds_kinks = False  # a network's kinks are seen (its units' pattern), never guessed

    def __init__(
        self, mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, *, dtype, activation: Callable[[int], Callable],
        per_sample: Callable[[np.ndarray, np.ndarray], np.ndarray], kinks: bool, probe: Loop | None = None,
    ):
        self.objective = Objective(mlp, params, X, Y, dtype=dtype, activation=activation, per_sample=per_sample, kinks=kinks)
        self._slots = network_slots(params)
        self.leaves = [params[l - 1][which] for l, which in self._slots]
        self._fixed = network_fixed(mlp, params)
        self._Y = Y
        self.sees_kinks = kinks
        self._probe = probe

    @functools.cached_property
    def E0(self):
        return np.mean(self.objective.per_sample(self._Y, self.objective.zs[-1]))  # the unmoved pass

    def fixed(self, i: int) -> np.ndarray | None:
        return self._fixed[i]

    def at(self, i: int, k: int, value) -> tuple[Any, bytes]:
        return self._probe.at(i, k, value)

    def run(self, jobs: list[Job], **options) -> None:
        batch_jobs = []
        for job in jobs:
            layer, which = self._slots[job.leaf]
            theta = self.leaves[job.leaf].reshape(-1)

            def moves(flat, job=job, theta=theta):
                return job.points(flat) - theta[flat][:, None]  # the representable moves θ' − θ

            batch_jobs.append(BatchJob(layer, which, job.flat, job.count, moves, job.finish))
        self.objective.run(batch_jobs, **options)
