"""Compare an implementation's gradients with an oracle's and say where they differ.

The oracle is ``desired``.  The result is a frozen record that names the worst
element of every parameter (``W^2[3, 1]``), both values, the absolute,
relative and normalised errors and the tolerance, with a readable message and
an ``assert_`` form for pytest.

A numerical oracle also passes its ``NumericalGradient``; then each element is
judged in one of three ways:

* **compared** — |actual − desired| ≤ limit × scale (``oracles.tolerances``);
* **not differentiable here** — the stencil crossed a relu/leaky_relu/maxout
  kink: the element passes if ``actual`` lies within the one-sided derivatives
  (± limit × scale), instead of being reported as a mismatch;
* **unresolved** — the oracle's own error estimate exceeds limit × scale, so it
  cannot judge the element at this tolerance; it is counted, not compared
  (another oracle has to decide it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracles.tolerances import Tolerance, oracle_kind, tolerance_for


@dataclass(frozen=True)
class ParameterComparison:
    """The worst element of one parameter array, and how its elements were judged."""

    name: str  # "W^2" or "b^1"
    index: tuple[int, ...]
    actual: float
    desired: float
    abs_error: float
    rel_error: float  # abs_error / |desired| (inf when desired is 0 and they differ)
    error: float  # normalised: abs_error / scale (for a kinked worst element: distance outside the bracket / scale)
    kinked_worst: bool  # the worst element is one where the oracle stepped across a kink
    kinks: int  # elements "not differentiable here"
    unresolved: int  # elements the oracle could not resolve to the tolerance

    @property
    def element(self) -> str:
        return f"{self.name}[{', '.join(str(i) for i in self.index)}]"


@dataclass(frozen=True)
class Comparison:
    """One check: an implementation against one oracle."""

    implementation: str
    oracle: str
    dtype: str
    ok: bool
    error: float  # worst normalised error over all parameters
    tolerance: Tolerance
    scale: float  # max(G, floor), the normaliser
    parameters: tuple[ParameterComparison, ...]

    @property
    def worst(self) -> ParameterComparison:
        return max(self.parameters, key=lambda p: p.error)

    @property
    def kinks(self) -> int:
        return sum(p.kinks for p in self.parameters)

    @property
    def unresolved(self) -> int:
        return sum(p.unresolved for p in self.parameters)

    def message(self) -> str:
        w = self.worst
        verdict = "agree" if self.ok else "DISAGREE"
        text = (
            f"{self.implementation} and {self.oracle} {verdict} ({self.dtype}): worst element {w.element}: "
            f"{self.implementation} = {w.actual!r}, {self.oracle} = {w.desired!r}, "
            f"|difference| = {w.abs_error:.3e} (relative {w.rel_error:.3e}), normalised error {self.error:.3e} "
            f"(scale {self.scale:.3e}) vs tolerance {self.tolerance.limit:.0e}"
        )
        if w.kinked_worst:
            text += f"; {w.element} is not differentiable here and {w.actual!r} lies outside its one-sided derivatives"
        if self.kinks:
            text += f"; {self.kinks} element(s) not differentiable here, judged by their one-sided derivatives"
        if self.unresolved:
            text += f"; {self.unresolved} element(s) unresolved by {self.oracle} at this tolerance"
        return text

    def __str__(self) -> str:
        return self.message()


def named_arrays(grads: list, argument: str) -> list[tuple[str, np.ndarray]]:
    """``[("W^1", dW^1), ("b^1", db^1), …]``, leaving out absent (None) biases."""
    named = []
    for l, pair in enumerate(grads, start=1):
        for symbol, array in zip(("W", "b"), pair):
            if array is not None:
                named.append((f"{symbol}^{l}", np.asarray(array)))
    if not named:
        raise ValueError(f"{argument} holds no arrays")
    return named


def _aligned(actual: list, desired: list) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    actual_named, desired_named = named_arrays(actual, "actual"), named_arrays(desired, "desired")
    if [n for n, _ in actual_named] != [n for n, _ in desired_named]:
        raise ValueError(f"actual holds {[n for n, _ in actual_named]}, desired {[n for n, _ in desired_named]}")
    names = [n for n, _ in actual_named]
    for name, (_, a), (_, d) in zip(names, actual_named, desired_named):
        if a.shape != d.shape:
            raise ValueError(f"{name}: actual has shape {a.shape}, desired {d.shape}")
    return names, [a for _, a in actual_named], [d for _, d in desired_named]


def compare(
    actual: list,
    desired: list,
    *,
    implementation: str,
    oracle: str,
    tolerance: Tolerance | None = None,
    numerical=None,
) -> Comparison:
    """Compare two canonical gradient lists ``[(dW^1, db^1), …]``; ``desired`` is the oracle.

    ``numerical`` (a ``NumericalGradient`` whose ``gradients`` are ``desired``)
    adds the oracle's error estimates and kink brackets."""
    names, actual_arrays, desired_arrays = _aligned(actual, desired)
    dtype = actual_arrays[0].dtype
    if (
        tolerance is None
        and dtype == np.float32
        and desired_arrays[0].dtype != np.float64
        and oracle_kind(oracle) not in ("analytic",)
    ):
        raise ValueError(
            f"a float32 implementation is judged against a float64 oracle: run {oracle!r} on "
            f"float64 copies of the parameters (oracles.check_network_gradients does)"
        )
    if tolerance is None:
        tolerance = tolerance_for(dtype, oracle)
    extras = [[None] * len(names) for _ in range(4)]
    if numerical is not None:
        extras = [
            [e for _, e in named_arrays(getattr(numerical, field), field)]
            for field in ("errors", "kinked", "lower", "upper")
        ]
    finite = [d[np.isfinite(d)] for d in desired_arrays]
    G = max((float(np.max(np.abs(f))) if f.size else 0.0) for f in finite)
    scale = max(G, tolerance.floor)
    allowed = tolerance.limit * scale
    records = []
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # non-finite values are judged below
        for name, a, d, err, kinked, lower, upper in zip(names, actual_arrays, desired_arrays, *extras):
            records.append(_judge(name, a, d, err, kinked, lower, upper, allowed, scale))
    error = max(r.error for r in records)
    return Comparison(
        implementation, oracle, dtype.name, bool(error <= tolerance.limit), error, tolerance, scale, tuple(records)
    )


