"""The arguments of a user's function, checked once for every entry point.

``check_gradient``, ``check_vjp``, ``check_layer``, ``check_jvp``,
``check_jacobian``, ``check_hvp`` and the custom-rule checks all take a
function, its arguments and which of them are differentiated (``argnums``).
Here each is checked before any work, with errors that name the argument and
what was expected, and named for the verdict by the function's own parameter
names (``w[0, 2]``, ``params['W1'][0, 2]``; ``args[i]`` where it has none):

* ``roots`` — the arguments' names; ``choose_argnums`` — the differentiated ones
  (every floating argument when not given); ``check_leaves`` — float32/float64
  arrays where differentiated;
* ``returned`` — what the user's derivative returned, as leaves matching the
  arguments (or the outputs), checked for structure, shape and dtype;
* ``evaluated`` — f's value, checked: arrays (or a pytree of them), real, finite;
* ``drawn`` — seeded Gaussian cotangents or tangents shaped like a structure.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.engine.problems import argument_names
from backprop_reference.reference.validation import check_array


def roots(fn: Callable, count: int) -> list[str]:
    """The names the arguments go by in the verdict: ``fn``'s parameter names."""
    return argument_names(fn, count)


def floating(argument: Any) -> bool:
    """An array, or a pytree of arrays, all of them floating (something to differentiate)."""
    leaves = [leaf for _, leaf in trees.leaves(argument, "") if leaf is not None]
    return bool(leaves) and all(isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f" for leaf in leaves)


def choose_argnums(argnums: Any, args: tuple, names: Sequence[str]) -> tuple[tuple[int, ...], bool]:
    """The differentiated argument positions, and whether one gradient (not a tuple)
    is expected.  ``None``: every argument that is a floating array or pytree of them
    (integer labels, a settings dict are data)."""
    if argnums is None:
        chosen = tuple(n for n, a in enumerate(args) if floating(a))
        if not chosen:
            kinds = ", ".join(f"{name}: {_kind(a)}" for name, a in zip(names, args))
            raise TypeError(f"no argument to differentiate: every argument must be a float32/float64 numpy.ndarray (or pytree of them) to be differentiated; got {kinds}")
        return chosen, len(chosen) == 1
    return check_argnums(argnums, len(args))


def _kind(value: Any) -> str:
    return f"ndarray of dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__


def check_argnums(argnums: Any, count: int) -> tuple[tuple[int, ...], bool]:
    """The chosen argument positions, and whether one gradient (not a tuple) is expected."""
    single = not isinstance(argnums, (tuple, list))
    numbers = (argnums,) if single else tuple(argnums)
    if not numbers:
        raise ValueError("argnums must name at least one argument; got ()")
    for n in numbers:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"argnums must be an int or a tuple of ints; got {argnums!r}")
        if not -count <= n < count:
            raise ValueError(f"argnums={argnums!r} is out of range: there are {count} argument(s) (a tuple x is the positional arguments)")
    normalised = tuple(int(n) % count for n in numbers)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"argnums={argnums!r} names an argument twice")
    return normalised, single


def check_leaves(args: tuple, names: Sequence[str], argnums: tuple[int, ...]) -> None:
    """Differentiated arguments: float32/float64 arrays (pytrees of them), finite, not empty.
    Other arguments are data, passed to f as they are (a fresh copy each call)."""
    for n, (a, root) in enumerate(zip(args, names)):
        if n not in argnums:
            continue
        for path, leaf in trees.leaves(a, root):
            if leaf is None:
                continue
            if not isinstance(leaf, np.ndarray):
                raise TypeError(f"argument {path} must be a float32 or float64 numpy.ndarray to be differentiated; got {type(leaf).__name__}")
            if leaf.dtype not in (np.float32, np.float64):
                raise TypeError(f"argument {path} must be float32 or float64 to be differentiated; got dtype {leaf.dtype}")
            check_array(leaf, f"argument {path}", None, symbol=path)
        if not any(leaf.size for _, leaf in trees.leaves(a, root) if leaf is not None):
            shapes = ", ".join(f"{path} {leaf.shape}" for path, leaf in trees.leaves(a, root) if leaf is not None) or "no arrays"
            raise ValueError(f"argument {root} has no elements to differentiate ({shapes}): a check of an empty argument "
                             "would judge nothing")


