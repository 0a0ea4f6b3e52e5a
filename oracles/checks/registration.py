"""Register your own activation or loss, with its hand-derived derivative — checked.

    oracles.register_activation("gelu", gelu, d_gelu)
    oracles.register_loss("quartic", J, dJ_do)

The function and its derivative are written against the array namespace —
``f(z, xp)``, ``df(z, xp)``, ``J(y, o, xp)``, ``dJ_do(y, o, xp)`` — so the
oracles can run the function in jax.numpy, torch and (complex) NumPy and
differentiate it.  On registration (unless ``check=False``) the derivative is
checked, and a wrong one is refused, with where it is wrong, and not kept:

1. elementwise (activations): ``df`` against ``jax.grad`` of the user's own
   ``f`` on a grid from −30 to 30 plus random points, kinks left out; a
   second derivative ``d2f``, where given, on the same grid as the
   Hessian–vector product of Σ f(z_i) with v = 1 (``oracles.check_hvp``:
   jax, torch and differences of the exact gradient);
2. in networks: small seeded networks using the function, gradients by every
   notation that can express them, judged by every oracle
   (``check_network_gradients``).  An oracle that cannot evaluate the function
   (complex step on a function that is not complex-safe) is reported as
   skipped, and at least one of jax and torch must run.

From then on the entry is in ``reference.ACTIVATIONS``/``LOSSES``: every
notation, property test and the report use it like a built-in (for the
report, import the module that registers it: ``python -m backprop_reference.reports --plugin
MODULE``).  The model's side — validating the arguments, adding the entry —
is ``reference.registration``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from backprop_reference.oracles.checks.network import check_network_gradients
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.engine.comparison import judge
from backprop_reference.oracles.engine.problems import FunctionProblem
from backprop_reference.oracles.methods.registry import ORACLES
from backprop_reference.oracles.engine.tolerances import tolerance_for
from backprop_reference.oracles.engine.verdict import Verdict
from backprop_reference.reference.activations import ACTIVATIONS, Activation
from backprop_reference.reference.cases import derivative_is_finite, make_case
from backprop_reference.reference.losses import LOSSES, Loss
from backprop_reference.reference.mlp import MLP
from backprop_reference.reference.notations import NOTATIONS, can_express, gradients
from backprop_reference.reference.registration import add_activation, add_loss, provisional


class RegistrationError(ValueError):
    """The registered derivative disagrees with the oracles."""


def register_activation(
    name: str,
    f: Callable,
    df: Callable,
    *,
    output_range: tuple[float, float] = (-math.inf, math.inf),
    kinks: tuple[float, ...] = (),
    check: bool = True,
    replace: bool = False,
    d2f: Callable | None = None,
) -> Activation:
    """Register an elementwise activation ``f(z, xp)`` with its hand-derived
    derivative ``df(z, xp)`` (and optionally its second derivative
    ``d2f(z, xp)``); checked against every oracle unless ``check=False``."""
    with provisional(ACTIVATIONS, name):
        entry = add_activation(name, f, df, output_range=output_range, kinks=kinks, replace=replace, d2f=d2f)
        if check:
            check_activation(name)
    return entry


def register_loss(
    name: str,
    J: Callable,
    dJ_do: Callable,
    *,
    accepts: Callable[[Activation], str | None] | None = None,
    targets: Callable[[np.random.Generator, tuple[int, int]], np.ndarray] | None = None,
    check: bool = True,
    replace: bool = False,
) -> Loss:
    """Register a per-sample loss ``J(y, o, xp)`` (shape ``(N,)``) with its
    hand-derived ``dJ_do(y, o, xp)`` (shape ``(N, n_L)``).  ``accepts(activation)``
    returns ``None`` or why an output activation cannot feed it (default: any);
    ``targets(rng, shape)`` draws targets suited to it (default: standard normal)."""
    with provisional(LOSSES, name):
        entry = add_loss(name, J, dJ_do, accepts=accepts, targets=targets, replace=replace)
        if check:
            check_loss(name)
    return entry


def _networks_check(networks) -> list[Verdict]:
    verdicts = []
    for mlp in networks:
        for seed, scale in ((0, 1.0), (1, 3.0)):
            case = make_case(mlp, seed=seed, scale=scale, batch=4)
            if not derivative_is_finite(case):
                continue
            for notation in NOTATIONS:
                if not can_express(mlp, notation):
                    continue
                ours = gradients(mlp, case.params, case.X, case.Y, notation=notation)
                verdict = check_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=tuple(ORACLES), implementation=notation)
                if not {"jax", "torch"} & set(verdict.oracles_ran):
                    raise RegistrationError("neither jax nor torch could evaluate the function: " + "; ".join(f"{o}: {why}" for o, why in verdict.skipped))
                if not verdict.ok:
                    raise RegistrationError(f"{mlp}: the hand-written derivative is wrong:\n{verdict.message()}")
                verdicts.append(verdict)
    return verdicts


def check_activation(name: str) -> list[Verdict]:
    """Check a registered activation; raise ``RegistrationError`` if its derivative is wrong."""
    entry = ACTIVATIONS[name]
    z = np.concatenate([np.linspace(-30.0, 30.0, 601), np.random.default_rng(0).normal(scale=3.0, size=200)])
    z = z[np.min(np.abs(z[:, None] - np.array(entry.kinks or (np.inf,))[None, :]), axis=1) > 1e-6]
    # Σ_i f(z_i) has ∂/∂z_i = f'(z_i): df is checked elementwise as the gradient of a sum.  Where
    # jax.grad of the user's own formula is not finite (sqrt(z²) at 0), it cannot judge: those
    # points are left to the network checks below.
    problem = FunctionProblem(lambda z, xp: xp.sum(entry.xp_f(z, xp)), (z,), ["z"], (0,))
    theirs = ORACLES["jax"].answer(problem).gradients[0]
    judged = np.isfinite(theirs)
    ours = np.asarray(entry.df(z[judged]), dtype=np.float64)
    answer = Answer("jax.grad", problem.layout, (theirs[judged],))
    comparison, _ = judge(("z",), [ours], answer, implementation="df", tolerance=tolerance_for(np.float64, "jax"))
    if not comparison.ok:
        worst = comparison.worst
        raise RegistrationError(
            f"activation {name!r}: df disagrees with jax.grad of f: at z = {float(z[judged][worst.index])!r}, df = {worst.actual!r}, "
            f"jax.grad = {worst.desired!r} (normalised error {comparison.error:.3e} vs tolerance {comparison.tolerance.limit:.0e})"
        )
    if entry.xp_d2f is not None:
        _check_second_derivative(name, entry, z)
    networks = [
        MLP((3, 4, 4, 2), (name, name, "identity"), "squared_error"),
        MLP((3, 4, 3), ("tanh", name), "squared_error"),
        MLP((3, 4, 3), (name, "softmax"), "cross_entropy", bias=("none", "none")),
    ]
    return _networks_check(networks)


def _check_second_derivative(name: str, entry: Activation, z: np.ndarray) -> None:
    """d2f as the Hessian–vector product of Σ f(z_i) along v = 1: the Hessian is
    diagonal, so (H v)_i = f''(z_i).  Judged by every HVP oracle (``check_hvp``)."""
    from backprop_reference.oracles.checks.products import check_hvp  # derivatives imports the engine this module is beside

    verdict = check_hvp(
        lambda z, xp: xp.sum(entry.xp_f(z, xp)), lambda v, z: np.asarray(entry.xp_d2f(z, np), dtype=np.float64) * v, z, v=np.ones_like(z),
        implementation="d2f",
    )
    if not {"jax", "torch"} & set(verdict.oracles_ran):
        raise RegistrationError("neither jax nor torch could evaluate f twice: " + "; ".join(f"{o}: {why}" for o, why in verdict.skipped))
    if not verdict.ok:
        worst = verdict.worst
        at = f" at z = {float(z[worst.worst.index])!r}" if worst is not None else ""
        raise RegistrationError(f"activation {name!r}: d2f disagrees with the oracles{at}:\n{verdict.message()}")


def check_loss(name: str) -> list[Verdict]:
    """Check a registered loss; raise ``RegistrationError`` if its derivative is wrong."""
    entry = LOSSES[name]
    outputs = [a for a in ("identity", "sigmoid", "tanh", "softmax") if entry.accepts(ACTIVATIONS[a]) is None]
    if not outputs:
        raise RegistrationError(f"loss {name!r} accepts none of identity, sigmoid, tanh, softmax to be checked with")
    networks = [MLP((3, 4, 3), ("tanh", output), name) for output in outputs]
    networks.append(MLP((3, 4, 3), ("sigmoid", outputs[0]), name, bias=("none", "none")))
    return _networks_check(networks)
