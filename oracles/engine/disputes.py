"""Disputes: where the exact oracles (jax, torch, complex step) disagree with
each other beyond an element's tolerance, no float64 party can judge it.  Each
disputed element is recomputed in mpmath (``oracles.engine.arbitration``), or
confirmed by a numerical oracle that separates the parties; what cannot be
decided is left unresolved — the implementation is never blamed for the
oracles' dispute.
"""

from __future__ import annotations

import math

import numpy as np

from backprop_reference.oracles.engine.comparison import disagreeing, element_scales
from backprop_reference.oracles.engine.problems import NetworkProblem
from backprop_reference.oracles.engine.tolerances import tolerance_for
from backprop_reference.oracles.engine.verdict import Dispute
from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import OracleCannotRun
from backprop_reference.oracles.methods.registry import ORACLES
from backprop_reference.reference.mlp import MLP, Params


def at_kinks(answers: dict[str, Answer], like: list[np.ndarray]) -> list[np.ndarray]:
    """Per leaf, the elements every oracle judges by one-sided derivatives (``oracles.engine.kinks``
    marks them on the exact oracles' answers too): no rounding evidence and no dispute there.
    A numerical oracle's own kink flags (its stencil crossed a kink near the point) do not count."""
    for name, answer in answers.items():
        if not ORACLES[name].numerical and answer.kinked is not None:
            return [np.asarray(k, dtype=bool) for k in answer.flat("kinked")]
    return [np.zeros(np.shape(t), dtype=bool) for t in like]


SHOWN_INCONSISTENT = 3  # elements named in the note on numerical oracles that contradict each other


def inconsistent_numerical(problem, answers: dict[str, Answer]) -> tuple[dict[str, Answer], str]:
    """Where two numerical oracles' values differ by more than the sum of their error estimates
    (plus 1e-12 of their size, rounding of the comparison), at least one estimate is wrong there —
    near a pole, where higher derivatives explode, or where f's own rounding exceeds ε|E| — and
    neither can say which: both leave the element unresolved (error inf), so that no element is
    WRONG on the word of a numerical oracle the other contradicts.  Kinked elements (judged by
    brackets) are left as they are.  The answers, and a note naming the elements ("" if none)."""
    names = [n for n in answers if ORACLES[n].numerical and answers[n].errors is not None]
    if len(names) < 2:
        return answers, ""
    values = {n: [np.asarray(g, np.float64) for g in answers[n].flat("gradients")] for n in names}
    errors = {n: [np.asarray(e, np.float64) for e in answers[n].flat("errors")] for n in names}
    kinked = {n: answers[n].flat("kinked") or [np.zeros(np.shape(g), dtype=bool) for g in values[n]] for n in names}
    bad = [np.zeros(np.shape(g), dtype=bool) for g in values[names[0]]]
    with np.errstate(invalid="ignore", over="ignore"):
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                for leaf in range(len(bad)):
                    a, b = values[first][leaf], values[second][leaf]
                    ea, eb = errors[first][leaf], errors[second][leaf]
                    both = np.isfinite(a) & np.isfinite(b) & np.isfinite(ea) & np.isfinite(eb)
                    both &= ~np.asarray(kinked[first][leaf], dtype=bool) & ~np.asarray(kinked[second][leaf], dtype=bool)
                    bad[leaf] |= both & (np.abs(a - b) > ea + eb + 1e-12 * np.maximum(np.abs(a), np.abs(b)))
    if not any(np.any(b) for b in bad):
        return answers, ""
    answers = dict(answers)
    for name in names:
        answer = answers[name]
        patched = [np.where(b, np.inf, e) for b, e in zip(bad, errors[name])]
        answers[name] = Answer(answer.oracle, answer.layout, answer.gradients, answer.layout.unflatten(patched), answer.kinked,
                               answer.lower, answer.upper)
    elements = [trees.element(problem.layout.names[leaf], tuple(int(i) for i in index)) for leaf, b in enumerate(bad) for index in np.argwhere(b)]
    shown = ", ".join(elements[:SHOWN_INCONSISTENT]) + (f" and {len(elements) - SHOWN_INCONSISTENT} more" if len(elements) > SHOWN_INCONSISTENT else "")
    return answers, (f"{' and '.join(names)} differ beyond their error estimates at {shown} (their estimates do not hold there: "
                     "a pole near, or f's own rounding): neither judges it")


