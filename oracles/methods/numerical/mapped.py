"""Many evaluations of an f written against ``xp`` at once: ``jax.vmap`` under ``jax.jit``.

The numerical oracles move one element at a time to a few stencil points and
evaluate E there: 6 real evaluations per element for Richardson, 4 for central
differences, 1 complex one for the complex step.  The plain loop
(``evaluators.Loop``) pays Python's and NumPy's call overhead on every one;
here a chunk of moved points is one call: θ (every differentiated leaf,
concatenated) with element kᵢ set to vᵢ, for each (kᵢ, vᵢ) of the chunk, and
f mapped over the chunk by ``jax.vmap`` and compiled once per chunk shape
(``jax.jit``, x64 on and full-precision products:
``reference.precision.jax_float64``).  What stays the same: the stencils, the
kink finding (``stencils.jumped``: E at θ comes from the same compiled
function as E at the points, so their differences are f's own), the error
estimates.

The jax form must be the NumPy form to rounding: before it is used, E at θ
and at two moved points are compared with the NumPy loop's, and the complex
step's values with NumPy's complex ones; any difference beyond rounding (or
an f that cannot be traced, mapped or compiled — a write into its input, a
Python branch on a value) keeps the plain loop, and the verdict's note says
why (``FunctionProblem.evaluator``).  Nothing here changes a global setting.

Chunks: ``CHUNK_BYTES`` of moved copies of θ per call (each point is a whole
copy of every leaf: its memory traffic, not its arithmetic, bounds a small
f), between ``MIN_CHUNK`` and ``MAX_CHUNK`` points; the last chunk is padded
with θ itself.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.frameworks import OracleCannotRun, describe
from backprop_reference.oracles.methods.jax_oracle import JAX
from backprop_reference.oracles.methods.numerical.stencils import Job, safely
from backprop_reference.oracles.methods.progress import progress
from backprop_reference.reference.precision import jax_float64

CHUNK_BYTES = 16 * 2**20  # measured fastest on a 2-core Xeon for a 6,000-element θ (make bench): the chunk stays in cache
MIN_CHUNK, MAX_CHUNK = 8, 512
EPS = float(np.finfo(np.float64).eps)
AGREEMENT = 1e3  # the jax and NumPy forms must agree within AGREEMENT · ε · max(|E|, 1, E's terms)


def _split(data: Any) -> tuple[list[np.ndarray], Callable[[Sequence], Any]]:
    """The NumPy arrays in ``data`` (passed to the compiled function as arguments, not
    baked into it as constants), and how to put them back among the other leaves."""
    arrays = [leaf for _, leaf in trees.leaves(data, "data") if isinstance(leaf, np.ndarray)]

    def rebuild(converted: Sequence) -> Any:
        remaining = iter(converted)
        return trees.map_leaves(data, lambda _, leaf: next(remaining) if isinstance(leaf, np.ndarray) else leaf, "data")

    return arrays, rebuild


class Mapped:
    """E of a function problem at many moved elements per call; the ``Evaluator``
    interface of ``stencils.differentiate`` (``leaves``, ``E0``, ``fixed``, ``run``,
    ``at``).  ``complex``: the points are complex (θ + ih), for the complex step.
    Raises ``OracleCannotRun`` where f's jax form cannot be mapped."""

    sees_kinks = False

    def __init__(self, problem, *, complex_: bool = False):
        self.leaves = list(problem.leaves)
        self.finds_kinks = not complex_
        self._dtype = np.complex128 if complex_ else np.float64
        self._offsets = np.concatenate([[0], np.cumsum([leaf.size for leaf in self.leaves])]).astype(np.int64)
        with jax_float64():
            fn, data = problem.function(JAX)
            arrays, rebuild = _split(data)
            self._arrays = [jnp.asarray(a) for a in arrays]
            self._theta = jnp.asarray(np.concatenate([leaf.reshape(-1) for leaf in self.leaves]).astype(self._dtype))
        n = int(self._offsets[-1])
        itemsize = np.dtype(self._dtype).itemsize
        self.chunk = int(min(MAX_CHUNK, max(MIN_CHUNK, CHUNK_BYTES // max(1, n * itemsize))))
        shapes, offsets = [leaf.shape for leaf in self.leaves], self._offsets
        positions = jnp.arange(n)

        def batch(theta, ks, vs, arrays):
            data = rebuild(arrays)

            def one(k, v):
                moved = jnp.where(positions == k, v, theta)  # θ with element k at v
                leaves = [moved[offsets[i]:offsets[i + 1]].reshape(shape) for i, shape in enumerate(shapes)]
                return fn(leaves, data)

            return jax.vmap(one)(ks, vs)

        self._compiled = jax.jit(batch)
        self._E0 = None

    def _call(self, ks: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """E at θ with element ``ks[j]`` (of θ concatenated) at ``vs[j]``, for every j."""
        with jax_float64():
            try:
                E = self._compiled(self._theta, jnp.asarray(ks), jnp.asarray(vs.astype(self._dtype)), self._arrays)
                E = np.asarray(jax.block_until_ready(E))
            except OracleCannotRun:
                raise
            except Exception as error:  # noqa: BLE001 — f cannot be mapped: the caller keeps the loop
                raise OracleCannotRun(f"f could not be evaluated under jax.vmap: {describe(error)}") from error
        if E.shape != ks.shape:
            raise OracleCannotRun(f"f returned shape {E.shape[1:]} under jax.vmap, not a scalar")
        # a point where f is not finite is off its domain: the stencils judge that element one-sided, or not at all
        return E if self._dtype == np.complex128 else E.real.astype(np.float64)

    def chunked(self, ks: np.ndarray, vs: np.ndarray, tick: Callable[[int], None] = lambda n: None) -> np.ndarray:
        """``_call`` in chunks of ``self.chunk`` points, the last padded with θ itself."""
        out = np.empty(ks.shape, dtype=self._dtype)
        theta0 = np.asarray(self._theta[0])
        for start in range(0, ks.size, self.chunk):
            k, v = ks[start:start + self.chunk], vs[start:start + self.chunk]
            pad = self.chunk - k.size
            if pad:
                k, v = np.concatenate([k, np.zeros(pad, dtype=k.dtype)]), np.concatenate([v, np.full(pad, theta0, dtype=v.dtype)])
            out[start:start + self.chunk] = self._call(k, v)[: self.chunk - pad]
            tick(self.chunk - pad)
        return out

    @property
    def E0(self):
        if self._E0 is None:
            self._E0 = self.chunked(np.zeros(1, dtype=np.int64), np.asarray([np.asarray(self._theta[0])]))[0]
        return self._E0

    def fixed(self, i: int) -> None:
        return None

    def at(self, i: int, k: int, value) -> tuple[Any, bytes]:
        """E with element k of leaf i at ``value`` (a kink's one-sided steps)."""
        return self._single(int(self._offsets[i]) + int(k), value), b""

    def _single(self, k: int, value) -> Any:
        return self._call(np.asarray([k], dtype=np.int64), np.asarray([value]))[0]  # a chunk of one: its own small compilation

    def run(self, jobs: list[Job]) -> None:
        total = sum(job.flat.size * job.count for job in jobs)
        with progress(total, "f: stencil points") as tick:
            for job in jobs:
                points = job.points(job.flat)  # (Q, count)
                ks = np.repeat(job.flat.astype(np.int64) + self._offsets[job.leaf], job.count)
                E = self.chunked(ks, points.reshape(-1), tick).reshape(points.shape)
                job.finish(job.flat, E, np.zeros(points.shape, dtype=bool))


def agreeing(mapped: Mapped, loop, scale: float) -> None:
    """The jax form is the NumPy form to rounding: E at θ, and at the first and last
    element moved by a small step, from both evaluators (``OracleCannotRun`` otherwise).
    The mapped points go in one chunk (no compilation for single points)."""
    allowed = AGREEMENT * EPS * scale
    complex_ = mapped._dtype == np.complex128
    last = len(mapped.leaves) - 1
    probes = [(0, 0), (last, mapped.leaves[last].size - 1)]
    values = []
    for i, k in probes:
        theta = mapped.leaves[i].reshape(-1)[k]
        values.append(theta + 1e-3 * max(1.0, abs(float(np.real(theta)))) + (1e-30j if complex_ else 0))
    ks = np.asarray([int(mapped._offsets[i]) + k for i, k in probes], dtype=np.int64)
    ours = mapped.chunked(ks, np.asarray(values))
    step = 1e-30 if complex_ else 1.0
    pairs = [(mapped.E0, loop.E0, "at x")] + [
        (o, safely(lambda i=i, k=k, v=v: loop.at(i, k, v)[0]), "at a moved point") for o, (i, k), v in zip(ours, probes, values)
    ]  # a NumPy f that raises there (off its domain) reads NaN, as its jax form's value does
    for mine, theirs, where in pairs:
        slope_gap = abs(np.imag(mine) - np.imag(theirs)) / step  # the complex step's derivative, from each form
        if abs(np.real(mine) - np.real(theirs)) > allowed or slope_gap > 1e-6 * max(abs(np.imag(theirs)) / step, 1.0):
            raise OracleCannotRun(f"f with xp=jax.numpy gives {mine!r} {where}, with xp=numpy {theirs!r}: not the same function to rounding")
