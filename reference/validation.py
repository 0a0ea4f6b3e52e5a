"""The one validator: arrays, parameters, batches and gradients, on any array library.

Every public entry point checks its input here before any work, and a bad
value gets a ``TypeError`` or ``ValueError`` that names the argument, says
what was expected and echoes what came — nothing is cast or coerced silently.

* ``check_array`` — one array: its library (and device), dtype, shape and
  finiteness;
* ``check_params`` / ``check_batch`` — a network's ``[(W^l, b^l)]`` and a
  batch ``(X, Y)`` against an ``MLP``: the library and dtype come from
  ``params[0][0]``, and every other array must match them;
* ``check_grads`` — gradients shaped like the parameters (network checks,
  golden files).

NumPy arrays are the common case and get NumPy's wording ("must be a
numpy.ndarray"); torch, CuPy and jax arrays are checked through the Python
array API (``reference.array_api``), on their own device.
"""

from __future__ import annotations


import numpy as np

from backprop_reference.reference import array_api
from backprop_reference.reference.mlp import MLP

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_dtype(dtype: object, name: str) -> np.dtype:
    """``dtype`` as a NumPy float32/float64 dtype, or a ``TypeError`` naming ``name``."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64; got {dtype!r}") from None
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64; got {resolved}")
    return resolved


def _shape_text(shape: tuple[int | None, ...]) -> str:
    parts = ["N" if n is None else str(n) for n in shape]
    return f"({parts[0]},)" if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def _index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, index)) + "]"


def _first(bad) -> tuple[int, ...]:
    """The index of the first True of a boolean array of any library."""
    return tuple(int(i) for i in np.argwhere(array_api.to_numpy(bad))[0])


def _library_of(params: object) -> object | None:
    """``params[0][0]`` when it is a torch, CuPy or jax array (the arrays all
    must follow it), else ``None`` (NumPy, or a structure to be refused)."""
    try:
        first = params[0][0]  # type: ignore[index]
        return None if array_api.library(first) == "numpy" else first
    except (TypeError, IndexError, KeyError):
        return None


def check_array(
    value: object,
    name: str,
    shape: tuple[int | None, ...] | None,
    dtype=None,
    *,
    like=None,
    symbol: str | None = None,
    finite: bool = True,
) -> None:
    """Raise a ``TypeError``/``ValueError`` naming ``name`` unless ``value`` is a
    float32/float64 array of ``shape`` (``None`` entries: any length) and, when
    given, of ``dtype``; and finite, unless ``finite=False``.

    ``like``: a torch, CuPy or jax array (``params[0][0]``) whose library and
    device ``value`` must share; without it ``value`` must be a NumPy array.
    ``symbol`` names the array's elements in a message (``W^2[0, 1] = nan``)."""
    if like is None:
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray; got {type(value).__name__}")
        floats = FLOAT_DTYPES
    else:
        library = array_api.library(like)
        try:
            other = array_api.library(value)
        except TypeError:
            raise TypeError(f"{name} must be a {library} array like params[0][0]; got {type(value).__name__}") from None
        if other != library:
            raise TypeError(f"{name} is a {other} array but params[0][0] is a {library} array; use one library")
        if str(array_api.device(value)) != str(array_api.device(like)):
            raise ValueError(f"{name} is on {array_api.device(value)} but params[0][0] is on {array_api.device(like)}; use one device")
        xp = array_api.namespace(value)
        floats = (xp.float32, xp.float64)
    if value.dtype not in floats:
        raise TypeError(f"{name} must have dtype float32 or float64; got {value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise TypeError(f"{name} has dtype {value.dtype} but the parameters are {dtype}; convert explicitly (nothing is cast silently)")
    if shape is not None:
        got = tuple(value.shape)
        if len(got) != len(shape) or any(n is not None and n != m for n, m in zip(shape, got)):
            raise ValueError(f"{name} must have shape {_shape_text(shape)}; got {got}")
    if finite:
        xp = np if like is None else array_api.namespace(value)
        if not bool(xp.all(xp.isfinite(value))):
            bad = _first(~xp.isfinite(value))
            raise ValueError(f"{name} must be finite; {symbol or name}{_index_text(bad)} = {array_api.to_numpy(value)[bad]}")


def check_mlp(mlp: object) -> None:
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be a reference.MLP; got {type(mlp).__name__}")


def check_params(mlp: MLP, params: object, name: str = "params", *, any_library: bool = False):
    """Validate ``params`` against ``mlp``; return their common dtype.  NumPy
    arrays, or with ``any_library`` torch/CuPy/jax arrays all of
    ``params[0][0]``'s library and device."""
    check_mlp(mlp)
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"{name} must be a list of (W, b) pairs; got {type(params).__name__}")
    if len(params) != mlp.depth:
        raise ValueError(f"{name} must have one (W, b) pair per layer (L = {mlp.depth}); got {len(params)}")
    like = _library_of(params) if any_library else None
    dtype = None
    for l, pair in enumerate(params, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"{name}[{l - 1}] must be a (W, b) pair for layer {l}; got {type(pair).__name__}")
        W, b = pair
        check_array(W, f"{name}[{l - 1}][0] (W^{l})", mlp.weight_shape(l), dtype, like=like, symbol=f"W^{l}")
        dtype = W.dtype
        shape = mlp.bias_shape(l)
        if shape is None:
            if b is not None:
                raise ValueError(f"{name}[{l - 1}][1] (b^{l}) must be None: layer {l} has bias mode 'none'")
        else:
            check_array(b, f"{name}[{l - 1}][1] (b^{l})", shape, dtype, like=like, symbol=f"b^{l}")
        mask = array_api.mask_like(mlp, l, W)
        if mask is not None:
            present = W * (1 - mask) == 0
            xp = array_api.namespace(W)
            if not bool(xp.all(present)):
                index = _first(~present)
                raise ValueError(
                    f"{name}[{l - 1}][0] (W^{l}) must be 0 where masks[{l - 1}] is 0 (absent connection); "
                    f"W^{l}{_index_text(index)} = {array_api.to_numpy(W)[index]!r}"
                )
    return dtype


