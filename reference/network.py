"""The canonical network's parameters, forward pass and objective.

``init_params`` draws ``[(W^1, b^1), …, (W^L, b^L)]`` in the canonical layout
(``reference.mlp``); ``forward`` gives ``(Z^l, A^l)``; ``loss`` is the
objective E = mean over the N samples of J(y, o), with fused, overflow-free
forms where the loss registry has them.  Inputs are checked by
``reference.validation`` first; ``_forward`` and ``_loss`` skip the checks,
for the inner loops of the oracles.
"""

from __future__ import annotations

import numbers
from typing import Callable

import numpy as np

from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.validation import check_batch, check_float_dtype, check_inputs, check_mlp, check_params

Array = np.ndarray

# --- parameters ---------------------------------------------------------------


def init_params(
    mlp: MLP, seed: int, dtype: np.dtype | type = np.float64, scale: float = 1.0
) -> Params:
    """Random parameters ``[(W^1, b^1), …, (W^L, b^L)]`` in the canonical layout.

    Entries are drawn from N(0, scale² / n_{l-1}) — LeCun's scaling, so
    ``scale = 1`` keeps pre-activations of order one and larger scales drive
    sigmoid/tanh units into saturation.
    """
    check_mlp(mlp)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer; got {seed!r}")
    dtype = check_float_dtype(dtype, "dtype")
    if not isinstance(scale, numbers.Real) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number; got {scale!r}")
    rng = np.random.default_rng(int(seed))
    params = []
    for l in range(1, mlp.depth + 1):
        std = float(scale) / np.sqrt(mlp.sizes[l - 1])
        W = (std * rng.standard_normal(mlp.weight_shape(l))).astype(dtype)
        b = (std * rng.standard_normal(W.shape[:-1])).astype(dtype)  # drawn always, so modes share W draws
        mask = mlp.mask(l)
        if mask is not None:
            W = W * mask.astype(dtype)  # absent connections hold 0
        shape = mlp.bias_shape(l)
        params.append((W, None if shape is None else b.reshape(-1)[: int(np.prod(shape))].reshape(shape).copy()))
    return params


# --- forward pass and objective ------------------------------------------------


def forward(mlp: MLP, params: Params, X: Array) -> tuple[list[Array], list[Array]]:
    """Canonical batched forward pass: ``(zs, activations)`` with ``zs[l - 1] = Z^l``
    and ``activations[l] = A^l`` (``activations[0] = X``)."""
    dtype = check_params(mlp, params)
    check_inputs(mlp, X, dtype)
    return _forward(mlp, params, X)


def effective_weights(mlp: MLP, l: int, W: Array) -> Array:
    """``W^l ⊙ M^l``: absent connections contribute nothing, whatever W holds."""
    mask = mlp.mask(l)
    return W if mask is None else W * mask.astype(W.dtype)


def _forward(mlp: MLP, params: Params, X: Array) -> tuple[list[Array], list[Array]]:
    zs: list[Array] = []
    activations = [X]
    for l, (W, b) in enumerate(params, start=1):
        # Z^l = A^{l-1} (W^l ⊙ M^l)ᵀ + b^l; a maxout layer's z has a pieces axis: (N, n_l, k)
        z = np.einsum("ipj,nj->nip", effective_weights(mlp, l, W), activations[-1]) if mlp.is_maxout(l) else activations[-1] @ effective_weights(mlp, l, W).T
        if b is not None:
            z = z + b  # a (1,) shared bias broadcasts over the layer's neurons
        zs.append(z)
        activations.append(mlp.activation(l).f(z))
    return zs, activations


def loss(mlp: MLP, params: Params, X: Array, Y: Array) -> float:
    """E = mean over the N samples of J(y, o): the canonical objective."""
    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    return _loss(mlp, params, X, Y)


def _loss(mlp: MLP, params: Params, X: Array, Y: Array):
    """The objective without input checks, for the inner loops of oracles.
    Returns a 0-d value of the parameters' dtype."""
    zs, _ = _forward(mlp, params, X)
    return objective_from(mlp, zs[-1], Y)


def per_sample_loss(mlp: MLP) -> Callable[[Array, Array], Array]:
    """J(y, o) per sample as a function of ``(Y, Z^L)``: the fused, overflow-free
    form where the loss registry has one for the output activation, else J(y, f(Z^L))."""
    loss_fn = mlp.loss_fn
    fused = loss_fn.from_logits.get(mlp.activations[-1])
    if fused is not None:
        return fused
    f = mlp.output_activation.f
    return lambda Y, z: loss_fn.J(Y, f(z))


def objective_from(mlp: MLP, z_L: Array, Y: Array):
    """E from the output layer's pre-activation of a forward pass already made."""
    return np.mean(per_sample_loss(mlp)(Y, z_L))
