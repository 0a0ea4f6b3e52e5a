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
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from reference.activations import ACTIVATIONS, Activation, get_activation
from reference.losses import LOSSES, Loss, get_loss

Array = np.ndarray
Params = list[tuple[Array, Array]]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class MLP:
    """A fully connected network: layer sizes, one activation per layer
    l = 1..L, and the per-sample loss.  Validated on construction."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", _validate_sizes(self.sizes))
        object.__setattr__(self, "activations", _validate_activations(self.activations, self.sizes))
        _validate_loss(self.loss, self.activations[-1])

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
        return f"{layers} [{', '.join(self.activations)}] {self.loss}"


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
        if not ACTIVATIONS[name].elementwise and position != depth - 1:
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


# --- parameters ---------------------------------------------------------------


def init_params(
    mlp: MLP, seed: int, dtype: np.dtype | type = np.float64, scale: float = 1.0
) -> Params:
    """Random parameters ``[(W^1, b^1), …, (W^L, b^L)]`` in the canonical layout.

    Entries are drawn from N(0, scale² / n_{l-1}) — LeCun's scaling, so
    ``scale = 1`` keeps pre-activations of order one and larger scales drive
    sigmoid/tanh units into saturation.
    """
    _check_mlp(mlp)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer; got {seed!r}")
    dtype = _check_float_dtype(dtype, "dtype")
    if not isinstance(scale, numbers.Real) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number; got {scale!r}")
    rng = np.random.default_rng(int(seed))
    params = []
    for n_in, n_out in zip(mlp.sizes[:-1], mlp.sizes[1:]):
        std = float(scale) / np.sqrt(n_in)
        W = (std * rng.standard_normal((n_out, n_in))).astype(dtype)
        b = (std * rng.standard_normal(n_out)).astype(dtype)
        params.append((W, b))
    return params


# --- forward pass and objective ------------------------------------------------


def forward(mlp: MLP, params: Params, X: Array) -> tuple[list[Array], list[Array]]:
    """Canonical batched forward pass: ``(zs, activations)`` with ``zs[l - 1] = Z^l``
    and ``activations[l] = A^l`` (``activations[0] = X``)."""
    dtype = check_params(mlp, params)
    check_inputs(mlp, X, dtype)
    return _forward(mlp, params, X)


def _forward(mlp: MLP, params: Params, X: Array) -> tuple[list[Array], list[Array]]:
    zs: list[Array] = []
    activations = [X]
    for l, (W, b) in enumerate(params, start=1):
        z = activations[-1] @ W.T + b  # Z^l = A^{l-1} W^lᵀ + b^l
        zs.append(z)
        activations.append(mlp.activation(l).f(z))
    return zs, activations


def loss(mlp: MLP, params: Params, X: Array, Y: Array) -> float:
    """E = mean over the N samples of J(y, o): the canonical objective."""
    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    return _loss(mlp, params, X, Y)


def _loss(mlp: MLP, params: Params, X: Array, Y: Array):
    """The objective without input checks, for the inner loops of oracles.
    Returns a 0-d value of the parameters' dtype."""
    zs, activations = _forward(mlp, params, X)
    loss_fn = mlp.loss_fn
    fused = loss_fn.from_logits.get(mlp.activations[-1])
    per_sample = fused(Y, zs[-1]) if fused is not None else loss_fn.J(Y, activations[-1])
    return np.mean(per_sample)


# --- input validation -----------------------------------------------------------


def _check_mlp(mlp: object) -> None:
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be a reference.MLP; got {type(mlp).__name__}")


def _check_float_dtype(dtype: object, name: str) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64; got {dtype!r}") from None
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64; got {resolved}")
    return resolved


def check_array(value: object, name: str, shape: tuple[int | None, ...], dtype: np.dtype | None) -> None:
    """Raise a ``TypeError``/``ValueError`` naming ``name`` unless ``value`` is a
    finite float32/float64 ndarray of the given shape (None = any length) and,
    when given, dtype."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray; got {type(value).__name__}")
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64; got {value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {value.dtype} but the parameters are {dtype}; "
            f"convert explicitly (nothing is cast silently)"
        )
    parts = ["N" if n is None else str(n) for n in shape]
    expected = f"({parts[0]},)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"
    if value.ndim != len(shape) or any(n is not None and n != m for n, m in zip(shape, value.shape)):
        raise ValueError(f"{name} must have shape {expected}; got {value.shape}")
    if not np.all(np.isfinite(value)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
        raise ValueError(f"{name} must be finite; {name}{list(bad)} = {value[bad]}")


def check_params(mlp: MLP, params: object, name: str = "params") -> np.dtype:
    """Validate ``params`` against ``mlp``; return their common dtype."""
    _check_mlp(mlp)
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"{name} must be a list of (W, b) pairs; got {type(params).__name__}")
    if len(params) != mlp.depth:
        raise ValueError(f"{name} must have one (W, b) pair per layer (L = {mlp.depth}); got {len(params)}")
    dtype = None
    for l, pair in enumerate(params, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"{name}[{l - 1}] must be a (W, b) pair for layer {l}; got {type(pair).__name__}")
        W, b = pair
        n_out, n_in = mlp.sizes[l], mlp.sizes[l - 1]
        check_array(W, f"{name}[{l - 1}][0] (W^{l})", (n_out, n_in), dtype)
        dtype = W.dtype
        check_array(b, f"{name}[{l - 1}][1] (b^{l})", (n_out,), dtype)
    assert dtype is not None  # depth >= 1 by construction of MLP
    return dtype


def check_inputs(mlp: MLP, X: object, dtype: np.dtype) -> None:
    check_array(X, "X", (None, mlp.sizes[0]), dtype)
    if X.shape[0] == 0:  # type: ignore[union-attr]
        raise ValueError("X must hold at least one sample; got N = 0")


def check_batch(mlp: MLP, X: object, Y: object, dtype: np.dtype) -> None:
    """Validate a batch ``(X, Y)`` for ``mlp`` in parameters of ``dtype``."""
    check_inputs(mlp, X, dtype)
    check_array(Y, "Y", (X.shape[0], mlp.sizes[-1]), dtype)  # type: ignore[union-attr]