def returned(result: Any, like: Sequence[tuple[Any, str]], single: bool, who: str, against: str = "the argument") -> list[np.ndarray]:
    """The leaves of what ``who`` returned, matched against ``like`` — (structure,
    root name) for each part it must mirror (``against`` says what they are, for
    messages): one part returned as itself when ``single`` (for an array, a 1-tuple
    is accepted too, as jax.vjp returns), else a tuple."""
    if single and isinstance(like[0][0], np.ndarray) and isinstance(result, (tuple, list)) and len(result) == 1:
        result = result[0]  # one array argument: its gradient, or a 1-tuple of it
    if single:
        result = (result,)
    elif not isinstance(result, (tuple, list)) or len(result) != len(like):
        got = f"a {type(result).__name__} of length {len(result)}" if isinstance(result, (tuple, list)) else type(result).__name__
        raise ValueError(
            f"{who} must return a tuple of {len(like)} gradients, for {', '.join(root for _, root in like)}; got {got} "
            f"(every float argument is differentiated unless argnums= chooses)"
        )
    leaves = []
    for (structure, root), part in zip(like, result):
        for path, expected, leaf in trees.matched(structure, part, root, f"{who}'s result"):
            if isinstance(leaf, (np.floating, float)):
                leaf = np.asarray(leaf)
            if not isinstance(leaf, np.ndarray):
                raise TypeError(f"{who}'s result at {path} must be a numpy.ndarray; got {type(leaf).__name__}")
            if leaf.dtype not in (np.float32, np.float64):
                raise TypeError(f"{who}'s result at {path} must be float32 or float64; got dtype {leaf.dtype}")
            if leaf.shape != np.shape(expected):
                raise ValueError(f"{who}'s result at {path} has shape {leaf.shape}, but {against} {path} has shape {np.shape(expected)}")
            leaves.append(leaf)
    if not leaves:
        raise ValueError(f"{who} returned no arrays to compare")
    return leaves


def evaluated(value: Any, who: str = "f") -> Any:
    """f's output: a real float array, or a pytree of them, finite (NumPy float scalars become 0-d arrays)."""
    def check(path: str, leaf: Any) -> np.ndarray:
        if isinstance(leaf, np.floating):
            leaf = np.asarray(leaf)
        if not isinstance(leaf, np.ndarray):
            raise TypeError(f"{who} must return a numpy.ndarray (or a tuple, list or dict of them); got {type(leaf).__name__} at {path}")
        if leaf.dtype.kind != "f":
            raise TypeError(f"{who} must return floating arrays; got dtype {leaf.dtype} at {path}")
        if not np.all(np.isfinite(leaf)):
            raise ValueError(f"{who} returned non-finite values at {path} (first at index {tuple(int(i) for i in np.argwhere(~np.isfinite(leaf))[0])})")
        return leaf

    if value is None:
        raise TypeError(f"{who} must return a numpy.ndarray (or a tuple, list or dict of them); got None")
    return trees.map_leaves(value, check, "out")


def drawn(structure: Any, count: int, seed: int, root: str) -> list[Any]:
    """``count`` standard Gaussian pytrees shaped like ``structure`` (float64), from ``seed``."""
    rng = np.random.default_rng(seed)
    return [trees.map_leaves(structure, lambda _, leaf: rng.standard_normal(np.shape(leaf)), root) for _ in range(count)]


def given(value: Any, structure: Any, root: str, what: str) -> Any:
    """A cotangent or tangent the user gave, checked against the structure it must mirror (float64 copies)."""
    result = []
    for path, expected, leaf in trees.matched(structure, value, root, what):
        if not isinstance(leaf, np.ndarray) or leaf.dtype.kind != "f":
            raise TypeError(f"{what} at {path} must be a floating numpy.ndarray; got {_kind(leaf)}")
        if leaf.shape != np.shape(expected):
            raise ValueError(f"{what} at {path} has shape {leaf.shape}, but must have shape {np.shape(expected)}")
        check_array(leaf, f"{what} at {path}", None, symbol=path)
        result.append(np.array(leaf, dtype=np.float64))
    remaining = iter(result)
    return trees.map_leaves(structure, lambda _, leaf: next(remaining), root)
