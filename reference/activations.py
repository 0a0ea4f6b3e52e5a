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
from functools import partial
from typing import Callable

import numpy as np
from scipy.special import expit

Array = np.ndarray

LEAKY_RELU_SLOPE = 0.01  # torch.nn.functional.leaky_relu and jax.nn.leaky_relu default


@dataclass(frozen=True)
class Activation:
    """An activation function and its hand-derived derivative.

    ``output_range`` is the open or half-open interval of values ``f`` can
    take, used to decide which losses may follow it.  ``elementwise`` is False
    only for functions that couple the units of a layer (softmax), which may
    only appear at the output and expose ``jacobian`` instead of ``df``.

    ``f``, ``df`` and ``jacobian`` act on NumPy arrays.  The ``xp_`` forms are
    the same functions written once against an array namespace (``f(z, xp)``
    for NumPy, torch, CuPy, jax.numpy — ``reference.fast`` runs on them):

    * ``xp_f``, ``xp_df`` — f and f' of the pre-activation z;
    * ``xp_df_from_output`` — f'(z) written through the output a = f(z), as
      the seeds write σ' = a(1 − a) and tanh' = 1 − a² (``None`` where f'
      is not a function of a alone);
    * ``xp_vjp_from_output`` — for an activation that couples its units
      (softmax), (∂a/∂z)ᵀ v through the output a, without forming the
      Jacobian.
    """

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array], Array] | None
    output_range: tuple[float, float]
    elementwise: bool = True
    jacobian: Callable[[Array], Array] | None = None
    kinks: tuple[float, ...] = ()  # points where f (or f', f'') is not smooth: no difference stencil across them
    pieces: bool = False  # maxout: z has a trailing axis of k pieces per unit, f reduces it
    xp_f: Callable | None = None  # f(z, xp) in any array namespace (user-registered ones feed the oracles too)
    xp_df: Callable | None = None  # f'(z, xp)
    xp_df_from_output: Callable | None = None  # f'(z) as a function of a = f(z): (a, xp)
    xp_vjp_from_output: Callable | None = None  # softmax: (a, v, xp) -> (∂a/∂z)ᵀ v
    xp_d2f: Callable | None = None  # f''(z, xp), where the registrant gave it (checked, not used by the notations)

    def __post_init__(self) -> None:
        if (self.elementwise or self.pieces) and self.df is None:
            raise ValueError(f"activation {self.name!r}: elementwise and piecewise activations need df")
        if not self.elementwise and not self.pieces and self.jacobian is None:
            raise ValueError(f"activation {self.name!r}: activations that couple units need jacobian")

    def df_at(self, z, a, xp=np):
        """f'(z) of an elementwise activation, written through its output
        a = f(z) where the registry has that form (σ' = a(1 − a), tanh' =
        (1 − a)(1 + a): the seeds' own form), else from z."""
        if self.xp_df_from_output is not None:
            return self.xp_df_from_output(a, xp)
        return self.xp_df(z, xp)

    @property
    def output_only(self) -> bool:
        """Couples the units of its layer (softmax): allowed only at the output."""
        return not self.elementwise and not self.pieces


def _device_of(z):
    """Where to create constants beside z: its device (a CUDA tensor's GPU), or
    None — the library's default — for NumPy and traced jax values."""
    return None if isinstance(z, np.ndarray) else getattr(z, "device", None)


# --- each built-in, once, against the array namespace xp ----------------------


def _identity(z, xp):
    return xp.asarray(z, copy=True)


def _d_identity(z, xp):
    return xp.ones_like(z)


def _d_identity_from_output(a, xp):
    return xp.ones_like(a)


def _sigmoid(z, xp):
    # σ(z) = 1 / (1 + e^{−z}).  On NumPy arrays scipy's expit (the same function to an ulp, about
    # 7 ns per element against 25 for the general form); elsewhere exp(−log(1 + e^{−z})):
    # logaddexp never overflows.
    if isinstance(z, np.ndarray) and z.dtype.kind == "f":
        return expit(z)
    return xp.exp(-xp.logaddexp(xp.zeros_like(z), -z))


def _d_sigmoid(z, xp):
    return _d_sigmoid_from_output(_sigmoid(z, xp), xp)


def _d_sigmoid_from_output(a, xp):
    return a * (1.0 - a)  # σ' = σ(1 − σ)


def _tanh(z, xp):
    return xp.tanh(z)


def _d_tanh(z, xp):
    return _d_tanh_from_output(xp.tanh(z), xp)


