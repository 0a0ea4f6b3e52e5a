"""Checking a gradient with too many elements to differentiate each numerically.

The exact oracles (jax.grad, torch.autograd) give every element in one
backward pass whatever the size; the per-element oracles (complex step,
Richardson, central differences) cost evaluations of f for every element —
for an f that reads all n inputs, n² work.  Above ``ELEMENTWISE_LIMIT``
elements ``check_gradient`` (``mode="auto"``) judges:

* **every element** by the exact oracles that can run (their full answers,
  kinks and rounding evidence as in the elementwise check);
* **m sampled elements** (``samples``, drawn uniformly without replacement,
  seeded) by each per-element oracle — plus every element where the claimed
  gradient differs from an exact oracle (up to ``MAX_FOLLOWED``, the largest
  first), so that a disagreement is looked at numerically (a kink there, a
  convention, or a true error) before it is blamed;
* **k random projections** (``directions``): for Gaussian v over all
  elements, the claimed ⟨g, v⟩ against each per-element oracle's derivative
  of E along v (one line, a few evaluations of f).

What it can miss, stated: a wrong fraction p of the elements escapes m
uniformly sampled elements with probability (1 − p)^m (m = 256: p = 1 % is
missed with probability 7.6 %, p = 5 % with 2e-6) — but where an exact
oracle ran, every element is judged by it anyway.  An error vector e is seen
by one projection through ⟨e, v⟩ ~ N(0, ‖e‖²): missed with probability
P(|N(0, 1)| < τS/‖e‖) ≈ 0.8·τS/‖e‖ (τ the oracle's tolerance, S the scale of
⟨∇E, v⟩, about ‖∇E‖), and by k independent directions with that to the power
k: for central differences (τ = 1e-6) and k = 8, an error of relative norm
1e-4 is missed with probability ~(8e-3)⁸ ≈ 2e-17, one of 1e-6 about half the
time.  A kink is found only at sampled and followed elements.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.engine.comparison import Comparison, disagreeing, judge
from backprop_reference.oracles.engine.judge import judge_problem, rounding_terms
from backprop_reference.oracles.methods.frameworks import OracleCannotRun
from backprop_reference.oracles.methods.numerical import STENCILS, stencils
from backprop_reference.oracles.engine.problems import moved
from backprop_reference.oracles.methods.registry import ORACLES
from backprop_reference.oracles.engine.tolerances import tolerance_for
from backprop_reference.oracles.engine.verdict import PROJECTION, Verdict

ELEMENTWISE_LIMIT = 20_000  # mode="auto": elementwise up to this many elements, sampled above
SAMPLES = 256
DIRECTIONS = 8
MAX_FOLLOWED = 5_000  # elements where ours differs from an exact oracle, looked at numerically as well (the largest first)
MODES = ("auto", "elementwise", "sampled")


def check_options(mode: str, samples: object, directions: object) -> tuple[int, int]:
    """(samples, directions), defaults filled in, after checking them (``mode`` and the seed are
    checked with the other shared options, ``oracles.checks.options``); ``samples`` and
    ``directions`` are None unless given, and given with ``mode="elementwise"`` they are refused."""
    if mode == "elementwise":
        given = [name for name, value in (("samples", samples), ("directions", directions)) if value is not None]
        if given:
            raise ValueError(f"{' and '.join(given)} apply to the sampled check; mode='elementwise' judges every element by every oracle")
    samples = SAMPLES if samples is None else samples
    directions = DIRECTIONS if directions is None else directions
    for name, value in (("samples", samples), ("directions", directions)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    if samples == 0 and directions == 0:
        raise ValueError("samples and directions are both 0: in the sampled check the per-element oracles would judge nothing")
    return int(samples), int(directions)


def chosen_mode(mode: str, elements: int) -> str:
    if mode != "auto":
        return mode
    return "elementwise" if elements <= ELEMENTWISE_LIMIT else "sampled"


def followed(ours: Sequence[np.ndarray], answers: dict[str, Answer], dtype) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per leaf, the flat indices where ``ours`` differs from an exact oracle beyond its
    tolerance: at most ``MAX_FOLLOWED`` in all, the largest differences first; and those
    left over (never judged by the exact oracles alone: ``unfollowed``)."""
    flagged = [np.zeros(np.size(a), dtype=bool) for a in ours]
    size = [np.zeros(np.size(a)) for a in ours]
    for name, answer in answers.items():
        theirs = answer.flat("gradients")
        for i, (mask, a, b) in enumerate(zip(disagreeing(ours, theirs, tolerance_for(dtype, name), None), ours, theirs)):
            mask = mask.reshape(-1)
            flagged[i] |= mask
            with np.errstate(invalid="ignore"):
                size[i] = np.fmax(size[i], np.where(mask, np.abs(np.asarray(a, np.float64) - b).reshape(-1), 0.0))
    everything = [(float(size[i][k]), i, int(k)) for i in range(len(ours)) for k in np.flatnonzero(flagged[i])]
    everything.sort(reverse=True)

    def indices(part):
        return [np.asarray(sorted(k for _, j, k in part if j == i), dtype=np.int64) for i in range(len(ours))]

    return indices(everything[:MAX_FOLLOWED]), indices(everything[MAX_FOLLOWED:])


