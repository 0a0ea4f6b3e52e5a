"""The one way test cases are drawn: a network (depth, widths, activations,
loss, maxout pieces, bias modes, masks) and its case (parameters at a weight
scale, a batch, now and then an output layer that saturates).

Every random decision goes through a ``Choices`` source, so the sequence of
decisions is written once, here:

* ``NumpyChoices`` — a seed or a NumPy ``Generator``: the report's sweep
  (``reports.sweep``) and the false-alarm measurement (``reports.false_alarms``);
* ``testbed.strategies`` — a source backed by Hypothesis's ``draw``, each
  decision one Hypothesis choice, so Hypothesis shrinks a failing case
  decision by decision (fewer layers, narrower, the first activation, no
  masks …) rather than jumping to another random network.

``NetworkRanges`` and ``CaseRanges`` say what may be drawn; ``draw`` draws a
network and its case, or ``None`` when the case is unfit (a loss or ∂J/∂o that
is not finite; with ``avoid_kinks``, a unit exactly on a kink), which the
caller redraws or, under Hypothesis, rejects.

Reproducibility: a NumPy source makes exactly the calls the sweep and the
false-alarm measurement made before they shared this module (a decision with
one outcome draws nothing), so their seeds still give the same cases.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from backprop_reference.reference.cases import (
    WEIGHT_SCALES, Case, derivative_is_finite, hidden_activations, kink_distance, make_case, valid_pairs,
)
from backprop_reference.reference.mlp import BIAS_MODES, MLP

__all__ = [
    "CaseRanges", "Choices", "Drawn", "Layout", "NetworkRanges", "NumpyChoices",
    "as_choices", "as_fraction", "draw", "draw_case", "draw_network", "narrowed", "network_ranges",
]

MASK_DENSITY = 0.7  # a masked layer keeps about this fraction of its connections
STRUCTURE_CHANCE = 0.5  # a structured draw: per-layer bias modes, then (again by this chance) masks, each layer by this chance


# --- the decisions ------------------------------------------------------------------------


class Choices(ABC):
    """The decisions a drawing makes.  ``integer``, ``integers``, ``choice``,
    ``coin`` and ``seed`` are a source's own; ``choices``, ``mask`` and
    ``masks`` are built on them (a source may draw them its own way)."""

    @abstractmethod
    def integer(self, low: int, high: int) -> int:
        """An integer with low ≤ n ≤ high."""

    @abstractmethod
    def integers(self, low: int, high: int, count: int) -> tuple[int, ...]:
        """``count`` integers, each low ≤ n ≤ high."""

    @abstractmethod
    def choice(self, options: Sequence):
        """One of ``options``."""

    @abstractmethod
    def coin(self, chance: float) -> bool:
        """True with probability ``chance``."""

    @abstractmethod
    def seed(self) -> int:
        """A seed, 0 ≤ seed < 2**32."""

    def choices(self, options: Sequence, count: int) -> tuple:
        """``count`` of ``options``, each chosen on its own."""
        return tuple(self.choice(options) for _ in range(count))

    def mask(self, shape: tuple[int, ...], density: float) -> np.ndarray:
        """A 0/1 connection mask of ``shape``, each connection kept with probability ``density``."""
        return NumpyChoices(self.seed()).mask(shape, density)

    def masks(self, shapes: Sequence[tuple[int, ...]], density: float, chance: float) -> tuple[np.ndarray | None, ...]:
        """Per shape, by a coin of ``chance``, a mask (else None)."""
        return tuple(self.mask(shape, density) if self.coin(chance) else None for shape in shapes)


class NumpyChoices(Choices):
    """Decisions from a NumPy ``Generator`` (or a seed for one).  A decision
    with a single outcome draws nothing, so a fixed range leaves the stream
    as it was."""

    def __init__(self, rng: np.random.Generator | int):
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def integer(self, low, high):
        return int(low) if low == high else int(self.rng.integers(low, high + 1))

    def integers(self, low, high, count):
        return (int(low),) * count if low == high else tuple(int(n) for n in self.rng.integers(low, high + 1, size=count))

    def choice(self, options):
        return options[0] if len(options) == 1 else options[int(self.rng.integers(len(options)))]

    def coin(self, chance):
        return bool(self.rng.random() < chance)

    def seed(self):
        return int(self.rng.integers(2**32))

    def mask(self, shape, density):
        return (self.rng.random(shape) < density).astype(int)


def as_choices(source: Choices | np.random.Generator | int) -> Choices:
    """A ``Choices`` for ``source``: itself, or a NumPy source for a Generator or a seed."""
    if isinstance(source, Choices):
        return source
    if isinstance(source, np.random.Generator) or (isinstance(source, (int, np.integer)) and not isinstance(source, bool)):
        return NumpyChoices(source)
    raise TypeError(f"source must be a Choices, a numpy Generator or an int seed; got {source!r:.80}")


def as_fraction(chance: float, most: int = 12) -> tuple[int, int]:
    """``chance`` as k of n equally likely outcomes, n ≤ ``most`` (for sources that draw one of n)."""
    fraction = Fraction(chance).limit_denominator(most)
    return fraction.numerator, fraction.denominator


# --- what may be drawn --------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """A fixed structure: the bias mode (one, or one per layer) and which layers are masked."""

    bias: str | tuple[str, ...] = "neuron"
    masked: tuple[bool, ...] = ()  # per layer; empty: no masks


def _int_range(value, names: tuple[str, str], what: str) -> tuple[int, int]:
    for name, number in zip(names, value):
        if isinstance(number, bool) or not isinstance(number, (int, np.integer)):
            raise TypeError(f"{name} must be an int; got {number!r}")
    low, high = (int(n) for n in value)
    if not 1 <= low <= high:
        raise ValueError(f"{what} need 1 ≤ {names[0]} ≤ {names[1]}; got {names[0]}={low}, {names[1]}={high}")
    return low, high


@dataclass(frozen=True)
class NetworkRanges:
    """What a network is drawn from.  Choices keep the order given (the order decides the
    draw); ``None`` takes the registries' names as they are when the ranges are made."""

    hidden: tuple[int, int] = (1, 4)  # hidden layers, inclusive
    widths: tuple[int, int] = (1, 8)  # every layer's width, inclusive
    activations: tuple[str, ...] | None = None  # hidden activations; None: every registered one
    pairs: tuple[tuple[str, str], ...] | None = None  # (output activation, loss); None: every valid pair
    pieces: tuple[int, int] = (2, 3)  # linear pieces per maxout unit, inclusive
    structure: bool | Layout = True  # True: by a coin, per-layer bias modes and masks; False: plain; a Layout: that one

    def __post_init__(self):
        set_ = functools.partial(object.__setattr__, self)  # frozen: the normalised fields set once, here
        if not (isinstance(self.structure, Layout) or self.structure is True or self.structure is False):
            raise TypeError(f"structure must be True or False (or a Layout); got {self.structure!r}")
        set_("hidden", _int_range(self.hidden, ("min_hidden", "max_hidden"), "hidden layers"))
        set_("widths", _int_range(self.widths, ("min_width", "max_width"), "widths"))
        low, high = self.pieces
        if not 2 <= low <= high:
            raise ValueError(f"pieces need 2 ≤ low ≤ high; got {self.pieces!r}")
        known = hidden_activations()
        activations = tuple(known if self.activations is None else self.activations)
        unknown = [name for name in activations if name not in known]
        if not activations or isinstance(self.activations, str) or unknown:
            raise ValueError(f"activations: {activations!r} are not hidden activations from {known}")
        set_("activations", activations)
        valid = valid_pairs()
        pairs = tuple(tuple(pair) for pair in (valid if self.pairs is None else self.pairs))
        if not pairs or any(pair not in valid for pair in pairs):
            raise ValueError(f"pairs: {pairs!r} must be (output activation, loss) pairs from {valid}")
        set_("pairs", pairs)


