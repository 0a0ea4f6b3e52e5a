"""Oracle: central differences of the canonical objective ``reference.loss``.

    ∂E/∂θ ≈ (E(θ + h) − E(θ − h)) / (2h),   h = ε^{1/3} · max(1, |θ|)

ε is the parameters' machine epsilon.  ε^{1/3} balances the O(h²) truncation
error against the O(ε/h) rounding error of the subtraction, giving about
ε^{2/3} relative accuracy (≈ 4e-11 in float64).  The denominator uses the
representable step (θ + h) − (θ − h), not 2h.
"""

from __future__ import annotations

import numpy as np

from reference.network import MLP, Params, _loss


def step(theta: float, dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps ** (1.0 / 3.0) * max(1.0, abs(theta)))


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> Params:
    """Every ∂E/∂θ by one central difference each, same structure as ``params``."""
    work = [[W.copy(), None if b is None else b.copy()] for W, b in params]
    result = []
    for pair in work:
        grads = []
        for array in pair:
            if array is None:  # layer without bias
                grads.append(None)
                continue
            g = np.empty_like(array)
            flat, g_flat = array.reshape(-1), g.reshape(-1)
            for k in range(flat.size):
                theta = flat[k]
                h = step(float(theta), array.dtype)
                plus, minus = theta + array.dtype.type(h), theta - array.dtype.type(h)
                flat[k] = plus
                E_plus = _loss(mlp, work, X, Y)
                flat[k] = minus
                E_minus = _loss(mlp, work, X, Y)
                flat[k] = theta
                g_flat[k] = (E_plus - E_minus) / (plus - minus)
            grads.append(g)
        result.append(tuple(grads))
    return result
