"""The canonical fully connected network every notation converts to and from.

Canonical layout (``../shared/NOTATION.md``)
--------------------------------------------
=========  ======================  =========================================
symbol     shape                   meaning
=========  ======================  =========================================
``X``      ``(N, n_0)``            one sample per row
``Y``      ``(N, n_L)``            one target per row
``W^l``    ``(n_l, n_{l-1})``      row = destination neuron, l = 1..L
``b^l``    ``(n_l,)``              bias of layer l
``Z^l``    ``(N, n_l)``            pre-activations, ``Z^l = A^{l-1} W^lᵀ + b^l``
``A^l``    ``(N, n_l)``            activations, ``A^l = f_l(Z^l)``, ``A^0 = X``
``E``      scalar                  ``mean over samples of J(y, o)``, o = A^L
=========  ======================  =========================================

``params`` is a list of ``(W, b)`` pairs, one per layer l = 1..L; gradients
have exactly the same structure.

Structure the seeds' worked examples need
-----------------------------------------
* ``bias`` per layer: ``"neuron"`` (``b^l`` shaped ``(n_l,)``), ``"shared"``
  (one scalar for all the layer's neurons, ``(1,)``, seed 004's example) or
  ``"none"`` (``b^l`` is ``None``); one mode for every layer or a tuple.
* ``masks``: per layer ``None`` or a 0/1 array shaped like ``W^l``.  A 0 marks
  an absent connection: its weight must be 0, the forward pass uses
  ``W^l ⊙ M^l``, its gradient is 0 and a training step keeps it absent
  (seed 003's example).

This module holds the network's description (``MLP``); ``reference.network``
its parameters and forward pass; ``reference.validation`` the checks of
arrays against it.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from backprop_reference.reference.activations import ACTIVATIONS, Activation, get_activation
from backprop_reference.reference.losses import LOSSES, Loss, get_loss

Array = np.ndarray
Params = list[tuple[Array, Array]]

BIAS_MODES = ("neuron", "shared", "none")

@dataclass(frozen=True)
class MLP:
    """A fully connected network: layer sizes, one activation per layer
    l = 1..L, the per-sample loss, and optionally per-layer bias modes and
    connectivity masks.  Validated on construction; immutable and hashable
    (masks are stored as nested tuples)."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    bias: str | tuple[str, ...] = "neuron"
    masks: tuple | None = None
    pieces: int = 2  # k, the linear pieces per unit of every maxout layer

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", _validate_sizes(self.sizes))
        object.__setattr__(self, "activations", _validate_activations(self.activations, self.sizes))
        _validate_loss(self.loss, self.activations[-1])
        object.__setattr__(self, "bias", _validate_bias(self.bias, self.depth))
        if isinstance(self.pieces, bool) or not isinstance(self.pieces, numbers.Integral) or self.pieces < 2:
            raise ValueError(f"pieces must be an integer ≥ 2 (linear pieces per maxout unit); got {self.pieces!r}")
        object.__setattr__(self, "pieces", int(self.pieces))
        object.__setattr__(self, "masks", _validate_masks(self.masks, self))

    def is_maxout(self, l: int) -> bool:
        return self.activation(l).pieces

    def weight_shape(self, l: int) -> tuple[int, ...]:
        """``(n_l, n_{l-1})``, or ``(n_l, k, n_{l-1})`` for a maxout layer."""
        n_out, n_in = self.sizes[l], self.sizes[l - 1]
        return (n_out, self.pieces, n_in) if self.is_maxout(l) else (n_out, n_in)

    def bias_mode(self, l: int) -> str:
        """``"neuron"``, ``"shared"`` or ``"none"`` for layer l (1-based)."""
        return self.bias[l - 1]

    def bias_shape(self, l: int) -> tuple[int, ...] | None:
        """``(n_l,)`` (``(n_l, k)`` for maxout), ``(1,)`` when shared, ``None`` when absent."""
        neuron = (self.sizes[l], self.pieces) if self.is_maxout(l) else (self.sizes[l],)
        return {"neuron": neuron, "shared": (1,), "none": None}[self.bias_mode(l)]

    def mask(self, l: int) -> Array | None:
        """``M^l`` as a read-only float 0/1 array shaped like ``W^l``, or ``None`` (fully connected)."""
        return self._mask_arrays[l - 1]

    @functools.cached_property
    def _mask_arrays(self) -> tuple[Array | None, ...]:
        # Built once: every forward pass asks for the masks (the numerical
        # oracles make one per parameter), and rebuilding an array from the
        # nested tuples each time cost ~0.1 ms per layer.
        arrays = []
        for entries in self.masks:
            array = None if entries is None else np.array(entries, dtype=np.float64)
            if array is not None:
                array.flags.writeable = False
            arrays.append(array)
        return tuple(arrays)

    def __getstate__(self) -> dict:
        # The cache is rebuilt on first use (pickling would lose its read-only flags).
        return {k: v for k, v in self.__dict__.items() if k != "_mask_arrays"}

    @property
    def is_plain(self) -> bool:
        """Per-neuron biases everywhere and no masks: the textbook network."""
        return all(mode == "neuron" for mode in self.bias) and all(m is None for m in self.masks)

    @property
    def depth(self) -> int:
        """L, the number of layers with weights."""
        return len(self.sizes) - 1

    def activation(self, l: int) -> Activation:
        """The activation of layer l (1-based, as in every document)."""
        return get_activation(self.activations[l - 1])

    @property
    def output_activation(self) -> Activation:
        return self.activation(self.depth)

    @property
    def loss_fn(self) -> Loss:
        return get_loss(self.loss)

    def __str__(self) -> str:
        layers = "-".join(str(n) for n in self.sizes)
        extras = ""
        if any(mode != "neuron" for mode in self.bias):
            extras += f" bias={','.join(self.bias)}"
        if any(m is not None for m in self.masks):
            extras += " masked=" + ",".join("-" if m is None else str(l) for l, m in enumerate(self.masks, start=1))
        return f"{layers} [{', '.join(self.activations)}] {self.loss}{extras}"


