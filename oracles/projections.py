"""Random-projection check: gradients of networks too large for elementwise checks.

For k Gaussian directions v over all parameters at once, compare the claimed
directional derivative v·g with the measured one, by a complex step along v:

    D_v = Im E(θ + i h v) / h,   h = 1e-30,

one complex forward pass per direction whatever the parameter count.  A
complex step moves no real part, so it never steps across a relu or maxout
kink, and it has no subtraction, so D_v is exact to rounding.  Since
E[(v·∇E)²] = ‖∇E‖² for standard Gaussian v, the measured D_v estimate the
gradient's norm S = √mean(D_v²) without trusting the claimed g; the
normalised error of direction v is |v·g − D_v| / max(S, floor), judged with
the complex-step tolerance.

Detection limits (read these before trusting a pass):
* An error e = g − ∇E is seen only through v·e ~ N(0, ‖e‖²).  One direction
  misses it with probability P(|N(0, 1)| < τ·S/‖e‖) ≈ 0.8·τ·S/‖e‖ when that is
  small (τ the tolerance, 1e-12 in float64); k independent directions miss it
  with that probability to the power k.  With the default k = 8, an error of
  relative size ‖e‖/‖∇E‖ = 1e-9 is missed with probability ≈ (8e-4)⁸ ≈ 2e-25;
  one of relative size 1e-12 about half the time.
* It cannot say which element is wrong: a failure names a direction, not
  W^l[i, j].  Follow up with an elementwise oracle on a smaller network.
* It bounds the error vector as a whole: an error confined to a few elements
  is seen in proportion to its norm, not its share of those elements.
* Exactly at a kink (a pre-activation equal to 0, a maxout tie) the complex
  step takes the left-hand branch, the convention of the hand derivations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracles import complex_step
from oracles.tolerances import Tolerance, tolerance_for
from reference.network import MLP, Params, check_batch, check_params


@dataclass(frozen=True)
class DirectionResult:
    claimed: float  # v·g
    measured: float  # Im E(θ + i h v)/h
    error: float  # normalised |claimed − measured|


@dataclass(frozen=True)
class ProjectionCheck:
    implementation: str
    ok: bool
    directions: tuple[DirectionResult, ...]
    tolerance: Tolerance
    parameters: int

    @property
    def error(self) -> float:
        return max(d.error for d in self.directions)

    def message(self) -> str:
        worst = max(range(len(self.directions)), key=lambda i: self.directions[i].error)
        d = self.directions[worst]
        return (
            f"{self.implementation}: {'agrees' if self.ok else 'DISAGREES'} along {len(self.directions)} random "
            f"directions over {self.parameters} parameters: worst direction #{worst}: v·g = {d.claimed!r}, "
            f"measured {d.measured!r}, normalised error {self.error:.3e} vs tolerance {self.tolerance.limit:.0e}"
        )

    def __str__(self) -> str:
        return self.message()


def _arrays(params: Params) -> list[np.ndarray]:
    return [a for pair in params for a in pair if a is not None]


def check(
    mlp: MLP,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    grads: Params,
    *,
    directions: int = 8,
    seed: int = 0,
    implementation: str = "implementation",
) -> ProjectionCheck:
    """Judge float64 ``grads`` along ``directions`` Gaussian directions."""
    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    if dtype != np.float64:
        raise TypeError(f"params must be float64 for the projection check; got {dtype}")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be a positive integer; got {directions!r}")
    g = _arrays(grads) if isinstance(grads, (list, tuple)) else None
    if g is None or [a.shape for a in g] != [a.shape for a in _arrays(params)]:
        raise ValueError("grads must be a list of (dW, db) pairs with the shapes of params")
    tolerance = tolerance_for(np.float64, "complex_step")
    rng = np.random.default_rng(seed)
    layout = [(W.shape, None if b is None else b.shape) for W, b in params]
    claimed, measured = [], []
    for _ in range(directions):
        v = []
        for l, (W_shape, b_shape) in enumerate(layout, start=1):
            mask = mlp.mask(l)
            v_W = rng.standard_normal(W_shape) * (1.0 if mask is None else mask)  # absent connections stay absent
            v.append((v_W, None if b_shape is None else rng.standard_normal(b_shape)))
        moved = [
            (W + 1j * complex_step.H * v_W, None if b is None else b + 1j * complex_step.H * v_b)
            for (W, b), (v_W, v_b) in zip(params, v)
        ]
        measured.append(float(complex_step.objective(mlp, moved, X, Y).imag / complex_step.H))
        claimed.append(float(sum(np.sum(a * b) for a, b in zip(_arrays(v), g))))
    scale = max(float(np.sqrt(np.mean(np.square(measured)))), tolerance.floor)
    results = tuple(DirectionResult(c, m, abs(c - m) / scale) for c, m in zip(claimed, measured))
    ok = all(d.error <= tolerance.limit for d in results)
    return ProjectionCheck(implementation, ok, results, tolerance, sum(a.size for a in g))
