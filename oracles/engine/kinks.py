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

import itertools
import warnings
from dataclasses import dataclass
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN where no oracle bracketed an element
        lower = [np.where(k, np.fmin.reduce([np.asarray(l, np.float64) for l in leaf]), np.nan)
                 for k, leaf in zip(kinked, zip(*(a.flat("lower") for a in numerical)))]
        upper = [np.where(k, np.fmax.reduce([np.asarray(u, np.float64) for u in leaf]), np.nan)
                 for k, leaf in zip(kinked, zip(*(a.flat("upper") for a in numerical)))]
    ties_wanted = ours is not None and problem.mode == "gradient"  # ties of a gradient's elements (a product's outputs have none)
    # jax, torch: a gradient, one valid choice at a tie (the complex step gives partial derivatives)
    exact = [a.flat("gradients") for name, a in answers.items() if ORACLES[name].kind == "analytic"]
    partials = [([np.asarray(g, np.float64) for g in a.flat("gradients")], [np.asarray(e, np.float64) for e in a.flat("errors")])
                for a in numerical if a.errors is not None]
    hidden = _equal_inputs_disputed(problem, kinked, lower, upper, exact, partials, ours) if ties_wanted else []
    if not any(np.any(k) for k in kinked) and not hidden:
        return answers, ""
    note = ""
    if ties_wanted:
        lower, upper, note, judged = _ties(problem, ours, kinked, lower, upper, exact, hidden, partials)
        for i, k in judged:  # a hidden tie judged as one: its elements by their brackets from now on
            kinked[i].reshape(-1)[k] = True
    unflatten = problem.layout.unflatten
    patched = {
        name: Answer(a.oracle, a.layout, a.gradients, a.errors, unflatten(kinked), unflatten(lower), unflatten(upper))
        for name, a in answers.items()
    }
    return patched, note


def _equal_inputs_disputed(problem, kinked: list[np.ndarray], lower: list[np.ndarray], upper: list[np.ndarray],
                           exact: list, partials: list, ours: Sequence[np.ndarray]) -> list[list[tuple[int, int]]]:
    """Ties no single element's stencil shows: inputs of exactly equal value (a median of equal
    values, overlapping max-pool windows, a running max) where an exact oracle and a numerical one
    disagree beyond the numerical oracle's estimate.  Moving one tied element alone may leave f
    smooth along it (the median stays put), so its partial derivatives exist and the tie is not
    flagged; or each element is flagged but their brackets differ, so no group of equal brackets
    forms (max-pool windows that overlap).  f is smooth on each ordering of the group instead
    (``_pieces`` confirms it, or the group is judged by its slope along all of it).  Per leaf, the
    groups of 2 to ``MAX_HULL_GROUP`` equal values that hold a disputed element: an exact oracle's
    value, or the claimed one (``ours``), beyond a numerical oracle's estimate or outside a kinked
    element's bracket (judged against the hull of the pieces instead, it is WRONG if it is).
    ``exact``: jax's and torch's gradients; ``partials``: the numerical oracles' (values, errors)."""
    claimed = [list(ours)]  # yours, only where a bracket is outside: a slip elsewhere is no tie
    if not partials:
        return []
    groups = []
    with np.errstate(invalid="ignore", over="ignore"):
        for i, theta in enumerate(problem.leaves):
            flat = np.asarray(theta, np.float64).reshape(-1)
            if flat.size < 2 or np.unique(flat).size == flat.size:
                continue
            disputed = np.zeros(flat.size, dtype=bool)
            for e in exact:
                d = np.asarray(e[i], np.float64).reshape(-1)
                for values, errors in partials:
                    v, err = values[i].reshape(-1), errors[i].reshape(-1)
                    disputed |= np.isfinite(d) & np.isfinite(v) & np.isfinite(err) & (np.abs(d - v) > err + 1e-12 * np.maximum(np.abs(d), np.abs(v)))
            bent = np.asarray(kinked[i], dtype=bool).reshape(-1)
            disputed &= ~bent
            low, high = np.asarray(lower[i], np.float64).reshape(-1), np.asarray(upper[i], np.float64).reshape(-1)
            for e in exact + claimed:
                d = np.asarray(e[i], np.float64).reshape(-1)
                margin = SAME_BRACKET * np.maximum(np.abs(low), np.abs(high))
                disputed |= bent & np.isfinite(d) & np.isfinite(low) & np.isfinite(high) & ((d < low - margin) | (d > high + margin))
            for value in dict.fromkeys(flat[disputed].tolist()):
                members = np.flatnonzero(flat == value)
                if 2 <= members.size <= MAX_HULL_GROUP:
                    groups.append([(i, int(k)) for k in members])
    return groups[:MAX_TIE_GROUPS]


