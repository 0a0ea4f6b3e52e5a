"""Which checker to use: ``oracles.check_gradient`` / ``check_layer`` beside
``torch.autograd.gradcheck`` (slow and fast mode) and ``jax.test_util.check_grads``,
on the same functions — wall time, and what each one catches.

The peers check a function's backward rule, so the hand-written derivative is
given to them the way a user would: as a ``torch.autograd.Function`` whose
``backward`` returns the claimed gradient times ``grad_output``, and as a
``jax.custom_vjp`` whose ``bwd`` calls it (``jax.pure_callback``).  Each runs
with its own default tolerances; float64 throughout.

* ``time_rows`` — f(x) = Σ tanh(x W)², x of 6,000 and 60,000 elements
  (written against ``xp``; W fixed, 100 × 10): seconds per check of a correct
  gradient, each checker's default mode, best of ``repeats`` (the first call
  of ours in a process also imports JAX and torch and compiles: timed apart).
* ``error_rows`` — the same f at 6,000 elements, one element of the gradient
  multiplied by 1 + r for r = 1e-3 … 1e-9: caught or not.
* ``layer_rows`` — the 11 CS231n-style layers of ``testbed.layers`` (relu's
  inputs hold exact zeros, max-pool's tied maxima): the correct backward (a
  failure is a false alarm) and the one with its catalogued slip (caught?).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import torch
from jax.test_util import check_grads

from backprop_reference import oracles
from backprop_reference.reference.precision import jax_float64
from backprop_reference.testbed.layers import LAYERS

CHECKERS = ("oracles (default)", "gradcheck (slow)", "gradcheck (fast)", "jax check_grads")
SIZES = (6_000, 60_000)
QUICK_SIZES = (6_000,)
ERRORS = (1e-3, 1e-5, 1e-7, 1e-9)
SLOW_PEER_LIMIT = 20_000  # gradcheck's slow mode above this many inputs: minutes; timed in the full run only


def _W() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((100, 10)) / 10


def function(x, W, xp):
    return xp.sum(xp.tanh(x @ W) ** 2)


def gradient(x, W):
    t = np.tanh(x @ W)
    return (2 * t * (1 - t**2)) @ W.T  # d/dx Σ tanh(xW)² = (2 tanh (1 − tanh²)) Wᵀ


def point(n: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n // 100, 100))


# --- the claimed derivative handed to each peer -------------------------------------------------


def _torch_rule(forward: Callable, backward: Callable):
    """A torch.autograd.Function: ``forward(*arrays) -> (out, cache)`` on NumPy copies,
    ``backward(dout, cache)`` the claimed VJP."""

    class Claimed(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            out, cache = forward(*(t.detach().numpy().copy() for t in tensors))
            ctx.cache = cache
            return torch.from_numpy(np.array(out, dtype=np.float64))

        @staticmethod
        def backward(ctx, g):
            grads = backward(g.detach().numpy().copy(), ctx.cache)
            grads = grads if isinstance(grads, tuple) else (grads,)
            return tuple(torch.from_numpy(np.array(d, dtype=np.float64)) for d in grads)

    return Claimed.apply


def _jax_rule(forward: Callable, backward: Callable, args: tuple[np.ndarray, ...]):
    """A jax.custom_vjp calling ``forward`` and ``backward`` through ``jax.pure_callback``."""
    out = np.asarray(forward(*args)[0], dtype=np.float64)
    out_shape = jax.ShapeDtypeStruct(out.shape, jnp.float64)
    arg_shapes = tuple(jax.ShapeDtypeStruct(a.shape, jnp.float64) for a in args)

    def primal(*a):
        return np.asarray(forward(*(np.asarray(x) for x in a))[0], dtype=np.float64)

    def vjp(g, *a):
        grads = backward(np.asarray(g), forward(*(np.asarray(x) for x in a))[1])
        return tuple(np.asarray(d, dtype=np.float64) for d in (grads if isinstance(grads, tuple) else (grads,)))

    @jax.custom_vjp
    def rule(*a):
        return jax.pure_callback(primal, out_shape, *a)

    rule.defvjp(lambda *a: (rule(*a), a), lambda a, g: jax.pure_callback(vjp, arg_shapes, g, *a))
    return rule


def _function_as_layer(W: np.ndarray, grad: Callable):
    def forward(x):
        return np.asarray(function(x, W, np)), x

    def backward(dout, x):
        return dout * grad(x, W)

    return forward, backward


def caught(checker: str, forward: Callable, backward: Callable, args: tuple[np.ndarray, ...], ours: Callable[[], object]) -> bool:
    """Whether ``checker`` rejects the claimed ``backward`` (an exception from a peer counts as rejecting)."""
    if checker == "oracles (default)":
        return not ours().ok
    if checker.startswith("gradcheck"):
        rule = _torch_rule(forward, backward)
        tensors = tuple(torch.tensor(a, requires_grad=True) for a in args)
        try:
            return not torch.autograd.gradcheck(rule, tensors, fast_mode=checker.endswith("(fast)"), raise_exception=False)
        except Exception:  # noqa: BLE001 — a peer that raises has rejected the rule
            return True
    with jax_float64():
        rule = _jax_rule(forward, backward, args)
        try:
            check_grads(rule, tuple(jnp.asarray(a) for a in args), order=1, modes=("rev",))
        except AssertionError:
            return True
        except Exception:  # noqa: BLE001
            return True
    return False


# --- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeRow:
    checker: str
    inputs: int
    seconds: float  # best of repeats
    repeats: int
    note: str


@dataclass(frozen=True)
class DetectionRow:
    case: str  # "relative error 1e-07 at one element" or a layer's name
    kind: str  # "error" | "layer"
    checker: str
    right_passes: bool | None  # the correct derivative accepted (None: not run for this row)
    wrong_caught: bool


def _best(call: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def time_rows(quick: bool = False) -> list[TimeRow]:
    W = _W()
    forward, backward = _function_as_layer(W, gradient)
    rows = []
    cold = time.perf_counter()
    oracles.check_gradient(function, gradient, (point(6_000), W))
    rows.append(TimeRow("oracles (default)", 6_000, time.perf_counter() - cold, 1, "first call in the process: imports JAX and torch, compiles"))
    for n in QUICK_SIZES if quick else SIZES:
        x = point(n)
        repeats = 1 if n > SLOW_PEER_LIMIT or quick else 3
        verdict = oracles.check_gradient(function, gradient, (x, W))
        note = "sampled (mode='auto' above 20,000 elements)" if verdict.note.startswith("sampled") else "every element by every oracle"
        rows.append(TimeRow("oracles (default)", n, _best(lambda: oracles.check_gradient(function, gradient, (x, W)), repeats), repeats, note))
        if n > SLOW_PEER_LIMIT and not quick:
            rows.append(TimeRow("oracles (mode='elementwise')", n, _best(
                lambda: oracles.check_gradient(function, gradient, (x, W), mode="elementwise"), 1), 1, "every element by every oracle"))
        for checker in CHECKERS[1:]:
            if checker == "gradcheck (slow)" and n > SLOW_PEER_LIMIT and quick:
                continue
            seconds = _best(lambda: caught(checker, forward, backward, (x,), lambda: None), repeats)
            rows.append(TimeRow(checker, n, seconds, repeats, ""))
    return rows


def error_rows() -> list[DetectionRow]:
    W, x = _W(), point(6_000)
    rows = []
    for r in ERRORS:
        def slipped(x, W, r=r):
            g = gradient(x, W)
            g[7, 42] *= 1 + r
            return g

        forward, backward = _function_as_layer(W, slipped)
        for checker in CHECKERS:
            rows.append(DetectionRow(
                f"relative error {r:.0e} at one of 6,000 elements", "error", checker, None,
                caught(checker, forward, backward, (x,), lambda: oracles.check_gradient(function, slipped, (x, W))),
            ))
    return rows


def layer_rows() -> list[DetectionRow]:
    rows = []
    for name, layer in LAYERS.items():
        args = layer.inputs(0)
        for checker in CHECKERS:
            right = not caught(checker, layer.forward, layer.backward, args, lambda: oracles.check_layer(layer.forward, layer.backward, *args))
            wrong = caught(checker, layer.forward, layer.buggy_backward, args,
                           lambda: oracles.check_layer(layer.forward, layer.buggy_backward, *args))
            rows.append(DetectionRow(name, "layer", checker, right, wrong))
    return rows


def measure(quick: bool = False) -> dict:
    return {
        "function": "f(x) = Σ tanh(x W)², W 100 × 10, float64",
        "times": [asdict(r) for r in time_rows(quick)],
        "detection": [asdict(r) for r in error_rows() + layer_rows()],
    }
