"""Activation registry: each function beside its hand-derived derivative.

One entry per activation, so adding one is one edit and every notation,
oracle cross-check, property test and report picks it up.

Conventions
-----------
* ``maxout`` (seed 004) gives each unit k linear pieces: its z has a trailing
  axis of length k, ``f`` takes the max over it and ``df`` is the indicator
  of the winning piece.
* ``f(z)`` and ``df(z)`` act elementwise on an array of pre-activations of any
  shape, except ``softmax``, which acts on the last axis: ``f(z)`` normalises
  each row and ``jacobian(z)`` returns ``∂o_k/∂z_i`` with shape
  ``z.shape + (n,)``.
* Derivatives at a kink (relu, leaky_relu at ``z = 0``) take the left-hand
  value, as ``torch.autograd`` does.  ``jax.grad`` agrees for relu (0) but
  takes the right-hand value for leaky_relu (1, not 0.01): at a kink any value
  between the one-sided derivatives is defensible, so the frameworks differ
  there, and so may a correct hand derivation.
* Every form is numerically stable: no overflow or invalid-value warning for
  ``|z|`` up to 1e3 in float64 (tested).
* Where a document writes the derivative through the output (σ' = a(1 − a),
  tanh' = 1 − a²; seeds 001, 002, 004), so do we: it is the hand derivation
  those documents teach, and the frameworks use the same form, so saturated
  units round alike on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray

LEAKY_RELU_SLOPE = 0.01  # torch.nn.functional.leaky_relu and jax.nn.leaky_relu default


@dataclass(frozen=True)
class Activation:
    """An activation function and its hand-derived derivative.

    ``output_range`` is the open or half-open interval of values ``f`` can
    take, used to decide which losses may follow it.  ``elementwise`` is False
    only for functions that couple the units of a layer (softmax), which may
    only appear at the output and expose ``jacobian`` instead of ``df``.
    """

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array], Array] | None
    output_range: tuple[float, float]
    elementwise: bool = True
    jacobian: Callable[[Array], Array] | None = None
    kinks: tuple[float, ...] = ()  # points where f (or f', f'') is not smooth: no difference stencil across them
    pieces: bool = False  # maxout: z has a trailing axis of k pieces per unit, f reduces it
    xp_f: Callable | None = None  # user-registered: f(z, xp) in any array namespace, for the oracles

    def __post_init__(self) -> None:
        if (self.elementwise or self.pieces) and self.df is None:
            raise ValueError(f"activation {self.name!r}: elementwise and piecewise activations need df")
        if not self.elementwise and not self.pieces and self.jacobian is None:
            raise ValueError(f"activation {self.name!r}: activations that couple units need jacobian")

    @property
    def output_only(self) -> bool:
        """Couples the units of its layer (softmax): allowed only at the output."""
        return not self.elementwise and not self.pieces


def _sigmoid(z: Array) -> Array:
    # σ(z) = 1 / (1 + e^{−z}) = exp(−log(1 + e^{−z})); logaddexp never overflows.
    return np.exp(-np.logaddexp(0.0, -z))


def _d_sigmoid(z: Array) -> Array:
    a = _sigmoid(z)
    return a * (1.0 - a)  # σ' = σ(1 − σ)


def _d_tanh(z: Array) -> Array:
    a = np.tanh(z)
    # tanh' = 1 − tanh², evaluated as (1 − a)(1 + a): 1 − a is exact near
    # saturation, while 1 − a·a loses the low bits of a² (same algebra,
    # better rounding; jax.grad uses this form too).
    return (1.0 - a) * (1.0 + a)


def _relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def _d_relu(z: Array) -> Array:
    return (z > 0).astype(z.dtype)  # [z > 0]; 0 at the kink, as the frameworks


def _leaky_relu(z: Array) -> Array:
    return np.where(z > 0, z, LEAKY_RELU_SLOPE * z)


def _d_leaky_relu(z: Array) -> Array:
    return np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(z.dtype)


def _softplus(z: Array) -> Array:
    return np.logaddexp(0.0, z)  # log(1 + e^z)


def _softmax(z: Array) -> Array:
    # o_k = e^{z_k} / Σ_j e^{z_j}, shifted by max_j z_j so no exponent overflows.
    shifted = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_jacobian(z: Array) -> Array:
    # ∂o_k/∂z_i = o_k (1[k = i] − o_i); symmetric, shape (..., n, n).
    o = _softmax(z)
    return o[..., :, None] * np.eye(z.shape[-1], dtype=z.dtype) - o[..., :, None] * o[..., None, :]


def _maxout(z: Array) -> Array:
    # h_i = max_p z_ip over the k pieces (last axis) of unit i
    return np.max(z, axis=-1)


def _d_maxout(z: Array) -> Array:
    # ∂h_i/∂z_ip = 1 for the winning piece, 0 for the others (first one on a tie,
    # as torch.max does; a tie is a kink)
    winner = np.argmax(z, axis=-1)
    return (np.arange(z.shape[-1]) == winner[..., None]).astype(z.dtype)


_INF = float("inf")

ACTIVATIONS: dict[str, Activation] = {}


def _register(activation: Activation) -> None:
    ACTIVATIONS[activation.name] = activation


_register(Activation("identity", lambda z: z.copy(), lambda z: np.ones_like(z), (-_INF, _INF)))
_register(Activation("sigmoid", _sigmoid, _d_sigmoid, (0.0, 1.0)))
_register(Activation("tanh", np.tanh, _d_tanh, (-1.0, 1.0)))
_register(Activation("relu", _relu, _d_relu, (0.0, _INF), kinks=(0.0,)))
_register(Activation("leaky_relu", _leaky_relu, _d_leaky_relu, (-_INF, _INF), kinks=(0.0,)))
_register(Activation("softplus", _softplus, _sigmoid, (0.0, _INF)))  # softplus' = σ
_register(Activation("maxout", _maxout, _d_maxout, (-_INF, _INF), elementwise=False, pieces=True))
_register(
    Activation(
        "softmax",
        _softmax,
        None,
        (0.0, 1.0),
        elementwise=False,
        jacobian=_softmax_jacobian,
    )
)


def get_activation(name: str) -> Activation:
    """The registered activation called ``name`` (``ValueError`` if unknown)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; registered: {', '.join(sorted(ACTIVATIONS))}"
        ) from None
