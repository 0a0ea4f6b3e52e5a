"""Seed 003 — the general delta rule, for any activation and any loss.

Symbols (the document's)
------------------------
=====================  ==============  =========================================
symbol                 shape           meaning
=====================  ==============  =========================================
``w[l][i, j]``         (n_l, n_{l-1})  w_ij^l: from neuron j of layer l−1 to
                                       neuron i of layer l (row = destination)
``b[l][i]``            (n_l,)          b_i^l, the weight w_i0 on a constant a_0 = 1
``z[l][i]``            (n_l,)          z_i^l = Σ_j w_ij^l a_j^{l−1} + b_i^l
``a[l][i]``            (n_l,)          a_i^l = f(z_i^l); ``a[0]`` is the input x
``delta[l][i]``        (n_l,)          δ_i^l = ∂E/∂z_i^l (gradient sign)
``dE_dw[l][i, j]``     (n_l, n_{l-1})  ∂E/∂w_ij^l = δ_i^l a_j^{l−1}
=====================  ==============  =========================================

Equations
---------
* Output: δ_i^L = ∂J/∂o_i f'(z_i^L); it reduces to o_i − y_i for identity +
  squared loss, sigmoid + log loss and softmax + cross-entropy
  (``reference.shortcuts.O_MINUS_Y`` says when exactly).
* Delta rule: δ_i^l = f'(z_i^l) Σ_j w_ji^{l+1} δ_j^{l+1}.
* Gradient: ∂E/∂w_ij^l = δ_i^l a_j^{l−1}, ∂E/∂b_i^l = δ_i^l.

Batched form
------------
The same equations for N samples at once, each sample a column as in the
document (``batch_gradients``): a^0 = Xᵀ (m × N), z^l = w^l a^{l−1} + b^l
(b^l added to every column), δ^l = f'(z^l) ⊙ (w^{l+1})ᵀ δ^{l+1}, and the sum
over samples Σ_n δ_i^l a_j^{l−1} becomes one matrix product δ^l (a^{l−1})ᵀ.
f'(z) is evaluated through a = f(z) where the registry has that form
(tanh' = (1 − a)(1 + a)).  δ^L = o − y only where that is exact for every
target (identity + squared error, sigmoid + log loss); softmax +
cross-entropy takes the general (∂o/∂z)ᵀ ∂J/∂o, which equals o − y when the
targets sum to one and stays right when they do not.  It is written against
the Python array API (``reference.array_api``): NumPy, torch, CuPy, jax.

Conversion to the canonical layout
----------------------------------
``w[l]`` and ``b[l]`` are the canonical ``W^l`` and ``b^l`` unchanged (the
translation's "from layer l to layer l" means from l−1 to l).  The document's
error is a *sum* over samples, E(w) = Σ J(y, o); the canonical objective is the
mean, so the summed gradient is divided by N on the way out.
"""

from __future__ import annotations

import numpy as np

from backprop_reference.reference.array_api import mask_like, namespace
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.shortcuts import O_MINUS_Y, kept_finite

Array = np.ndarray


def cannot_express(mlp: MLP) -> str | None:
    """The document has a bias b_i^l per neuron (or none); a bias shared by a
    layer's neurons is a tied weight it never writes."""
    if "shared" in mlp.bias:
        return "seed 003 gives every neuron its own bias b_i^l (w_i0); it has no shared bias"
    if any(mlp.is_maxout(l) for l in range(1, mlp.depth + 1)):
        return "seed 003's a_i^l = f(z_i^l) has one net input per neuron; maxout has k pieces per unit"
    return None


def forward(mlp: MLP, w: dict[int, Array], b: dict[int, Array], x: Array):
    """z_i^l = Σ_j w_ij^l a_j^{l−1} + b_i^l, a_i^l = f(z_i^l), for one sample."""
    a = {0: x}
    z = {}
    for l in sorted(w):
        z[l] = w[l] @ a[l - 1]  # Σ_j w_ij^l a_j^{l−1}: absent connections hold w_ij = 0
        if b[l] is not None:
            z[l] = z[l] + b[l]
        a[l] = mlp.activation(l).f(z[l])
    return z, a


