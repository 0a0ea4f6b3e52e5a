"""The fixed, seeded set of cases the report checks.

Every non-output activation crossed with every valid (output activation,
loss) pair, at a small, a moderate and a saturating weight scale, each in
one of several network structures (depth, bias modes, masks) taken in turn,
so that every notation meets networks it can express.  Widths, masks and
batch sizes come from the seed, drawn by ``testbed.drawer`` (the one drawer
the strategies and the false-alarm measurement use too).  Built from the
registries, so new activations, losses and notations join without edits here.
"""

from __future__ import annotations

from dataclasses import dataclass

from backprop_reference.reference.cases import Case, hidden_activations, valid_pairs
from backprop_reference.testbed.drawer import CaseRanges, Layout, NetworkRanges, NumpyChoices, draw

SCALES = (0.3, 1.0, 3.0)
WIDTHS = (1, 8)  # every layer's width, inclusive
BATCH = (1, 8)


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


def report_cases(seed: int, scales: tuple[float, ...] = SCALES) -> list[Case]:
    """Deterministic cases for ``seed`` (``testbed.drawer``, one NumPy stream); a
    case whose loss or ∂J/∂o is not finite (an output rounded to 0 or 1 under log
    loss) is redrawn."""
    source = NumpyChoices(seed)
    cases = []
    count = 0
    for output, loss in valid_pairs():
        for hidden in hidden_activations():
            for scale in scales:
                structure = STRUCTURES[count % len(STRUCTURES)]
                count += 1
                network = NetworkRanges(
                    hidden=(structure.hidden, structure.hidden), widths=WIDTHS, activations=(hidden,), pairs=((output, loss),),
                    pieces=(2, 2), structure=Layout(structure.bias, structure.masked),
                )
                ranges = CaseRanges(scales=(scale,), batch=BATCH, saturate=0.0)
                for _attempt in range(100):
                    drawn = draw(source, network, ranges)
                    if drawn is not None:
                        cases.append(drawn.case)
                        break
    return cases
