"""Hand-derived gradients at framework speed, on any array library.

Seed 002 ends by listing why its hand-written network is slower than a
framework: pure Python, CPU only, not vectorised, no mini-batches.  The two
vectorised derivations answer it — the backward pass is two matrix products
per layer and nothing else — and run unchanged on NumPy arrays, torch tensors
(CPU or CUDA, no autograd), CuPy arrays and jax arrays (compiled with
``jax.jit``: XLA executes our equations; ``jax.grad`` is never called):

* ``row_major_batch`` — seed 004: h = Z W + b̃, ∂J/∂W = Zᵀ ∂J/∂h;
* ``delta_rule`` — seed 003 batched: samples as columns, δ^l = f'(z^l) ⊙ wᵀ δ^{l+1},
  ∂E/∂w = δ aᵀ.

    grads = reference.fast.gradients(mlp, params, X, Y, notation="row_major_batch")

``params``, ``X`` and ``Y`` come from one library and device; the gradients
come back in it, in the canonical layout.  For timing, ``FAST_PATHS[name]``
splits the work: ``prepare`` lays the parameters out in the document's
layout once, ``core`` is the gradient itself (what the benchmark times), and
``to_canonical`` converts its answer back.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from reference import delta_rule, row_major_batch
from reference.array_api import device, library, mask_like, namespace
from reference.network import MLP, Params, check_batch, check_params


@dataclass(frozen=True)
class FastPath:
    name: str
    seed: str
    summary: str
    cannot_express: Callable[[MLP], str | None]
    prepare: Callable  # (mlp, params) -> (W, b) in the document's layout, same library
    core: Callable  # (mlp, W, b, X, Y) -> the gradients of the mean objective, document's layout
    to_canonical: Callable  # core's answer -> canonical [(dW, db)]


def _delta_rule_prepare(mlp: MLP, params: Params):
    return {l: W for l, (W, _) in enumerate(params, start=1)}, {l: b for l, (_, b) in enumerate(params, start=1)}


FAST_PATHS: dict[str, FastPath] = {
    path.name: path
    for path in (
        FastPath(
            "row_major_batch", "004", "h = Z W + b̃ for the whole batch; ∂J/∂W = Zᵀ ∂J/∂h, ∂J/∂Z = ∂J/∂h Wᵀ",
            row_major_batch.cannot_express, row_major_batch.to_document, row_major_batch.batch_gradients,
            lambda grads: row_major_batch.from_document(*grads),
        ),
        FastPath(
            "delta_rule", "003", "samples as columns; δ^l = f'(z^l) ⊙ (w^{l+1})ᵀ δ^{l+1}, ∂E/∂w = δ (a^{l−1})ᵀ",
            delta_rule.cannot_express, _delta_rule_prepare, delta_rule.batch_gradients, list,
        ),
    )
}


def get_fast_path(notation: object) -> FastPath:
    if not isinstance(notation, str):
        raise TypeError(f"notation must be a name (str); got {notation!r}")
    if notation not in FAST_PATHS:
        raise ValueError(f"no fast path for notation {notation!r}; fast paths: {', '.join(FAST_PATHS)}")
    return FAST_PATHS[notation]


@functools.lru_cache(maxsize=64)
def compiled(mlp: MLP, notation: str):
    """``jax.jit`` of a fast path's ``core`` for one network: XLA compiles the
    hand-derived equations (no ``jax.grad``).  x64 is switched on first, as
    for the JAX oracle, so float64 stays float64."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    core = get_fast_path(notation).core
    return jax.jit(lambda W, b, X, Y: core(mlp, W, b, X, Y))


def core_for(mlp: MLP, notation: str, array) -> Callable:
    """The callable that computes the gradient for arrays like ``array``:
    ``core`` itself, or its jitted form for jax arrays."""
    path = get_fast_path(notation)
    if library(array) == "jax":
        return compiled(mlp, notation)
    return functools.partial(path.core, mlp)