def output_delta(mlp: MLP, z_L: Array, o: Array, y: Array) -> Array:
    """δ^L: the o − y shortcut where the pair makes it exact, else the general form."""
    f = mlp.output_activation
    if O_MINUS_Y.applies(f.name, mlp.loss, y):
        return O_MINUS_Y.delta(o, y)  # δ_i^L = o_i − y_i

    def general() -> Array:
        dJ_do = mlp.loss_fn.dJ_do(y, o)
        if f.elementwise:
            return dJ_do * f.df(z_L)  # δ_i^L = ∂J/∂o_i f'(z_i^L)
        # softmax couples the outputs: δ_i^L = Σ_k ∂J/∂o_k ∂o_k/∂z_i
        do_dz = f.jacobian(z_L)  # [k, i] = ∂o_k/∂z_i
        return np.array([np.dot(dJ_do, do_dz[:, i]) for i in range(o.shape[0])], dtype=o.dtype)

    # Departure: where the general form overflows (a softmax output that underflows to 0 under
    # cross-entropy: −y/o = −∞ times 0) the pair's closed form, o_i Σ_k y_k − y_i; no other value changes.
    return kept_finite(f.name, mlp.loss, general, o, y)


def deltas(mlp: MLP, w: dict[int, Array], z: dict[int, Array], a: dict[int, Array], y: Array):
    """All δ^l for one sample, from the output back to layer 1."""
    L = mlp.depth
    delta = {L: output_delta(mlp, z[L], a[L], y)}
    for l in range(L - 1, 0, -1):
        f_prime = mlp.activation(l).df(z[l])
        # Delta rule: δ_i^l = f'(z_i^l) Σ_j w_ji^{l+1} δ_j^{l+1}
        delta[l] = np.array(
            [f_prime[i] * np.dot(w[l + 1][:, i], delta[l + 1]) for i in range(z[l].shape[0])],
            dtype=z[l].dtype,
        )
    return delta


def gradients(mlp: MLP, params: Params, X: Array, Y: Array) -> Params:
    """∂E/∂w_ij^l = Σ over samples of δ_i^l a_j^{l−1}, converted to the mean objective."""
    w = {l: W for l, (W, _) in enumerate(params, start=1)}
    b = {l: bias for l, (_, bias) in enumerate(params, start=1)}
    dE_dw = {l: np.zeros_like(w[l]) for l in w}
    dE_db = {l: None if b[l] is None else np.zeros_like(b[l]) for l in b}
    for x, y in zip(X, Y):
        z, a = forward(mlp, w, b, x)
        delta = deltas(mlp, w, z, a, y)
        for l in w:
            dE_dw[l] += np.outer(delta[l], a[l - 1])  # ∂E/∂w_ij^l = δ_i^l a_j^{l−1}
            if dE_db[l] is not None:
                dE_db[l] += delta[l]  # ∂E/∂b_i^l = δ_i^l (w_i0 on a_0 = 1)
    for l in w:
        mask = mlp.mask(l)
        if mask is not None:
            dE_dw[l] *= mask  # an absent connection has no weight to differentiate
    N = X.shape[0]
    # Departure: the document's E sums over samples; the canonical E is the mean.
    return [(dE_dw[l] / N, None if dE_db[l] is None else dE_db[l] / N) for l in sorted(w)]


def gradient_descent_step(mlp: MLP, params: Params, X: Array, Y: Array, alpha: float) -> Params:
    """w_ij^l ← w_ij^l − α ∂E/∂w_ij^l with ∂E/∂w_ij^l = Σ_samples δ_i^l a_j^{l−1}.

    Batch mode when X holds the training set, stochastic when it holds one
    sample, mini-batch otherwise — the document's three modes differ only in
    what is passed.  Its E sums over the samples, so the step is α times the
    summed (not averaged) gradient.  Absent connections have ∂E/∂w = 0 and so
    stay absent."""
    N = X.shape[0]
    mean = gradients(mlp, params, X, Y)
    return [
        (w - alpha * N * dE_dw, None if b is None else b - alpha * N * dE_db)  # Σ = N × mean
        for (w, b), (dE_dw, dE_db) in zip(params, mean)
    ]


# --- batched form: every sample at once, samples as columns --------------------


