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
* Maxout's W is (inputs × units × pieces); its products are taken with W seen
  as (inputs × units·pieces), one matrix product each way.
* The abstract example writes b̃ as [[b1, b1], [b2, b2]], but its own scalar
  equations (o_11 = … + b_1, o_12 = … + b_2) and the sentence "b̃ repeats bᵀ
  along the rows" give [[b1, b2], [b1, b2]]; the code follows the equations.

Any array library
-----------------
The module is written against the Python array API (``reference.array_api``):
the arrays bring their namespace ``xp``, so ``batch_gradients`` runs unchanged
on NumPy, torch (CPU or CUDA, no autograd), CuPy and jax.numpy (also under
``jax.jit``).  ``reference.fast`` is the checked entry for other libraries.
"""

from __future__ import annotations

import numpy as np

from backprop_reference.reference.array_api import contiguous_copy, mask_like, namespace
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.shortcuts import kept_finite

Array = np.ndarray  # or a torch / CuPy / jax array: see "Any array library" above


def cannot_express(mlp: MLP) -> str | None:
    """Every registered network: per-neuron and shared biases are the
    document's own b̃; no bias and masks are expressed as flagged above."""
    return None


def _to_document_layout(array: Array, xp) -> Array:
    """Canonical (n_l, n_{l-1}) → (n_{l-1}, n_l); maxout (n_l, k, n_{l-1}) → (n_{l-1}, n_l, k)."""
    return array.T if array.ndim == 2 else xp.permute_dims(array, (2, 0, 1))


def _to_canonical_layout(array: Array, xp) -> Array:
    return array.T if array.ndim == 2 else xp.permute_dims(array, (1, 2, 0))


def to_document(mlp: MLP, params: Params, *, copy: bool = True) -> tuple[dict[int, Array], dict[int, Array | None]]:
    """Canonical ``[(W^l, b^l)]`` → the document's ``W[l]`` (inputs × outputs; inputs ×
    units × pieces for maxout) and row ``b[l]`` (``b_ij`` as (units, pieces) for maxout);
    copies, in the parameters' own array library — or, with ``copy=False``, views of
    ``params`` for a computation that only reads them (``gradients``: a matrix product
    takes a transposed view as it is, and copying 784 × 512 weights costs a millisecond each)."""
    xp = namespace(*(a for pair in params for a in pair))
    laid_out = contiguous_copy if copy else (lambda a: a)
    W = {l: laid_out(_to_document_layout(Wl, xp)) for l, (Wl, _) in enumerate(params, start=1)}
    b = {
        l: None if bl is None else laid_out(bl if bl.ndim == 2 else xp.reshape(bl, (1, -1)))
        for l, (_, bl) in enumerate(params, start=1)
    }
    return W, b


def from_document(dW: dict[int, Array], db: dict[int, Array | None], *, copy: bool = True) -> Params:
    """The document's ``W[l]``, ``b[l]`` (or gradients laid out like them) → canonical pairs
    (copies; with ``copy=False``, views where the layout allows: ``gradients`` returns the
    arrays it has just computed, transposed, without a copy)."""
    xp = namespace(*dW.values())
    laid_out = contiguous_copy if copy else (lambda a: a)
    return [
        (
            laid_out(_to_canonical_layout(dW[l], xp)),
            None if db[l] is None else laid_out(db[l] if dW[l].ndim == 3 and db[l].shape != (1, 1) else xp.reshape(db[l], (-1,))),
        )
        for l in sorted(dW)
    ]


def masked(mlp: MLP, l: int, W_l: Array) -> Array:
    """W_l ⊙ Mᵀ: the document's dense W with the absent connections zeroed (an extension)."""
    mask = mask_like(mlp, l, W_l)
    return W_l if mask is None else W_l * _to_document_layout(mask, namespace(W_l))


def _preactivation(Z_prev: Array, W_l: Array, xp) -> Array:
    """Z_{l-1} W_l, or for maxout z_{n,i,j} = Z_{l-1}[n] · W_{·ij} (pieces last): one
    matrix product with W_l seen as (inputs × units·pieces)."""
    if W_l.ndim == 2:
        return Z_prev @ W_l
    m, n, k = W_l.shape
    return xp.reshape(Z_prev @ xp.reshape(W_l, (m, n * k)), (Z_prev.shape[0], n, k))


