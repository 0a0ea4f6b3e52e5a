"""Oracle: complex-step differentiation of an independent, complex-safe forward pass.

    ∂E/∂θ = Im E(θ + i h) / h + O(h²),   h = 1e-30

No subtraction, so no cancellation: the derivative is as accurate as E itself
(machine precision) for analytic activations and losses.  That needs a forward
pass that is analytic in θ and never compares complex numbers:

* sigmoid, tanh, softplus branch on the sign of the real part to stay
  overflow-free (each branch is analytic);
* softmax and log-sum-exp shift by the max of the real part (a real constant);
* relu, leaky_relu and maxout branch on the real part (maxout picks the piece
  with the largest real part): exact away from kinks; at a kink the
  branch taken is the left-hand one, like the hand derivation.

Written independently of ``reference/``, like the other oracles (it takes
only the network's structure and masks from there, and the generic batching
of ``oracles.perturbation_batches``, which differentiates nothing).
Cost: one complex evaluation per parameter, batched: each reuses the
unperturbed pass below the moved layer (``gradients``); ``objective`` is the
whole complex forward pass, for one set of complex parameters.
"""

from __future__ import annotations

import numpy as np

from oracles import perturbation_batches as batches
from oracles import user_functions
from reference.network import MLP, Params

H = 1e-30


def _sign_of_real(z):
    return np.where(z.real >= 0, 1.0, -1.0)


def _sigmoid(z):
    s = _sign_of_real(z)
    e = np.exp(-s * z)  # |e| ≤ 1
    return np.where(s > 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _tanh(z):
    s = _sign_of_real(z)
    e = (-2.0 * s) * z
    np.exp(e, out=e)  # |e| ≤ 1
    d = 1.0 + e
    np.subtract(1.0, e, out=e)
    e /= d
    e *= s  # s (1 − e)/(1 + e): in place, the cost is the one complex exp
    return e


def _softplus(z):
    # log(1 + e^z) = max(x, 0) + log(1 + e^{−|z|}) with the branch chosen by Re z
    s = _sign_of_real(z)
    return np.where(s > 0, z, 0.0) + np.log1p(np.exp(-s * z))


def _logsumexp(z):
    m = np.max(z.real, axis=-1, keepdims=True)
    return m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def _softmax(z):
    return np.exp(z - _logsumexp(z))


def _maxout(z):
    winner = np.argmax(z.real, axis=-1)[..., None]
    return np.take_along_axis(z, winner, axis=-1)[..., 0]


ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "relu": lambda z: np.where(z.real > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z.real > 0, z, 0.01 * z),
    "softplus": _softplus,
    "softmax": _softmax,
    "maxout": _maxout,
}


def _activation(name: str):
    """This oracle's own activation, or a user-registered one in np."""
    return ACTIVATIONS[name] if name in ACTIVATIONS else user_functions.activation(name, np, "complex-step")


def _per_sample_loss(loss: str, output_activation: str, z, y):
    if loss == "squared_error":
        o = _activation(output_activation)(z)
        return 0.5 * np.sum((o - y) ** 2, axis=-1)  # (o − y)², never |o − y|²: analytic
    if loss == "log_loss":
        if output_activation == "sigmoid":  # −y log σ(z) − (1 − y) log(1 − σ(z)) = softplus(z) − y z
            return np.sum(_softplus(z) - y * z, axis=-1)
        o = _activation(output_activation)(z)
        return -np.sum(y * np.log(o) + (1 - y) * np.log1p(-o), axis=-1)
    if loss == "cross_entropy":
        return -np.sum(y * (z - _logsumexp(z)), axis=-1)
    return user_functions.loss(loss, np, "complex-step")(y, _activation(output_activation)(z))


def objective(mlp: MLP, params, X, Y):
    """E = mean_n J(y_n, o_n) for complex parameters."""
    a = X
    for l, ((W, b), name) in enumerate(zip(params, mlp.activations), start=1):
        mask = mlp.mask(l)
        if mask is not None:
            W = W * mask
        z = np.einsum("ipj,nj->nip", W, a) if W.ndim == 3 else a @ W.T
        if b is not None:
            z = z + b
        a = z if l == mlp.depth else _activation(name)(z)
    return np.mean(_per_sample_loss(mlp.loss, mlp.activations[-1], a, Y))


def _complex_dtype(dtype: np.dtype):
    return np.complex64 if dtype == np.float32 else np.complex128


def _step(dtype: np.dtype) -> float:
    return H if dtype == np.float64 else 1e-20  # any h ≪ √ε·|θ| works; stay above the dtype's tiny


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> Params:
    """Every ∂E/∂θ as Im E(θ + i h)/h, same structure and dtype as ``params``.

    The evaluations are batched (``oracles.perturbation_batches``): each
    element's E(θ + i h) reuses the unperturbed forward pass below its layer,
    and many elements are moved in one pass above it — the same complex
    arithmetic as ``objective``, with this module's own activations and loss.
    A masked weight moves nothing: its derivative is 0."""
    for name in mlp.activations:
        _activation(name)  # raises ValueError for an activation it cannot evaluate
    dtype = params[0][0].dtype
    step = _step(dtype)
    objective = batches.Objective(
        mlp, params, X, Y, dtype=_complex_dtype(dtype),
        activation=lambda l: _activation(mlp.activations[l - 1]),
        per_sample=lambda y, z: _per_sample_loss(mlp.loss, mlp.activations[-1], z, y),
        kinks=False,
    )
    shift = objective.dtype.type(1j * step)
    result, jobs = [], []
    for l, pair in enumerate(params, start=1):
        grads = []
        for which, array in enumerate(pair):
            if array is None:
                grads.append(None)
                continue
            g = np.zeros(array.shape, dtype=dtype)
            grads.append(g)
            mask = mlp.mask(l) if which == 0 else None
            moved = np.arange(array.size) if mask is None else np.flatnonzero(mask.reshape(-1))

            def finish(flat, E, changed, g=g.reshape(-1)):
                g[flat] = E[:, 0].imag / step

            jobs.append(batches.Job(l, which, moved, 1, lambda flat: np.full((flat.size, 1), shift), finish))
        result.append(tuple(grads))
    objective.run(jobs)
    return result


def gradients_plain_loop(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, *, limit: int | None = None) -> Params:
    """``gradients`` one element at a time, each a full complex forward pass
    (``objective``): the cross-check of the batched evaluation and the
    benchmark's "before" figure.  With ``limit``, only the first ``limit``
    elements (in parameter order) are evaluated; the others are left NaN."""
    for name in mlp.activations:
        _activation(name)
    dtype = params[0][0].dtype
    step = _step(dtype)
    work = [[W.astype(_complex_dtype(dtype)), None if b is None else b.astype(_complex_dtype(dtype))] for W, b in params]
    budget = np.inf if limit is None else limit
    result = []
    for pair in work:
        grads = []
        for array in pair:
            if array is None:
                grads.append(None)
                continue
            g = np.full(array.shape, np.nan, dtype=dtype)
            flat, g_flat = array.reshape(-1), g.reshape(-1)
            for k in range(flat.size):
                if budget <= 0:
                    break
                budget -= 1
                theta = flat[k]
                flat[k] = theta + 1j * step
                g_flat[k] = objective(mlp, work, X, Y).imag / step
                flat[k] = theta
            grads.append(g)
        result.append(tuple(grads))
    return result
