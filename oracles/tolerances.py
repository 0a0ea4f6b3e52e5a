"""The tolerance policy, in one table keyed by (dtype, oracle kind).

The agreement metric is the *normalised error*

    e = max_k |actual_k − desired_k| / max(G, floor),   G = max_k |desired_k|

over every element k of every parameter: the worst absolute error measured in
units of the oracle's gradient scale.  Judging each element against the whole
gradient's scale (not its own magnitude) is what keeps a saturated 5e-17
gradient that a framework rounds to 0 from reading as a 100 % error
(jax-ml/jax#40385), while an error of the gradient's own size in any element
still fails.  ``floor`` is the absolute floor on that scale: when the whole
gradient is tiny (every unit saturated), errors are judged against ``floor``
instead, because rounding in the backward pass is set by the size of the
terms it sums (of order one for the objectives here), not by the result.

A check passes when e ≤ ``limit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    limit: float  # largest normalised error that passes
    floor: float  # smallest gradient scale G used for normalising
    reason: str


# Which kind of oracle each registered oracle is; the tolerance depends on the kind.
ORACLE_KINDS: dict[str, str] = {
    "jax": "analytic",
    "torch": "analytic",
    "complex_step": "complex_step",
    "richardson": "richardson",
    "central": "central",
}

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
        "hence the floor of 1; 1e-12 leaves ~4500 ε of headroom",
    ),
    ("float64", "complex_step"): Tolerance(
        1e-12,
        1.0,
        "Im E(θ + ih)/h has no subtraction: its error is the forward pass's rounding plus "
        "O(h²) = 1e-60, so it is judged like an analytic derivative",
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
    try:
        return ORACLE_KINDS[oracle]
    except KeyError:
        raise ValueError(f"unknown oracle {oracle!r}; known: {', '.join(ORACLE_KINDS)}") from None


def tolerance_for(dtype: np.dtype | str, oracle: str) -> Tolerance:
    """The tolerance for comparing a ``dtype`` implementation with ``oracle``."""
    name = np.dtype(dtype).name
    kind = oracle_kind(oracle)
    try:
        return TOLERANCES[(name, kind)]
    except KeyError:
        raise ValueError(f"no tolerance for dtype {name} with a {kind} oracle") from None
