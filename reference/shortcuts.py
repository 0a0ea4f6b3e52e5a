"""Closed forms for the output delta δ^L = ∂J/∂z^L, and where each is valid.

Seed 003 states that δ^L = ∂J/∂o ⊙ f'(z^L) reduces to ``o − y`` for three
activation + loss pairs.  The reduction is exact only for those pairs — and,
for softmax + cross-entropy, only when the target row sums to one:

* identity + squared error:  ∂J/∂o = o − y and f' = 1.
* sigmoid + log loss:        (o − y)/(o(1 − o)) · o(1 − o) = o − y, for any y.
* softmax + cross-entropy:   Σ_k (−y_k/o_k) o_k(1[k=i] − o_i) = o_i Σ_k y_k − y_i,
                             which is o_i − y_i iff Σ_k y_k = 1.

Used anywhere else (sigmoid + squared error is the classic slip) it is a
derivation bug; the report checks every pair to show where it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


def _always(y: Array) -> bool:
    return True


def _rows_sum_to_one(y: Array) -> bool:
    # Σ_k y_k = 1 up to the rounding of summing n numbers in y's dtype.
    tolerance = 4 * y.shape[-1] * np.finfo(y.dtype).eps
    return bool(np.all(np.abs(np.sum(y, axis=-1) - 1.0) <= tolerance))


@dataclass(frozen=True)
class OutputDeltaShortcut:
    """δ^L = ``delta(o, y)`` for the (activation, loss) pairs in ``valid_for``,
    provided ``requires(y)`` holds for the targets."""

    formula: str
    delta: Callable[[Array, Array], Array]
    requires: dict[tuple[str, str], Callable[[Array], bool]]

    def applies(self, activation: str, loss: str, y: Array) -> bool:
        condition = self.requires.get((activation, loss))
        return condition is not None and condition(y)

    def applies_to_every_target(self, activation: str, loss: str) -> bool:
        """Exact whatever the targets: decidable without looking at y (under
        ``jax.jit``, or on a GPU without a round trip to the host)."""
        return self.requires.get((activation, loss)) is _always


O_MINUS_Y = OutputDeltaShortcut(
    formula="o − y",
    delta=lambda o, y: o - y,
    requires={
        ("identity", "squared_error"): _always,
        ("sigmoid", "log_loss"): _always,
        ("softmax", "cross_entropy"): _rows_sum_to_one,
    },
)


@dataclass(frozen=True)
class ClosedForm:
    """A document's closed form for δ^L = ∂J/∂z^L (gradient sign), to be
    checked against the true δ^L for every activation + loss pair."""

    formula: str
    seeds: str  # where it is written
    delta: Callable[[Array, Array, Array, "object"], Array]  # (o, y, z, activation) → δ^L


def _quadratic_bp1(o: Array, y: Array, z: Array, activation) -> Array:
    if activation.elementwise:
        return (o - y) * activation.df(z)
    return np.einsum("nk,nki->ni", o - y, activation.jacobian(z))  # (∂o/∂z)ᵀ (o − y)


CLOSED_FORMS = (
    ClosedForm("o − y", "003", lambda o, y, z, activation: o - y),
    ClosedForm("(o − y) ⊙ f'(z)", "000, 001, 004", _quadratic_bp1),
    ClosedForm("(o − y) ⊙ o(1 − o)", "002", lambda o, y, z, activation: (o - y) * o * (1.0 - o)),
)
