"""Pytrees: nested lists, tuples and dicts of arrays, with ``None`` for absent leaves.

A network's parameters ``[(W^1, b^1), …]`` are one; so are a function's
arguments.  Every check flattens what it differentiates into a ``Layout`` —
the leaves' names (``W^2``, ``args[0]['b']``), in order — compares leaf by
leaf, and names an element as ``name[i, j]``.

* ``leaves`` / ``map_leaves`` / ``rebuild`` walk a tree (paths like
  ``x[0][1]``, ``args[1]['W']``);
* ``matched`` walks a gradient alongside the argument it must mirror;
* ``Layout`` — the differentiated leaves of a structure and how to put
  per-leaf results back into it: ``network_layout`` names a network's
  ``W^l`` and ``b^l``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np


def is_container(tree: Any) -> bool:
    return isinstance(tree, (list, tuple, dict))


def children(tree: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(child path, key, child) of a list, tuple or dict."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, child in items:
        yield f"{path}[{key!r}]", key, child


def rebuild(tree: Any, new_children: list) -> Any:
    """A container of ``tree``'s type holding ``new_children``."""
    if isinstance(tree, dict):
        return type(tree)(zip(tree.keys(), new_children))
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # namedtuple
        return type(tree)(*new_children)
    return type(tree)(new_children)


def leaves(tree: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, leaf) for every leaf, None included, depth first."""
    if is_container(tree):
        for child_path, _, child in children(tree, path):
            yield from leaves(child, child_path)
    else:
        yield path, tree


def map_leaves(tree: Any, fn: Callable[[str, Any], Any], path: str) -> Any:
    """The same structure with ``fn(path, leaf)`` at every leaf other than None."""
    if is_container(tree):
        return rebuild(tree, [map_leaves(child, fn, p) for p, _, child in children(tree, path)])
    return None if tree is None else fn(path, tree)


def matched(argument: Any, gradient: Any, path: str, who: str) -> Iterator[tuple[str, np.ndarray, Any]]:
    """(path, argument leaf, gradient leaf) for every array leaf; the gradient
    must have the argument's structure (lists and tuples interchangeable)."""
    if is_container(argument):
        if isinstance(argument, dict):
            if not isinstance(gradient, dict) or set(gradient) != set(argument):
                keys = ", ".join(sorted(map(repr, gradient))) if isinstance(gradient, dict) else type(gradient).__name__
                raise ValueError(f"{who} at {path}: expected a dict with keys {', '.join(sorted(map(repr, argument)))}; got {keys}")
        elif not isinstance(gradient, (list, tuple)) or len(gradient) != len(argument):
            got = f"{type(gradient).__name__} of length {len(gradient)}" if isinstance(gradient, (list, tuple)) else type(gradient).__name__
            raise ValueError(f"{who} at {path}: expected a {type(argument).__name__} of length {len(argument)}; got {got}")
        for child_path, key, child in children(argument, path):
            yield from matched(child, gradient[key], child_path, who)
        return
    if argument is None:
        if gradient is not None:
            raise ValueError(f"{who} at {path}: the argument is None there, so the gradient must be None; got {type(gradient).__name__}")
        return
    if gradient is None:
        raise ValueError(f"{who} at {path}: got None where the argument has shape {argument.shape}")
    yield path, argument, gradient


QUALIFIER = " @ "  # a leaf named "x @ cotangent 2" has elements "x[3, 1] @ cotangent 2"


def qualified(name: str, where: str) -> str:
    """``name`` qualified by ``where`` (which cotangent, which tangent), or as it is."""
    return f"{name}{QUALIFIER}{where}" if where else name


def element(name: str, index: Sequence[int]) -> str:
    """``W^2[3, 1]``; a 0-d leaf is named by its name alone; a qualified leaf's
    qualifier follows the index (``x[3, 1] @ cotangent 2``)."""
    base, qualifier, where = name.partition(QUALIFIER)
    indexed = f"{base}[{', '.join(str(int(i)) for i in index)}]" if len(index) else base
    return indexed + qualifier + where


@dataclass(frozen=True)
class Layout:
    """The differentiated leaves of a structure, in order: their names, and
    ``flatten``/``unflatten`` between the structure and the list of leaves
    (anything per leaf — values, error estimates, flags — goes back the same way)."""

    names: tuple[str, ...]
    flatten: Callable[[Any], list]
    unflatten: Callable[[Sequence], Any]


def _network_flatten(grads: Any) -> list:
    return [a for pair in grads for a in pair if a is not None]


def network_slots(params: Sequence) -> list[tuple[int, int]]:
    """``(l, 0)`` for ``W^l`` and ``(l, 1)`` for ``b^l``, l = 1..L, in order; absent biases left out."""
    return [(l, which) for l, pair in enumerate(params, start=1) for which, array in enumerate(pair) if array is not None]


def network_layout(params: Sequence) -> Layout:
    """``W^1, b^1, W^2, …`` of a list of ``(W, b)`` pairs (absent biases left
    out); ``unflatten`` gives the list of pairs back, ``None`` where ``params`` has it."""
    present, depth = network_slots(params), len(params)  # the layout keeps no reference to the arrays
    names = tuple(f"{'Wb'[which]}^{l}" for l, which in present)

    def unflatten(items: Sequence) -> list:
        slots = {key: item for key, item in zip(present, items, strict=True)}
        return [tuple(slots.get((l, which)) for which in (0, 1)) for l in range(1, depth + 1)]

    return Layout(names, _network_flatten, unflatten)
