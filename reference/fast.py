"""Hand-derived gradients at framework speed, on any array library.

Seed 002 ends by listing why its hand-written network is slower than a
framework: pure Python, CPU only, not vectorised, no mini-batches.  The
notations with a whole-batch form (``NOTATIONS[name].batched``) answer it —
the backward pass is two matrix products per layer and nothing else — and
run unchanged on NumPy arrays, torch tensors (CPU or CUDA, no autograd),
CuPy arrays and jax arrays (compiled with ``jax.jit``: XLA executes our
equations; ``jax.grad`` is never called):

* ``row_major_batch`` — seed 004: h = Z W + b̃, ∂J/∂W = Zᵀ ∂J/∂h;
* ``delta_rule`` — seed 003 batched: samples as columns, δ^l = f'(z^l) ⊙ wᵀ δ^{l+1},
  ∂E/∂w = δ aᵀ.

    grads = reference.fast.gradients(mlp, params, X, Y, notation="row_major_batch")

``params``, ``X`` and ``Y`` come from one library and device; the gradients
come back in it, in the canonical layout.  On jax arrays the compiled
function runs with x64 on and full-precision products
(``reference.precision.jax_float64``), so float64 arrays stay float64
whatever the caller's JAX settings, and those settings are left as they were.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
from typing import Callable

from array_api_compat import is_jax_array

from backprop_reference.reference.array_api import library
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.notations import NOTATIONS, Batched, get_notation
from backprop_reference.reference.precision import jax_float64
from backprop_reference.reference.validation import check_network_inputs


def names() -> tuple[str, ...]:
    """The notations with a whole-batch form, in registry order."""
    return tuple(name for name, notation in NOTATIONS.items() if notation.batched is not None)


def batched(notation: object) -> Batched:
    """``notation``'s whole-batch form (``ValueError`` when it has none)."""
    form = get_notation(notation).batched
    if form is None:
        raise ValueError(f"no fast path for notation {notation!r}; fast paths: {', '.join(names())}")
    return form


@functools.lru_cache(maxsize=64)
def compiled(mlp: MLP, notation: str) -> Callable:
    """``jax.jit`` of a notation's batched ``core`` for one network: XLA compiles
    the hand-derived equations (no ``jax.grad``).  Call it inside
    ``jax_float64()`` (``core_for`` does)."""
    import jax  # only jax arrays come here

    core = batched(notation).core
    return jax.jit(lambda W, b, X, Y: core(mlp, W, b, X, Y))


def core_for(mlp: MLP, notation: str, array) -> Callable:
    """The callable that computes the gradient for arrays like ``array``:
    ``core`` itself, or for jax arrays its jitted form, run with x64 on and
    full-precision products and the caller's settings restored."""
    if library(array) != "jax":
        return functools.partial(batched(notation).core, mlp)
    jitted = compiled(mlp, notation)

    def run(W, b, X, Y):
        with jax_float64():
            return jitted(W, b, X, Y)

    return run


def gradients(mlp: MLP, params: Params, X, Y, notation: str = "row_major_batch") -> Params:
    """∂E/∂(W^l, b^l) of the canonical mean objective by ``notation``'s
    whole-batch derivation, in the inputs' own array library and device."""
    form = batched(notation)
    # jax arrays: every step (the checks, the layout, the gradient) with x64 on, or float64 would be truncated
    with jax_float64() if is_jax_array(X) else nullcontext():
        check_network_inputs(mlp, params, X, Y, any_library=True)
        reason = NOTATIONS[notation].cannot_express(mlp)
        if reason is not None:
            raise ValueError(f"notation {notation!r} cannot express network {mlp}: {reason}")
        W, b = form.prepare(mlp, params)
        return form.to_canonical(core_for(mlp, notation, X)(W, b, X, Y))
