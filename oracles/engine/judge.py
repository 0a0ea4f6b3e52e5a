"""The engine: one problem, every chosen oracle's answer, one comparison per
oracle, one ``Verdict``.

``judge_problem`` is what every check ends in.  It asks each oracle for its
answer (``oracles.methods.registry``), lets the kinks it finds decide how the
elements there are judged (``oracles.engine.kinks``), takes each element's
rounding bound or the evidence of it (``rounding_terms``), settles the exact
oracles' disputes (``oracles.engine.disputes``), and compares each answer with
the claimed derivative (``oracles.engine.comparison``).  It calls the problem
only through ``oracles.engine.problems.Problem``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from backprop_reference.oracles.engine import kinks, precision as low
from backprop_reference.oracles.engine.comparison import judge
from backprop_reference.oracles.methods.problem import Problem
from backprop_reference.oracles.engine.disputes import arbitrate_disputes, at_kinks, inconsistent_numerical
from backprop_reference.oracles.engine.tolerances import Tolerance, tolerance_for
from backprop_reference.oracles.engine.verdict import Verdict
from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import OracleCannotRun
from backprop_reference.oracles.methods.registry import ORACLES


def judge_problem(
    problem: Problem,
    ours: Sequence[np.ndarray],
    oracles: Sequence[str],
    *,
    implementation: str,
    dtype: np.dtype,
    skipped: Sequence[tuple[str, str]] = (),
    note: str = "",
    brackets: dict[str, Answer] | None = None,
    answers: dict[str, Answer] | None = None,
    precision: low.Precision | None = None,
) -> Verdict:
    """The engine: each of ``oracles`` answers ``problem``, each answer is
    compared with ``ours`` (the claimed gradient, one array per leaf of
    ``problem.layout``), and the comparisons make one verdict.  Where the
    exact oracles disagree among themselves, the disputed elements are
    arbitrated (``arbitrate_disputes``) before anything is blamed.  An element no
    oracle that ran could resolve is listed as not judged, and fails it.
    ``brackets``: numerical answers on part of the elements (``oracles.engine.sampling``),
    used only for the kinks they found there, not judged themselves; ``answers``:
    the oracles' answers where the caller has them already.  ``precision``: ``ours`` was
    computed in a low dtype (bfloat16, float16, float32 tensors): each oracle's float64
    answer is still compared with it element by element, under the allowance the
    precision's rule derives (``oracles.engine.precision``) instead of the float64 table."""
    answers, skipped = dict(answers or {}), list(skipped)
    for name in (n for n in oracles if n not in answers):
        try:
            answers[name] = ORACLES[name].answer(problem)
        except OracleCannotRun as why:
            skipped.append((name, str(why)))
    if not problem.kinks_known:  # known kinks are seen beforehand (oracles.checks.network: the kink policy)
        found, tie_note = kinks.found(problem, {**(brackets or {}), **answers}, ours)
        answers = {name: found[name] for name in answers}
        note = "; ".join(n for n in (note, tie_note, *problem.notes.values()) if n)
    answers, contradicted = inconsistent_numerical(problem, answers)  # never WRONG on one numerical oracle's word
    note = "; ".join(n for n in (note, contradicted) if n)
    terms, rounding, rigorous = rounding_terms(problem, answers, float32_evidence=precision is None)
    answers, disputes = arbitrate_disputes(problem, answers, ours, implementation, terms, rigorous)
    comparisons, resolved_by_any, records = [], None, ()
    scales, tolerance = None, None
    if precision is not None and answers:
        scales, leaf_records, fallback = low.allowances(precision, problem, problem.layout.names, ours, low.truth_of(answers))
        records, tolerance, dtype = tuple(leaf_records), Tolerance(1.0, 0.0, low.reason(precision)), low.numpy_dtype(precision.dtype)
        note = "; ".join(n for n in (note, precision.where, fallback) if n)
    for name, answer in answers.items():
        comparison, resolved = judge(
            problem.layout.names, ours, answer, implementation=implementation, tolerance=tolerance or tolerance_for(dtype, name), dtype=dtype,
            terms=None if scales else terms, rounding=rounding, rigorous=rigorous, scale=scales,
        )
        comparisons.append(comparison)
        resolved_by_any = resolved if resolved_by_any is None else [r | s for r, s in zip(resolved_by_any, resolved)]
    unjudged = ()
    if resolved_by_any is not None:
        unjudged = tuple(
            trees.element(name, index) for name, r in zip(problem.layout.names, resolved_by_any) for index in np.argwhere(~r)
        )
    elements = sum(int(np.size(a)) for a in ours)
    return Verdict(implementation, tuple(comparisons), tuple(skipped), note, unjudged, elements, tuple(disputes), precision=records)