def _groups(kinked: list[np.ndarray], lower: list[np.ndarray], upper: list[np.ndarray], scale: float,
            by_width: bool = False) -> list[list[tuple[int, int]]]:
    """Kinked elements (leaf, flat index) with equal brackets, in groups of two or more; ``by_width``:
    with brackets of equal width instead (a tie's elements under a smooth term besides — a sort
    plus x·w — have their brackets shifted apart, each by its own w, but equally wide)."""
    items = sorted(
        ((float(upper[i].reshape(-1)[k] - lower[i].reshape(-1)[k]) if by_width else float(lower[i].reshape(-1)[k]),
          0.0 if by_width else float(upper[i].reshape(-1)[k]), i, int(k))
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


MAX_HULL_GROUP = 6  # ties of up to this many elements are judged against the hull of their pieces (2^m − 2 one-sided derivatives)
MAX_SPLIT = 32  # a larger group of equal brackets is split into its ties only up to this many elements (m²/2 one-sided derivatives)
CHECKED_ORDERINGS = 24  # orderings whose own direction confirms the pieces: every one up to 4 elements, above drawn (seed 0)


@dataclass(frozen=True)
class _Pieces:
    """The gradients, along a group, of the smooth pieces of f that meet at its tie."""

    vertices: np.ndarray  # (pieces, m), distinct
    error: float  # the largest error estimate of a vertex's element
    orderings: int  # the orderings of the group, one piece each (m!)
    checked: int  # of them, confirmed along their own direction


def _directional(loop, group: list[tuple[int, int]], offsets: Sequence[float], E0: np.ndarray, rounding: float, h: float) -> tuple[float, float]:
    """E'(x; d) from the right and its error, d = ``offsets`` on the group's elements (0 elsewhere):
    the step halved until it lies on one smooth piece (``stencils._one_sided_along``); (nan, inf)
    where it never does or f fails."""
    directions = [np.zeros(w.shape) for w in loop.work]
    for (i, k), o in zip(group, offsets):
        directions[i].reshape(-1)[k] = o
    E_at = moved(loop.work, directions, lambda: loop.evaluate()[0])
    try:
        value, error = stencils._one_sided_along(E_at, h, E0, rounding, +1, np.ones(1, dtype=bool))
    except Exception:  # noqa: BLE001 — f failed at a moved point (off its domain): this group is not judged by its pieces
        return float("nan"), float("inf")
    return float(value[0]), float(error[0])


def _pieces(loop, group, slope: float, slope_error: float, E0: np.ndarray, rounding: float, h: float, slack: float) -> _Pieces | str:
    """The pieces' gradients along ``group`` (module docstring), or why they were not found.

    Where the kinks among the group's elements are their ties (x_i = x_j: a sort, a max, a
    median of equal values), f is smooth on each ordering of them, and the piece on the ordering
    σ (largest first) has g_σ · 1_{top r} = F(top r), F(S) = E'(x; 1_S) the one-sided derivative
    along the indicator of S (every 1_{top r} lies in σ's closed cone): g_σ[σ_r] = F(top r+1) −
    F(top r).  So 2^m − 2 one-sided derivatives (and the slope along all, F of the whole group)
    give all m! pieces.  That the pieces are the orderings' is confirmed along each ordering's own
    direction (offsets m, m−1, …, 1): E' there must be Σ_r F(top r) (``slack``: the tolerance)."""
    m = len(group)
    whole = (1 << m) - 1
    F = {0: (0.0, 0.0), whole: (slope, slope_error)}
    for mask in range(1, whole):
        F[mask] = _directional(loop, group, [float((mask >> j) & 1) for j in range(m)], E0, rounding, h)
        if not (np.isfinite(F[mask][0]) and np.isfinite(F[mask][1])):
            return "no clean one-sided derivative along some of its elements together"
    orders = list(itertools.permutations(range(m)))
    vertices, error = [], 0.0
    for order in orders:
        g, mask = np.empty(m), 0
        for j in order:
            g[j] = F[mask | (1 << j)][0] - F[mask][0]
            error = max(error, F[mask | (1 << j)][1] + F[mask][1])
            mask |= 1 << j
        vertices.append(g)
    checked = orders
    if len(orders) > CHECKED_ORDERINGS:
        checked = [orders[n] for n in sorted(np.random.default_rng(0).choice(len(orders), CHECKED_ORDERINGS, replace=False))]
    for order in checked:
        offsets, mask, predicted, predicted_error = np.empty(m), 0, 0.0, 0.0
        for r, j in enumerate(order):
            offsets[j] = m - r
            mask |= 1 << j
            predicted, predicted_error = predicted + F[mask][0], predicted_error + F[mask][1]
        value, value_error = _directional(loop, group, offsets, E0, rounding, h)
        if not (abs(value - predicted) <= value_error + predicted_error + slack * m * (m + 1) / 2):
            return "f is not smooth on each ordering of its elements there (a kink other than their ties)"
    return _Pieces(np.unique(np.asarray(vertices), axis=0), error, len(orders), len(checked))


def _nearest(vertices: np.ndarray, c: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The point of the convex hull of ``vertices`` nearest ``c`` in the largest-element norm, and
    that distance (a small linear program); None where it could not be solved."""
    gaps = np.max(np.abs(vertices - c), axis=1)
    best = int(np.argmin(gaps))
    if len(vertices) == 1 or gaps[best] == 0:
        return float(gaps[best]), vertices[best]
    from scipy.optimize import linprog  # loaded only at a tie

    size = max(float(np.max(np.abs(vertices))), float(np.max(np.abs(c))), float(np.finfo(np.float64).tiny))
    V, target = vertices / size, c / size
    n, m = V.shape
    ones = np.ones((m, 1))
    result = linprog(
        np.r_[np.zeros(n), 1.0], A_ub=np.block([[-V.T, -ones], [V.T, -ones]]), b_ub=np.r_[-target, target],
        A_eq=np.r_[np.ones(n), 0.0][None, :], b_eq=[1.0], bounds=[(0, None)] * (n + 1), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if not result.success:
        return None
    weights = np.clip(result.x[:n], 0.0, None)
    point = (weights / np.sum(weights)) @ vertices  # in the hull exactly: its distance is an honest one
    distance = float(np.max(np.abs(point - c)))
    return (float(gaps[best]), vertices[best]) if distance >= gaps[best] else (distance, point)


@dataclass
class _Tie:
    group: list[tuple[int, int]]
    slope: float
    total: float
    pieces: _Pieces | None = None
    distance: float = 0.0  # of the claimed gradients from the pieces' hull (largest element)
    nearest: np.ndarray | None = None
    allowed: float = 0.0
    why_not: str = ""  # why the group was judged by its sum alone ("" where by its pieces)


def _blocks(loop, group, E0: np.ndarray, rounding: float, h: float, slack: float) -> list[list[tuple[int, int]]] | None:
    """``group`` split into the ties it holds, where its equal brackets join several (the tied
    maxima of max-pool windows under one dout): two elements are of one tie where they interact,
    E'(x; e_a + e_b) ≠ E'(x; e_a) + E'(x; e_b), and ties are the connected sets of that.
    None where a one-sided derivative could not be found, or an element interacts with none."""
    m = len(group)
    single = [_directional(loop, [group[a]], [1.0], E0, rounding, h) for a in range(m)]
    if not all(np.isfinite(v) and np.isfinite(e) for v, e in single):
        return None
    parent = list(range(m))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    joined = [False] * m
    for a in range(m):
        for b in range(a + 1, m):
            both, error = _directional(loop, [group[a], group[b]], [1.0, 1.0], E0, rounding, h)
            if not (np.isfinite(both) and np.isfinite(error)):
                return None
            if abs(both - single[a][0] - single[b][0]) > error + single[a][1] + single[b][1] + slack:
                parent[root(a)] = root(b)
                joined[a] = joined[b] = True
    if not all(joined):
        return None
    blocks: dict[int, list[tuple[int, int]]] = {}
    for a in range(m):
        blocks.setdefault(root(a), []).append(group[a])
    return list(blocks.values())


def _judge_tie(loop, group, slope, error, rounding, flat_ours, flat_exact, lower, upper, E0, h, limit, scale) -> "_Tie":
    """One tie judged (``_ties``): ``lower`` and ``upper`` set, in place, for its elements."""
    allowed = error + limit * max(abs(slope), scale)
    claimed = np.array([flat_ours[i][k] for i, k in group])
    total = float(np.sum(claimed))
    tie = _Tie(group, slope, total)
    if len(group) > MAX_HULL_GROUP:
        tie.why_not = f"more than {MAX_HULL_GROUP} tied elements"
    else:
        found_pieces = _pieces(loop, group, slope, error, E0, rounding, h, limit * max(abs(slope), scale))
        if isinstance(found_pieces, str):
            tie.why_not = found_pieces
        else:
            tie.pieces = found_pieces
            tie.allowed = found_pieces.error + limit * max(scale, float(np.max(np.abs(found_pieces.vertices))))
            for answer in flat_exact:
                theirs = np.array([answer[i][k] for i, k in group])
                if np.all(np.isfinite(theirs)):
                    near = _nearest(found_pieces.vertices, theirs)
                    if near is None or near[0] > tie.allowed:
                        tie.why_not = "an exact oracle's value there lies outside its pieces found numerically"
                        break
            near = None if tie.why_not else _nearest(found_pieces.vertices, claimed)
            if near is None and not tie.why_not:
                tie.why_not = "the hull of its pieces could not be searched"
            if near is not None:
                tie.distance, tie.nearest = near
    if tie.why_not:  # the sum rule alone: sound wherever f is smooth along the group, as here
        tie.pieces = None
        for (i, k), value in zip(group, claimed):
            rest = total - value
            lower[i].reshape(-1)[k] = slope - rest - allowed
            upper[i].reshape(-1)[k] = slope - rest + allowed
        for answer in flat_exact:  # a value equal to an exact oracle's is never WRONG on the sum rule's word alone
            theirs = np.array([answer[i][k] for i, k in group])
            if np.all(np.isfinite(theirs)) and np.max(np.abs(theirs - claimed)) <= allowed:
                for (i, k), value in zip(group, claimed):
                    lower[i].reshape(-1)[k] = min(lower[i].reshape(-1)[k], value)
                    upper[i].reshape(-1)[k] = max(upper[i].reshape(-1)[k], value)
    else:
        for (i, k), point in zip(group, tie.nearest):
            lower[i].reshape(-1)[k] = point - tie.allowed
            upper[i].reshape(-1)[k] = point + tie.allowed
    return tie


def _additive(group, smooth, partials) -> bool:
    """Whether f's slope along all of ``group`` is the sum of its partial derivatives there (some
    numerical oracle's, each resolved, within their errors): f is differentiable along the group,
    and equal inputs are no tie — a slip of yours there stays judged by the sharper stencils."""
    slope, error, _ = smooth
    for values, errors in partials:
        v = np.array([values[i].reshape(-1)[k] for i, k in group], dtype=np.float64)
        e = np.array([errors[i].reshape(-1)[k] for i, k in group], dtype=np.float64)
        if np.all(np.isfinite(v)) and np.all(np.isfinite(e)):
            return abs(slope - float(np.sum(v))) <= error + float(np.sum(e)) + 1e-12 * max(abs(slope), 1.0)
    return False


def _ties(problem: FunctionProblem, ours: Sequence[np.ndarray], kinked, lower, upper, exact: Sequence[Sequence[np.ndarray]] = (),
          hidden: Sequence[list[tuple[int, int]]] = (), partials: Sequence = ()):
    """Each group of equal brackets that is one tie (``_one_orientation``, smooth along all its
    elements together) is judged as a whole: its claimed gradients against the convex hull of the
    gradients of f's pieces there (``_pieces``, for up to ``MAX_HULL_GROUP`` elements), each
    element's bracket replaced by the nearest point of that hull ± the allowance; else (more
    elements, pieces not found, or an exact oracle's value there outside them) by their sum alone
    — the slope along the group — and reported as not fully judged.  ``exact``: the exact
    oracles' gradients (jax, torch), per oracle one array per leaf: a claimed value equal to one of
    theirs is never outside on the sum rule's word alone."""
    finite = [np.abs(u[np.isfinite(u)]) for u in upper] + [np.abs(l[np.isfinite(l)]) for l in lower]
    scale = max((float(np.max(f)) for f in finite if f.size), default=0.0) or 1.0
    everything = _groups(kinked, lower, upper, scale, by_width=True)
    groups = everything[:MAX_TIE_GROUPS]
    if not groups and not hidden:
        return lower, upper, "", []
    capped = f" (the first {MAX_TIE_GROUPS} of {len(everything)} groups of equally wide brackets tested)" if len(everything) > MAX_TIE_GROUPS else ""
    equal = {(i, k): n for n, g in enumerate(_groups(kinked, lower, upper, scale)) for i, k in g}  # equal brackets, as before

    def narrower(group):
        """``group``'s elements in their groups of equal brackets, where these are smaller than it."""
        parts: dict[int, list[tuple[int, int]]] = {}
        for element in group:
            if element in equal:
                parts.setdefault(equal[element], []).append(element)
        return [p for p in parts.values() if len(p) > 1 and len(p) < len(group)]
    loop = problem.loop()
    flat_ours = [np.asarray(g, np.float64).reshape(-1) for g in ours]
    flat_exact = [[np.asarray(g, np.float64).reshape(-1) for g in answer] for answer in exact]
    lower, upper = [l.copy() for l in lower], [u.copy() for u in upper]
    limit = tolerance_for(np.float64, "central").limit
    E0 = np.ravel(np.asarray(loop.E0, dtype=np.float64))
    size = max(float(np.max(np.abs(E0))), 1.0, problem.objective_terms())
    h = float(stencils.steps(np.zeros(1), stencils.CENTRAL)[0])
    rounding = float(np.finfo(np.float64).eps) * size

    def along_all(group):
        """(slope, error, rounding) of E along all of ``group``'s elements together, or None where it is kinked there."""
        directions = [np.zeros(w.shape) for w in loop.work]
        for i, k in group:
            directions[i].reshape(-1)[k] = 1.0
        along = stencils.along_elements(stencils.CENTRAL, moved(loop.work, directions, lambda: loop.evaluate()[0]), find_kinks=True)
        if along.kinked[0][0] or not np.isfinite(along.errors[0][0]):
            return None
        noisy = rounding * max(1.0, getattr(along, "noisier", 0.0))
        if getattr(along, "float32", False):
            noisy = max(noisy, stencils.FLOAT32_ROUNDING * size)
        return float(along.values[0][0]), float(along.errors[0][0]), noisy

    ties = []
    queue = list(groups)
    while queue:
        group = queue.pop(0)
        smooth = along_all(group) if _one_orientation(loop, group, problem.objective_terms()) else None
        # not one tie: a convex kink beside a concave one (clip at −1 and +1 under equal dout), or independent
        # kinks (a kink along all of them together); its groups of equal brackets are tried, else each element alone
        if smooth is None:
            queue[:0] = narrower(group)
            continue
        parts = [(group, smooth)]
        if MAX_HULL_GROUP < len(group) <= MAX_SPLIT:  # several ties with equal brackets (max-pool windows under one dout)?
            blocks = _blocks(loop, group, E0, smooth[2], h, limit * max(abs(smooth[0]), scale))
            if blocks is not None and len(blocks) > 1:
                alongs = [along_all(block) for block in blocks]
                if all(a is not None for a in alongs):
                    parts = list(zip(blocks, alongs))
        for part, (slope, error, noisy) in parts:
            ties.append(_judge_tie(loop, part, slope, error, noisy, flat_ours, flat_exact, lower, upper, E0, h, limit, scale))
    for group in hidden:  # equal inputs whose tie no stencil showed (``_equal_inputs_disputed``), unless judged above
        if any(element in tie.group for tie in ties for element in group):
            continue
        smooth = along_all(group)  # their elements need not bend one by one (a median's stays put): smooth along all, and the pieces decide
        if smooth is not None and not _additive(group, smooth, partials):
            ties.append(_judge_tie(loop, group, *smooth, flat_ours, flat_exact, lower, upper, E0, h, limit, scale))
    judged_elements = [element for tie in ties for element in tie.group]
    if not ties:
        return lower, upper, "", judged_elements
    names = problem.layout.names
    shapes = [np.shape(g) for g in ours]

    def name(i: int, k: int) -> str:
        return trees.element(names[i], np.unravel_index(k, shapes[i]))

    def listed(group) -> str:
        return " + ".join(name(i, k) for i, k in group[:4]) + (" + …" if len(group) > 4 else "")

    def numbers(values) -> str:
        return ", ".join(f"{v:.6g}" for v in values[:4]) + (", …" if len(values) > 4 else "")

    by_pieces = [t for t in ties if t.pieces is not None]
    partly = [t for t in ties if t.pieces is None]
    drawn = [t for t in by_pieces if t.pieces.checked < t.pieces.orderings]
    judged = ""
    if by_pieces:
        judged = f"{len(by_pieces)} of them against the convex hull of the gradients of f's smooth pieces there"
        if drawn:
            judged += (f" ({drawn[0].pieces.checked} of the {drawn[0].pieces.orderings} orderings of "
                       f"{'each' if len(drawn) > 1 else 'its'} group of {len(drawn[0].group)} confirmed, drawn with seed 0)")
    if partly:
        example = partly[0]
        judged += ("; " if judged else "") + (
            f"{len(partly)} of them not fully judged — by their sum alone, the slope along them: along {listed(example.group)}, {example.why_not}")
    sum_broken = [t for t in ties if abs(t.total - t.slope) > limit * max(abs(t.slope), scale)]
    hull_broken = [t for t in by_pieces if t.distance > t.allowed and t not in sum_broken]
    broken = [t for t in ties if t in sum_broken or t in hull_broken]
    if not broken:
        return lower, upper, f"{len(ties)} tie(s) among kinked elements, each judged as a whole too ({judged}){capped}", judged_elements
    first = broken[0]
    if first in sum_broken:
        why = f"along {listed(first.group)} together f is smooth with slope {first.slope:.6g}, but those gradients sum to {first.total:.6g}"
    else:
        claimed = [flat_ours[i][k] for i, k in first.group]
        why = (f"along {listed(first.group)} together f has {len(first.pieces.vertices)} smooth pieces, and those gradients "
               f"({numbers(claimed)}) lie outside the convex hull of theirs by {first.distance:.3g} (the nearest valid: "
               f"({numbers(first.nearest)}))")
    note = f"{len(broken)} of {len(ties)} tie(s) broken: {why} ({judged}){capped}"
    return lower, upper, note, judged_elements
