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

from backprop_reference.reference.array_api import namespace

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


# --- δ^L kept finite where the truth is --------------------------------------
# Where an output saturates, the literal order of operations δ^L = ∂J/∂o ⊙ f'(z^L)
# multiplies ∞ by 0: σ(z) rounds to 1.0 for z > 37 in float64, so log loss's
# ∂J/∂o = (o − y)/(o(1 − o)) is ∞ (or 0/0) while σ'(z) rounds to 0; a softmax output
# that underflows to 0 gives cross-entropy's −y/o = −∞ against a Jacobian column of 0.
# The true δ^L is finite there.  These closed forms for δ^L = ∂J/∂z^L (gradient sign)
# hold for every target, so a notation can fall back on them wherever its own
# order of operations overflows.


def _o_minus_y(o, y, axis, xp):
    return O_MINUS_Y.delta(o, y)


def _softmax_cross_entropy(o, y, axis, xp):
    # Σ_k (−y_k/o_k) o_k(1[k=i] − o_i) = o_i Σ_k y_k − y_i: o − y when the targets sum to one
    return o * xp.sum(y, axis=axis, keepdims=True) - y


FINITE_OUTPUT_DELTA: dict[tuple[str, str], Callable] = {
    ("identity", "squared_error"): _o_minus_y,
    ("sigmoid", "log_loss"): _o_minus_y,
    ("softmax", "cross_entropy"): _softmax_cross_entropy,
}


def has_finite_output_delta(activation: str, loss: str) -> bool:
    """Whether the pair has a closed form for δ^L that stays finite wherever the truth is."""
    return (activation, loss) in FINITE_OUTPUT_DELTA


def kept_finite(activation: str, loss: str, literal: Callable[[], Array], o: Array, y: Array, *,
                axis: int = -1, scale: float = 1.0) -> Array:
    """A notation's δ^L as its document computes it (``literal()``, in the document's own
    order of operations) wherever that is finite; in the elements where it is not, and the
    pair has a closed form (``FINITE_OUTPUT_DELTA``), ``scale`` × that closed form
    (``axis``: the axis of the output units; ``scale``: −1 for a document whose δ is the
    negative gradient, 1/N for a mean taken before δ^L).  A departure from the documents'
    literal order of operations that changes no value where the literal form is finite
    (tests/test_finite_reference.py checks that equality).  Works on any array-API array
    (``xp.where`` element by element: no host synchronisation under ``jax.jit``)."""
    closed = FINITE_OUTPUT_DELTA.get((activation, loss))
    if closed is None:
        return literal()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # the ∞·0 is expected here, and replaced
        value = literal()
    if isinstance(value, np.ndarray) and np.all(np.isfinite(value)):  # the usual case, on the host: nothing to replace
        return value
    xp = namespace(value)
    return xp.where(xp.isfinite(value), value, scale * closed(o, y, axis, xp))

