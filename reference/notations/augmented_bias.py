"""Seed 002 — node deltas, the bias folded in as a weight on a constant input 1.

Symbols (the document's)
------------------------
=====================  =================  ======================================
symbol                 shape              meaning
=====================  =================  ======================================
``W_aug[l]``           (n_l, n_{l-1}+1)   W_l = [w_ji | w_jb]: row j holds the
                                          weights into node j, the last column
                                          the bias w_jb on an input fixed at 1
                       (n_l, n_{l-1})     … or without that column (no bias)
``x_aug[l]``           (n_{l-1}+1,)       x_ji: the inputs of layer l, the
                                          previous outputs with a 1 appended
``net[l][j]``          (n_l,)             net_j = Σ_i w_ji x_ji
``a[l][j]``            (n_l,)             a_j = f(net_j); ``a[0]`` is x, ``a[L]`` is y
``delta[l][j]``        (n_l,)             δ_j = −∂E_d/∂net_j (NEGATIVE gradient)
``Delta_W_aug[l]``     like ``W_aug[l]``  Δw_ji = η δ_j x_ji
=====================  =================  ======================================

The pictured 3-4-2 network numbers its nodes 1–3 (inputs), 4–7 (hidden) and
8–9 (outputs): ``W_aug[1]`` is W1 = [[w_41 w_42 w_43 w_4b], …, [w_71 … w_7b]]
(4×4) and ``W_aug[2]`` is W2 = [[w_84 … w_87 w_8b], [w_94 … w_9b]] (2×5).
Here nodes are numbered from 0 within each layer.

Equations
---------
* net_j = Σ_i w_ji x_ji (the sum runs over the connections into j).
* E_d = ½ Σ_{i ∈ outputs} (t_i − y_i)², one sample at a time (SGD).
* Output node: δ_j = y_j (1 − y_j)(t_j − y_j).
* Hidden node: δ_j = a_j (1 − a_j) Σ_{k ∈ Downstream(j)} δ_k w_kj, Downstream(j)
  being the nodes of the next layer directly connected to j.
* Update: w_ji ← w_ji + η δ_j x_ji.

Conversion to the canonical layout
----------------------------------
``W_aug[l] = [W^l | b^l]`` (bias mode "neuron") or ``W^l`` (mode "none"): rows
are destinations, as in the canonical layout.  δ and Δ carry the negative
gradient, so for one sample ∂E_d/∂w_ji = −Δw_ji / η; ``gradients`` averages
that over the batch.  A connection absent from the network (mask 0) is not in
any Downstream set and gets no increment, so its gradient is 0.

Departures from the document (each also flagged where it happens)
-----------------------------------------------------------------
* The document's output delta is for sigmoid + squared error.  For other
  pairs it is δ_j = −∂J/∂y_j · f'(net_j), with ∂J/∂y from the loss registry;
  for a softmax output the product becomes the Jacobian product
  δ = −(∂y/∂net)ᵀ ∂J/∂y, as in ``column_vector``.
* The document's hidden f is the sigmoid (f' = a(1 − a)); any elementwise
  activation is accepted, f'(net_j) from the activation registry.
* The document updates after every sample; ``gradients`` returns the batch
  mean of the per-sample gradients (the canonical objective).
* "net_k = w_kj · a_j" in the text is a sum over j.
"""

from __future__ import annotations

import numpy as np

from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.shortcuts import kept_finite

Array = np.ndarray

# gradients() reads ∂E_d/∂w = −Δw/η off the increments; η = 1 keeps that exact.
_UNIT_ETA = 1.0


def cannot_express(mlp: MLP) -> str | None:
    """The bias is one weight w_jb per node j on its own constant input; the
    sums over connections (Σ_i, Downstream(j)) express absent connections."""
    if "shared" in mlp.bias:
        return (
            "seed 002 folds the bias in as one weight w_jb per node j on an input fixed at 1; "
            "a bias shared by all the nodes of a layer is a tied weight it cannot write"
        )
    if any(mlp.is_maxout(l) for l in range(1, mlp.depth + 1)):
        return "seed 002's node j has one net_j = Σ_i w_ji x_ji; maxout has k pieces per unit"
    return None


def has_bias_input(mlp: MLP, l: int) -> bool:
    """Whether layer l gets the extra input fixed at 1 (bias mode "neuron")."""
    return mlp.bias_mode(l) == "neuron"


def to_document(mlp: MLP, params: Params) -> dict[int, Array]:
    """Canonical ``[(W^l, b^l)]`` → the document's augmented ``W_aug[l] = [W^l | b^l]``."""
    W_aug = {}
    for l, (W, b) in enumerate(params, start=1):
        W_aug[l] = np.hstack([W, b[:, None]]) if has_bias_input(mlp, l) else W.copy()  # w_jb: last column
    return W_aug


def from_document(mlp: MLP, W_aug: dict[int, Array]) -> Params:
    """The document's augmented matrices (or anything laid out like them) → canonical pairs."""
    params = []
    for l in sorted(W_aug):
        if has_bias_input(mlp, l):
            params.append((W_aug[l][:, :-1].copy(), W_aug[l][:, -1].copy()))
        else:
            params.append((W_aug[l].copy(), None))  # bias mode "none": no extra input
    return params


def connections(mlp: MLP, l: int, dtype: np.dtype) -> Array:
    """0/1 array laid out like ``W_aug[l]``: which x_ji feed node j (the bias input always does)."""
    n_out, n_in = mlp.sizes[l], mlp.sizes[l - 1]
    mask = mlp.mask(l)
    M = np.ones((n_out, n_in), dtype=dtype) if mask is None else mask.astype(dtype)
    return np.hstack([M, np.ones((n_out, 1), dtype=dtype)]) if has_bias_input(mlp, l) else M


