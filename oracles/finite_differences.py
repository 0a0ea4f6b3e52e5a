"""Oracle: central differences of the canonical objective ``reference.loss``.

    ∂E/∂θ ≈ D(h) = (E(θ + h) − E(θ − h)) / (2h),   h = ε^{1/3} · max(1, |θ|)

ε is the parameters' machine epsilon.  ε^{1/3} balances the O(h²) truncation
error against the O(ε/h) rounding error of the subtraction, giving about
ε^{2/3} relative accuracy (≈ 4e-11 in float64) when E's third derivative is
of order one.  The denominator uses the representable step (θ + h) − (θ − h),
not 2h.

Error estimate (``gradients_with_error``): D(2h) − D(h) ≈ 3 · (truncation
error of D(h)), since the truncation error grows as h²; to that is added the
rounding error ε·|E|/h.  The estimate lets a check tell "the implementation
is wrong" from "central differences cannot resolve this element to the
tolerance" (large curvature: a weight multiplying an activation of size 30
has a third derivative ~30³ times larger).
"""

from __future__ import annotations

import numpy as np

from reference.network import MLP, Params, _loss


def step(theta: float, dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps ** (1.0 / 3.0) * max(1.0, abs(theta)))


def _difference(mlp, work, X, Y, flat, k, theta, h):
    plus, minus = theta + h, theta - h
    flat[k] = plus
    E_plus = _loss(mlp, work, X, Y)
    flat[k] = minus
    E_minus = _loss(mlp, work, X, Y)
    flat[k] = theta
    return (E_plus - E_minus) / (plus - minus)


def _central(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, with_error: bool):
    work = [[W.copy(), None if b is None else b.copy()] for W, b in params]
    E = abs(float(_loss(mlp, work, X, Y)))
    grads, errors = [], []
    for pair in work:
        layer_grads, layer_errors = [], []
        for array in pair:
            if array is None:  # layer without bias
                layer_grads.append(None)
                layer_errors.append(None)
                continue
            g = np.empty_like(array)
            e = np.zeros(array.shape, dtype=np.float64)
            flat, g_flat, e_flat = array.reshape(-1), g.reshape(-1), e.reshape(-1)
            eps = float(np.finfo(array.dtype).eps)
            for k in range(flat.size):
                theta = flat[k]
                h = array.dtype.type(step(float(theta), array.dtype))
                g_flat[k] = _difference(mlp, work, X, Y, flat, k, theta, h)
                if with_error:
                    wide = _difference(mlp, work, X, Y, flat, k, theta, 2 * h)
                    e_flat[k] = abs(float(wide) - float(g_flat[k])) / 3.0 + eps * max(E, 1.0) / float(h)
            layer_grads.append(g)
            layer_errors.append(e)
        grads.append(tuple(layer_grads))
        errors.append(tuple(layer_errors))
    return grads, errors


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> Params:
    """Every ∂E/∂θ by one central difference each, same structure as ``params``."""
    return _central(mlp, params, X, Y, with_error=False)[0]


def gradients_with_error(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> tuple[Params, Params]:
    """``(gradients, error estimates)``, both shaped like ``params``; twice the cost."""
    return _central(mlp, params, X, Y, with_error=True)
