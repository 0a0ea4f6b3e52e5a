"""User-registered activations and losses, as the oracles see them.

A function registered with ``reference.register_activation`` or
``register_loss`` is written against the array namespace (``f(z, xp)``,
``J(y, o, xp)``), so each oracle evaluates the *user's own* forward pass in
its framework — jax.numpy, torch, or NumPy on complex numbers — and
differentiates it; what is being checked is the user's hand-written
derivative.  Built-in functions never come through here: the oracles keep
their own independent implementations of those.
"""

from __future__ import annotations

from typing import Callable


def activation(name: str, xp, oracle: str) -> Callable:
    from reference.activations import ACTIVATIONS

    entry = ACTIVATIONS.get(name)
    if entry is None or entry.xp_f is None:
        raise ValueError(f"the {oracle} oracle has no implementation of activation {name!r}")
    return lambda z: entry.xp_f(z, xp)


def loss(name: str, xp, oracle: str) -> Callable:
    """``J(y, o)`` per sample for a registered loss."""
    from reference.losses import LOSSES

    entry = LOSSES.get(name)
    if entry is None or entry.xp_J is None:
        raise ValueError(f"the {oracle} oracle has no implementation of loss {name!r}")
    return lambda y, o: entry.xp_J(y, o, xp)
