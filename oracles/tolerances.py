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
    "central": "central",
}

TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("float64", "analytic"): Tolerance(
        1e-12,
        1.0,
        "two exact derivations in float64 differ only by rounding: a few ε (2.2e-16) per layer "
        "and per summed term, relative to terms of the size of the loss and inputs (order one), "
        "hence the floor of 1; 1e-12 leaves ~4500 ε of headroom",
    ),
    ("float64", "central"): Tolerance(
        1e-6,
        1e-3,
        "central differences with h = ε^{1/3} are accurate to ~ε^{2/3} ≈ 4e-11 relative to the "
        "objective's size and its third derivative; 1e-6 allows curvature up to 1e4 times that",
    ),
    ("float32", "analytic"): Tolerance(
        1e-4,
        1.0,
        "float32 rounding (ε = 1.2e-7) accumulates over layers and summed terms; ~800 ε headroom",
    ),
    ("float32", "central"): Tolerance(
        5e-2,
        1e-1,
        "float32 central differences are accurate to ~ε^{2/3} ≈ 2.4e-5 relative only at the optimal "
        "step; cancellation in E(θ+h) − E(θ−h) makes a few per cent the honest bound",
    ),
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
