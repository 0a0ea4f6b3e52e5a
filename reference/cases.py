"""Reproducible cases — a network, its parameters and a batch — for tests,
the report and golden files.  No Hypothesis here (``testbed.strategies``
builds its strategies on top of this module)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.losses import LOSSES
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import _forward, init_params

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
    """Whether J(y, o) and ∂J/∂o are finite at the network's outputs.

    They are not when an output rounds to exactly 0 or 1 under log loss
    (σ(z) = 1.0 for z > 37 in float64): then every derivation that goes
    through ∂J/∂o — seed 000's BP1, the general output delta, a framework
    differentiating log(1 − o) — is inf or nan, and only the o − y shortcut
    survives.  Such a case tests floating-point range, not a derivation, so
    the strategies leave it out.  The same holds for an output in the
    subnormal range (a softmax output e^{−710}): XLA on CPU and CUDA flush
    it to 0, and −y/o is infinite there, so it is checked flushed too.
    """
    _, activations = _forward(case.mlp, case.params, case.X)
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
