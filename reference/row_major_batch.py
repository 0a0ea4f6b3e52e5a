"""Seed 004 — row-major batches: samples are rows, W is (inputs × outputs).

Symbols (the document's)
------------------------
==================  ====================  ======================================
symbol              shape                 meaning
==================  ====================  ======================================
``X = Z[0]``        (N, m)                one sample per row, m features
``W[l]``            (n_{l-1}, n_l)        inputs × outputs: canonical W^l transposed
``b[l]``            (1, n_l) or (1, 1)    bᵀ as a row; (1, 1) for one scalar bias
                                          shared by the layer (the worked example)
``b_tilde``         (N, n_l)              b̃: bᵀ repeated on every row
``h[l]``            (N, n_l)              h_l = Z_{l-1} W_l + b̃_l
``Z[l]``            (N, n_l)              Z_l = f_l(h_l); the document's ``out`` is
                                          h of the last layer, ŷ = Z of it
``dJ_dh[l]``        (N, n_l)              ∂J/∂h_l
``dJ_dW[l]``        (n_{l-1}, n_l)        ∂J/∂W_l = Z_{l-1}ᵀ ∂J/∂h_l
``dJ_db[l]``        like ``b[l]``         ∂J/∂b_l: the rows of ∂J/∂h_l added up
==================  ====================  ======================================

The document names its hidden layers 1..L and the output layer L + 1
(out = Z_L W_{L+1} + b̃_{L+1}); here layers are numbered 1..depth, so the
document's L + 1 is ``mlp.depth``.

Equations
---------
* forward: h_l = Z_{l-1} W_l + b̃_l, Z_l = f_l(h_l).
* ∂J/∂W_l = Z_{l-1}ᵀ ∂J/∂h_l;  ∂J/∂b_l = Σ over the rows of ∂J/∂h_l;
  ∂J/∂Z_{l-1} = ∂J/∂h_l W_lᵀ;  ∂J/∂h_l = ∂J/∂Z_l ⊙ f_l'(h_l), with f' =
  Z(1 − Z) for sigmoid, 1 − Z² for tanh, [h > 0] for ReLU.
* J(θ) is one scalar cost of the whole batch.
* maxout (listed by the document): h_i = max_j z_ij with z_ij = xᵀ W_·ij + b_ij,
  k linear pieces per unit; W is (inputs × units × pieces) and ∂h_i/∂z_ij is 1
  for the winning piece, 0 for the others.

Conversion to the canonical layout
----------------------------------
``W^l = W[l]ᵀ``, ``b^l = b[l]`` flattened.  The document's J is the cost of the
whole batch; here J = Σ_n J(y_n, ŷ_n), the sum of the per-sample losses (its
∂J/∂b sums ∂J/∂out over the samples), so ∂J/∂ŷ has one row of ∂J/∂o per
sample.  The canonical E is the mean, E = J / N: ``gradients`` divides by N.

Departures from the document (each also flagged where it happens)
-----------------------------------------------------------------
* A shared bias (one scalar per layer, as in the worked example, b1 = b2 = 0.5)
  enters every neuron of every row, so ∂J/∂b adds ∂J/∂h over the samples AND
  the neurons.  (The worked example does so for b2; its printed ∂E/∂b1 keeps
  only two of the four paths.)
* Bias mode "none": b̃ is left out (the document always writes one).
* Masks: the document's W is a dense matrix.  An absent connection is written
  as W ⊙ Mᵀ (Mᵀ: the canonical mask in the document's layout) in h, in
  ∂J/∂Z_{l-1} and on ∂J/∂W, so it contributes nothing and gets no gradient.
  This extends the document; it does not change any of its equations.
* Softmax output: the Hadamard product ∂J/∂Z ⊙ f'(h) becomes, row by row, the
  Jacobian product ∂J/∂h_n = (∂Z_n/∂h_n)ᵀ ∂J/∂Z_n.
* The abstract example writes b̃ as [[b1, b1], [b2, b2]], but its own scalar
  equations (o_11 = … + b_1, o_12 = … + b_2) and the sentence "b̃ repeats bᵀ
  along the rows" give [[b1, b2], [b1, b2]]; the code follows the equations.
"""

from __future__ import annotations

import numpy as np

from reference.network import MLP, Params

Array = np.ndarray


def cannot_express(mlp: MLP) -> str | None:
    """Every registered network: per-neuron and shared biases are the
    document's own b̃; no bias and masks are expressed as flagged above."""
    return None


