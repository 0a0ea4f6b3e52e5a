"""The fixed, seeded set of cases the report checks.

Every non-output activation crossed with every valid (output activation,
loss) pair, at a small, a moderate and a saturating weight scale, each in
one of several network structures (depth, bias modes, masks) taken in turn,
so that every notation meets networks it can express.  Widths and batch
sizes come from the seed.  Built from the registries, so new activations,
losses and notations join without edits here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.mlp import MLP
from reference.cases import Case, derivative_is_finite, hidden_activations, make_case, valid_pairs

SCALES = (0.3, 1.0, 3.0)


@dataclass(frozen=True)
class Structure:
    """A network shape to draw: hidden-layer count, bias modes, masked layers."""

    name: str
    hidden: int
    bias: str | tuple[str, ...]
    masked: tuple[bool, ...] = ()  # per layer; empty: no masks


STRUCTURES = (
    Structure("plain, two hidden layers", 2, "neuron"),
    Structure("one hidden layer, no bias", 1, "none"),
    Structure("shared biases, masked first layer", 2, "shared", (True, False, False)),
    Structure("per-layer bias modes, masks", 2, ("neuron", "none", "neuron"), (True, True, False)),
)


def _network(rng: np.random.Generator, structure: Structure, hidden: str, output: str, loss: str) -> MLP:
    sizes = tuple(int(n) for n in rng.integers(1, 9, size=structure.hidden + 2))
    activations = (hidden,) * structure.hidden + (output,)
    plain = MLP(sizes, activations, loss, bias=structure.bias)
    if not structure.masked:
        return plain
    masks = tuple(
        (rng.random(plain.weight_shape(l)) < 0.7).astype(int) if masked else None
        for l, masked in enumerate(structure.masked, start=1)
    )
    return MLP(sizes, activations, loss, bias=structure.bias, masks=masks)


def report_cases(seed: int, scales: tuple[float, ...] = SCALES) -> list[Case]:
    """Deterministic cases for ``seed``; a case whose loss or ∂J/∂o is not
    finite (an output rounded to 0 or 1 under log loss) is redrawn."""
    rng = np.random.default_rng(seed)
    cases = []
    count = 0
    for output, loss in valid_pairs():
        for hidden in hidden_activations():
            for scale in scales:
                structure = STRUCTURES[count % len(STRUCTURES)]
                count += 1
                for _attempt in range(100):
                    mlp = _network(rng, structure, hidden, output, loss)
                    case = make_case(mlp, int(rng.integers(2**32)), scale, int(rng.integers(1, 9)))
                    if derivative_is_finite(case):
                        cases.append(case)
                        break
    return cases