def forward(mlp: MLP, W: dict[int, Array], b: dict[int, Array | None], X: Array):
    """``(h, Z)`` keyed by layer for the whole batch at once; ``Z[0] = X``."""
    xp = namespace(X)
    Z = {0: X}
    h = {}
    for l in sorted(W):
        h[l] = _preactivation(Z[l - 1], masked(mlp, l, W[l]), xp)  # Z_{l-1} W_l (maxout: z_ij = xᵀ W_·ij)
        if b[l] is not None:  # departure: bias mode "none" has no b̃
            b_tilde = xp.broadcast_to(b[l], h[l].shape)  # b̃: bᵀ on every row (a (1, 1) shared b on every entry)
            h[l] = h[l] + b_tilde  # h_l = Z_{l-1} W_l + b̃_l
        Z[l] = mlp.activation(l).xp_f(h[l], xp)  # Z_l = f_l(h_l)
    return h, Z


def output(mlp: MLP, W: dict[int, Array], b: dict[int, Array | None], X: Array) -> Array:
    """ŷ = Z of the last layer for the batch ``X``: the forward pass alone."""
    return forward(mlp, W, b, X)[1][mlp.depth]


def dJ_dyhat(mlp: MLP, Z_L: Array, T: Array) -> Array:
    """∂J/∂ŷ for J = Σ_n J(y_n, ŷ_n): one row of ∂J/∂o per sample."""
    return mlp.loss_fn.xp_dJ_do(T, Z_L, namespace(Z_L))  # squared error: ŷ − t (the worked example's dE/do = o − t)


def dJ_dh_from_dJ_dZ(mlp: MLP, l: int, dJ_dZ: Array, h_l: Array, Z_l: Array) -> Array:
    """∂J/∂h_l = ∂J/∂Z_l ⊙ f_l'(h_l), with f' written through Z_l where the
    document does (Z(1 − Z) for sigmoid, 1 − Z² for tanh, [h > 0] for ReLU)."""
    xp = namespace(h_l)
    f = mlp.activation(l)
    if f.elementwise:
        return dJ_dZ * f.df_at(h_l, Z_l, xp)  # ∂J/∂h_l = ∂J/∂Z_l ⊙ f'(h_l), f' from Z_l where the registry has that form
    if f.pieces:
        return dJ_dZ[..., None] * f.xp_df(h_l, xp)  # maxout: ∂J/∂z_ij = ∂J/∂h_i for the winning piece j, else 0
    # Departure: softmax couples a row's units: ∂J/∂h_{n,i} = Σ_k ∂J/∂Z_{n,k} ∂Z_{n,k}/∂h_{n,i}
    # = Z_{n,i} (∂J/∂Z_{n,i} − Σ_k Z_{n,k} ∂J/∂Z_{n,k}): the Jacobian product, without the Jacobian.
    return f.xp_vjp_from_output(Z_l, dJ_dZ, xp)