def _judge(name, a, d, err, kinked, lower, upper, allowed: float, scale: float) -> ParameterComparison:
    """The worst element of one parameter array, by the three categories above."""
    a64, d64 = a.astype(np.float64), d.astype(np.float64)
    kinked = np.zeros(a.shape, dtype=bool) if kinked is None else kinked
    unresolved = np.zeros(a.shape, dtype=bool) if err is None else (~kinked & (err > allowed))
    judged = ~kinked & ~unresolved
    badness = np.where(judged, np.abs(a64 - d64), 0.0)
    if np.any(kinked):
        outside = np.maximum(np.maximum(lower - a64, a64 - upper), 0.0)
        badness = np.where(kinked, outside, badness)
    badness = np.where(np.isfinite(a64) & (np.isfinite(d64) | kinked | unresolved), badness, np.inf)
    if not badness.size:
        return ParameterComparison(name, (), 0.0, 0.0, 0.0, 0.0, 0.0, False, 0, 0)
    k = np.unravel_index(int(np.argmax(badness)), badness.shape)
    worst_bad = float(badness[k])
    abs_error = float(abs(a64[k] - d64[k])) if np.isfinite(worst_bad) else float("inf")
    rel_error = abs_error / abs(float(d64[k])) if d64[k] != 0 else (0.0 if abs_error == 0 else float("inf"))
    return ParameterComparison(
        name, tuple(int(i) for i in k), float(a[k]), float(d[k]), abs_error, rel_error, worst_bad / scale,
        bool(kinked[k]), int(np.sum(kinked)), int(np.sum(unresolved)),
    )


def assert_agree(actual: list, desired: list, *, implementation: str, oracle: str, tolerance: Tolerance | None = None, numerical=None) -> Comparison:
    """``compare``, raising ``AssertionError`` with the worst element when they disagree."""
    result = compare(actual, desired, implementation=implementation, oracle=oracle, tolerance=tolerance, numerical=numerical)
    if not result.ok:
        raise AssertionError(result.message())
    return result