def _validate_bias(bias: object, depth: int) -> tuple[str, ...]:
    modes = (bias,) * depth if isinstance(bias, str) else bias
    if not isinstance(modes, Sequence):
        raise TypeError(f"bias must be one of {BIAS_MODES} or a tuple of them, one per layer; got {bias!r}")
    if len(modes) != depth:
        raise ValueError(f"bias needs one mode per layer (L = {depth}); got {len(modes)}: {tuple(modes)!r}")
    for position, mode in enumerate(modes):
        if mode not in BIAS_MODES:
            raise ValueError(f"bias[{position}] = {mode!r} is not one of {BIAS_MODES}")
    return tuple(modes)


def _nested_tuple(array: np.ndarray):
    return tuple(_nested_tuple(sub) for sub in array) if array.ndim else int(array)


def _validate_masks(masks: object, mlp: "MLP") -> tuple:
    depth = mlp.depth
    if masks is None:
        return (None,) * depth
    if isinstance(masks, (str, np.ndarray)) or not isinstance(masks, Sequence):
        raise TypeError(f"masks must be None or a sequence with one entry (None or a 0/1 array) per layer; got {type(masks).__name__}")
    if len(masks) != depth:
        raise ValueError(f"masks needs one entry per layer (L = {depth}); got {len(masks)}")
    checked = []
    for position, mask in enumerate(masks):
        if mask is None:
            checked.append(None)
            continue
        array = np.asarray(mask)
        shape = mlp.weight_shape(position + 1)
        if array.shape != shape:
            raise ValueError(f"masks[{position}] must have the shape of W^{position + 1}, {shape}; got {array.shape}")
        if not np.all((array == 0) | (array == 1)):
            raise ValueError(f"masks[{position}] must hold only 0 and 1")
        checked.append(_nested_tuple(array))
    return tuple(checked)


def _validate_sizes(sizes: object) -> tuple[int, ...]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a sequence of layer widths (n_0, …, n_L); got {sizes!r}")
    if len(sizes) < 2:
        raise ValueError(
            f"sizes needs at least two entries, the input and output widths; got {tuple(sizes)!r}"
        )
    checked = []
    for position, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise ValueError(f"sizes[{position}] must be an integer; got {n!r}")
        if n <= 0:
            raise ValueError(f"sizes[{position}] must be positive; got {n!r}")
        checked.append(int(n))
    return tuple(checked)


def _validate_activations(activations: object, sizes: tuple[int, ...]) -> tuple[str, ...]:
    if isinstance(activations, str) or not isinstance(activations, Sequence):
        raise TypeError(
            f"activations must be a sequence of names, one per layer l = 1..L; got {activations!r}"
        )
    depth = len(sizes) - 1
    if len(activations) != depth:
        raise ValueError(
            f"activations needs one name per layer with weights (L = {depth} for sizes {sizes}); "
            f"got {len(activations)}: {tuple(activations)!r}"
        )
    for position, name in enumerate(activations):
        if not isinstance(name, str):
            raise TypeError(f"activations[{position}] must be a name (str); got {name!r}")
        if name not in ACTIVATIONS:
            raise ValueError(
                f"activations[{position}] = {name!r} is not registered; "
                f"known: {', '.join(sorted(ACTIVATIONS))}"
            )
        if ACTIVATIONS[name].output_only and position != depth - 1:
            raise ValueError(
                f"activations[{position}] = {name!r} couples the units of a layer and may only be "
                f"used in the output layer (position {depth - 1})"
            )
    return tuple(activations)


def _validate_loss(loss: object, output_activation: str) -> None:
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name (str); got {loss!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss = {loss!r} is not registered; known: {', '.join(sorted(LOSSES))}")
    reason = LOSSES[loss].accepts(ACTIVATIONS[output_activation])
    if reason is not None:
        raise ValueError(f"loss = {loss!r} cannot follow output activation {output_activation!r}: {reason}")
