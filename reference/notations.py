"""Registry of notation modules and the public ``gradients`` entry point.

Each notation follows one seed document in its own symbols and converts to
the canonical layout (``reference.network``).  Adding a notation is one entry
here; every property test and the report iterate over ``NOTATIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable

import numpy as np

from reference import augmented_bias, column_vector, delta_rule, row_major_batch, two_layer_sums
from reference.network import MLP, Params, check_batch, check_params

Array = np.ndarray


@dataclass(frozen=True)
class Notation:
    """One document's backpropagation, reached through the canonical layout."""

    name: str
    seed: str  # file prefix in ../shared/seeds
    summary: str
    gradients: Callable[[MLP, Params, Array, Array], Params]
    cannot_express: Callable[[MLP], str | None]
    step: Callable[[MLP, Params, Array, Array, float], Params]
    # How the document's step relates to the canonical gradient g (mean over the batch):
    # "mean" — W − lr·g; "sum" — W − lr·N·g; "per_sample" — one canonical step per sample, in order.
    step_reduction: str

    @classmethod
    def from_module(
        cls, name: str, seed: str, summary: str, module: ModuleType, step: str, step_reduction: str
    ) -> "Notation":
        return cls(name, seed, summary, module.gradients, module.cannot_express, getattr(module, step), step_reduction)


NOTATIONS: dict[str, Notation] = {}


def _register(notation: Notation) -> None:
    NOTATIONS[notation.name] = notation


_register(
    Notation.from_module(
        "column_vector", "000", "per-sample column vectors, BP1–BP4, batch average", column_vector,
        step="update_mini_batch", step_reduction="mean",
    )
)
_register(
    Notation.from_module(
        "delta_rule", "003", "general delta rule, o − y shortcuts where exact, sum over samples", delta_rule,
        step="gradient_descent_step", step_reduction="sum",
    )
)
_register(
    Notation.from_module(
        "two_layer_sums", "001", "indexed sums, one hidden layer, no bias, δ = −∂E/∂net, per-sample updates",
        two_layer_sums, step="train_per_sample", step_reduction="per_sample",
    )
)
_register(
    Notation.from_module(
        "augmented_bias", "002", "bias folded in as w_jb on a constant input, Downstream(j) sums, per-sample updates",
        augmented_bias, step="stochastic_gradient_descent", step_reduction="per_sample",
    )
)
_register(
    Notation.from_module(
        "row_major_batch", "004", "row-major batch matrices h = Z W + b̃, vectorised, maxout, shared bias",
        row_major_batch, step="gradient_descent_step", step_reduction="sum",
    )
)


def get_notation(name: object) -> Notation:
    if not isinstance(name, str):
        raise TypeError(f"notation must be a name (str); got {name!r}")
    try:
        return NOTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown notation {name!r}; registered: {', '.join(NOTATIONS)}") from None


def why_cannot_express(mlp: MLP, notation: str) -> str | None:
    """``None`` if ``notation`` can express ``mlp``, else the reason it cannot."""
    return get_notation(notation).cannot_express(mlp)


def can_express(mlp: MLP, notation: str) -> bool:
    """Ask beforehand whether ``gradients(..., notation=notation)`` will accept ``mlp``."""
    return why_cannot_express(mlp, notation) is None


def _checked(mlp: MLP, params: Params, X: Array, Y: Array, notation: object) -> Notation:
    chosen = get_notation(notation)
    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    reason = chosen.cannot_express(mlp)
    if reason is not None:
        raise ValueError(f"notation {notation!r} cannot express network {mlp}: {reason}")
    return chosen


def sgd_step(mlp: MLP, params: Params, X: Array, Y: Array, lr: float, notation: str = "column_vector") -> Params:
    """One training step by ``notation``'s own update rule, in its own sign
    convention and batch reduction (``NOTATIONS[notation].step_reduction``
    says how it relates to the canonical gradient).  Returns new parameters."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number; got {lr!r}")
    chosen = _checked(mlp, params, X, Y, notation)
    return chosen.step(mlp, params, X, Y, float(lr))


def gradients(mlp: MLP, params: Params, X: Array, Y: Array, notation: str = "column_vector") -> Params:
    """∂E/∂W^l and ∂E/∂b^l of the canonical objective (mean over the batch),
    computed in ``notation``'s document; same structure as ``params``."""
    return _checked(mlp, params, X, Y, notation).gradients(mlp, params, X, Y)