def narrowed(given, known: list, what: str) -> list:
    """``known`` narrowed to ``given`` (None: all of them), in ``known``'s order, refusing names that are not known."""
    if given is None:
        return known
    if isinstance(given, str) or not given:
        raise ValueError(f"{what} must be a non-empty sequence of names from {known}; got {given!r}")
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ValueError(f"{what}: unknown {unknown}; choose from {known}")
    return [name for name in known if name in given]


def network_ranges(
    min_hidden: int = 1, max_hidden: int = 4, max_width: int = 8, structure: bool = True, *,
    activations: Sequence[str] | None = None, losses: Sequence[str] | None = None, outputs: Sequence[str] | None = None,
    min_width: int = 1, pieces: tuple[int, int] = (2, 3),
) -> NetworkRanges:
    """``NetworkRanges`` by names: ``activations`` narrows the hidden activations, ``losses``
    the losses, ``outputs`` the output activations (any pair of them the registry allows);
    each keeps the registry's order."""
    hidden_choices = narrowed(activations, hidden_activations(), "activations")
    pairs = valid_pairs()
    loss_names = narrowed(losses, sorted({loss for _, loss in pairs}), "losses")
    output_names = narrowed(outputs, sorted({output for output, _ in pairs}), "outputs")
    pairs = [(output, loss) for output, loss in pairs if loss in loss_names and output in output_names]
    if not pairs:
        raise ValueError(f"no output activation in {output_names} goes with a loss in {loss_names}; valid pairs: {valid_pairs()}")
    if not isinstance(structure, bool):
        raise TypeError(f"structure must be True or False; got {structure!r}")
    return NetworkRanges((min_hidden, max_hidden), (min_width, max_width), tuple(hidden_choices), tuple(pairs), pieces, structure)