def unfollowed(answers: dict[str, Answer], left: list[np.ndarray]) -> dict[str, Answer]:
    """The exact oracles' answers with the suspects left over marked unresolved (an
    infinite error estimate): beyond the cap, a difference from jax or torch may be a
    convention at a kink no numerical oracle looked at, so it is not judged, never blamed."""
    if not any(k.size for k in left):
        return answers
    patched = {}
    for name, answer in answers.items():
        errors = [np.zeros(np.shape(g)) for g in answer.flat("gradients")]
        for error, k in zip(errors, left):
            error.reshape(-1)[k] = np.inf
        patched[name] = Answer(answer.oracle, answer.layout, answer.gradients, answer.layout.unflatten(errors),
                               answer.kinked, answer.lower, answer.upper)
    return patched


def drawn(leaves: Sequence[np.ndarray], samples: int, seed: int, extra: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per leaf, the flat indices of ``samples`` elements drawn uniformly over all
    leaves without replacement (seeded; every element when there are fewer), with ``extra``."""
    sizes = [leaf.size for leaf in leaves]
    total = sum(sizes)
    picks = np.random.default_rng(seed).choice(total, size=min(samples, total), replace=False)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return [
        np.union1d(picks[(picks >= offsets[i]) & (picks < offsets[i + 1])] - offsets[i], extra[i]).astype(np.int64)
        for i in range(len(leaves))
    ]


def partial_answers(problem, names: Sequence[str], subset: list[np.ndarray]) -> tuple[dict[str, Answer], list[tuple[str, str]]]:
    """Each per-element oracle's answer at the ``subset`` elements (NaN elsewhere)."""
    answers, skipped = {}, []
    for name in names:
        try:
            answers[name] = ORACLES[name].answer(problem, subset=subset)
        except OracleCannotRun as why:
            skipped.append((name, str(why)))
    return answers, skipped


def sampled_comparisons(
    problem, ours: Sequence[np.ndarray], answers: dict[str, Answer], subset: list[np.ndarray], *, implementation: str, dtype,
    terms: list[np.ndarray] | None, rigorous: bool, rounding: str,
) -> tuple[list[Comparison], set[str]]:
    """Each per-element answer judged at the subset's elements only (each element its own
    named leaf: ``x[3, 5]``), and the elements of the subset none of them resolved."""
    if not any(k.size for k in subset):
        return [], set()
    names = [trees.element(problem.layout.names[i], np.unravel_index(k, ours[i].shape)) for i in range(len(ours)) for k in subset[i]]
    layout = trees.Layout(tuple(names), lambda items: list(items), lambda items: list(items))

    def pick(arrays):
        return None if arrays is None else [np.asarray(a).reshape(-1)[k] for i, a in enumerate(arrays) for k in subset[i]]

    picked_terms = None if terms is None else [np.asarray(t) for t in pick(terms)]
    mine = [np.asarray(v) for v in pick(list(ours))]
    comparisons, resolved_by_any = [], None
    for name, answer in answers.items():
        fields = [pick(answer.flat(field)) for field in ("gradients", "errors", "kinked", "lower", "upper")]
        fields = [None if f is None else [np.asarray(v) for v in f] for f in fields]
        reduced = Answer(name, layout, *fields)
        comparison, resolved = judge(
            layout.names, mine, reduced, implementation=implementation, tolerance=tolerance_for(dtype, name), dtype=dtype,
            terms=picked_terms, rounding=rounding, rigorous=rigorous,
        )
        comparisons.append(comparison)
        resolved_by_any = resolved if resolved_by_any is None else [r | s for r, s in zip(resolved_by_any, resolved)]
    unjudged = set() if resolved_by_any is None else {n for n, r in zip(names, resolved_by_any) if not bool(np.all(r))}
    return comparisons, unjudged


def projections(
    problem, ours: Sequence[np.ndarray], answers: dict[str, Answer], directions: int, seed: int, *, implementation: str, dtype,
) -> tuple[list[Comparison], list[tuple[str, str]]]:
    """For each per-element oracle that answered, ⟨ours, v⟩ against its derivative of E
    along ``directions`` Gaussian v (seeded), one comparison ``"<oracle> along v"`` over
    the leaf ``v·g``.  v is 0 at the elements found kinked: at a kink the claimed value
    is a convention, which a bracket along v (a sum over many elements' sides) cannot
    judge; a line that still crosses a kink (one not sampled) is left unresolved."""
    if directions == 0 or not answers:
        return [], []
    kinked = [np.zeros(leaf.shape, dtype=bool) for leaf in problem.leaves]
    for answer in answers.values():
        if answer.kinked is not None:
            kinked = [k | np.asarray(a, dtype=bool) for k, a in zip(kinked, answer.flat("kinked"))]
    rng = np.random.default_rng(seed + 1)  # not the samples' stream
    vs = [[np.where(k, 0.0, rng.standard_normal(leaf.shape)) for leaf, k in zip(problem.leaves, kinked)] for _ in range(directions)]
    claimed = np.array([sum(float(np.sum(np.asarray(g, np.float64) * v)) for g, v in zip(ours, d)) for d in vs])
    layout = trees.Layout((PROJECTION,), lambda items: list(items), lambda items: list(items))
    comparisons, skipped = [], []
    for name in answers:
        stencil = STENCILS[name]
        try:
            loop = problem.loop(stencil.complex)
        except OracleCannotRun as why:
            skipped.append((f"{name} along v", str(why)))
            continue
        found = [
            stencils.along_elements(stencil, moved(loop.work, d, lambda loop=loop: loop.evaluate()[0]), find_kinks=not stencil.complex,
                                    terms=None if stencil.complex else np.asarray([problem.objective_terms()]))
            for d in vs
        ]

        def field(f):
            parts = [getattr(r, f) for r in found]
            return None if parts[0] is None else [np.array([p[0][0] for p in parts])]

        errors, crossed = field("errors"), field("kinked")
        if errors is not None:  # a line across an unseen kink: unresolved, never judged by a bracket
            errors = [np.where(crossed[0], np.inf, errors[0])]
        answer = Answer(f"{name} along v", layout, field("values"), errors)
        comparison, _ = judge(layout.names, [claimed], answer, implementation=implementation, tolerance=tolerance_for(dtype, name), dtype=dtype)
        comparisons.append(comparison)
    return comparisons, skipped


def judge_sampled(
    problem, ours: Sequence[np.ndarray], oracles: Sequence[str], *, implementation: str, dtype: np.dtype, note: str,
    samples: int, directions: int, seed: int,
) -> Verdict:
    """The sampled check (``oracles.engine.sampling``): the exact oracles on every element, the
    per-element ones on a seeded sample (and where ``ours`` differs from an exact
    oracle) and along random directions; one verdict."""
    cheap = [name for name in oracles if not ORACLES[name].per_element]
    costly = [name for name in oracles if ORACLES[name].per_element]
    exact, skipped = {}, []
    for name in cheap:
        try:
            exact[name] = ORACLES[name].answer(problem)
        except OracleCannotRun as why:
            skipped.append((name, str(why)))
    suspects, left = followed(ours, exact, dtype)
    subset = drawn(problem.leaves, samples, seed, suspects)
    partial, more = partial_answers(problem, costly, subset)
    full = judge_problem(problem, ours, list(exact), implementation=implementation, dtype=dtype, skipped=skipped, brackets=partial,
                         answers=unfollowed(exact, left))
    terms, rounding, rigorous = rounding_terms(problem, exact) if exact else (None, "", False)
    by_sample, unresolved = sampled_comparisons(problem, ours, partial, subset, implementation=implementation, dtype=dtype,
                                                        terms=terms, rigorous=rigorous, rounding=rounding)
    along, skipped_along = projections(problem, ours, partial, directions, seed, implementation=implementation, dtype=dtype)
    total = sum(int(np.size(g)) for g in ours)
    picked = sum(s.size for s in subset)
    extra = sum(s.size for s in suspects)
    unchecked = sum(k.size for k in left)
    how = (
        f"sampled check of {total:,} elements: "
        + (f"every element by {', '.join(exact)}; " if exact else "no exact oracle ran (every element judged only by the samples and projections); ")
        + f"{picked:,} elements ({min(samples, total):,} drawn with seed {seed}" + (f", {extra:,} where grad differs from an exact oracle" if extra else "")
        + f") and {directions} random directions by {', '.join(partial) or 'no per-element oracle'}"
        + (f"; {unchecked:,} more elements where grad differs from an exact oracle (beyond the {MAX_FOLLOWED:,} followed) are not judged"
           if unchecked else "")
        + " (mode='elementwise' judges every element by every oracle)"
    )
    unjudged = full.unjudged if full.comparisons else tuple(sorted(unresolved))
    return Verdict(
        implementation, full.comparisons + tuple(by_sample) + tuple(along), full.skipped + tuple(more) + tuple(skipped_along),
        "; ".join(n for n in (how, full.note or note) if n), unjudged, total, full.disputes,
    )
