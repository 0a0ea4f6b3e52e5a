"""Hypothesis strategies for networks, parameters and batches.

Importable by users to drive their own property tests::

    from hypothesis import given
    from backprop_reference.testbed.strategies import cases

    @given(cases())
    def test_my_backprop(case):
        mlp, params, X, Y = case.mlp, case.params, case.X, case.Y
        ...

The drawing itself is ``testbed.drawer``'s, the one the report's sweep and
the false-alarm measurement use; here each of its decisions is a Hypothesis
choice (``HypothesisChoices``), so Hypothesis shrinks a failing case decision
by decision (fewer layers, narrower ones, the first activation, no masks).
Arrays come from seeded NumPy generators (the seeds are what Hypothesis
draws), so cases are cheap to build and exactly reproducible.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from backprop_reference.reference.cases import WEIGHT_SCALES, Case
from backprop_reference.reference.mlp import MLP
from backprop_reference.testbed.drawer import CaseRanges, Choices, NumpyChoices, as_fraction, draw_case, draw_network, network_ranges

Array = np.ndarray


class HypothesisChoices(Choices):
    """``testbed.drawer``'s decisions as Hypothesis draws (inside ``st.composite``)."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, low, high):
        return self.draw(st.integers(low, high))

    def integers(self, low, high, count):
        return tuple(self.draw(st.lists(st.integers(low, high), min_size=count, max_size=count)))

    def choice(self, options):
        return self.draw(st.sampled_from(options))

    def choices(self, options, count):
        return tuple(self.draw(st.lists(st.sampled_from(options), min_size=count, max_size=count)))

    def coin(self, chance):
        """A boolean for 1/2; else one of n equally likely outcomes, k of them True
        (chance ≈ k/n), False first: either way it shrinks to False."""
        if chance == 0.5:
            return self.draw(st.booleans())
        k, n = as_fraction(chance)
        return self.draw(st.sampled_from((False,) * (n - k) + (True,) * k))

    def seed(self):
        return self.draw(st.integers(0, 2**32 - 1))

    def masks(self, shapes, density, chance):
        """Every mask (and the coin for each layer) from one drawn seed."""
        return NumpyChoices(self.seed()).masks(shapes, density, chance)


@st.composite
def networks(
    draw, min_hidden: int = 1, max_hidden: int = 4, max_width: int = 8, structure: bool = True, *,
    activations: Sequence[str] | None = None, losses: Sequence[str] | None = None, outputs: Sequence[str] | None = None,
    min_width: int = 1,
) -> MLP:
    """A valid ``MLP``: 1–4 hidden layers, widths 1–8, any valid activation/loss
    combination; with ``structure``, also per-layer bias modes and masks.
    ``activations`` narrows the hidden activations, ``losses`` the losses,
    ``outputs`` the output activations (any pair of them the registry allows),
    ``min_width``/``max_width`` the layer widths — drawn from directly, never
    filtered (no ``assume``).  The names are looked up when a network is drawn,
    so activations and losses registered after the strategy was made are drawn too."""
    ranges = network_ranges(
        min_hidden, max_hidden, max_width, structure, activations=activations, losses=losses, outputs=outputs, min_width=min_width,
    )
    return draw_network(HypothesisChoices(draw), ranges)


SATURATE = 1 / 3  # one draw in three saturates the output layer (softmax/sigmoid outputs near 0 or 1)
GAIN = 10.0


@st.composite
def cases(draw, networks=networks(), dtypes=st.just(np.float64), max_batch: int = 8) -> Case:
    """A ``Case``: network, parameters at a random weight scale (0.1–30),
    batch of 1–8; in one draw of three the output layer's weights and bias
    are multiplied by 10, saturating its outputs as training does."""
    mlp = draw(networks)
    ranges = CaseRanges(scales=WEIGHT_SCALES, batch=(1, max_batch), saturate=SATURATE, gain=GAIN)
    drawn = draw_case(HypothesisChoices(draw), mlp, ranges, dtype=lambda: draw(dtypes))
    assume(drawn is not None)
    return drawn.case