def _declined(answer: Answer) -> list[np.ndarray]:
    """Per leaf, the elements an exact oracle declared it could not judge (error inf: the complex
    step's point left f's domain, ``oracles.methods.numerical.stencils.Outside``): no party to a dispute there."""
    errors = answer.flat("errors")
    if errors is None:
        return [np.zeros(np.shape(g), dtype=bool) for g in answer.flat("gradients")]
    return [np.isinf(np.asarray(e, np.float64)) for e in errors]


def _truth(problem, element: tuple[int, tuple[int, ...]], allowed: float):
    """One disputed element in mpmath, to within ``allowed``: 50 digits, then 120 for an element
    too small for them (50 resolve ~1e-27 · |E|); the record, or None and why not."""
    from backprop_reference.oracles.engine.arbitration import arbitrate  # mpmath is loaded only when oracles disagree

    if problem.mode != "gradient":
        return None, f"arbitration in mpmath covers gradients, not a {problem.mode}"
    for digits in ARBITRATION_DIGITS:
        try:
            (record,) = arbitrate(problem, [element], digits=digits)
        except OracleCannotRun as why:  # a kink, or an f mpmath cannot evaluate
            return None, str(why)
        if math.isfinite(record.value) and record.error <= allowed:
            return record, ""
    return None, f"mpmath could not resolve it to its tolerance (± {record.error:.1e})"


MAX_ARBITRATED = 20  # disputed elements decided in mpmath per check (each costs a few forward passes in 50 digits)
ARBITRATION_DIGITS = (50, 120)  # first try; for an element too small for it (its error ~1e-27·|E| vs ~1e-74·|E|)


def arbitrated(
    mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, answers: dict[str, Answer], terms: list[np.ndarray]
) -> tuple[dict[str, Answer], tuple[Dispute, ...]]:
    """The oracles' ``answers`` on a network (name → ``oracles.answer``) as
    ``check_network_gradients`` judges with them — where the exact oracles
    disagree among themselves beyond the rounding bound (``terms``:
    ``oracles.engine.rounding.network_terms``), each disputed element arbitrated in mpmath —
    and the disputes: what the report lists as framework disagreements."""
    answers, disputes = arbitrate_disputes(NetworkProblem(mlp, params, X, Y), answers, None, "", terms, True)
    return answers, tuple(disputes)


