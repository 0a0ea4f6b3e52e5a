"""Seed 001 — one hidden layer written as indexed sums, no bias, negative-gradient δ.

Symbols (the document's)
------------------------
===================  ===========  ==============================================
symbol               shape        meaning
===================  ===========  ==============================================
``O_i``              (I,)         input layer output, O_i = x_i (no activation)
``V[i, j]``          (I, J)       v_ij: weight from input i to hidden j
                                  (source-major: V is canonical W^1 transposed)
``net_j``, ``O_j``   (J,)         net_j = Σ_i v_ij O_i, O_j = f(net_j)
``W[j, k]``          (J, K)       w_jk: weight from hidden j to output k
                                  (source-major: W is canonical W^2 transposed)
``net_k``, ``O_k``   (K,)         net_k = Σ_j w_jk O_j, O_k = f(net_k)
``d_k``              (K,)         the desired (target) output
``delta_k``          (K,)         δ_k = −∂E/∂net_k = (d_k − O_k) f'(net_k)
``delta_j``          (J,)         δ_j = −∂E/∂net_j = f'(net_j) Σ_k δ_k w_jk
``Delta_W[j, k]``    (J, K)       Δw_jk = η δ_k O_j
``Delta_V[i, j]``    (I, J)       Δv_ij = η O_i f'(net_j) Σ_k δ_k w_jk
===================  ===========  ==============================================

Indices run from 0 (Σ_{i=0}^{I−1}, Σ_{j=0}^{J−1}, Σ_{k=0}^{K−1}).  There are no
bias terms.  Per sample, E = ½ Σ_k (d_k − O_k)², f = sigmoid, f' = O(1 − O).

Calculation steps (the document's 计算步骤)
-------------------------------------------
1. forward: O_i, O_j, O_k;  2. f'(net_k), f'(net_j) — kept a separate step
"because another activation may be chosen";  3. δ_k = (d_k − O_k) f'(net_k);
4. Δw_jk = η δ_k O_j;  5. Δv_ij = η O_i f'(net_j) Σ_k δ_k w_jk;
6. v_ij += Δv_ij, w_jk += Δw_jk (both Δ from the old weights).

Sign convention and conversion to the canonical layout
------------------------------------------------------
δ here is the NEGATIVE gradient, and Δ = −η ∂E/∂(weight) is a step to be
*added*.  So for one sample ∂E/∂v_ij = −Δv_ij / η and ∂E/∂w_jk = −Δw_jk / η;
the canonical ``W^1 = Vᵀ`` and ``W^2 = Wᵀ``, and the canonical objective is
the mean over the batch of the per-sample E.

Departures from the document (each also flagged where it happens)
-----------------------------------------------------------------
* The document updates after every sample; ``gradients`` averages the
  per-sample gradients over the batch (the canonical mean objective).
* The document's E is ½ Σ_k (d_k − O_k)², so −∂E/∂O_k = d_k − O_k.  For the
  other registered losses step 3 uses −∂J/∂O_k from the loss registry.
* The document's f is the sigmoid; any elementwise activation is accepted,
  f' coming from the activation registry (for the sigmoid it is O(1 − O)).
* Typos the code corrects: "−∂E/∂net_j · f'(net_j)" is −∂E/∂O_j · f'(net_j);
  "∂net_j/∂w_ij" is ∂net_j/∂v_ij; step 5's "Σ_{i=0}^{K−1}" is Σ_{k=0}^{K−1}.
"""

from __future__ import annotations

import numpy as np

from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.shortcuts import kept_finite

Array = np.ndarray

# gradients() reads ∂E/∂ = −Δ/η off the document's increments; η = 1 makes
# that division exact, so the conversion adds no rounding.
_UNIT_ETA = 1.0


def cannot_express(mlp: MLP) -> str | None:
    """The document has exactly input i → hidden j → output k, no bias, no
    absent connections and an elementwise f on every unit."""
    if mlp.depth != 2:
        return (
            f"seed 001 has exactly one hidden layer (input i, hidden j, output k: 2 weight layers); "
            f"this network has {mlp.depth} weight layer(s)"
        )
    if any(mode != "none" for mode in mlp.bias):
        return f"seed 001 has no bias terms (net_j = Σ_i v_ij O_i, net_k = Σ_j w_jk O_j); bias modes {mlp.bias}"
    if any(m is not None for m in mlp.masks):
        return "seed 001 sums over every i and every j (Σ_{i=0}^{I−1}, Σ_{j=0}^{J−1}); it has no absent connections"
    for l in (1, 2):
        if not mlp.activation(l).elementwise:
            return (
                f"seed 001 applies f to each unit's single net on its own (O_k = f(net_k)); "
                f"{mlp.activations[l - 1]!r} in layer {l} does not"
            )
    return None


def to_document(params: Params) -> tuple[Array, Array]:
    """Canonical ``[(W^1, None), (W^2, None)]`` → the document's source-major ``(V, W)``."""
    (W1, _), (W2, _) = params
    return W1.T.copy(), W2.T.copy()  # v_ij = W^1[j, i], w_jk = W^2[k, j]


def from_document(V: Array, W: Array) -> Params:
    """The document's ``(V, W)`` (or per-weight quantities laid out like them) →
    canonical ``[(W^1, None), (W^2, None)]``."""
    return [(V.T.copy(), None), (W.T.copy(), None)]


