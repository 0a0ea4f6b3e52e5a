"""Check gradients computed by any means against several oracles at once.

``check_network_gradients`` is the default check: it runs each oracle,
compares with the tolerance policy, and returns one frozen ``Verdict``.

* float32 gradients are judged against oracles run on float64 copies of the
  parameters and data, with the float32 tolerances (the conversion is explicit
  and stated in the verdict).
* Where some pre-activation sits *exactly* on a relu/leaky_relu/maxout kink,
  the derivative there is a convention (torch and the hand derivations take
  the left-hand value, jax.grad the right-hand one for leaky_relu), so the
  exact oracles are skipped with that reason and the kink-aware numerical
  oracle decides: a value between the one-sided derivatives passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracles.comparison import Comparison, compare
from reference.network import MLP, Params, _forward, check_batch, check_params

DEFAULT_ORACLES = ("jax", "torch", "complex_step")


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one set of gradients against several oracles."""

    implementation: str
    ok: bool
    comparisons: tuple[Comparison, ...]
    skipped: tuple[tuple[str, str], ...]  # (oracle, why it did not run)
    note: str  # e.g. the float64 promotion for float32 gradients

    @property
    def oracles_ran(self) -> tuple[str, ...]:
        return tuple(c.oracle for c in self.comparisons)

    @property
    def worst(self) -> Comparison:
        failing = [c for c in self.comparisons if not c.ok]
        return max(failing or self.comparisons, key=lambda c: c.error / c.tolerance.limit)

    def message(self) -> str:
        lines = [f"{self.implementation}: {'OK' if self.ok else 'WRONG'} against {', '.join(self.oracles_ran)}"]
        lines += [f"  {c.message()}" for c in self.comparisons]
        lines += [f"  {oracle} skipped: {why}" for oracle, why in self.skipped]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()


def _check_grads(mlp: MLP, params: Params, grads: object, dtype: np.dtype) -> None:
    if not isinstance(grads, (list, tuple)) or len(grads) != len(params):
        raise TypeError(f"grads must be a list of (dW, db) pairs shaped like params ({len(params)} layers); got {type(grads).__name__}")
    for l, ((W, b), pair) in enumerate(zip(params, grads), start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"grads[{l - 1}] must be a (dW, db) pair for layer {l}")
        for symbol, param, grad in (("W", W, pair[0]), ("b", b, pair[1])):
            if param is None:
                if grad is not None:
                    raise ValueError(f"grads[{l - 1}] has d{symbol}^{l} but layer {l} has no bias")
                continue
            if not isinstance(grad, np.ndarray):
                raise TypeError(f"grads[{l - 1}]: d{symbol}^{l} must be a numpy.ndarray; got {type(grad).__name__}")
            if grad.shape != param.shape:
                raise ValueError(f"grads[{l - 1}]: d{symbol}^{l} must have shape {param.shape}; got {grad.shape}")
            if grad.dtype != dtype:
                raise TypeError(f"grads[{l - 1}]: d{symbol}^{l} has dtype {grad.dtype} but the parameters are {dtype}")


def on_a_kink(mlp: MLP, params: Params, X: np.ndarray) -> bool:
    """Whether some pre-activation sits exactly on a kink (relu/leaky_relu at 0,
    a maxout tie) for some sample."""
    zs, _ = _forward(mlp, params, X)
    for l, z in enumerate(zs, start=1):
        activation = mlp.activation(l)
        if any(np.any(z == kink) for kink in activation.kinks):
            return True
        if activation.pieces:
            top_two = np.sort(z, axis=-1)[..., -2:]
            if np.any(top_two[..., 0] == top_two[..., 1]):
                return True
    return False


def check_network_gradients(
    mlp: MLP,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    grads: Params,
    *,
    oracles: tuple[str, ...] = DEFAULT_ORACLES,
    implementation: str = "implementation",
) -> Verdict:
    """Judge ``grads`` — ∂E/∂(W^l, b^l) of the canonical mean objective,
    computed by any means — against each of ``oracles``."""
    import oracles as registry  # the package, for its registry and entry points

    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    _check_grads(mlp, params, grads, dtype)
    if isinstance(oracles, str) or not oracles:
        raise ValueError(f"oracles must be a non-empty sequence of names from {list(registry.ORACLES)}; got {oracles!r}")
    for name in oracles:
        if name not in registry.ORACLES:
            raise ValueError(f"unknown oracle {name!r} in oracles; registered: {', '.join(registry.ORACLES)}")
    note = ""
    if dtype == np.float32:
        params = [(W.astype(np.float64), None if b is None else b.astype(np.float64)) for W, b in params]
        X, Y = X.astype(np.float64), Y.astype(np.float64)
        note = "float32 gradients judged against oracles run on float64 copies, with float32 tolerances"
    chosen = list(oracles)
    skipped = []
    if on_a_kink(mlp, params, X):
        reason = (
            "a pre-activation sits exactly on a kink, where the derivative is a convention "
            "(jax.grad takes the right-hand value for leaky_relu); the kink-aware numerical oracle decides"
        )
        skipped = [(name, reason) for name in chosen if registry.ORACLES[name].numerical is None]
        chosen = [name for name in chosen if registry.ORACLES[name].numerical is not None] or ["central"]
    comparisons = []
    for name in chosen:
        desired, numerical = registry.answer(mlp, params, X, Y, name)
        comparisons.append(compare(grads, desired, implementation=implementation, oracle=name, numerical=numerical))
    return Verdict(implementation, all(c.ok for c in comparisons), tuple(comparisons), tuple(skipped), note)


def assert_network_gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, grads: Params, **options) -> Verdict:
    """``check_network_gradients``, raising ``AssertionError`` with the worst element when wrong."""
    verdict = check_network_gradients(mlp, params, X, Y, grads, **options)
    if not verdict.ok:
        raise AssertionError(verdict.message())
    return verdict
