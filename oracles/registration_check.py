"""The check a newly registered activation or loss must pass.

1. Elementwise: the hand-written derivative against ``jax.grad`` of the
   user's own function, on a grid from −30 to 30 plus random points (a wrong
   derivative is named with the z where it is worst).
2. In networks: small seeded networks using the function, gradients by every
   notation that can express them, judged by every oracle that can evaluate
   the function (``check_network_gradients``).  An oracle that cannot (complex
   step on a function that is not complex-safe) is reported, and at least one
   of jax and torch must run.
"""

from __future__ import annotations

import numpy as np

from oracles.checks import Verdict, check_network_gradients


class RegistrationError(ValueError):
    """The registered derivative disagrees with the oracles."""


def _all_oracles_that_run(mlp, params, X, Y) -> tuple[tuple[str, ...], list[str]]:
    import oracles

    usable, skipped = [], []
    for name in oracles.ORACLES:
        try:
            oracles.gradients(mlp, params, X[:1], Y[:1], oracle=name) if oracles.ORACLES[name].numerical is None else None
        except (TypeError, ValueError, FloatingPointError) as error:
            skipped.append(f"{name}: {error}")
            continue
        usable.append(name)
    if not {"jax", "torch"} & set(usable):
        raise RegistrationError("neither jax nor torch could evaluate the function: " + "; ".join(skipped))
    return tuple(usable), skipped


def _networks_check(networks) -> list[Verdict]:
    import reference
    from reference.cases import derivative_is_finite, make_case

    verdicts = []
    for mlp in networks:
        for seed, scale in ((0, 1.0), (1, 3.0)):
            case = make_case(mlp, seed=seed, scale=scale, batch=4)
            if not derivative_is_finite(case):
                continue
            usable, skipped = _all_oracles_that_run(mlp, case.params, case.X, case.Y)
            for notation in reference.NOTATIONS:
                if not reference.can_express(mlp, notation):
                    continue
                ours = reference.gradients(mlp, case.params, case.X, case.Y, notation=notation)
                verdict = check_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=usable, implementation=notation)
                if not verdict.ok:
                    raise RegistrationError(f"{mlp}: the hand-written derivative is wrong:\n{verdict.message()}")
                verdicts.append(verdict)
    return verdicts


def check_activation(name: str) -> list[Verdict]:
    """Check a registered activation; raise ``RegistrationError`` if its derivative is wrong."""
    import oracles
    from oracles import jax_oracle
    from reference import MLP
    from reference.activations import ACTIVATIONS

    entry = ACTIVATIONS[name]
    jax, jnp = jax_oracle.jax, jax_oracle.jnp
    z = np.concatenate([np.linspace(-30.0, 30.0, 601), np.random.default_rng(0).normal(scale=3.0, size=200)])
    z = z[np.min(np.abs(z[:, None] - np.array(entry.kinks or (np.inf,))[None, :]), axis=1) > 1e-6]
    ours = np.asarray(entry.df(z), dtype=np.float64)
    theirs = np.asarray(jax.vmap(jax.grad(lambda t: entry.xp_f(t, jnp)))(jnp.asarray(z)))
    tolerance = oracles.tolerance_for(np.float64, "jax")
    scale = max(float(np.max(np.abs(theirs))), tolerance.floor)
    worst = int(np.argmax(np.abs(ours - theirs)))
    if not np.all(np.isfinite(ours)) or abs(ours[worst] - theirs[worst]) / scale > tolerance.limit:
        raise RegistrationError(
            f"activation {name!r}: df disagrees with jax.grad of f: at z = {z[worst]!r}, df = {ours[worst]!r}, "
            f"jax.grad = {theirs[worst]!r} (normalised error {abs(ours[worst] - theirs[worst]) / scale:.3e} "
            f"vs tolerance {tolerance.limit:.0e})"
        )
    networks = [
        MLP((3, 4, 4, 2), (name, name, "identity"), "squared_error"),
        MLP((3, 4, 3), ("tanh", name), "squared_error"),
        MLP((3, 4, 3), (name, "softmax"), "cross_entropy", bias=("none", "none")),
    ]
    return _networks_check(networks)


def check_loss(name: str) -> list[Verdict]:
    """Check a registered loss; raise ``RegistrationError`` if its derivative is wrong."""
    from reference import MLP
    from reference.activations import ACTIVATIONS
    from reference.losses import LOSSES

    entry = LOSSES[name]
    outputs = [a for a in ("identity", "sigmoid", "tanh", "softmax") if entry.accepts(ACTIVATIONS[a]) is None]
    if not outputs:
        raise RegistrationError(f"loss {name!r} accepts none of identity, sigmoid, tanh, softmax to be checked with")
    networks = [MLP((3, 4, 3), ("tanh", output), name) for output in outputs]
    networks.append(MLP((3, 4, 3), ("sigmoid", outputs[0]), name, bias=("none", "none")))
    return _networks_check(networks)
