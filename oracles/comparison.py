"""Compare an implementation's gradients with an oracle's and say where they differ.

The oracle is ``desired``.  The result is a frozen record that names the worst
element of every parameter (``W^2[3, 1]``), both values, the errors and the
tolerance, with a readable message and an ``assert_`` form for pytest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracles.tolerances import Tolerance, tolerance_for


@dataclass(frozen=True)
class ParameterComparison:
    """The worst element of one parameter array."""

    name: str  # "W^2" or "b^1"
    index: tuple[int, ...]
    actual: float
    desired: float
    abs_error: float
    error: float  # normalised: abs_error / scale

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

    def message(self) -> str:
        w = self.worst
        verdict = "agree" if self.ok else "DISAGREE"
        return (
            f"{self.implementation} and {self.oracle} {verdict} ({self.dtype}): worst element {w.element}: "
            f"{self.implementation} = {w.actual!r}, {self.oracle} = {w.desired!r}, "
            f"|difference| = {w.abs_error:.3e}, normalised error {self.error:.3e} "
            f"(scale {self.scale:.3e}) vs tolerance {self.tolerance.limit:.0e}"
        )

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


def compare(
    actual: list,
    desired: list,
    *,
    implementation: str,
    oracle: str,
    tolerance: Tolerance | None = None,
) -> Comparison:
    """Compare two canonical gradient lists ``[(dW^1, db^1), …]``; ``desired`` is the oracle."""
    actual_named, desired_named = named_arrays(actual, "actual"), named_arrays(desired, "desired")
    if [n for n, _ in actual_named] != [n for n, _ in desired_named]:
        raise ValueError(
            f"actual holds {[n for n, _ in actual_named]}, desired {[n for n, _ in desired_named]}"
        )
    names = [n for n, _ in actual_named]
    actual_arrays, desired_arrays = [a for _, a in actual_named], [d for _, d in desired_named]
    for name, a, d in zip(names, actual_arrays, desired_arrays):
        if a.shape != d.shape:
            raise ValueError(f"{name}: actual has shape {a.shape}, desired {d.shape}")
    dtype = actual_arrays[0].dtype
    if tolerance is None:
        tolerance = tolerance_for(dtype, oracle)
    # The scale comes from the oracle's finite values; a non-finite value on
    # either side is a failure at that element, never silently ignored.
    G = max((float(np.max(np.abs(d[np.isfinite(d)]))) if np.any(np.isfinite(d)) else 0.0) for d in desired_arrays)
    scale = max(G, tolerance.floor)
    records = []
    for name, a, d in zip(names, actual_arrays, desired_arrays):
        a64, d64 = a.astype(np.float64), d.astype(np.float64)
        bad = ~(np.isfinite(a64) & np.isfinite(d64))
        if np.any(bad):
            k = np.unravel_index(int(np.argmax(bad)), bad.shape)
            abs_error = float("inf")
        else:
            diff = np.abs(a64 - d64)
            k = np.unravel_index(int(np.argmax(diff)), diff.shape)
            abs_error = float(diff[k])
        records.append(
            ParameterComparison(
                name, tuple(int(i) for i in k), float(a[k]), float(d[k]), abs_error, abs_error / scale
            )
        )
    error = max(r.error for r in records)
    return Comparison(
        implementation, oracle, dtype.name, bool(error <= tolerance.limit), error, tolerance, scale, tuple(records)
    )


def assert_agree(actual: list, desired: list, *, implementation: str, oracle: str, tolerance: Tolerance | None = None) -> Comparison:
    """``compare``, raising ``AssertionError`` with the worst element when they disagree."""
    result = compare(actual, desired, implementation=implementation, oracle=oracle, tolerance=tolerance)
    if not result.ok:
        raise AssertionError(result.message())
    return result


def resolves(desired: list, uncertainty: list, tolerance: Tolerance) -> bool:
    """Whether an oracle's own error estimate (shaped like its gradients)
    stays within ``tolerance``, measured like ``compare``'s error.  When it
    does not, the oracle cannot judge the gradient at that tolerance — a
    mismatch would say nothing about the implementation."""
    grads = [d for _, d in named_arrays(desired, "desired")]
    errors = [e for _, e in named_arrays(uncertainty, "uncertainty")]
    scale = max(max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads), tolerance.floor)
    return max(float(np.max(e)) if e.size else 0.0 for e in errors) / scale <= tolerance.limit
