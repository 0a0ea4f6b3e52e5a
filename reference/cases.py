"""Reproducible cases — a network, its parameters and a batch — for tests,
the report and golden files.  No Hypothesis here (``testbed.strategies``
builds its strategies on top of this module)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.losses import LOSSES
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import _forward, init_params, per_sample_loss
from backprop_reference.reference.shortcuts import has_finite_output_delta

Array = np.ndarray

# Weight scales from small (near-linear units) to saturating (|z| of order 10–30 and beyond):
# trained networks have large weights, and that is where a checker's tolerance is tested.
WEIGHT_SCALES = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def valid_pairs() -> list[tuple[str, str]]:
    """Every (output activation, loss) pair the registries allow."""
    return [
        (activation.name, loss.name)
        for activation in ACTIVATIONS.values()
        for loss in LOSSES.values()
        if loss.accepts(activation) is None
    ]


def hidden_activations() -> list[str]:
    """Activations allowed in hidden layers: all but those that couple units (softmax)."""
    return [name for name, activation in ACTIVATIONS.items() if not activation.output_only]


@dataclass(frozen=True)
class Case:
    """A network, its parameters and one batch, with what produced them."""

    mlp: MLP
    params: Params
    X: Array
    Y: Array
    seed: int
    scale: float

    def __repr__(self) -> str:
        return f"Case({self.mlp}, N={self.X.shape[0]}, seed={self.seed}, scale={self.scale}, dtype={self.X.dtype})"


def make_case(mlp: MLP, seed: int, scale: float, batch: int, dtype=np.float64) -> Case:
    """The deterministic case for (mlp, seed, scale, batch): parameters by
    ``init_params``, inputs N(0, 1), targets suited to the loss."""
    params = init_params(mlp, seed=seed, dtype=dtype, scale=scale)
    rng = np.random.default_rng([seed, 1])
    X = rng.standard_normal((batch, mlp.sizes[0])).astype(dtype)
    Y = mlp.loss_fn.targets(rng, (batch, mlp.sizes[-1])).astype(dtype)
    return Case(mlp, params, X, Y, seed, scale)


def derivative_is_finite(case: Case) -> bool:
    """Whether the objective and the true gradient are finite at the case.

    The objective is the network's own (``reference.network.per_sample_loss``: from the
    logits where the loss has a fused form, so it stays finite when σ(z) rounds to 1).
    For an output activation + loss pair with a closed form for δ^L
    (``reference.shortcuts.FINITE_OUTPUT_DELTA``: sigmoid + log loss, softmax +
    cross-entropy, identity + squared error) that is all: every notation falls back on
    the closed form where its literal ∂J/∂o ⊙ f'(z) is ∞ · 0, so saturated outputs
    are in range.  For any other pair ∂J/∂o must be finite at the outputs too — also with
    outputs in the subnormal range flushed to 0, as XLA on CPU and CUDA flush them.
    """
    zs, activations = _forward(case.mlp, case.params, case.X)
    with np.errstate(all="ignore"):
        objective = per_sample_loss(case.mlp)(case.Y, zs[-1])
    if not np.all(np.isfinite(objective)):
        return False
    if has_finite_output_delta(case.mlp.activations[-1], case.mlp.loss):
        return True
    o = activations[-1]
    flushed = np.where(np.abs(o) < np.finfo(o.dtype).tiny, 0.0, o).astype(o.dtype)
    with np.errstate(all="ignore"):
        values = [f(case.Y, out) for out in (o, flushed) for f in (case.mlp.loss_fn.J, case.mlp.loss_fn.dJ_do)]
    return bool(all(np.all(np.isfinite(v)) for v in values))


def kink_distance(mlp: MLP, params: Params, X: Array) -> float:
    """Smallest distance to a kink over every unit and sample: |z − kink| for
    relu/leaky_relu (any registered kink), the gap between the two largest
    pieces for maxout; ``inf`` when the network has no kinked unit, 0 when a
    pre-activation sits exactly on a kink."""
    zs, _ = _forward(mlp, params, X)
    distance = np.inf
    for l, z in enumerate(zs, start=1):
        activation = mlp.activation(l)
        for kink in activation.kinks:
            distance = min(distance, float(np.min(np.abs(z - kink))))
        if activation.pieces:
            top_two = np.sort(z, axis=-1)[..., -2:]
            distance = min(distance, float(np.min(top_two[..., 1] - top_two[..., 0])))
    return distance


def min_kink_distance(case: Case) -> float:
    """``kink_distance`` of a case."""
    return kink_distance(case.mlp, case.params, case.X)
