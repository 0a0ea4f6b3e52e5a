"""Loss registry: each per-sample loss J(y, o) beside its hand-derived ∂J/∂o.

Every loss acts on arrays ``o`` (outputs) and ``y`` (targets) of shape
``(N, n_L)`` and returns one value per sample, shape ``(N,)``; the network
objective is the mean of those values over the batch (``reference.loss``).

``from_logits`` holds, per output activation, the same loss written in terms
of the pre-activation z.  These fused forms are algebraically identical to
``J(y, f(z))`` but stay finite when the output saturates (σ(z) rounds to 1.0
for z > 37 in float64, and log(1 − 1.0) = −inf), so the canonical loss never
overflows for |z| up to 1e3.  The derivatives used by the notations are the
hand-derived ones below; the fused forms only evaluate the objective.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np

from backprop_reference.reference.activations import Activation

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """A per-sample loss, its gradient with respect to the output, which
    output activations it accepts (``accepts`` returns ``None`` when the
    activation is fine, else the reason it is not), and the targets it is
    meant for (``targets(rng, shape)``: one-hot or probability rows for
    cross-entropy, 0/1 or (0, 1) values for log loss, normal ones otherwise)."""

    name: str
    J: Callable[[Array, Array], Array]
    dJ_do: Callable[[Array, Array], Array]
    accepts: Callable[[Activation], str | None]
    from_logits: dict[str, Callable[[Array, Array], Array]] = field(default_factory=dict)
    xp_J: Callable | None = None  # J(y, o, xp) in any array namespace (user-registered ones feed the oracles too)
    xp_dJ_do: Callable | None = None  # ∂J/∂o as (y, o, xp): what ``reference.fast`` runs on any array library
    targets: Callable[[np.random.Generator, tuple[int, int]], Array] | None = None

    def __post_init__(self) -> None:
        if self.targets is None:  # targets the loss is meant for; normal ones unless it says otherwise
            object.__setattr__(self, "targets", normal_targets)


# --- the targets each loss is meant for (cases, property tests, the report) ----


def normal_targets(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return rng.standard_normal(shape)


def _unit_interval_targets(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    # Hard labels and soft labels both occur in practice.
    if rng.random() < 0.5:
        return rng.integers(0, 2, size=shape).astype(np.float64)
    return rng.random(shape)


def _distribution_targets(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    # One-hot rows or probability rows (Dirichlet); each row sums to one.
    if rng.random() < 0.5:
        return np.eye(shape[1])[rng.integers(0, shape[1], size=shape[0])]
    return rng.dirichlet(np.ones(shape[1]), size=shape[0])


def _any_output(activation: Activation) -> str | None:
    return None


def _needs_unit_interval(activation: Activation) -> str | None:
    low, high = activation.output_range
    if not (low >= 0.0 and high <= 1.0):
        return (
            f"log loss takes log o and log(1 − o), so it needs outputs in (0, 1); "
            f"{activation.name!r} outputs lie in ({low:g}, {high:g})"
        )
    if not activation.elementwise:
        # Softmax outputs lie in (0, 1) too, but they are not independent
        # probabilities, and log(1 − o_k) of a softmax is ill-conditioned near
        # saturation (jax and torch differ by 2 % there): use cross_entropy.
        return (
            f"log loss treats each output unit as an independent probability; {activation.name!r} "
            f"couples its units (they sum to one) — use cross_entropy"
        )
    return None


def _needs_softmax(activation: Activation) -> str | None:
    if activation.name == "softmax":
        return None
    return (
        f"cross-entropy −Σ_k y_k log o_k needs a probability vector from a softmax "
        f"output layer; got {activation.name!r}"
    )


# --- squared error: J = ½ Σ_k (o_k − y_k)² -----------------------------------


def _squared_error(y, o, xp):
    return 0.5 * xp.sum((o - y) ** 2, axis=-1)


def _d_squared_error(y, o, xp):
    return o - y  # ∂J/∂o_k = o_k − y_k


# --- log loss (binary cross-entropy per output unit) ---------------------------
# J = −Σ_k [y_k log o_k + (1 − y_k) log(1 − o_k)]


def _log_loss(y, o, xp):
    return -xp.sum(y * xp.log(o) + (1.0 - y) * xp.log1p(-o), axis=-1)


def _d_log_loss(y, o, xp):
    return (o - y) / (o * (1.0 - o))  # −y/o + (1 − y)/(1 − o), over one denominator


def _log_loss_sigmoid_logits(y: Array, z: Array) -> Array:
    # −y log σ(z) − (1 − y) log(1 − σ(z)) = softplus(z) − y z
    return np.sum(np.logaddexp(0.0, z) - y * z, axis=-1)


# --- cross-entropy: J = −Σ_k y_k log o_k ---------------------------------------


def _cross_entropy(y, o, xp):
    return -xp.sum(y * xp.log(o), axis=-1)


def _d_cross_entropy(y, o, xp):
    return -y / o  # ∂J/∂o_k = −y_k / o_k


def _log_softmax(z: Array) -> Array:
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _cross_entropy_softmax_logits(y: Array, z: Array) -> Array:
    return -np.sum(y * _log_softmax(z), axis=-1)  # log o_k = z_k − log Σ_j e^{z_j}


LOSSES: dict[str, Loss] = {}


def _register(loss: Loss) -> None:
    LOSSES[loss.name] = loss


def _builtin(name, J, dJ_do, accepts, **options) -> Loss:
    """An entry whose NumPy ``J``/``dJ_do`` are its xp forms with xp = numpy."""
    return Loss(name, partial(J, xp=np), partial(dJ_do, xp=np), accepts, xp_J=J, xp_dJ_do=dJ_do, **options)


_register(_builtin("squared_error", _squared_error, _d_squared_error, _any_output, targets=normal_targets))
_register(
    _builtin(
        "log_loss", _log_loss, _d_log_loss, _needs_unit_interval, from_logits={"sigmoid": _log_loss_sigmoid_logits},
        targets=_unit_interval_targets,
    )
)
_register(
    _builtin(
        "cross_entropy", _cross_entropy, _d_cross_entropy, _needs_softmax, from_logits={"softmax": _cross_entropy_softmax_logits},
        targets=_distribution_targets,
    )
)


def get_loss(name: str) -> Loss:
    """The registered loss called ``name`` (``ValueError`` if unknown)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; registered: {', '.join(sorted(LOSSES))}") from None