def downstream(mlp: MLP, l: int, j: int) -> list[int]:
    """Downstream(j) for node j of layer l: the nodes k of layer l + 1 that j feeds."""
    mask = mlp.mask(l + 1)
    n_next = mlp.sizes[l + 1]
    return list(range(n_next)) if mask is None else [k for k in range(n_next) if mask[k, j] == 1]


def inputs(mlp: MLP, l: int, a_prev: Array) -> Array:
    """x_ji for layer l: the previous outputs, with the constant input 1 appended when there is a bias."""
    return np.append(a_prev, np.ones(1, dtype=a_prev.dtype)) if has_bias_input(mlp, l) else a_prev


def forward(mlp: MLP, W_aug: dict[int, Array], x: Array) -> tuple[dict[int, Array], dict[int, Array]]:
    """``(net, a)`` for one sample, keyed by layer; ``a[0] = x``."""
    a = {0: x}
    net = {}
    for l in sorted(W_aug):
        x_aug = inputs(mlp, l, a[l - 1])
        # net_j = Σ_i w_ji x_ji over the connections into j (absent ones contribute nothing)
        net[l] = (W_aug[l] * connections(mlp, l, W_aug[l].dtype)) @ x_aug
        a[l] = mlp.activation(l).f(net[l])  # a_j = f(net_j); y = a[L]
    return net, a


def output_delta(mlp: MLP, net_L: Array, y: Array, t: Array) -> Array:
    """δ_j = −∂E_d/∂net_j for the output nodes."""
    f = mlp.output_activation
    if f.name == "sigmoid" and mlp.loss == "squared_error":
        return y * (1.0 - y) * (t - y)  # δ_j = y_j (1 − y_j)(t_j − y_j)

    def departure() -> Array:
        dJ_dy = mlp.loss_fn.dJ_do(t, y)
        if f.elementwise:
            # Departure: another activation/loss pair: δ_j = −∂J/∂y_j · f'(net_j).
            return -dJ_dy * f.df_at(net_L, y)  # f'(net_j) through the output y_j, as the document writes y_j (1 − y_j)
        # Departure: softmax couples the outputs: δ = −(∂y/∂net)ᵀ ∂J/∂y.
        jacobian = f.jacobian(net_L)  # [k, i] = ∂y_k/∂net_i
        return -(jacobian.T @ dJ_dy)

    # Departure: where that order of operations overflows (∞ · 0 once σ(net) rounds to 1 under
    # log loss) the pair's closed form for δ_j, t_j − y_j for sigmoid + log loss; no other value changes.
    return kept_finite(f.name, mlp.loss, departure, y, t, scale=-1.0)


def deltas(mlp: MLP, W_aug: dict[int, Array], net: dict[int, Array], a: dict[int, Array], t: Array) -> dict[int, Array]:
    """Every node's δ_j = −∂E_d/∂net_j for one sample, keyed by layer."""
    L = mlp.depth
    delta = {L: output_delta(mlp, net[L], a[L], t)}
    for l in range(L - 1, 0, -1):
        # Departure: the document's f is the sigmoid, f'(net_j) = a_j (1 − a_j); any f' from the registry,
        # through the output a_j where it has that form
        f_prime = mlp.activation(l).df_at(net[l], a[l])
        delta[l] = np.array(
            [
                # δ_j = a_j (1 − a_j) Σ_{k ∈ Downstream(j)} δ_k w_kj
                f_prime[j] * sum(delta[l + 1][k] * W_aug[l + 1][k, j] for k in downstream(mlp, l, j))
                for j in range(mlp.sizes[l])
            ],
            dtype=net[l].dtype,
        )
    return delta


def increments(mlp: MLP, params: Params, x: Array, t: Array, eta: float) -> dict[int, Array]:
    """The document's ``Δw_ji = η δ_j x_ji`` for ONE sample, laid out like
    ``W_aug`` and with the document's sign: a training step does ``W_aug[l] += Δ``."""
    W_aug = to_document(mlp, params)
    net, a = forward(mlp, W_aug, x)
    delta = deltas(mlp, W_aug, net, a, t)
    Delta = {}
    for l in W_aug:
        x_aug = inputs(mlp, l, a[l - 1])
        # Δw_ji = η δ_j x_ji, only where there is a connection i → j
        Delta[l] = eta * np.outer(delta[l], x_aug) * connections(mlp, l, W_aug[l].dtype)
    return Delta


def gradients(mlp: MLP, params: Params, X: Array, Y: Array) -> Params:
    """∂E/∂(W^l, b^l) of the canonical mean objective, read off the per-sample increments."""
    dE_dW_aug = {l: np.zeros_like(W) for l, W in to_document(mlp, params).items()}
    for x, t in zip(X, Y):
        Delta = increments(mlp, params, x, t, _UNIT_ETA)
        for l in Delta:
            dE_dW_aug[l] += -Delta[l] / _UNIT_ETA  # w ← w + η δ x = w − η ∂E_d/∂w  ⇒  ∂E_d/∂w = −Δw/η
    N = X.shape[0]
    # Departure: the document steps after each sample (SGD); the canonical E is the batch mean.
    return from_document(mlp, {l: g / N for l, g in dE_dW_aug.items()})


def stochastic_gradient_descent(mlp: MLP, params: Params, X: Array, Y: Array, eta: float) -> Params:
    """One pass over the samples in order: ``w_ji ← w_ji + η δ_j x_ji`` after
    each one (the document trains one sample at a time)."""
    for x, t in zip(X, Y):
        Delta = increments(mlp, params, x, t, eta)
        W_aug = to_document(mlp, params)
        params = from_document(mlp, {l: W_aug[l] + Delta[l] for l in W_aug})  # + η δ: δ is −∂E_d/∂net
    return params