def check_inputs(mlp: MLP, X: object, dtype, *, like=None) -> None:
    check_array(X, "X", (None, mlp.sizes[0]), dtype, like=like, symbol="X")
    if X.shape[0] == 0:  # type: ignore[union-attr]
        raise ValueError("X must hold at least one sample; got N = 0")


def check_batch(mlp: MLP, X: object, Y: object, dtype, *, like=None) -> None:
    """Validate a batch ``(X, Y)`` for ``mlp`` in parameters of ``dtype``."""
    check_inputs(mlp, X, dtype, like=like)
    check_array(Y, "Y", (X.shape[0], mlp.sizes[-1]), dtype, like=like, symbol="Y")  # type: ignore[union-attr]


def check_network_inputs(mlp: MLP, params: object, X: object, Y: object, *, any_library: bool = False):
    """``check_params`` and ``check_batch`` together; the parameters' dtype.
    NumPy arrays only, unless ``any_library`` (``reference.fast``)."""
    dtype = check_params(mlp, params, any_library=any_library)
    check_batch(mlp, X, Y, dtype, like=_library_of(params) if any_library else None)
    return dtype


def check_grads(mlp: MLP, grads: object, dtype, *, name: str = "grads", finite: bool = False, where: str = "") -> None:
    """Gradients shaped like ``mlp``'s parameters, NumPy, in ``dtype``: a
    ``(dW^l, db^l)`` pair per layer, ``None`` exactly where a layer has no
    bias; finite too with ``finite=True``.  ``where`` adds to the messages
    (" for configuration 'x'")."""
    if not isinstance(grads, (list, tuple)) or len(grads) != mlp.depth:
        got = f"{len(grads)} entries" if isinstance(grads, (list, tuple)) else type(grads).__name__
        raise TypeError(f"{name} must be a list of (dW, db) pairs, one per layer (L = {mlp.depth}){where}; got {got}")
    for l, pair in enumerate(grads, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"{name}[{l - 1}] must be a (dW^{l}, db^{l}) pair; got {type(pair).__name__}")
        for position, (symbol, shape) in enumerate((("W", mlp.weight_shape(l)), ("b", mlp.bias_shape(l)))):
            grad, label = pair[position], f"{name}[{l - 1}][{position}] ({symbol}^{l})"
            if shape is None:
                if grad is not None:
                    raise ValueError(f"{label} must be None{where}: layer {l} has bias mode 'none'")
                continue
            check_array(grad, label, shape, dtype, symbol=f"{symbol}^{l}", finite=finite)