def arbitrate_disputes(problem, answers: dict[str, Answer], ours, implementation: str, terms, rigorous: bool) -> tuple[dict[str, Answer], list[Dispute]]:
    """Where the exact oracles (jax, torch, complex step) disagree with each
    other beyond an element's tolerance, no float64 party can judge it.  For a
    network (or an f written against ``xp`` that mpmath can evaluate) each
    disputed element is recomputed in mpmath (``oracles.engine.arbitration``): an
    oracle farther from that truth than the element's tolerance is shown wrong
    there (the verdict's header says so), and every exact oracle's value there
    is replaced by the truth in what judges the implementation.  Where it cannot be decided (mpmath cannot run f, a kink, more than
    ``MAX_ARBITRATED`` elements), the exact oracles leave the element
    unresolved, so the numerical oracles judge it or it is reported not
    judged — the implementation is never blamed for the oracles' dispute."""
    exact = [name for name in answers if not ORACLES[name].numerical]
    if len(exact) < 2:
        return answers, []
    flat = {name: [np.asarray(g, np.float64) for g in answers[name].flat("gradients")] for name in exact}
    tolerance = tolerance_for(np.float64, exact[0])
    disputed = [np.zeros(np.shape(g), dtype=bool) for g in flat[exact[0]]]
    for i, first in enumerate(exact):
        for second in exact[i + 1:]:
            disputed = [d | (m & ~a & ~b) for d, m, a, b in zip(
                disputed, disagreeing(flat[first], flat[second], tolerance, terms, rigorous), _declined(answers[first]), _declined(answers[second]))]
    disputed = [d & ~k for d, k in zip(disputed, at_kinks(answers, disputed))]  # a kink's convention is no dispute
    elements = [(leaf, tuple(int(i) for i in index)) for leaf, d in enumerate(disputed) for index in np.argwhere(d)]
    if not elements:
        return answers, []
    too_many = (
        f"{len(elements)} disputed elements, more than the {MAX_ARBITRATED} arbitrated per check" if len(elements) > MAX_ARBITRATED else ""
    )
    answers = dict(answers)
    patched = {name: [g.copy() for g in flat[name]] for name in exact}
    unresolved = [np.zeros(np.shape(g)) for g in flat[exact[0]]]
    allowed = [tolerance.limit * s for s in element_scales(flat[exact[0]], tolerance, np.dtype(np.float64), terms, rigorous=rigorous)[0]]
    disputes = []
    names = problem.layout.names
    for leaf, index in elements:
        values = tuple((name, float(flat[name][leaf][index])) for name in exact)
        if ours is not None:
            values += ((implementation, float(np.asarray(ours[leaf])[index])),)
        element = trees.element(names[leaf], index)
        record, reason = (None, too_many) if too_many else _truth(problem, (leaf, index), allowed[leaf][index])
        if record is not None:
            truth, how = record.value, f"mpmath ({record.digits} digits)"
        else:
            truth, how = _confirmed(answers, {name: flat[name][leaf][index] for name in exact}, leaf, index, allowed[leaf][index])
        if truth is None:
            unresolved[leaf][index] = np.inf
            disputes.append(Dispute(element, values, None, (), reason))
            continue
        wrong = tuple(name for name in exact if not abs(flat[name][leaf][index] - truth) <= allowed[leaf][index])
        for name in exact:  # every exact oracle's value there is replaced by the truth, so none can blame
            patched[name][leaf][index] = truth
        disputes.append(Dispute(element, values, truth, wrong, how))
    for name in exact:
        answer = answers[name]
        errors = answer.flat("errors")
        errors = unresolved if errors is None else [np.maximum(e, u) for e, u in zip(errors, unresolved)]
        answers[name] = Answer(
            answer.oracle, answer.layout, answer.layout.unflatten(patched[name]), answer.layout.unflatten(errors),
            answer.kinked, answer.lower, answer.upper,
        )
    return answers, disputes


def _confirmed(answers: dict[str, Answer], exact: dict[str, float], leaf: int, index: tuple[int, ...], allowed: float) -> tuple[float | None, str]:
    """Where mpmath cannot decide a dispute (an f it cannot evaluate: ``xp.var``,
    say), a numerical oracle that resolved the element can, when the exact
    oracles split into those within its error estimate of it and those ten
    times farther: the value of the first of the former stands, and the others
    are shown wrong.  ``(None, "")`` where no numerical oracle separates them."""
    for name, answer in answers.items():
        if not ORACLES[name].numerical or answer.errors is None:
            continue
        if answer.kinked is not None and answer.flat("kinked")[leaf][index]:
            continue
        value, error = float(answer.flat("gradients")[leaf][index]), float(answer.flat("errors")[leaf][index])
        if not (math.isfinite(value) and math.isfinite(error)):
            continue
        near = [party for party, v in exact.items() if abs(v - value) <= error + allowed]
        far = [party for party, v in exact.items() if abs(v - value) > 10 * (error + allowed)]
        if near and far and len(near) + len(far) == len(exact):
            return exact[near[0]], f"{name} ({value:.6e} ± {error:.1e}) confirms {', '.join(near)}"
    return None, ""
