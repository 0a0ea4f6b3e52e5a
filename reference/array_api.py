"""The array library behind a set of arrays, and the network's constants on it.

``reference.row_major_batch`` and the batched delta rule
(``reference.delta_rule.batch_gradients``) are written against the Python array
API standard: the namespace ``xp`` comes from the arrays themselves
(array-api-compat), so one hand-derived backward pass runs on NumPy arrays,
torch tensors (CPU or CUDA), CuPy arrays and jax arrays (also under
``jax.jit``), with no autograd involved.
"""

from __future__ import annotations

import functools

import array_api_compat
import numpy as np

from backprop_reference.reference.mlp import MLP


def namespace(*arrays):
    """The array namespace of ``arrays``; ``TypeError`` if they mix libraries."""
    present = [a for a in arrays if a is not None]
    try:
        return array_api_compat.array_namespace(*present)
    except TypeError as error:
        raise TypeError(f"arrays must all come from one array library: {error}") from None


def library(array) -> str:
    """'numpy', 'torch', 'cupy' or 'jax': the library an array belongs to."""
    for name, test in (
        ("numpy", array_api_compat.is_numpy_array),
        ("torch", array_api_compat.is_torch_array),
        ("cupy", array_api_compat.is_cupy_array),
        ("jax", array_api_compat.is_jax_array),
    ):
        if test(array):
            return name
    raise TypeError(f"expected a NumPy, torch, CuPy or jax array; got {type(array).__name__}")


def device(array):
    return array_api_compat.device(array)


def to_numpy(array) -> np.ndarray:
    """A NumPy copy of any supported array (from the GPU if it lives there)."""
    if array is None:
        return None
    if array_api_compat.is_numpy_array(array):
        return np.array(array)
    if array_api_compat.is_torch_array(array):
        return array.detach().cpu().numpy().copy()
    if array_api_compat.is_cupy_array(array):
        return array.get()
    return np.array(array)


def mask_like(mlp: MLP, l: int, like):
    """Layer ``l``'s connection mask as 0/1 numbers of ``like``'s dtype, in
    ``like``'s library and on its device (``None`` for a dense layer).

    Converted once per library, device and dtype (a GPU copy per call would
    cost a host-to-device transfer each time); jax arrays are not cached,
    since under ``jax.jit`` they become constants of the traced function."""
    mask = mlp.mask(l)
    if mask is None:
        return None
    if array_api_compat.is_numpy_array(like):
        return _numpy_mask(mlp, l, str(like.dtype))
    if array_api_compat.is_jax_array(like):
        return namespace(like).asarray(mask.astype(str(like.dtype).split(".")[-1]))
    return _cached_mask(mlp, l, library(like), str(device(like)), str(like.dtype), like)


@functools.lru_cache(maxsize=256)
def _numpy_mask(mlp: MLP, l: int, dtype: str) -> np.ndarray:
    mask = mlp.mask(l).astype(dtype)
    mask.flags.writeable = False
    return mask


_MASKS: dict = {}


def _cached_mask(mlp: MLP, l: int, lib: str, where: str, dtype: str, like):
    key = (mlp, l, lib, where, dtype)
    if key not in _MASKS:
        xp = namespace(like)
        _MASKS[key] = xp.asarray(np.array(mlp.mask(l)), dtype=like.dtype, device=device(like))  # a writable copy to convert
    return _MASKS[key]


def contiguous_copy(array):
    """A row-major (C-ordered) copy in the array's own library and device; a
    copy of a transposed view otherwise keeps the transposed strides, and
    NumPy code that writes through ``reshape(-1)`` would write to a copy."""
    if array is None:
        return None
    if array_api_compat.is_numpy_array(array):
        return np.array(array, order="C", copy=True)
    if array_api_compat.is_torch_array(array):
        return array.contiguous().clone() if not array.is_contiguous() else array.clone()
    if array_api_compat.is_cupy_array(array):
        return namespace(array).asarray(array, copy=True).copy(order="C")
    return namespace(array).asarray(array, copy=True)  # jax arrays are immutable; layout is the compiler's
