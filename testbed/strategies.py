"""Hypothesis strategies for networks, parameters and batches.

Importable by users to drive their own property tests::

    from hypothesis import given
    from testbed.strategies import cases

    @given(cases())
    def test_my_backprop(case):
        mlp, params, X, Y = case.mlp, case.params, case.X, case.Y
        ...

Arrays are drawn from a seeded NumPy generator (the seed is what Hypothesis
draws and shrinks), so cases are cheap to build and exactly reproducible.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from reference.cases import WEIGHT_SCALES, Case, derivative_is_finite, hidden_activations, make_case, valid_pairs
from reference.mlp import BIAS_MODES, MLP

Array = np.ndarray


def _narrowed(given, known: list, what: str) -> list:
    """``known`` narrowed to ``given`` (None: all of them), refusing names that are not known."""
    if given is None:
        return known
    if isinstance(given, str) or not given:
        raise ValueError(f"{what} must be a non-empty sequence of names from {known}; got {given!r}")
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ValueError(f"{what}: unknown {unknown}; choose from {known}")
    return [name for name in known if name in given]


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
    filtered (no ``assume``)."""
    hidden_choices = _narrowed(activations, hidden_activations(), "activations")
    pairs = valid_pairs()
    loss_names = _narrowed(losses, sorted({loss for _, loss in pairs}), "losses")
    output_names = _narrowed(outputs, sorted({output for output, _ in pairs}), "outputs")
    pairs = [(output, loss) for output, loss in pairs if loss in loss_names and output in output_names]
    if not pairs:
        raise ValueError(f"no output activation in {output_names} goes with a loss in {loss_names}; valid pairs: {valid_pairs()}")
    if not isinstance(structure, bool):
        raise TypeError(f"structure must be True or False; got {structure!r}")
    for name, value in (("min_hidden", min_hidden), ("max_hidden", max_hidden), ("min_width", min_width), ("max_width", max_width)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int; got {value!r}")
    if not 1 <= min_hidden <= max_hidden:
        raise ValueError(f"hidden layers need 1 ≤ min_hidden ≤ max_hidden; got min_hidden={min_hidden}, max_hidden={max_hidden}")
    if not 1 <= min_width <= max_width:
        raise ValueError(f"widths need 1 ≤ min_width ≤ max_width; got min_width={min_width}, max_width={max_width}")
    hidden = draw(st.integers(min_hidden, max_hidden))
    sizes = tuple(draw(st.lists(st.integers(min_width, max_width), min_size=hidden + 2, max_size=hidden + 2)))
    output, loss = draw(st.sampled_from(pairs))
    activations = tuple(draw(st.lists(st.sampled_from(hidden_choices), min_size=hidden, max_size=hidden)))
    pieces = draw(st.integers(2, 3))
    mlp = MLP(sizes, activations + (output,), loss, pieces=pieces)
    if structure and draw(st.booleans()):
        depth = hidden + 1
        bias = tuple(draw(st.lists(st.sampled_from(BIAS_MODES), min_size=depth, max_size=depth)))
        masks = None
        if draw(st.booleans()):
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            masks = tuple(
                (rng.random(mlp.weight_shape(l)) < 0.7).astype(int) if rng.random() < 0.5 else None
                for l in range(1, depth + 1)
            )
        mlp = MLP(sizes, mlp.activations, loss, bias=bias, masks=masks, pieces=pieces)
    return mlp


OUTPUT_GAINS = (1.0, 1.0, 10.0)  # one draw in three saturates the output layer (softmax/sigmoid outputs near 0 or 1)


@st.composite
def cases(draw, networks=networks(), dtypes=st.just(np.float64), max_batch: int = 8) -> Case:
    """A ``Case``: network, parameters at a random weight scale (0.1–30),
    batch of 1–8; in one draw of three the output layer's weights and bias
    are multiplied by 10, saturating its outputs as training does."""
    mlp = draw(networks)
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from(WEIGHT_SCALES))
    batch = draw(st.integers(1, max_batch))
    case = make_case(mlp, seed, scale, batch, draw(dtypes))
    gain = draw(st.sampled_from(OUTPUT_GAINS))
    if gain != 1.0:
        W, b = case.params[-1]
        params = case.params[:-1] + [(W * W.dtype.type(gain), None if b is None else b * b.dtype.type(gain))]
        case = Case(mlp, params, case.X, case.Y, case.seed, case.scale)
    assume(derivative_is_finite(case))
    return case