def batch_layout(mlp: MLP, params: Params) -> tuple[dict[int, Array], dict[int, Array | None]]:
    """Canonical ``[(W^l, b^l)]`` → the document's ``w[l]``, ``b[l]`` (the same arrays: w_ij^l is W^l[i, j])."""
    return {l: W for l, (W, _) in enumerate(params, start=1)}, {l: b for l, (_, b) in enumerate(params, start=1)}


def batch_forward(mlp: MLP, w: dict[int, Array], b: dict[int, Array | None], a0: Array):
    """z^l = w^l a^{l−1} + b^l and a^l = f(z^l) for the columns of ``a0`` (m × N)."""
    xp = namespace(a0)
    a = {0: a0}
    z = {}
    for l in sorted(w):
        z[l] = w[l] @ a[l - 1]  # Σ_j w_ij^l a_j^{l−1}, every sample (column) at once
        if b[l] is not None:
            z[l] = z[l] + b[l][:, None]  # + b_i^l in every column
        f = mlp.activation(l)
        # softmax normalises each sample's outputs: a column here, the last axis in the registry
        a[l] = f.xp_f(z[l].T, xp).T if f.output_only else f.xp_f(z[l], xp)
    return z, a


def batch_output(mlp: MLP, w: dict[int, Array], b: dict[int, Array | None], X: Array) -> Array:
    """o = a^L for the batch ``X`` (N × m): the forward pass alone, samples as columns."""
    return batch_forward(mlp, w, b, X.T)[1][mlp.depth]


def batch_output_delta(mlp: MLP, z_L: Array, o: Array, y: Array) -> Array:
    """δ^L for every column: o − y where exact for any y, else the general form."""
    xp = namespace(o)
    f = mlp.output_activation
    if O_MINUS_Y.applies_to_every_target(f.name, mlp.loss):
        return O_MINUS_Y.delta(o, y)  # δ_i^L = o_i − y_i

    def general() -> Array:
        dJ_do = mlp.loss_fn.xp_dJ_do(y.T, o.T, xp).T  # the loss works on rows (samples); a column per sample here
        if f.elementwise:
            return dJ_do * mlp.output_activation.df_at(z_L, o, xp)  # δ_i^L = ∂J/∂o_i f'(z_i^L)
        # softmax: δ_i^L = Σ_k ∂J/∂o_k ∂o_k/∂z_i = o_i (∂J/∂o_i − Σ_k o_k ∂J/∂o_k), per column
        return mlp.output_activation.xp_vjp_from_output(o.T, dJ_do.T, xp).T

    # Departure, as in ``output_delta``: the closed form where the general form overflows.
    return kept_finite(f.name, mlp.loss, general, o, y, axis=0)


def batch_gradients(mlp: MLP, w: dict[int, Array], b: dict[int, Array | None], X: Array, Y: Array) -> Params:
    """∂E/∂w^l, ∂E/∂b^l of the canonical mean objective for the batch ``X`` (N × m,
    one sample per row, read as the columns a^0 = Xᵀ), in any array library.

    Departure, as in ``gradients``: the document's E sums over samples; the
    1/N of the canonical mean is applied once, to δ^L.  Absent connections
    hold w_ij = 0 and get no gradient."""
    xp = namespace(X)
    L = mlp.depth
    z, a = batch_forward(mlp, w, b, X.T)
    delta = batch_output_delta(mlp, z[L], a[L], Y.T) / X.shape[0]
    grads: list[tuple[Array, Array | None]] = [None] * L  # type: ignore[list-item]
    for l in range(L, 0, -1):
        dE_dw = delta @ a[l - 1].T  # ∂E/∂w_ij^l = Σ_n δ_i^l a_j^{l−1}: one matrix product
        mask = mask_like(mlp, l, dE_dw)
        if mask is not None:
            dE_dw = dE_dw * mask  # an absent connection has no weight to differentiate
        grads[l - 1] = (dE_dw, None if b[l] is None else xp.sum(delta, axis=1))  # ∂E/∂b_i^l = Σ_n δ_i^l
        if l > 1:
            # Delta rule: δ_i^l = f'(z_i^l) Σ_j w_ji^{l+1} δ_j^{l+1}, every column at once
            delta = mlp.activation(l - 1).df_at(z[l - 1], a[l - 1], xp) * (w[l].T @ delta)
    return grads
