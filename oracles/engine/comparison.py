"""One comparison: an implementation's gradient against one oracle's answer.

The oracle is ``desired``.  Every leaf is judged element by element (the
metric and its tolerance: ``oracles.engine.tolerances``), and the result is one
frozen ``Comparison`` that names the worst element (``W^2[3, 1]``,
``args[0]['b'][2]``), both values, the absolute, relative and normalised
errors and the tolerance.

A numerical oracle's ``Answer`` also carries error estimates and kink
brackets; then each element is judged in one of three ways:

* **compared** — |actual − desired| ≤ limit × scale;
* **not differentiable here** — the stencil crossed a relu/leaky_relu/maxout
  kink: the element passes if ``actual`` lies within the one-sided derivatives
  (± limit × scale), instead of being reported as a mismatch;
* **unresolved** — the oracle's own error estimate exceeds limit × scale, so it
  cannot judge the element at this tolerance; it is counted, not compared
  (another oracle has to decide it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.engine.tolerances import Tolerance, oracle_kind, rounding_allowance, tolerance_for


UNDERFLOW_ONLY = 1e-280  # a rounding bound no larger is the underflow allowance alone (8·tiny/ε): not worth a mention


@dataclass(frozen=True)
class LeafComparison:
    """The worst element of one leaf (``W^2``, ``x``), and how its elements were judged."""

    name: str
    index: tuple[int, ...]
    actual: float
    desired: float
    abs_error: float
    rel_error: float  # abs_error / |desired| (inf when desired is 0 and they differ)
    error: float  # normalised: abs_error / scale (for a kinked worst element: distance outside the bracket / scale)
    kinked_worst: bool  # the worst element is one where the oracle stepped across a kink
    kinks: int  # elements "not differentiable here"
    unresolved: int  # elements the oracle could not resolve to the tolerance
    compared: int  # elements judged
    scale: float = 1.0  # the worst element's S_k (oracles.engine.tolerances)
    bound: float = 0.0  # the worst element's rounding bound R_k (0 where none is known)
    magnitude: float = 0.0  # the largest finite |desired| in this leaf (the reference's size: has it vanished?)

    @property
    def element(self) -> str:
        return trees.element(self.name, self.index)


@dataclass(frozen=True)
class Comparison:
    """One check: an implementation against one oracle, over every leaf."""

    implementation: str
    oracle: str
    dtype: str  # the implementation's
    ok: bool
    error: float  # worst normalised error over all leaves
    tolerance: Tolerance
    scale: float  # the worst element's normaliser S_k = max(G, R_k / limit) (or max(G, floor))
    leaves: tuple[LeafComparison, ...]
    rounding: str = ""  # where the rounding bounds came from ("" where none was known: the floor stands in)

    @property
    def worst(self) -> LeafComparison:
        return max(self.leaves, key=lambda p: p.error)

    # the worst element, as the one-line record of a check reads it
    @property
    def element(self) -> str:
        return self.worst.element

    @property
    def actual(self) -> float:
        return self.worst.actual

    @property
    def desired(self) -> float:
        return self.worst.desired

    @property
    def kinks(self) -> int:
        return sum(p.kinks for p in self.leaves)

    @property
    def unresolved(self) -> int:
        return sum(p.unresolved for p in self.leaves)

    @property
    def compared(self) -> int:
        return sum(p.compared for p in self.leaves)

    def message(self) -> str:
        w = self.worst
        if not self.compared:
            return (
                f"{self.implementation} and {self.oracle} ({self.dtype}): no element judged — {self.oracle} left all "
                f"{self.unresolved} to the others (unresolved at this tolerance, or shown wrong in a dispute below)"
            )
        verdict = "agree" if self.ok else "DISAGREE"
        text = (
            f"{self.implementation} and {self.oracle} {verdict} ({self.dtype}): worst element {w.element}: "
            f"{self.implementation} = {w.actual!r}, {self.oracle} = {w.desired!r}, "
            f"|difference| = {w.abs_error:.3e} (relative {w.rel_error:.3e}), normalised error {self.error:.3e} "
            f"(scale {self.scale:.3e}) vs tolerance {self.tolerance.limit:.0e}"
        )
        if self.rounding and w.bound > UNDERFLOW_ONLY:
            text += f"; {w.element}'s rounding bound {w.bound:.3e} ({self.rounding})"
        if w.kinked_worst:
            where = "outside" if w.error > self.tolerance.limit else "within"
            text += f"; {w.element} is not differentiable here and {w.actual!r} lies {where} its one-sided derivatives"
        if self.kinks:
            text += f"; {self.kinks} element(s) not differentiable here, judged by their one-sided derivatives"
        if self.unresolved:
            text += f"; {self.unresolved} element(s) unresolved by {self.oracle} at this tolerance"
        return text

    def __str__(self) -> str:
        return self.message()


def judge(
    names: Sequence[str],
    actual: Sequence[np.ndarray],
    answer: Answer,
    *,
    implementation: str,
    tolerance: Tolerance,
    dtype: np.dtype | None = None,
    scale: float | Sequence[np.ndarray] | None = None,
    terms: Sequence[np.ndarray] | None = None,
    rounding: str = "",
    rigorous: bool = True,
) -> tuple[Comparison, list[np.ndarray]]:
    """The comparison of the leaves ``actual`` (named ``names``) with
    ``answer``, and per leaf which elements the oracle resolved.

    Each element's normaliser is S_k = max(G, R_k / limit), G the largest
    finite |desired| element over all leaves and R_k its rounding bound from
    ``terms`` (B_k per leaf, ``oracles.engine.rounding``; ``rounding`` says where
    they came from; not ``rigorous``: evidence, which keeps the floor under
    it); without ``terms``, S = max(G, floor) (``oracles.engine.tolerances``).
    ``scale`` fixes S instead: one number for every element, or one array per leaf
    (a low-precision result's allowances, ``oracles.engine.precision``).  ``dtype`` defaults to the
    first actual leaf's."""
    desired = answer.flat("gradients")
    extras = [answer.flat(field) or [None] * len(names) for field in ("errors", "kinked", "lower", "upper")]
    dtype = np.dtype(dtype if dtype is not None else np.asarray(actual[0]).dtype)
    scales, bounds = element_scales(desired, tolerance, dtype, terms, scale, rigorous)
    records, resolved = [], []
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # non-finite values are judged below
        for name, a, d, err, kinked, lower, upper, s, r in zip(names, actual, desired, *extras, scales, bounds):
            record, judged = _judge_leaf(name, np.asarray(a), np.asarray(d), err, kinked, lower, upper, tolerance.limit, s, r)
            records.append(record)
            resolved.append(judged)
    worst = max(records, key=lambda r: r.error)
    error = worst.error
    comparison = Comparison(
        implementation, answer.oracle, dtype.name, bool(error <= tolerance.limit), error, tolerance, worst.scale, tuple(records),
        rounding if terms is not None else "",
    )
    return comparison, resolved


def element_scales(
    desired: Sequence[np.ndarray], tolerance: Tolerance, dtype: np.dtype, terms: Sequence[np.ndarray] | None = None,
    scale: float | Sequence[np.ndarray] | None = None, rigorous: bool = True,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per leaf, each element's normaliser S_k and rounding bound R_k (``oracles.engine.tolerances``):
    S_k = max(G, R_k / limit) with ``terms`` (B_k), else max(G, floor); ``scale`` fixes S.
    Terms that are evidence rather than a bound (not ``rigorous``) keep the floor under them."""
    finite = [d[np.isfinite(d)] for d in (np.asarray(d, dtype=np.float64) for d in desired)]
    G = max((float(np.max(np.abs(f))) if f.size else 0.0) for f in finite)
    zeros = [np.zeros(np.shape(d)) for d in desired]
    if scale is not None and not np.isscalar(scale):
        return [np.broadcast_to(np.asarray(s, np.float64), np.shape(d)) for s, d in zip(scale, desired)], zeros
    if scale is not None:
        return [np.full(np.shape(d), float(scale)) for d in desired], zeros
    if terms is None:
        return [np.full(np.shape(d), max(G, tolerance.floor)) for d in desired], zeros
    bounds = [rounding_allowance(t, dtype) for t in terms]
    floor = 0.0 if tolerance.exact and rigorous else tolerance.floor
    smallest = float(np.finfo(np.float64).tiny)  # an element whose terms are all exactly 0 must be exactly equal
    return [np.maximum(max(G, floor, smallest), r / tolerance.limit) for r in bounds], bounds


def disagreeing(
    first: Sequence[np.ndarray], second: Sequence[np.ndarray], tolerance: Tolerance, terms: Sequence[np.ndarray] | None, rigorous: bool = True
) -> list[np.ndarray]:
    """Per leaf, the elements where two float64 answers differ by more than
    their tolerance (each element against its own S_k, from the larger of the two answers' G)."""
    larger = [np.maximum(np.abs(a), np.abs(b)) for a, b in zip(first, second)]
    scales, _ = element_scales(larger, tolerance, np.dtype(np.float64), terms, rigorous=rigorous)
    with np.errstate(invalid="ignore"):
        return [~(np.abs(np.asarray(a, np.float64) - b) <= tolerance.limit * s) for a, b, s in zip(first, second, scales)]


def _judge_leaf(name, a, d, err, kinked, lower, upper, limit: float, scale: np.ndarray, bound: np.ndarray) -> tuple[LeafComparison, np.ndarray]:
    """The worst element of one leaf by the three categories above (each
    element measured in units of its own ``scale``), and the elements resolved."""
    allowed = limit * scale
    a64, d64 = a.astype(np.float64), d.astype(np.float64)
    kinked = np.zeros(a.shape, dtype=bool) if kinked is None else kinked
    unresolved = np.zeros(a.shape, dtype=bool) if err is None else (~kinked & (err > allowed))
    judged = ~kinked & ~unresolved
    badness = np.where(judged, np.abs(a64 - d64), 0.0)
    if np.any(kinked):
        outside = np.maximum(np.maximum(lower - a64, a64 - upper), 0.0)
        badness = np.where(kinked, outside, badness)
    badness = np.where(np.isfinite(a64) & (np.isfinite(d64) | kinked | unresolved), badness / scale, np.inf)
    if not badness.size:
        return LeafComparison(name, (), 0.0, 0.0, 0.0, 0.0, 0.0, False, 0, 0, 0), ~unresolved
    k = np.unravel_index(int(np.argmax(badness)), badness.shape)
    worst_bad = float(badness[k])
    abs_error = float(abs(a64[k] - d64[k])) if np.isfinite(worst_bad) else math.inf
    rel_error = abs_error / abs(float(d64[k])) if d64[k] != 0 else (0.0 if abs_error == 0 else math.inf)
    record = LeafComparison(
        name, tuple(int(i) for i in k), float(a[k]), float(d[k]), abs_error, rel_error, worst_bad,
        bool(kinked[k]), int(np.sum(kinked)), int(np.sum(unresolved)), int(np.sum(~unresolved)), float(scale[k]), float(bound[k]),
        float(np.max(np.abs(d64[np.isfinite(d64)]), initial=0.0)),
    )
    return record, ~unresolved


# --- networks' gradient lists --------------------------------------------------------------------


def _aligned(actual: list, desired: list) -> trees.Layout:
    """The layout ``W^1, b^1, …`` both lists share, or a ``ValueError`` naming the difference."""
    layout, theirs = trees.network_layout(actual), trees.network_layout(desired)
    if not layout.names:
        raise ValueError("actual holds no arrays")
    if layout.names != theirs.names:
        raise ValueError(f"actual holds {list(layout.names)}, desired {list(theirs.names)}")
    for name, a, d in zip(layout.names, layout.flatten(actual), layout.flatten(desired)):
        if np.shape(a) != np.shape(d):
            raise ValueError(f"{name}: actual has shape {np.shape(a)}, desired {np.shape(d)}")
    return layout


def compare(
    actual: list, desired: list | Answer, *, implementation: str, oracle: str | None = None, tolerance: Tolerance | None = None,
    terms: list | None = None,
) -> Comparison:
    """Compare two canonical gradient lists ``[(dW^1, db^1), …]``; ``desired`` is
    the oracle's — its ``Answer`` (``oracles.answer``), which carries a numerical
    oracle's error estimates and kink brackets, or a plain list from
    ``oracle`` (then named by it).  ``terms``: each element's rounding terms
    B_k, ``oracles.engine.rounding.network_terms(mlp, params, X, Y)``, so that each element may
    also differ by its rounding bound (without them the tolerance's floor stands in)."""
    if isinstance(desired, Answer):
        oracle = desired.oracle if oracle is None else oracle
        layout = _aligned(actual, desired.gradients)
        answer = desired
    else:
        if oracle is None:
            raise TypeError("oracle must name the oracle desired comes from (or pass its Answer)")
        layout = _aligned(actual, desired)
        answer = Answer(oracle, layout, desired)
    flat = [np.asarray(a) for a in layout.flatten(actual)]
    dtype = flat[0].dtype
    if (
        tolerance is None
        and dtype == np.float32
        and np.asarray(answer.flat("gradients")[0]).dtype != np.float64
        and oracle_kind(oracle) not in ("analytic",)
    ):
        raise ValueError(
            f"a float32 implementation is judged against a float64 oracle: run {oracle!r} on "
            f"float64 copies of the parameters (oracles.check_network_gradients does)"
        )
    if tolerance is None:
        tolerance = tolerance_for(dtype, oracle)
    if answer.oracle != oracle:
        answer = Answer(oracle, answer.layout, answer.gradients, answer.errors, answer.kinked, answer.lower, answer.upper)
    if terms is not None:
        terms = _check_terms(terms, flat)
    return judge(
        layout.names, flat, answer, implementation=implementation, tolerance=tolerance, terms=terms,
        rounding="the terms given to compare" if terms is not None else "",
    )[0]


def _check_terms(terms: object, flat: list[np.ndarray]) -> list[np.ndarray]:
    """``terms`` as one float64 array per leaf: finite, non-negative, shaped like the gradient."""
    if not isinstance(terms, (list, tuple)) or not terms:
        raise TypeError(f"terms must be a non-empty list of arrays, one per gradient leaf (oracles.engine.rounding.network_terms); got {terms!r:.80}")
    if not all(isinstance(t, np.ndarray) for t in terms):
        terms = trees.network_layout(list(terms)).flatten(list(terms))
    if [np.shape(t) for t in terms] != [a.shape for a in flat]:
        raise ValueError("terms must hold one array per gradient leaf, shaped like it (oracles.engine.rounding.network_terms)")
    arrays = [np.asarray(t, dtype=np.float64) for t in terms]
    if not all(np.all(np.isfinite(t)) and np.all(t >= 0) for t in arrays):
        raise ValueError("terms must be finite and non-negative: B_k is the size of the terms summed into element k")
    return arrays


def asserting(check):
    """The ``assert_`` form of a check: the same call, raising ``AssertionError``
    with the result's message unless it is ok, else returning the result."""

    def assert_form(*args, **kwargs):
        result = check(*args, **kwargs)
        if not result.ok:
            raise AssertionError(result.message())
        return result

    assert_form.__name__ = f"assert_{check.__name__.removeprefix('check_').removeprefix('compare_')}"
    assert_form.__qualname__ = assert_form.__name__
    assert_form.__doc__ = f"``{check.__name__}``, raising ``AssertionError`` with the message when it is not ok; else its result."
    return assert_form


assert_agree = asserting(compare)
assert_agree.__name__ = assert_agree.__qualname__ = "assert_agree"