def backward(mlp: MLP, W: dict[int, Array], b: dict[int, Array | None], h: dict[int, Array], Z: dict[int, Array], T: Array, *, mean: bool = False):
    """``(dJ_dW, dJ_db)`` keyed by layer, for the batch cost J = Σ_n J(y_n, ŷ_n).

    ``mean=True`` gives the gradients of the canonical E = J / N instead, with
    the 1/N applied once, to ∂J/∂ŷ (N × n_L numbers), rather than to every
    weight gradient."""
    xp = namespace(T)
    L = mlp.depth
    dJ_dW, dJ_db = {}, {}
    scale = 1.0 / T.shape[0] if mean else 1.0

    def output_delta() -> Array:
        dJ_dyhat_L = dJ_dyhat(mlp, Z[L], T)
        if mean:
            dJ_dyhat_L = dJ_dyhat_L / T.shape[0]  # ∂E/∂ŷ = ∂J/∂ŷ / N (the canonical objective; departure)
        return dJ_dh_from_dJ_dZ(mlp, L, dJ_dyhat_L, h[L], Z[L])

    # Departure: where that order of operations overflows (∞ · 0 once σ(h) rounds to 1 under log
    # loss) the pair's closed form for ∂J/∂h_L, ŷ − t for sigmoid + log loss; no other value changes.
    dJ_dh_L = kept_finite(mlp.activations[-1], mlp.loss, output_delta, Z[L], T, scale=scale)
    dJ_dZ = None  # ∂J/∂Z_l, from the layer above (the output layer starts from dJ_dh_L)
    for l in range(L, 0, -1):
        dJ_dh = dJ_dh_L if l == L else dJ_dh_from_dJ_dZ(mlp, l, dJ_dZ, h[l], Z[l])
        if W[l].ndim == 2:
            dJ_dW[l] = Z[l - 1].T @ dJ_dh  # ∂J/∂W_l = Z_{l-1}ᵀ ∂J/∂h_l
            dJ_dh_flat = dJ_dh
        else:
            m, n, k = W[l].shape  # maxout: ∂J/∂W_·ij = Z_{l-1}ᵀ ∂J/∂z_ij, one product over all (i, j)
            dJ_dh_flat = xp.reshape(dJ_dh, (dJ_dh.shape[0], n * k))
            dJ_dW[l] = xp.reshape(Z[l - 1].T @ dJ_dh_flat, (m, n, k))
        mask = mask_like(mlp, l, dJ_dW[l])
        if mask is not None:
            dJ_dW[l] = dJ_dW[l] * _to_document_layout(mask, xp)  # extension: an absent connection has no gradient
        if b[l] is None:
            dJ_db[l] = None
        elif mlp.bias_mode(l) == "shared":
            # Departure: one scalar b in every entry of b̃: add ∂J/∂h over samples and neurons.
            dJ_db[l] = xp.reshape(xp.sum(dJ_dh), (1, 1))
        elif W[l].ndim == 3:
            dJ_db[l] = xp.sum(dJ_dh, axis=0)  # maxout: ∂J/∂b_ij adds ∂J/∂z_ij over the samples
        else:
            dJ_db[l] = xp.sum(dJ_dh, axis=0, keepdims=True)  # ∂J/∂b: add up the rows of ∂J/∂h_l
        if l > 1:
            W_l = masked(mlp, l, W[l])
            if W_l.ndim == 2:
                dJ_dZ = dJ_dh @ W_l.T  # ∂J/∂Z_{l-1} = ∂J/∂h_l W_lᵀ
            else:
                dJ_dZ = dJ_dh_flat @ xp.reshape(W_l, (W_l.shape[0], -1)).T  # maxout: Σ_ij ∂J/∂z_ij W_·ij
    return dJ_dW, dJ_db


def batch_gradients(mlp: MLP, W: dict[int, Array], b: dict[int, Array | None], X: Array, T: Array):
    """∂E/∂W_l, ∂E/∂b_l of the canonical mean objective, in the document's
    layout and in the arrays' own library: the forward pass and two matrix
    products per layer.  Nothing is checked or converted — this is the fast
    path ``reference.fast`` times and compiles; ``gradients`` is the checked,
    canonical-layout entry."""
    h, Z = forward(mlp, W, b, X)
    return backward(mlp, W, b, h, Z, T, mean=True)


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
    """∂E/∂(W^l, b^l) of the canonical mean objective: the whole batch at once, no per-sample loop.

    Departure: the document's J is the batch cost Σ_n J(y_n, ŷ_n); the
    canonical E = J / N (``backward(mean=True)``)."""
    W, b = to_document(mlp, params, copy=False)  # read only: views
    return from_document(*batch_gradients(mlp, W, b, X, Y), copy=False)  # just computed: views


def gradient_descent_step(mlp: MLP, params: Params, X: Array, Y: Array, alpha: float) -> Params:
    """The worked example's ``w := w − α ∂J/∂w`` for the batch cost J = Σ_n J."""
    Delta_W, Delta_b = increments(mlp, params, X, Y, alpha)
    W, b = to_document(mlp, params)
    return from_document(
        {l: W[l] + Delta_W[l] for l in W},
        {l: None if b[l] is None else b[l] + Delta_b[l] for l in b},
    )