def _check_arrays(mlp: MLP, params: object, X: object, Y: object) -> None:
    """The checks of ``reference.network`` (shapes, dtypes, finiteness, masked
    weights at 0), for any library: NumPy inputs get exactly those."""
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be a reference.MLP; got {type(mlp).__name__}")
    if not isinstance(params, (list, tuple)) or len(params) != mlp.depth:
        raise ValueError(f"params must be a list of {mlp.depth} (W, b) pairs; got {type(params).__name__}")
    first = params[0][0] if isinstance(params[0], (list, tuple)) and params[0] else None
    lib = library(first) if first is not None and not isinstance(first, (int, float)) else "numpy"
    if lib == "numpy":
        dtype = check_params(mlp, params)
        check_batch(mlp, X, Y, dtype)
        return
    named = [(f"params[{l}][{k}]", a) for l, pair in enumerate(params) for k, a in enumerate(pair)] + [("X", X), ("Y", Y)]
    for name, array in named:
        if array is None:
            continue
        try:
            other = library(array)
        except TypeError:
            raise TypeError(f"{name} must be a {lib} array like params[0][0]; got {type(array).__name__}") from None
        if other != lib:
            raise TypeError(f"{name} is a {other} array but params[0][0] is a {lib} array; use one library")
        if str(device(array)) != str(device(first)):
            raise ValueError(f"{name} is on {device(array)} but params[0][0] is on {device(first)}; use one device")
        if array.dtype != first.dtype:
            raise TypeError(f"{name} has dtype {array.dtype} but params[0][0] has {first.dtype}; nothing is cast silently")
    xp = namespace(first)
    if first.dtype not in (xp.float32, xp.float64):
        raise TypeError(f"params[0][0] must be float32 or float64; got {first.dtype}")
    for l, pair in enumerate(params, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"params[{l - 1}] must be a (W, b) pair")
        W, b = pair
        if tuple(W.shape) != mlp.weight_shape(l):
            raise ValueError(f"params[{l - 1}][0] (W^{l}) must have shape {mlp.weight_shape(l)}; got {tuple(W.shape)}")
        expected_b = mlp.bias_shape(l)
        if (b is None) != (expected_b is None) or (b is not None and tuple(b.shape) != expected_b):
            raise ValueError(f"params[{l - 1}][1] (b^{l}) must be {expected_b or 'None'}; got {None if b is None else tuple(b.shape)}")
        mask = mask_like(mlp, l, W)
        if mask is not None and not bool(xp.all(W * (1 - mask) == 0)):
            raise ValueError(f"params[{l - 1}][0] (W^{l}) must be 0 where masks[{l - 1}] is 0 (absent connection)")
    if X.ndim != 2 or X.shape[1] != mlp.sizes[0] or X.shape[0] < 1:
        raise ValueError(f"X must have shape (N, {mlp.sizes[0]}) with N ≥ 1; got {tuple(X.shape)}")
    if tuple(Y.shape) != (X.shape[0], mlp.sizes[-1]):
        raise ValueError(f"Y must have shape ({X.shape[0]}, {mlp.sizes[-1]}); got {tuple(Y.shape)}")
    for name, array in named:
        if array is not None and not bool(xp.all(xp.isfinite(array))):
            raise ValueError(f"{name} must be finite")


def gradients(mlp: MLP, params: Params, X, Y, notation: str = "row_major_batch") -> Params:
    """∂E/∂(W^l, b^l) of the canonical mean objective by ``notation``'s
    vectorised derivation, in the inputs' own array library and device."""
    path = get_fast_path(notation)
    _check_arrays(mlp, params, X, Y)
    reason = path.cannot_express(mlp)
    if reason is not None:
        raise ValueError(f"notation {notation!r} cannot express network {mlp}: {reason}")
    W, b = path.prepare(mlp, params)
    return path.to_canonical(core_for(mlp, notation, X)(W, b, X, Y))
