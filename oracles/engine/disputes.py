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
    """Oracles whose values the evidence contradicts at an element stand aside there (error inf),
    so that no element is WRONG on the word of one oracle that the others contradict.  "Agree":
    within the numerical oracle's error estimate (plus 1e-12 of the values' size).

    * Two numerical oracles differ beyond the sum of their estimates and beyond both their
      tolerances: at least one estimate is wrong — near a pole, where higher derivatives explode,
      or where f's own rounding exceeds ε|E|.  Where an exact oracle agrees with one, the other
      stands aside; else both do.
    * A numerical oracle disagrees with an exact oracle (jax, torch, the complex step) while
      another numerical oracle agrees with that exact oracle: the one stands aside (central's
      too-optimistic estimate near a pole).
    * A numerical oracle disagrees with an exact oracle beyond its own tolerance, and neither another
      numerical oracle nor another exact oracle backs the exact one: the exact oracle stands
      aside; so does the numerical one unless another numerical oracle agrees with it (one
      against one: neither can say which; two agreeing methods against one: the one).  Where
      another exact oracle backs the numerical one, the exact oracles' dispute is arbitrated
      (``arbitrate_disputes``) instead.

    A numerical oracle already standing aside at an element discredits no exact one there.
    Kinked elements (judged by brackets) are left as they are.  The answers, and a note naming
    the oracles and elements ("" if none)."""
    names = [n for n in answers if ORACLES[n].numerical and answers[n].errors is not None]
    if len(names) < 2:
        return answers, ""
    exact = [n for n in answers if not ORACLES[n].numerical]
    values = {n: [np.asarray(g, np.float64) for g in answers[n].flat("gradients")] for n in (*names, *exact)}
    errors = {n: [np.asarray(e, np.float64) for e in answers[n].flat("errors")] for n in names}
    kinked = {n: answers[n].flat("kinked") or [np.zeros(np.shape(g), dtype=bool) for g in values[n]] for n in names}
    aside = {n: [np.zeros(np.shape(g), dtype=bool) for g in values[names[0]]] for n in names}
    exact_aside: dict[str, list[np.ndarray]] = {}
    leaves = range(len(values[names[0]]))
    finite = [np.abs(v[np.isfinite(v)]) for n in values for v in values[n]]
    G = max((float(np.max(f)) for f in finite if f.size), default=0.0)
    allowance = {n: tolerance_for(np.float64, n).limit * max(G, tolerance_for(np.float64, n).floor) for n in names}
    with np.errstate(invalid="ignore", over="ignore"):
        usable = {n: [np.isfinite(values[n][leaf]) & np.isfinite(errors[n][leaf]) & ~np.asarray(kinked[n][leaf], dtype=bool)
                      for leaf in leaves] for n in names}

        def agrees(n, e, leaf):
            """Numerical oracle n within its estimate of exact oracle e's value, per element."""
            a, b = values[n][leaf], values[e][leaf]
            return usable[n][leaf] & np.isfinite(b) & (np.abs(a - b) <= errors[n][leaf] + 1e-12 * np.maximum(np.abs(a), np.abs(b)))

        for leaf in leaves:
            for i, first in enumerate(names):
                for second in names[i + 1:]:
                    a, b = values[first][leaf], values[second][leaf]
                    both = usable[first][leaf] & usable[second][leaf]
                    bad = both & (np.abs(a - b) > errors[first][leaf] + errors[second][leaf] + 1e-12 * np.maximum(np.abs(a), np.abs(b)))
                    bad &= np.abs(a - b) > min(allowance[first], allowance[second])  # within both tolerances: no verdict turns on it
                    backs_first = np.zeros(np.shape(a), dtype=bool)
                    backs_second = np.zeros(np.shape(a), dtype=bool)
                    for e in exact:
                        backs_first |= agrees(first, e, leaf)
                        backs_second |= agrees(second, e, leaf)
                    aside[first][leaf] |= bad & ~(backs_first & ~backs_second)
                    aside[second][leaf] |= bad & ~(backs_second & ~backs_first)
            for e in exact:
                for n in names:
                    # a numerical oracle already discredited there (two of them contradicting each other) discredits no exact one
                    contradicted = usable[n][leaf] & ~aside[n][leaf] & np.isfinite(values[e][leaf]) & ~agrees(n, e, leaf)
                    corroborated = np.zeros(np.shape(values[n][leaf]), dtype=bool)  # another numerical oracle backs e against n
                    seconded = np.zeros(np.shape(values[n][leaf]), dtype=bool)  # another numerical oracle backs n against e
                    for other in names:
                        if other != n:
                            with_n = usable[other][leaf] & (np.abs(values[other][leaf] - values[n][leaf])
                                                            <= errors[other][leaf] + errors[n][leaf] + 1e-12 * np.abs(values[n][leaf]))
                            with_e = agrees(other, e, leaf)
                            corroborated |= with_e & ~with_n  # an oracle loose enough to agree with both takes no side
                            seconded |= with_n & ~with_e
                    backed = np.zeros(np.shape(values[n][leaf]), dtype=bool)  # another exact oracle backs n: e's dispute, arbitrated
                    for other in exact:
                        if other != e:
                            backed |= agrees(n, other, leaf)
                    aside[n][leaf] |= contradicted & corroborated
                    # only where n sees the gap at its own tolerance: below it, e's finer word stands (a dispute of e's
                    # with another exact oracle goes to arbitration)
                    against = contradicted & ~corroborated & ~backed & (np.abs(values[n][leaf] - values[e][leaf]) > allowance[n])
                    flagged = exact_aside.setdefault(e, [np.zeros(np.shape(g), dtype=bool) for g in values[e]])
                    flagged[leaf] |= against  # e: against two agreeing methods, or one it cannot outweigh
                    aside[n][leaf] |= against & ~seconded  # one exact against one numerical: neither can say which
    if not any(np.any(b) for flags in (*aside.values(), *exact_aside.values()) for b in flags):
        return answers, ""
    answers = dict(answers)
    parts = []
    for name in names + list(exact_aside):
        flags = aside[name] if name in aside else exact_aside[name]
        if not any(np.any(b) for b in flags):
            continue
        answer = answers[name]
        own = errors.get(name) or [np.asarray(e, np.float64) for e in (answer.flat("errors") or [np.zeros(np.shape(g)) for g in values[name]])]
        patched = [np.where(b, np.inf, e) for b, e in zip(flags, own)]
        answers[name] = Answer(answer.oracle, answer.layout, answer.gradients, answer.layout.unflatten(patched), answer.kinked,
                               answer.lower, answer.upper)
        elements = [trees.element(problem.layout.names[leaf], tuple(int(i) for i in index))
                    for leaf, b in enumerate(flags) for index in np.argwhere(b)]
        shown = ", ".join(elements[:SHOWN_INCONSISTENT]) + (f" and {len(elements) - SHOWN_INCONSISTENT} more" if len(elements) > SHOWN_INCONSISTENT else "")
        parts.append(f"{name} at {shown}")
    return answers, (f"oracles whose values the others contradict beyond their error estimates stand aside "
                     f"({'; '.join(parts)}: a pole near, or f's own rounding; an exact oracle against two agreeing numerical ones stands aside; one against one, both do)")


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