def _d_tanh_from_output(a, xp):
    # tanh' = 1 − tanh², evaluated as (1 − a)(1 + a): 1 − a is exact near
    # saturation, while 1 − a·a loses the low bits of a² (same algebra,
    # better rounding; jax.grad uses this form too).
    return (1.0 - a) * (1.0 + a)


def _relu(z, xp):
    return xp.where(z > 0, z, xp.zeros_like(z))


def _d_relu(z, xp):
    return xp.astype(z > 0, z.dtype)  # [z > 0]; 0 at the kink, as the frameworks


def _leaky_relu(z, xp):
    return xp.where(z > 0, z, LEAKY_RELU_SLOPE * z)


def _d_leaky_relu(z, xp):
    return xp.where(z > 0, xp.ones_like(z), xp.full_like(z, LEAKY_RELU_SLOPE))


def _softplus(z, xp):
    # log(1 + e^z) = max(z, 0) + log(1 + e^{−|z|}): never overflows, and a third of
    # logaddexp's cost on NumPy (6.5 against 22 ns per element)
    return xp.maximum(z, xp.zeros_like(z)) + xp.log1p(xp.exp(-xp.abs(z)))


def _softmax(z, xp):
    # o_k = e^{z_k} / Σ_j e^{z_j}, shifted by max_j z_j so no exponent overflows.
    e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def _softmax_jacobian(z, xp):
    # ∂o_k/∂z_i = o_k (1[k = i] − o_i); symmetric, shape (..., n, n).
    o = _softmax(z, xp)
    eye = xp.eye(z.shape[-1], dtype=z.dtype, device=_device_of(z))
    return o[..., :, None] * eye - o[..., :, None] * o[..., None, :]


def _softmax_vjp_from_output(o, v, xp):
    # Σ_k v_k ∂o_k/∂z_i = Σ_k v_k o_k (1[k = i] − o_i) = o_i (v_i − Σ_k o_k v_k)
    return o * (v - xp.sum(o * v, axis=-1, keepdims=True))


def _maxout(z, xp):
    # h_i = max_p z_ip over the k pieces (last axis) of unit i
    return xp.max(z, axis=-1)


def _d_maxout(z, xp):
    # ∂h_i/∂z_ip = 1 for the winning piece, 0 for the others (first one on a tie,
    # as torch.max does; a tie is a kink)
    winner = xp.argmax(z, axis=-1)
    pieces = xp.arange(z.shape[-1], device=_device_of(z))
    return xp.astype(pieces == winner[..., None], z.dtype)


_INF = float("inf")

ACTIVATIONS: dict[str, Activation] = {}


def _register(activation: Activation) -> None:
    ACTIVATIONS[activation.name] = activation


def _builtin(name, f, df, output_range, *, from_output=None, jacobian=None, vjp=None, **options) -> Activation:
    """An entry whose NumPy ``f``/``df``/``jacobian`` are its xp forms with xp = numpy."""
    return Activation(
        name,
        partial(f, xp=np),
        None if df is None else partial(df, xp=np),
        output_range,
        jacobian=None if jacobian is None else partial(jacobian, xp=np),
        xp_f=f,
        xp_df=df,
        xp_df_from_output=from_output,
        xp_vjp_from_output=vjp,
        **options,
    )


_register(_builtin("identity", _identity, _d_identity, (-_INF, _INF), from_output=_d_identity_from_output))
_register(_builtin("sigmoid", _sigmoid, _d_sigmoid, (0.0, 1.0), from_output=_d_sigmoid_from_output))
_register(_builtin("tanh", _tanh, _d_tanh, (-1.0, 1.0), from_output=_d_tanh_from_output))
# relu': [z > 0] = [a > 0]; leaky_relu': the sign of a is the sign of z
_register(_builtin("relu", _relu, _d_relu, (0.0, _INF), from_output=_d_relu, kinks=(0.0,)))
_register(_builtin("leaky_relu", _leaky_relu, _d_leaky_relu, (-_INF, _INF), from_output=_d_leaky_relu, kinks=(0.0,)))
_register(_builtin("softplus", _softplus, _sigmoid, (0.0, _INF)))  # softplus' = σ
_register(_builtin("maxout", _maxout, _d_maxout, (-_INF, _INF), elementwise=False, pieces=True))
_register(
    _builtin(
        "softmax", _softmax, None, (0.0, 1.0), elementwise=False, jacobian=_softmax_jacobian, vjp=_softmax_vjp_from_output
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
