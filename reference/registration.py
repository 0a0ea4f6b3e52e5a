"""Add your own activation or loss, with its hand-derived derivative, to the registries.

The function and its derivative are written against the array namespace —
``f(z, xp)``, ``df(z, xp)``, ``J(y, o, xp)``, ``dJ_do(y, o, xp)`` — so the
oracles can run the function in jax.numpy, torch and (complex) NumPy and
differentiate it.  From then on the entry is in ``ACTIVATIONS``/``LOSSES``:
every notation, property test and the report use it like a built-in.

These are the model's side only: the arguments are validated, nothing is
differentiated.  ``oracles.register_activation`` / ``oracles.register_loss``
add the entry here and check its derivative against every oracle, undoing
the addition (``provisional``) when it is wrong.

Complex step needs ``f`` to be complex-safe: no ordering comparisons on
complex values (compare ``xp.real(z)``), no functions NumPy lacks for complex
input (``logaddexp``, ``erf``).
"""

from __future__ import annotations

import inspect
import math
import re
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np

from backprop_reference.reference.activations import ACTIVATIONS, Activation
from backprop_reference.reference.losses import LOSSES, Loss

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_name(name: object, registry: dict, kind: str, replace: bool) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a lower-case identifier such as 'gelu'; got {name!r}")
    if name in registry and not replace:
        raise ValueError(f"name {name!r} is already a registered {kind}; pass replace=True to redefine it")
    return name


def _check_xp_callable(function: object, argument: str, parameters: tuple[str, ...]) -> Callable:
    if not callable(function):
        raise TypeError(f"{argument} must be callable; got {type(function).__name__}")
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return function
    if "xp" not in names:
        raise TypeError(
            f"{argument} must take the array namespace as an argument named xp, e.g. {argument}({', '.join(parameters)}, xp); "
            f"got parameters {names}"
        )
    return function


def add_activation(
    name: str,
    f: Callable,
    df: Callable,
    *,
    output_range: tuple[float, float] = (-math.inf, math.inf),
    kinks: tuple[float, ...] = (),
    replace: bool = False,
    d2f: Callable | None = None,
) -> Activation:
    """Add an elementwise activation ``f(z, xp)`` with its hand-derived
    derivative ``df(z, xp)`` (and, optionally, its second derivative
    ``d2f(z, xp)``) to ``ACTIVATIONS``, unchecked; every argument is
    validated first.  ``oracles.register_activation`` is the checked form."""
    _check_name(name, ACTIVATIONS, "activation", replace)
    _check_xp_callable(f, "f", ("z",))
    _check_xp_callable(df, "df", ("z",))
    if d2f is not None:
        _check_xp_callable(d2f, "d2f", ("z",))
    if (
        not isinstance(output_range, tuple) or len(output_range) != 2
        or not all(isinstance(v, (int, float)) for v in output_range) or not output_range[0] < output_range[1]
    ):
        raise ValueError(f"output_range must be a (low, high) pair with low < high; got {output_range!r}")
    if not isinstance(kinks, tuple) or not all(isinstance(k, (int, float)) for k in kinks):
        raise TypeError(f"kinks must be a tuple of numbers; got {kinks!r}")
    entry = Activation(
        name,
        lambda z: f(z, np),
        lambda z: df(z, np),
        (float(output_range[0]), float(output_range[1])),
        kinks=tuple(float(k) for k in kinks),
        xp_f=f,
        xp_df=df,
        xp_d2f=d2f,
    )
    ACTIVATIONS[name] = entry
    return entry


def add_loss(
    name: str,
    J: Callable,
    dJ_do: Callable,
    *,
    accepts: Callable[[Activation], str | None] | None = None,
    targets: Callable[[np.random.Generator, tuple[int, int]], np.ndarray] | None = None,
    replace: bool = False,
) -> Loss:
    """Add a per-sample loss ``J(y, o, xp)`` (shape ``(N,)``) with its
    hand-derived ``dJ_do(y, o, xp)`` (shape ``(N, n_L)``) to ``LOSSES``,
    unchecked.  ``accepts(activation)`` returns ``None`` or why an output
    activation cannot feed it (default: any); ``targets(rng, shape)`` draws
    targets suited to it (default: standard normal).
    ``oracles.register_loss`` is the checked form."""
    _check_name(name, LOSSES, "loss", replace)
    _check_xp_callable(J, "J", ("y", "o"))
    _check_xp_callable(dJ_do, "dJ_do", ("y", "o"))
    if accepts is not None and not callable(accepts):
        raise TypeError(f"accepts must be callable or None; got {type(accepts).__name__}")
    if targets is not None and not callable(targets):
        raise TypeError(f"targets must be callable or None; got {type(targets).__name__}")
    entry = Loss(
        name,
        lambda y, o: J(y, o, np),
        lambda y, o: dJ_do(y, o, np),
        accepts if accepts is not None else (lambda activation: None),
        xp_J=J,
        xp_dJ_do=dJ_do,
        targets=targets,
    )
    LOSSES[name] = entry
    return entry


@contextmanager
def provisional(registry: dict, name: str) -> Iterator[None]:
    """Whatever the block adds to ``registry`` under ``name`` is undone if the
    block raises: the previous entry comes back, or the name goes."""
    previous = registry.get(name)
    try:
        yield
    except BaseException:
        if previous is None:
            registry.pop(name, None)
        else:
            registry[name] = previous
        raise
