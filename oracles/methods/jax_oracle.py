"""Oracle: ``jax.grad`` of the problem written in JAX.

For a network, the forward pass uses JAX's own activations and losses
(``jax.nn``; ``JAX`` below), never the hand-derived registry, so a slip there
cannot hide in the oracle; its gradient is compiled once per network
(``jax.jit``).  For any function ``f(x, xp)``, ``xp`` is ``jax.numpy``.

Everything — converting the inputs, tracing, compiling, running — happens
with x64 on and matrix products at "highest" precision
(``reference.precision.jax_float64``), so float64 stays float64; the caller's
JAX settings are restored afterwards.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import Framework, OracleCannotRun, describe
from backprop_reference.reference.precision import jax_float64


def _maxout(z):
    """h_i = max_p z_ip over the k pieces (last axis) of unit i, ``z`` shaped (N, n, k).

    Written as a gather of the winning piece (``jnp.argmax`` + ``jnp.take_along_axis``),
    not ``jnp.max``: under ``jax.jit`` on the CPU (JAX 0.10.2, float64), XLA recomputes
    z = x·(W ⊙ M) + b in several fusions, contracting it to a fused multiply-add in
    some and not in others, so ``jnp.max``'s derivative — the pieces where
    z == max(z) — compares two roundings of z, misses the winner or picks a loser,
    and the gradient is wrong by up to a few times (tests/test_framework_defects.py).
    The gather's derivative sends the cotangent to the index argmax chose, with no
    equality test, and equals ``jnp.max``'s away from ties.  At an exact tie it goes
    to the first winning piece (argmax's choice, as the hand derivation does) where
    ``jnp.max``'s (and torch.amax's) splits it evenly; a tie is a kink, on which the checks skip the
    exact oracles (``oracles.checks._kink_policy``)."""
    winner = jnp.argmax(z, axis=-1, keepdims=True)
    return jnp.take_along_axis(z, winner, axis=-1)[..., 0]


ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,  # derivative 0 at z = 0
    "leaky_relu": jax.nn.leaky_relu,  # default slope 0.01
    "softplus": jax.nn.softplus,
    "softmax": lambda z: jax.nn.softmax(z, axis=-1),
    "maxout": _maxout,  # z: (N, n, k) pieces; a gather, not jnp.max (see _maxout)
}


JAX = Framework(
    "jax",
    jnp,
    ACTIVATIONS,
    constant=lambda array, like: jnp.asarray(array, dtype=like.dtype),
    fused={  # from the logits where JAX has a stable form
        ("sigmoid", "log_loss"): lambda z, y: -jnp.sum(y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z), axis=-1),
        ("softmax", "cross_entropy"): lambda z, y: -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1),
    },
    namespace="jax.numpy",
    gradient=jax.grad,
)

_COMPILED: dict = {}  # problem.key -> jax.jit(jax.grad(fn)); the oldest dropped past CACHE_SIZE
CACHE_SIZE = 256


def _gradient(problem, fn: Callable, jit: bool) -> Callable:
    """``jax.grad(fn)``, compiled once per ``problem.key`` when it has one:
    eager JAX compiles every primitive anew for each shape (~35 compilations
    per gradient of a small network) where one jit compiles once per network
    and batch shape."""
    if problem.key is None or not jit:
        return jax.grad(fn)
    if problem.key not in _COMPILED:
        if len(_COMPILED) >= CACHE_SIZE:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[problem.key] = jax.jit(jax.grad(fn))
    return _COMPILED[problem.key]


def _convert(array, device=None):
    return jax.device_put(jnp.asarray(array), device)


def _converted(data, device=None):
    """The NumPy arrays in ``data`` as JAX arrays, leaf by leaf (the caller's structure — dict
    key order — kept as it is); anything else (a layer's settings) as it is."""
    return trees.map_leaves(data, lambda _, leaf: _convert(leaf, device) if isinstance(leaf, np.ndarray) else leaf, "data")


def prepare(problem, device=None, jit: bool = True) -> Callable[[], list]:
    """The gradient on inputs already converted (and placed on ``device``, a
    ``jax.Device``; default JAX's): call it to compute, get JAX arrays, ready.
    ``jit=False``: eager ``jax.grad`` (the report times both)."""
    with jax_float64():
        fn, data = problem.function(JAX)

        leaves, data = [_convert(leaf, device) for leaf in problem.leaves], _converted(data, device)
    gradient = _gradient(problem, fn, jit)

    def call() -> list:
        with jax_float64():
            try:
                return jax.block_until_ready(gradient(leaves, data))
            except OracleCannotRun:
                raise
            except Exception as error:  # noqa: BLE001 — reported as why this oracle could not run
                raise OracleCannotRun(f"evaluating with xp=jax.numpy failed: {describe(error)}") from error

    return call


def answer(problem) -> Answer:
    """``jax.grad`` of the problem, as NumPy arrays shaped like its leaves."""
    values = [np.array(g) for g in prepare(problem)()]
    return Answer("jax", problem.layout, problem.layout.unflatten(values))


def tangent(problem) -> Answer:
    """``jax.jvp`` of the problem's outputs along its tangent (forward mode), as NumPy arrays."""
    with jax_float64():
        fn, data = problem.function(JAX)
        leaves, tangents, data = [_convert(l) for l in problem.leaves], [_convert(t) for t in problem.tangent], _converted(data)
        try:
            _, out = jax.jvp(lambda *moved: fn(list(moved), data), tuple(leaves), tuple(tangents))
        except OracleCannotRun:
            raise
        except Exception as error:  # noqa: BLE001 — reported as why this oracle could not run
            raise OracleCannotRun(f"jax.jvp failed: {describe(error)}") from error
        values = [np.array(o) for o in out]
    return Answer("jax", problem.layout, problem.layout.unflatten(values))