def _to_document_layout(array: Array) -> Array:
    """Canonical (n_l, n_{l-1}) → (n_{l-1}, n_l); maxout (n_l, k, n_{l-1}) → (n_{l-1}, n_l, k)."""
    return array.T if array.ndim == 2 else np.transpose(array, (2, 0, 1))


def _to_canonical_layout(array: Array) -> Array:
    return array.T if array.ndim == 2 else np.transpose(array, (1, 2, 0))


def to_document(mlp: MLP, params: Params) -> tuple[dict[int, Array], dict[int, Array | None]]:
    """Canonical ``[(W^l, b^l)]`` → the document's ``W[l]`` (inputs × outputs; inputs ×
    units × pieces for maxout) and row ``b[l]`` (``b_ij`` as (units, pieces) for maxout)."""
    W = {l: _to_document_layout(Wl).copy() for l, (Wl, _) in enumerate(params, start=1)}
    b = {
        l: None if bl is None else (bl.copy() if bl.ndim == 2 else bl.reshape(1, -1).copy())
        for l, (_, bl) in enumerate(params, start=1)
    }
    return W, b


def from_document(dW: dict[int, Array], db: dict[int, Array | None]) -> Params:
    """The document's ``W[l]``, ``b[l]`` (or gradients laid out like them) → canonical pairs."""
    return [
        (
            _to_canonical_layout(dW[l]).copy(),
            None if db[l] is None else (db[l].copy() if dW[l].ndim == 3 and db[l].shape != (1, 1) else db[l].reshape(-1).copy()),
        )
        for l in sorted(dW)
    ]


def masked(mlp: MLP, l: int, W_l: Array) -> Array:
    """W_l ⊙ Mᵀ: the document's dense W with the absent connections zeroed (an extension)."""
    mask = mlp.mask(l)
    return W_l if mask is None else W_l * _to_document_layout(mask).astype(W_l.dtype)


def _preactivation(Z_prev: Array, W_l: Array) -> Array:
    """Z_{l-1} W_l, or for maxout z_{n,i,j} = Z_{l-1}[n] · W_{·ij} (pieces last)."""
    return Z_prev @ W_l if W_l.ndim == 2 else np.einsum("nm,mij->nij", Z_prev, W_l)


def forward(mlp: MLP, W: dict[int, Array], b: dict[int, Array | None], X: Array):
    """``(h, Z)`` keyed by layer for the whole batch at once; ``Z[0] = X``."""
    Z = {0: X}
    h = {}
    for l in sorted(W):
        h[l] = _preactivation(Z[l - 1], masked(mlp, l, W[l]))  # Z_{l-1} W_l (maxout: z_ij = xᵀ W_·ij)
        if b[l] is not None:  # departure: bias mode "none" has no b̃
            b_tilde = np.broadcast_to(b[l], h[l].shape)  # b̃: bᵀ on every row (a (1, 1) shared b on every entry)
            h[l] = h[l] + b_tilde  # h_l = Z_{l-1} W_l + b̃_l
        Z[l] = mlp.activation(l).f(h[l])  # Z_l = f_l(h_l)
    return h, Z


def dJ_dyhat(mlp: MLP, Z_L: Array, T: Array) -> Array:
    """∂J/∂ŷ for J = Σ_n J(y_n, ŷ_n): one row of ∂J/∂o per sample."""
    return mlp.loss_fn.dJ_do(T, Z_L)  # squared error: ŷ − t (the worked example's dE/do = o − t)


def dJ_dh_from_dJ_dZ(mlp: MLP, l: int, dJ_dZ: Array, h_l: Array) -> Array:
    """∂J/∂h_l = ∂J/∂Z_l ⊙ f_l'(h_l)."""
    f = mlp.activation(l)
    if f.elementwise:
        return dJ_dZ * f.df(h_l)  # ∂J/∂h_l = ∂J/∂Z_l ⊙ f'(h_l) (sigmoid: Z(1 − Z), tanh: 1 − Z², ReLU: [h > 0])
    if f.pieces:
        return dJ_dZ[..., None] * f.df(h_l)  # maxout: ∂J/∂z_ij = ∂J/∂h_i for the winning piece j, else 0
    # Departure: softmax couples a row's units: ∂J/∂h_{n,i} = Σ_k ∂J/∂Z_{n,k} ∂Z_{n,k}/∂h_{n,i}.
    return np.einsum("nk,nki->ni", dJ_dZ, f.jacobian(h_l))


