"""Seed 000 — backpropagation with per-sample column vectors (after Nielsen, ch. 2).

Symbols (the document's)
------------------------
==================  ===========  ==============================================
symbol              shape        meaning
==================  ===========  ==============================================
``a[1] = x``        (n_1, 1)     the input layer; it has no z and no delta
``W[l]``            (n, m)       weights into layer l, l = 2..L (row = neuron)
``b[l]``            (n, 1)       bias column of layer l
``z[l]``            (n, 1)       ``W[l] a[l-1] + b[l]``
``a[l]``            (n, 1)       ``σ(z[l])``
``delta[l]``        (n, 1)       ``∂C/∂z[l]`` (gradient sign)
``nabla_w[l]``      (n, m)       Σ over the batch of ∂C/∂W[l]
``nabla_b[l]``      (n, 1)       Σ over the batch of ∂C/∂b[l]
==================  ===========  ==============================================

Equations: BP1 δ^L = ∇_a C ⊙ σ'(z^L); BP2 δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l);
BP3 ∂C/∂b^l = δ^l; BP4 ∂C/∂W^l = δ^l (a^{l-1})ᵀ.  Mini-batch: one sample at a
time, sum the per-sample gradients, use their average.

Conversion to the canonical layout
----------------------------------
The document numbers layers from the input: its layer l (2..L) is canonical
layer l − 1 (1..L−1 = depth).  ``W[l]`` already has the canonical (n_out,
n_in) layout; ``b[l]`` is the column form of the canonical ``b^{l-1}``.  The
document's batch average is the canonical mean objective, so no rescaling.

Departures from the document (each also flagged where it happens)
-----------------------------------------------------------------
* The document writes z^l for l = 1..L; the input layer has no z (a slip).
* The document's cost is C = ½‖a^L − y‖², so ∇_a C = a^L − y.  For the other
  registered losses BP1 uses the loss registry's ∂J/∂o in place of a^L − y.
* The document's σ acts elementwise.  For a softmax output, BP1's Hadamard
  product becomes the Jacobian product δ^L = (∂a^L/∂z^L)ᵀ ∇_a C.
"""

from __future__ import annotations

import numpy as np

from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.shortcuts import kept_finite

Array = np.ndarray


def cannot_express(mlp: MLP) -> str | None:
    """The document's W^l is a full n×m matrix and b^l an n×1 column (or absent)."""
    if "shared" in mlp.bias:
        return "seed 000's b^l is an n×1 column, one bias per neuron; it has no shared bias"
    if any(m is not None for m in mlp.masks):
        return "seed 000's W^l is a full n×m matrix; it has no absent connections"
    if any(mlp.is_maxout(l) for l in range(1, mlp.depth + 1)):
        return "seed 000's a^l = σ(z^l) is one function of one z per neuron; maxout has k pieces per unit"
    return None


def to_document(params: Params) -> tuple[dict[int, Array], dict[int, Array]]:
    """Canonical ``[(W^1, b^1), …]`` → the document's ``W[l], b[l]`` for l = 2..L."""
    weights = {l + 1: W for l, (W, _) in enumerate(params, start=1)}
    biases = {l + 1: None if b is None else b.reshape(-1, 1) for l, (_, b) in enumerate(params, start=1)}
    return weights, biases


def from_document(nabla_w: dict[int, Array], nabla_b: dict[int, Array]) -> Params:
    """The document's per-layer gradients (l = 2..L) → canonical list of pairs."""
    return [(nabla_w[l], None if nabla_b[l] is None else nabla_b[l].reshape(-1)) for l in sorted(nabla_w)]


def feedforward(mlp: MLP, W: dict[int, Array], b: dict[int, Array], x: Array):
    """One sample through the network: ``(z, a)`` keyed by document layer."""
    L = max(W)
    a = {1: x}  # a^1 = x: the input layer has no z (the text's "l = 1..L" is a slip)
    z = {}
    for l in range(2, L + 1):
        z[l] = W[l] @ a[l - 1] if b[l] is None else W[l] @ a[l - 1] + b[l]  # bias mode "none": no b^l
        a[l] = mlp.activation(l - 1).f(z[l].T).T  # registry acts on rows; σ elementwise
    return z, a