@dataclass(frozen=True)
class CaseRanges:
    """What a network's case is drawn from."""

    scales: tuple[float, ...] = WEIGHT_SCALES  # weight scales (``reference.cases.make_case``)
    batch: tuple[int, int] = (1, 8)  # batch size, inclusive
    dtypes: tuple = (np.float64,)
    saturate: float = 1 / 3  # chance that the output layer's weights and bias are multiplied by ``gain``
    gain: float = 10.0
    avoid_kinks: bool = False  # refuse a case with a unit exactly on a kink (its one-sided derivatives differ)

    def __post_init__(self):
        object.__setattr__(self, "batch", _int_range(self.batch, ("min_batch", "max_batch"), "batches"))
        if not self.scales or not all(scale > 0 for scale in self.scales):
            raise ValueError(f"scales must be positive weight scales; got {self.scales!r}")
        if not self.dtypes:
            raise ValueError("dtypes must name at least one dtype")
        if not 0.0 <= self.saturate <= 1.0:
            raise ValueError(f"saturate is a chance, 0 ≤ saturate ≤ 1; got {self.saturate!r}")


class Drawn(NamedTuple):
    case: Case
    saturated: bool  # the output layer was multiplied by the gain


# --- the drawing --------------------------------------------------------------------------


def draw_network(source: Choices | np.random.Generator | int, ranges: NetworkRanges | None = None) -> MLP:
    """A valid ``MLP`` within ``ranges``.  The decisions, in order: hidden layers, widths,
    (output activation, loss), hidden activations, maxout pieces; then the structure
    (a ``Layout``'s masks; or, when ``ranges.structure`` is True, a coin, bias modes,
    a coin, masks)."""
    source = as_choices(source)
    ranges = NetworkRanges() if ranges is None else ranges  # the registries as they are now
    hidden = source.integer(*ranges.hidden)
    sizes = source.integers(*ranges.widths, hidden + 2)
    output, loss = source.choice(ranges.pairs)
    activations = source.choices(ranges.activations, hidden) + (output,)
    pieces = source.integer(*ranges.pieces)
    mlp = MLP(sizes, activations, loss, pieces=pieces)
    shapes = [mlp.weight_shape(l) for l in range(1, hidden + 2)]
    if isinstance(ranges.structure, Layout):
        layout = ranges.structure
        if not layout.masked:
            return MLP(sizes, activations, loss, bias=layout.bias, pieces=pieces)
        masks = tuple(source.mask(shape, MASK_DENSITY) if masked else None for shape, masked in zip(shapes, layout.masked))
        return MLP(sizes, activations, loss, bias=layout.bias, masks=masks, pieces=pieces)
    if ranges.structure and source.coin(STRUCTURE_CHANCE):
        bias = source.choices(BIAS_MODES, hidden + 1)
        masks = source.masks(shapes, MASK_DENSITY, STRUCTURE_CHANCE) if source.coin(STRUCTURE_CHANCE) else None
        return MLP(sizes, activations, loss, bias=bias, masks=masks, pieces=pieces)
    return mlp


def draw_case(
    source: Choices | np.random.Generator | int, mlp: MLP, ranges: CaseRanges | None = None, *, dtype: Callable[[], Any] | None = None,
) -> Drawn | None:
    """``mlp``'s case within ``ranges``, or None when it is unfit (see the module docstring).
    The decisions, in order: the case's seed, weight scale, batch, dtype (``dtype``: a
    callable that draws it instead, e.g. from a Hypothesis strategy), saturation."""
    source = as_choices(source)
    ranges = CaseRanges() if ranges is None else ranges
    seed = source.seed()
    scale = float(source.choice(ranges.scales))
    batch = source.integer(*ranges.batch)
    case = make_case(mlp, seed, scale, batch, source.choice(ranges.dtypes) if dtype is None else dtype())
    saturated = ranges.saturate > 0 and (ranges.saturate >= 1 or source.coin(ranges.saturate))
    if saturated:
        W, b = case.params[-1]
        gain = W.dtype.type(ranges.gain)
        case = Case(mlp, case.params[:-1] + [(W * gain, None if b is None else b * gain)], case.X, case.Y, case.seed, case.scale)
    if not derivative_is_finite(case):
        return None
    if ranges.avoid_kinks and kink_distance(mlp, case.params, case.X) == 0.0:
        return None
    return Drawn(case, saturated)


def draw(
    source: Choices | np.random.Generator | int, network: NetworkRanges | None = None, case: CaseRanges | None = None,
) -> Drawn | None:
    """A network within ``network`` and its case within ``case`` (None: unfit, draw again)."""
    source = as_choices(source)
    return draw_case(source, draw_network(source, network), case)