def backward(mlp: MLP, W: dict[int, Array], b: dict[int, Array | None], h: dict[int, Array], Z: dict[int, Array], T: Array):
    """``(dJ_dW, dJ_db)`` keyed by layer, for the batch cost J = Σ_n J(y_n, ŷ_n)."""
    L = mlp.depth
    dJ_dW, dJ_db = {}, {}
    dJ_dZ = dJ_dyhat(mlp, Z[L], T)
    for l in range(L, 0, -1):
        dJ_dh = dJ_dh_from_dJ_dZ(mlp, l, dJ_dZ, h[l])
        if W[l].ndim == 2:
            dJ_dW[l] = Z[l - 1].T @ dJ_dh  # ∂J/∂W_l = Z_{l-1}ᵀ ∂J/∂h_l
        else:
            dJ_dW[l] = np.einsum("nm,nij->mij", Z[l - 1], dJ_dh)  # maxout: ∂J/∂W_·ij = Z_{l-1}ᵀ ∂J/∂z_ij
        mask = mlp.mask(l)
        if mask is not None:
            dJ_dW[l] = dJ_dW[l] * _to_document_layout(mask).astype(dJ_dW[l].dtype)  # extension: an absent connection has no gradient
        if b[l] is None:
            dJ_db[l] = None
        elif mlp.bias_mode(l) == "shared":
            # Departure: one scalar b in every entry of b̃: add ∂J/∂h over samples and neurons.
            dJ_db[l] = np.sum(dJ_dh).reshape(1, 1)
        elif W[l].ndim == 3:
            dJ_db[l] = np.sum(dJ_dh, axis=0)  # maxout: ∂J/∂b_ij adds ∂J/∂z_ij over the samples
        else:
            dJ_db[l] = np.sum(dJ_dh, axis=0, keepdims=True)  # ∂J/∂b: add up the rows of ∂J/∂h_l
        if l > 1:
            if W[l].ndim == 2:
                dJ_dZ = dJ_dh @ masked(mlp, l, W[l]).T  # ∂J/∂Z_{l-1} = ∂J/∂h_l W_lᵀ
            else:
                dJ_dZ = np.einsum("nij,mij->nm", dJ_dh, masked(mlp, l, W[l]))  # maxout: Σ_ij ∂J/∂z_ij W_·ij
    return dJ_dW, dJ_db


def increments(mlp: MLP, params: Params, X: Array, T: Array, alpha: float):
    """The worked example's step ``w := w − α ∂J/∂w`` as increments ``(ΔW, Δb)``
    in the document's layout, for the batch cost J = Σ_n J (one sample in the
    example): a training step does ``W[l] += ΔW[l]``, ``b[l] += Δb[l]``."""
    W, b = to_document(mlp, params)
    h, Z = forward(mlp, W, b, X)
    dJ_dW, dJ_db = backward(mlp, W, b, h, Z, T)
    Delta_W = {l: -alpha * g for l, g in dJ_dW.items()}  # w := w − α ∂J/∂w
    Delta_b = {l: None if g is None else -alpha * g for l, g in dJ_db.items()}
    return Delta_W, Delta_b


def gradients(mlp: MLP, params: Params, X: Array, Y: Array) -> Params:
    """∂E/∂(W^l, b^l) of the canonical mean objective: the whole batch at once, no per-sample loop."""
    W, b = to_document(mlp, params)
    h, Z = forward(mlp, W, b, X)
    dJ_dW, dJ_db = backward(mlp, W, b, h, Z, Y)
    N = X.shape[0]
    # Departure: the document's J is the batch cost Σ_n J(y_n, ŷ_n); the canonical E = J / N.
    return from_document(
        {l: g / N for l, g in dJ_dW.items()},
        {l: None if g is None else g / N for l, g in dJ_db.items()},
    )


def gradient_descent_step(mlp: MLP, params: Params, X: Array, Y: Array, alpha: float) -> Params:
    """The worked example's ``w := w − α ∂J/∂w`` for the batch cost J = Σ_n J."""
    Delta_W, Delta_b = increments(mlp, params, X, Y, alpha)
    W, b = to_document(mlp, params)
    return from_document(
        {l: W[l] + Delta_W[l] for l in W},
        {l: None if b[l] is None else b[l] + Delta_b[l] for l in b},
    )