def output_delta(mlp: MLP, z_L: Array, a_L: Array, y: Array) -> Array:
    """BP1: δ^L = ∇_a C ⊙ σ'(z^L)."""
    # Departure: the document's C is ½‖a − y‖² (∇_a C = a − y); other losses
    # take ∇_a C from the loss registry.
    sigma = mlp.output_activation

    def bp1() -> Array:
        nabla_a_C = mlp.loss_fn.dJ_do(y.T, a_L.T).T
        if sigma.elementwise:
            return nabla_a_C * sigma.df(z_L)  # BP1
        # Departure: softmax couples the units, so the Hadamard product becomes
        # the Jacobian product (∂a/∂z)ᵀ ∇_a C.
        jacobian = sigma.jacobian(z_L.T)[0]  # (n, n): ∂a_k/∂z_i at [k, i]
        return jacobian.T @ nabla_a_C

    # Departure: where BP1's order of operations overflows (∞ · 0 once σ(z) rounds to 1 under
    # log loss) the pair's closed form for δ^L (a − y for sigmoid + log loss); no other value changes.
    return kept_finite(sigma.name, mlp.loss, bp1, a_L, y, axis=0)


def backprop(mlp: MLP, W: dict[int, Array], b: dict[int, Array], x: Array, y: Array):
    """Per-sample ``(nabla_b, nabla_w)`` by BP1–BP4, keyed by document layer."""
    L = max(W)
    z, a = feedforward(mlp, W, b, x)
    delta = output_delta(mlp, z[L], a[L], y)  # BP1
    nabla_b = {L: delta}  # BP3
    nabla_w = {L: delta @ a[L - 1].T}  # BP4
    for l in range(L - 1, 1, -1):  # l = L−1 … 2: the input layer has no delta
        delta = (W[l + 1].T @ delta) * mlp.activation(l - 1).df(z[l])  # BP2
        nabla_b[l] = delta  # BP3
        nabla_w[l] = delta @ a[l - 1].T  # BP4
    return nabla_b, nabla_w


def gradients(mlp: MLP, params: Params, X: Array, Y: Array) -> Params:
    """Gradient of the batch-averaged cost, one sample at a time (the
    document's mini-batch procedure, steps 3–7)."""
    W, b = to_document(params)
    m = X.shape[0]
    sum_nabla_w = {l: np.zeros_like(W[l]) for l in W}
    sum_nabla_b = {l: None if b[l] is None else np.zeros_like(b[l]) for l in b}
    for x, y in zip(X, Y):
        nabla_b, nabla_w = backprop(mlp, W, b, x.reshape(-1, 1), y.reshape(-1, 1))
        for l in W:
            sum_nabla_w[l] += nabla_w[l]
            if sum_nabla_b[l] is not None:
                sum_nabla_b[l] += nabla_b[l]
    # The document updates with the average over the batch: (η/m) Σ_x.
    return from_document(
        {l: g / m for l, g in sum_nabla_w.items()},
        {l: None if g is None else g / m for l, g in sum_nabla_b.items()},
    )


def update_mini_batch(mlp: MLP, params: Params, X: Array, Y: Array, eta: float) -> Params:
    """The document's step 9: W^l ← W^l − (η/m) Σ_x δ^{x,l} (a^{x,l−1})ᵀ,
    b^l ← b^l − (η/m) Σ_x δ^{x,l}; returns new parameters (inputs untouched)."""
    averaged = gradients(mlp, params, X, Y)  # already (1/m) Σ_x
    return [
        (W - eta * nabla_w, None if b is None else b - eta * nabla_b)
        for (W, b), (nabla_w, nabla_b) in zip(params, averaged)
    ]