def forward(mlp: MLP, V: Array, W: Array, x: Array) -> tuple[Array, Array, Array, Array, Array]:
    """``(O_i, net_j, O_j, net_k, O_k)`` for one sample."""
    J, K = V.shape[1], W.shape[1]
    O_i = x  # the input layer has no activation: O_i = x_i
    net_j = np.array([np.dot(V[:, j], O_i) for j in range(J)], dtype=V.dtype)  # net_j = Σ_{i=0}^{I−1} v_ij O_i
    O_j = mlp.activation(1).f(net_j)  # O_j = f(net_j)
    net_k = np.array([np.dot(W[:, k], O_j) for k in range(K)], dtype=W.dtype)  # net_k = Σ_{j=0}^{J−1} w_jk O_j
    O_k = mlp.activation(2).f(net_k)  # O_k = f(net_k)
    return O_i, net_j, O_j, net_k, O_k


def minus_dE_dO_k(mlp: MLP, O_k: Array, d_k: Array) -> Array:
    """−∂E/∂O_k."""
    if mlp.loss == "squared_error":
        return d_k - O_k  # E = ½ Σ_k (d_k − O_k)²  ⇒  −∂E/∂O_k = d_k − O_k
    # Departure: another loss J; −∂J/∂O_k from the loss registry.
    return -mlp.loss_fn.dJ_do(d_k, O_k)


def deltas(mlp: MLP, W: Array, net_j: Array, O_j: Array, net_k: Array, O_k: Array, d_k: Array) -> tuple[Array, Array]:
    """``(δ_k, δ_j)`` for one sample: δ_k = −∂E/∂net_k and the hidden term
    δ_j = f'(net_j) Σ_k δ_k w_jk = −∂E/∂net_j that step 5 multiplies by η O_i."""
    J = W.shape[0]
    # Step 2: f'(net_k), f'(net_j), through the outputs as the document writes them:
    # f'(net_k) = O_k(1 − O_k) for its sigmoid (the registry's form through the output;
    # from net where an activation has none)
    f_prime_k = mlp.activation(2).df_at(net_k, O_k)
    f_prime_j = mlp.activation(1).df_at(net_j, O_j)
    # step 3: δ_k = (d_k − O_k) f'(net_k).  Departure: where that product overflows (∞ · 0 once
    # σ(net_k) rounds to 1 under log loss) the pair's closed form, d_k − O_k; no other value changes.
    delta_k = kept_finite(mlp.activations[-1], mlp.loss, lambda: minus_dE_dO_k(mlp, O_k, d_k) * f_prime_k, O_k, d_k, scale=-1.0)
    # −∂E/∂O_j = Σ_{k=0}^{K−1} δ_k w_jk  (the text's step 5 writes Σ_{i=0}^{K−1}: a typo for k)
    sum_k = np.array([np.dot(delta_k, W[j, :]) for j in range(J)], dtype=W.dtype)
    delta_j = f_prime_j * sum_k  # δ_j = −∂E/∂O_j · f'(net_j) (the text's "−∂E/∂net_j" is a typo)
    return delta_k, delta_j


def increments(mlp: MLP, params: Params, x: Array, d: Array, eta: float) -> tuple[Array, Array]:
    """The document's ``(ΔV, ΔW)`` for ONE sample, source-major and with the
    document's sign: a training step does ``V += ΔV; W += ΔW``."""
    V, W = to_document(params)
    O_i, net_j, O_j, net_k, O_k = forward(mlp, V, W, x)
    delta_k, delta_j = deltas(mlp, W, net_j, O_j, net_k, O_k, d)
    I, J = V.shape
    K = W.shape[1]
    # Step 4: Δw_jk = η δ_k O_j
    Delta_W = np.array([[eta * delta_k[k] * O_j[j] for k in range(K)] for j in range(J)], dtype=W.dtype)
    # Step 5: Δv_ij = η O_i f'(net_j) Σ_k δ_k w_jk = η O_i δ_j (w_jk are the OLD weights)
    Delta_V = np.array([[eta * O_i[i] * delta_j[j] for j in range(J)] for i in range(I)], dtype=V.dtype)
    return Delta_V, Delta_W


def gradients(mlp: MLP, params: Params, X: Array, Y: Array) -> Params:
    """∂E/∂W^l of the canonical mean objective, read off the document's increments."""
    V, W = to_document(params)
    dE_dV, dE_dW = np.zeros_like(V), np.zeros_like(W)
    for x, d in zip(X, Y):
        Delta_V, Delta_W = increments(mlp, params, x, d, _UNIT_ETA)
        # Sign: Δ = −η ∂E/∂(weight), so ∂E/∂(weight) = −Δ/η.
        dE_dV += -Delta_V / _UNIT_ETA
        dE_dW += -Delta_W / _UNIT_ETA
    N = X.shape[0]
    # Departure: the document updates per sample; the canonical E is the batch mean.
    return from_document(dE_dV / N, dE_dW / N)  # source-major → canonical (transpose)


def train_per_sample(mlp: MLP, params: Params, X: Array, Y: Array, eta: float) -> Params:
    """Steps 4–5 for each sample in turn: ``V += ΔV``, ``W += ΔW``, each Δ
    computed from the weights as they stand before that sample."""
    for x, d in zip(X, Y):
        Delta_V, Delta_W = increments(mlp, params, x, d, eta)
        V, W = to_document(params)
        params = from_document(V + Delta_V, W + Delta_W)  # Δ = +η δ …: δ is −∂E/∂net
    return params