def rounding_terms(problem: Problem, answers: dict[str, Answer], float32_evidence: bool = True) -> tuple[list[np.ndarray] | None, str, bool]:
    """B_k per leaf (``oracles.engine.rounding``), where it came from, and whether it is a bound.

    * A network: the forward and backward pass on magnitudes — a bound.
    * A function: f is opaque, so only evidence, never a bound; it only ever
      widens the tolerance (the floor, terms of order one, stays under it):
      - the spread of the exact oracles that ran (jax, torch, complex step),
        B_k = max |a_k − b_k| / ε: two exact derivatives differ by rounding alone;
      - for an f written against ``xp``, torch.autograd on float32 copies:
        rounding grows in proportion to ε, so B_k = |g32_k − g64_k| / ε32.
      Either is evidence only while it is small — the spread up to
      ``SPREAD_LIMIT``, the float32 deviation up to ``FLOAT32_LIMIT`` of the
      element's size plus the gradient's scale: beyond, it is a disagreement
      (an oracle that is wrong, a branch taken the other way in float32), not
      rounding; it is discarded, and the oracles' disagreement is arbitrated.
    * Otherwise none (the floor stands in).

    ``float32_evidence=False`` leaves out the float32 run (a low-precision result is judged
    by its own rule, ``oracles.engine.precision``, not by these terms)."""
    bounds = problem.rounding_bounds()
    if bounds is not None:
        return bounds, "from a backward pass on magnitudes", True
    exact = [answers[name].flat("gradients") for name in answers if not ORACLES[name].numerical]
    pieces = [
        _evidence(a, b, float(np.finfo(np.float64).eps), SPREAD_LIMIT) for i, a in enumerate(exact) for b in exact[i + 1:]
    ]
    sources = ["the spread of the exact oracles"] if pieces else []
    if float32_evidence and not problem.why_not("torch"):
        torch = ORACLES["torch"]
        try:
            g64 = (answers["torch"] if "torch" in answers else torch.answer(problem)).flat("gradients")
            g32 = torch.answer(problem.in_dtype(np.float32)).flat("gradients")
            pieces.append(_evidence(g32, g64, float(np.finfo(np.float32).eps), FLOAT32_LIMIT))
            sources.append("torch.autograd in float32 (2²⁹ × float64's rounding)")
        except (OracleCannotRun, ImportError):  # no float32 run: no evidence from it
            pass
    if pieces:  # at an element judged by one-sided derivatives, the oracles' spread is a convention, not rounding
        kinked = at_kinks(answers, pieces[0])
        pieces = [[np.where(k, 0.0, t) for t, k in zip(piece, kinked)] for piece in pieces]
    if not pieces:
        return None, "", False
    terms = [np.max(np.stack(leaf), axis=0) for leaf in zip(*pieces)]
    return terms, "estimated from " + " and ".join(sources), False


def _evidence(first: Sequence[np.ndarray], second: Sequence[np.ndarray], eps: float, limit: float) -> list[np.ndarray]:
    """|first − second| / eps per element, where it is small enough to be rounding (else 0)."""
    second = [np.asarray(b, np.float64) for b in second]
    G = max((float(np.max(np.abs(b[np.isfinite(b)]))) if np.any(np.isfinite(b)) else 0.0) for b in second)
    terms = []
    with np.errstate(invalid="ignore", over="ignore"):
        for a, b in zip(first, second):
            moved = np.abs(np.asarray(a, np.float64) - b)
            smooth = np.isfinite(moved) & (moved <= limit * (np.abs(b) + G))
            terms.append(np.where(smooth, moved / eps, 0.0))
    return terms



# Evidence beyond these shares of an element's size plus the gradient's scale is a disagreement, not rounding:
SPREAD_LIMIT = 1e-6  # two float64 exact oracles: rounding that large needs a condition number of ~1e10
FLOAT32_LIMIT = 1e-2  # torch in float32 against float64: rounding that large needs ~1e5
