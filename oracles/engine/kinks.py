"""Kinks of a function the engine cannot see into, and ties among them.

A network's kinks are known beforehand (its units' kink pattern:
``oracles.checks._kink_policy``).  A function's are found by the numerical
oracles, element by element, from its own values (``stencils.jumped``,
``stencils.settled``); here their findings are applied to every oracle:

* **kinks** — where an oracle's stencil crossed a kink (relu at 0, a tie in a
  max, abs at 0), the derivative is a convention (jax.grad and torch.autograd
  each take their own) or the stencil straddles it: every oracle judges that
  element by the one-sided derivatives found there (the union of the brackets
  found), and the comparisons report it as not differentiable here;
* **ties** — elements whose kinks are one and the same (the two equal largest
  inputs of a max-pool window) are coupled: each alone may take any value
  between its one-sided derivatives, but along all of them together the
  function is smooth, so their sum must equal the slope along that direction.
  Kinked elements with equal brackets are grouped, and E is differentiated
  along the sum of each group's unit vectors: where it is smooth there (a
  tie), each element's bracket is narrowed to what the group's sum allows
  given the other elements' claimed values — a backward that sends a window's
  gradient to every tied element (or to none) falls outside.  Independent
  kinks with equal brackets (relu zeros under the same dout) show a kink along
  their sum too (n·left ≠ n·right), so they are never coupled.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.numerical import stencils
from backprop_reference.oracles.engine.problems import FunctionProblem, moved
from backprop_reference.oracles.methods.registry import ORACLES
from backprop_reference.oracles.engine.tolerances import tolerance_for

MAX_TIE_GROUPS = 50  # groups tested per check (each costs a few evaluations of f)
SAME_BRACKET = 1e-6  # brackets this close, relative to the gradient's scale, are "equal"


def found(problem, answers: dict[str, Answer], ours: Sequence[np.ndarray] | None) -> tuple[dict[str, Answer], str]:
    """``answers`` with every oracle judging the kinked elements by their brackets (the
    module docstring), narrowed at ties given ``ours``; and a note on the ties found."""
    numerical = [a for name, a in answers.items() if ORACLES[name].numerical and a.kinked is not None]
    if not numerical:
        return answers, ""
    kinked = [np.logical_or.reduce([np.asarray(k, dtype=bool) for k in leaf]) for leaf in zip(*(a.flat("kinked") for a in numerical))]
    if not any(np.any(k) for k in kinked):
        return answers, ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN where no oracle bracketed an element
        lower = [np.where(k, np.fmin.reduce([np.asarray(l, np.float64) for l in leaf]), np.nan)
                 for k, leaf in zip(kinked, zip(*(a.flat("lower") for a in numerical)))]
        upper = [np.where(k, np.fmax.reduce([np.asarray(u, np.float64) for u in leaf]), np.nan)
                 for k, leaf in zip(kinked, zip(*(a.flat("upper") for a in numerical)))]
    note = ""
    if ours is not None and problem.mode == "gradient":  # ties of a gradient's elements (a product's outputs have none)
        lower, upper, note = _ties(problem, ours, kinked, lower, upper)
    unflatten = problem.layout.unflatten
    patched = {
        name: Answer(a.oracle, a.layout, a.gradients, a.errors, unflatten(kinked), unflatten(lower), unflatten(upper))
        for name, a in answers.items()
    }
    return patched, note


def _groups(kinked: list[np.ndarray], lower: list[np.ndarray], upper: list[np.ndarray], scale: float) -> list[list[tuple[int, int]]]:
    """Kinked elements (leaf, flat index) with equal brackets, in groups of two or more."""
    items = sorted(
        ((float(lower[i].reshape(-1)[k]), float(upper[i].reshape(-1)[k]), i, int(k))
         for i, mask in enumerate(kinked) for k in np.flatnonzero(mask.reshape(-1))
         if np.isfinite(lower[i].reshape(-1)[k]) and np.isfinite(upper[i].reshape(-1)[k])),
    )
    groups, current = [], []
    for item in items:
        if current and abs(item[0] - current[0][0]) <= SAME_BRACKET * scale and abs(item[1] - current[0][1]) <= SAME_BRACKET * scale:
            current.append(item)
            continue
        if len(current) > 1:
            groups.append([(i, k) for _, _, i, k in current])
        current = [item]
    if len(current) > 1:
        groups.append([(i, k) for _, _, i, k in current])
    return groups


def _one_orientation(loop, group: list[tuple[int, int]], terms: float) -> bool:
    """Every element's kink bends the same way: the second difference E(θ+h) − 2E(θ) + E(θ−h)
    along each element has one sign for all (all convex, as a max's tie, or all concave, as a
    min's).  Equal brackets alone do not say it: relu(x)·c at 0 and clip(x, −1, 1)·c at 1 both
    have the bracket [0, c], and along both together they are smooth without being one tie.
    ``terms``: the size of E's terms, where known beyond max(|E|, 1)."""
    signs = set()
    E0 = float(loop.E0)
    for i, k in group:
        direction = [np.zeros(w.shape) for w in loop.work]
        direction[i].reshape(-1)[k] = 1.0
        E_at = moved(loop.work, direction, lambda: loop.evaluate()[0])
        theta = loop.leaves[i].reshape(-1)[k]
        h = float(stencils.steps(np.asarray([theta]), stencils.CENTRAL)[0])
        bend = float(E_at(h)) - 2 * E0 + float(E_at(-h))
        if abs(bend) <= stencils.KINK_MARGIN * float(np.finfo(np.float64).eps) * max(abs(E0), 1.0, terms):
            return False  # no clear bend along this element: do not couple
        signs.add(bend > 0)
    return len(signs) == 1


def _ties(problem: FunctionProblem, ours: Sequence[np.ndarray], kinked, lower, upper):
    finite = [np.abs(u[np.isfinite(u)]) for u in upper] + [np.abs(l[np.isfinite(l)]) for l in lower]
    scale = max((float(np.max(f)) for f in finite if f.size), default=0.0) or 1.0
    everything = _groups(kinked, lower, upper, scale)
    groups = everything[:MAX_TIE_GROUPS]
    if not groups:
        return lower, upper, ""
    capped = f" (the first {MAX_TIE_GROUPS} of {len(everything)} groups of equal brackets tested)" if len(everything) > MAX_TIE_GROUPS else ""
    loop = problem.loop()
    flat_ours = [np.asarray(g, np.float64).reshape(-1) for g in ours]
    lower, upper = [l.copy() for l in lower], [u.copy() for u in upper]
    limit = tolerance_for(np.float64, "central").limit
    ties = []
    for group in groups:
        if not _one_orientation(loop, group, problem.objective_terms()):
            continue  # a convex kink beside a concave one (clip at −1 and +1 under equal dout): never one tie
        directions = [np.zeros(w.shape) for w in loop.work]
        for i, k in group:
            directions[i].reshape(-1)[k] = 1.0
        along = stencils.along_elements(stencils.CENTRAL, moved(loop.work, directions, lambda: loop.evaluate()[0]), find_kinks=True)
        if along.kinked[0][0] or not np.isfinite(along.errors[0][0]):
            continue  # independent kinks (or no smooth value along them): each element alone, as before
        slope, error = float(along.values[0][0]), float(along.errors[0][0])
        allowed = error + limit * max(abs(slope), scale)
        total = sum(flat_ours[i][k] for i, k in group)
        for i, k in group:
            rest = total - flat_ours[i][k]
            lower[i].reshape(-1)[k] = max(lower[i].reshape(-1)[k], slope - rest - allowed)
            upper[i].reshape(-1)[k] = min(upper[i].reshape(-1)[k], slope - rest + allowed)
        ties.append((group, slope, total))
    if not ties:
        return lower, upper, ""
    names = problem.layout.names
    shapes = [np.shape(g) for g in ours]

    def name(i: int, k: int) -> str:
        return trees.element(names[i], np.unravel_index(k, shapes[i]))

    broken = [(g, s, t) for g, s, t in ties if abs(t - s) > limit * max(abs(s), scale)]
    if not broken:
        return lower, upper, f"{len(ties)} tie(s) among kinked elements, each judged as a whole too{capped}"
    group, slope, total = broken[0]
    example = " + ".join(name(i, k) for i, k in group[:4]) + (" + …" if len(group) > 4 else "")
    note = (
        f"{len(broken)} of {len(ties)} tie(s) broken: along {example} together f is smooth with slope {slope:.6g}, "
        f"but those gradients sum to {total:.6g}{capped}"
    )
    return lower, upper, note
