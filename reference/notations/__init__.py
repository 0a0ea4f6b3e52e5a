"""The one registry of notations and the public ``gradients`` entry point.

Each notation follows one seed document in its own symbols and converts to
the canonical layout (``reference.mlp``).  Adding a notation is one entry
here; every property test, the report and the benchmark iterate over
``NOTATIONS``.  A notation whose equations are written for the whole batch
at once against the Python array API carries that form as ``batched``
(``reference.fast`` runs it on NumPy, torch, CuPy and jax arrays).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.notations import augmented_bias, column_vector, delta_rule, row_major_batch, two_layer_sums
from backprop_reference.reference.validation import check_network_inputs

Array = np.ndarray


@dataclass(frozen=True)
class Batched:
    """A notation's whole-batch form, written against the array API: ``prepare``
    lays canonical parameters out in the document's layout once (same library
    and device), ``core`` is the gradient of the mean objective in that layout
    (what the benchmark times and ``jax.jit`` compiles), ``to_canonical``
    converts its answer back, and ``forward`` is the document's forward pass
    alone (its output), for the gradient ÷ forward ratio."""

    summary: str
    prepare: Callable  # (mlp, params) -> (W, b)
    core: Callable  # (mlp, W, b, X, Y) -> gradients, document's layout
    to_canonical: Callable  # core's answer -> [(dW^l, db^l)]
    forward: Callable  # (mlp, W, b, X) -> the network's output


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
    batched: Batched | None = None


NOTATIONS: dict[str, Notation] = {
    notation.name: notation
    for notation in (
        Notation(
            "column_vector", "000", "per-sample column vectors, BP1–BP4, batch average",
            column_vector.gradients, column_vector.cannot_express, column_vector.update_mini_batch, "mean",
        ),
        Notation(
            "delta_rule", "003", "general delta rule, o − y shortcuts where exact, sum over samples",
            delta_rule.gradients, delta_rule.cannot_express, delta_rule.gradient_descent_step, "sum",
            Batched(
                "samples as columns; δ^l = f'(z^l) ⊙ (w^{l+1})ᵀ δ^{l+1}, ∂E/∂w = δ (a^{l−1})ᵀ",
                prepare=delta_rule.batch_layout, core=delta_rule.batch_gradients, to_canonical=list,
                forward=delta_rule.batch_output,
            ),
        ),
        Notation(
            "two_layer_sums", "001", "indexed sums, one hidden layer, no bias, δ = −∂E/∂net, per-sample updates",
            two_layer_sums.gradients, two_layer_sums.cannot_express, two_layer_sums.train_per_sample, "per_sample",
        ),
        Notation(
            "augmented_bias", "002", "bias folded in as w_jb on a constant input, Downstream(j) sums, per-sample updates",
            augmented_bias.gradients, augmented_bias.cannot_express, augmented_bias.stochastic_gradient_descent, "per_sample",
        ),
        Notation(
            "row_major_batch", "004", "row-major batch matrices h = Z W + b̃, vectorised, maxout, shared bias",
            row_major_batch.gradients, row_major_batch.cannot_express, row_major_batch.gradient_descent_step, "sum",
            Batched(
                "h = Z W + b̃ for the whole batch; ∂J/∂W = Zᵀ ∂J/∂h, ∂J/∂Z = ∂J/∂h Wᵀ",
                prepare=row_major_batch.to_document, core=row_major_batch.batch_gradients,
                to_canonical=lambda grads: row_major_batch.from_document(*grads), forward=row_major_batch.output,
            ),
        ),
    )
}


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
    check_network_inputs(mlp, params, X, Y)
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
