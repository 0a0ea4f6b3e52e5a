"""The tolerance policy: one table keyed by (dtype, oracle kind), and each element's rounding bound.

The agreement metric is the *normalised error*

    e = max_k |actual_k − desired_k| / S_k,   S_k = max(G, R_k / limit),   G = max_j |desired_j|

over every element k of every parameter; a check passes when e ≤ ``limit``.
In words: element k may differ from the oracle by ``limit`` times the
largest gradient element, or by its own rounding bound R_k, whichever is larger.

* **limit × G** is the well-conditioned tolerance: judging each element
  against the whole gradient's scale (not its own magnitude) keeps a
  saturated 5e-17 element that a framework rounds to 0 from reading as a
  100 % error (jax-ml/jax#40385), while an error of the gradient's own size
  in any element still fails.
* **R_k** is how far two correct computations of element k can differ by
  rounding alone.  Rounding is set by the size of the terms summed into
  element k, not by the result: at weight scale 30 a network sums terms of
  10³–10⁶ into gradients of order one, and the 1e-12 × G rule called 119 of
  640 correct gradients wrong.  For a network the terms are computed by a
  forward and backward pass on magnitudes, B_k (``oracles.engine.rounding``, which
  derives it): a computation in a format of machine epsilon ε is within
  ε B_k of the exact gradient, so the implementation and the oracle are
  within (ε_impl + ε_oracle) B_k of each other, and

      R_k = ROUNDING_MULTIPLE × (ε_impl + ε_oracle) × B_k.

  ``ROUNDING_MULTIPLE`` (8) covers what the first-order bound leaves out:
  second-order terms, and formulas of the other party that the bound cannot
  see (its f′ written through its output, say).  Over 20,715 checks of
  random correct networks at weight scales 0.3–30 (``python -m
  reports.false_alarms --networks 1700 --seed 0``, which prints it), the
  largest |difference| / (ε B_k) where the difference exceeded limit × G was
  2.0; counting every difference, a first calibration saw 7.5 — both well
  under 2 × 8 = 16.  Where the terms are of the order of the
  result, R_k / limit ≪ G and the tolerance is limit × G, as before the
  bound existed — tighter where G < 1, since the floor is no longer needed.
  Near the bottom of the floating-point range the relative model fails:
  products of terms below ~1e-154 underflow past 2.2e-308 and vanish whole,
  so R_k also allows ``ROUNDING_MULTIPLE`` × tiny/ε (≈ 8e-292 in float64).
* ``floor`` stands in for R_k where the computation cannot be seen (any
  function given to ``check_gradient``): G is then at least ``floor``,
  because rounding is set by the size of the terms (of order one for the
  objectives here), not by the result.  A numerical oracle keeps its floor
  always: its own rounding, ~ε |E| / h, does not shrink with the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop_reference.oracles.methods.registry import get_oracle


ROUNDING_MULTIPLE = 8.0  # R_k = ROUNDING_MULTIPLE × (ε_impl + ε_oracle) × B_k (module docstring)


@dataclass(frozen=True)
class Tolerance:
    limit: float  # largest normalised error that passes
    floor: float  # smallest gradient scale G used for normalising, where no rounding bound is known
    reason: str
    exact: bool = False  # the oracle's own error is rounding alone: with a rounding bound, no floor


def rounding_allowance(terms: np.ndarray, dtype: np.dtype | str) -> np.ndarray:
    """R_k for a ``dtype`` implementation against a float64 oracle, from B_k (``terms``),
    plus the underflow allowance: ``ROUNDING_MULTIPLE`` × tiny/ε of the implementation's
    dtype (≈ 1e-292 in float64), below which a result's terms are products that
    underflow past the smallest normal number and relative precision is gone."""
    info = np.finfo(np.dtype(dtype))
    eps = float(info.eps) + float(np.finfo(np.float64).eps)
    underflow = float(info.tiny) / float(info.eps)
    return ROUNDING_MULTIPLE * (eps * np.asarray(terms, dtype=np.float64) + underflow)


# float32 rows: a float32 implementation is judged against an oracle run in
# float64 (oracles.check_network_gradients promotes the parameters), so the
# implementation's own float32 rounding sets the tolerance, whatever the oracle.
_FLOAT32_REASON = (
    "a float32 backward pass rounds at ε = 1.2e-7 per operation, accumulated over layers and "
    "summed terms, against an oracle run in float64; ~800 ε of headroom"
)

TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("float64", "analytic"): Tolerance(
        1e-12,
        1.0,
        "two exact derivations in float64 differ only by rounding: a few ε (2.2e-16) per layer "
        "and per summed term, relative to terms of the size of the loss and inputs (order one), "
        "hence the floor of 1 where the terms are not known; 1e-12 leaves ~4500 ε of headroom; "
        "each element may also differ by its own rounding bound",
        exact=True,
    ),
    ("float64", "complex_step"): Tolerance(
        1e-12,
        1.0,
        "Im E(θ + ih)/h has no subtraction: its error is the forward pass's rounding plus "
        "O(h²) = 1e-60, so it is judged like an analytic derivative",
        exact=True,
    ),
    ("float64", "richardson"): Tolerance(
        1e-9,
        1.0,
        "two Richardson levels cancel the h² and h⁴ terms; with h = ε^{1/5} the rest is "
        "~ε^{4/5} ≈ 3e-13 relative when E's derivatives are of order one; 1e-9 allows curvature "
        "~3000 times that; its rounding error, ~6.6 ε |E| / h ≈ 2e-12 |E|, is absolute, hence the "
        "floor of 1; elements whose own error estimate exceeds it are unresolved, not failed",
    ),
    ("float64", "central"): Tolerance(
        1e-6,
        1e-3,
        "central differences with h = ε^{1/3} are accurate to ~ε^{2/3} ≈ 4e-11 relative to the "
        "objective's size and its third derivative; 1e-6 allows curvature up to 1e4 times that; "
        "elements whose own error estimate exceeds it are unresolved, not failed",
    ),
    ("float32", "analytic"): Tolerance(1e-4, 1.0, _FLOAT32_REASON),
    ("float32", "complex_step"): Tolerance(1e-4, 1.0, _FLOAT32_REASON),
    ("float32", "richardson"): Tolerance(1e-4, 1.0, _FLOAT32_REASON),
    ("float32", "central"): Tolerance(1e-4, 1.0, _FLOAT32_REASON),
}


def oracle_kind(oracle: str) -> str:
    """The kind of a registered oracle (``oracles.methods.registry``): which row of ``TOLERANCES`` judges with it."""
    return get_oracle(oracle).kind


def tolerance_for(dtype: np.dtype | str, oracle: str) -> Tolerance:
    """The tolerance for comparing a ``dtype`` implementation with ``oracle``."""
    name = np.dtype(dtype).name
    kind = oracle_kind(oracle)
    try:
        return TOLERANCES[(name, kind)]
    except KeyError:
        raise ValueError(f"no tolerance for dtype {name} with a {kind} oracle") from None
