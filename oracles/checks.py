"""Check gradients you computed by any means: the entry points, on one engine.

    check_gradient(f, grad, x)                      # any function: grad(x) = ∂f/∂x
    check_network_gradients(mlp, params, X, Y, grads)  # a network's ∂E/∂(W^l, b^l)
    check_projections(mlp, params, X, Y, grads)     # a network too large for elementwise checks

Products with a cotangent or a tangent, Jacobians, Hessian–vector products
(``oracles.derivatives``), layers (``oracles.layers``) and custom autograd
rules (``oracles.rules``) are entry points on the same engine.

Each builds a problem (``oracles.problems``) and calls ``judge_problem``: every
chosen oracle answers it, each answer is compared with the claimed derivative
(``oracles.comparison``), and the comparisons make one ``Verdict``.  An oracle
that cannot run on the problem is reported as skipped, with the reason.
Every one has an ``assert_`` form for pytest that raises with the worst
element named.

* float32 gradients are judged against oracles run on float64 copies, with
  the float32 tolerances (the conversion is explicit and stated in the verdict).
* Where some pre-activation of a network sits *exactly* on a relu/leaky_relu/
  maxout kink, the derivative there is a convention (torch and the hand
  derivations take the left-hand value, jax.grad the right-hand one for
  leaky_relu), so the exact oracles are skipped with that reason and the
  kink-aware numerical oracle decides: a value between the one-sided
  derivatives passes.
* A function's kinks are not known beforehand: the numerical oracles find
  them element by element from its values (``oracles.numerical.stencils.jumped``),
  and every oracle judges such an element by the one-sided derivatives found
  there (``oracles.kinks``, which also couples the elements of a tie).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Sequence

import numpy as np

from oracles import arguments, kinks, sampled, trees
from oracles.comparison import Answer, asserting, disagreeing, element_scales, judge
from oracles.frameworks import OracleCannotRun
from oracles.numerical import stencils
from oracles.numerical.evaluators import network_fixed
from oracles.problems import FunctionProblem, NetworkProblem, check_callable, scalar, takes_xp
from oracles.registry import DEFAULT_ORACLES, ORACLES, check_oracle_names
from oracles.tolerances import tolerance_for
from oracles.verdict import PROJECTION, Dispute, Verdict
from reference.mlp import MLP, Params
from reference.validation import check_grads, check_network_inputs

def judge_problem(
    problem,
    ours: Sequence[np.ndarray],
    oracles: Sequence[str],
    *,
    implementation: str,
    dtype: np.dtype,
    skipped: Sequence[tuple[str, str]] = (),
    note: str = "",
    brackets: dict[str, Answer] | None = None,
    answers: dict[str, Answer] | None = None,
) -> Verdict:
    """The engine: each of ``oracles`` answers ``problem``, each answer is
    compared with ``ours`` (the claimed gradient, one array per leaf of
    ``problem.layout``), and the comparisons make one verdict.  Where the
    exact oracles disagree among themselves, the disputed elements are
    arbitrated (``_arbitrate``) before anything is blamed.  An element no
    oracle that ran could resolve is listed as not judged, and fails it.
    ``brackets``: numerical answers on part of the elements (``oracles.sampled``),
    used only for the kinks they found there, not judged themselves; ``answers``:
    the oracles' answers where the caller has them already."""
    answers, skipped = dict(answers or {}), list(skipped)
    for name in (n for n in oracles if n not in answers):
        try:
            answers[name] = ORACLES[name].answer(problem)
        except OracleCannotRun as why:
            skipped.append((name, str(why)))
    if not isinstance(problem, NetworkProblem):  # a network's kinks are seen beforehand (_kink_policy)
        found, tie_note = kinks.found(problem, {**(brackets or {}), **answers}, ours)
        answers = {name: found[name] for name in answers}
        note = "; ".join(n for n in (note, tie_note, *getattr(problem, "notes", {}).values()) if n)
    terms, rounding, rigorous = rounding_terms(problem, answers)
    answers, disputes = _arbitrate(problem, answers, ours, implementation, terms, rigorous)
    comparisons, resolved_by_any = [], None
    for name, answer in answers.items():
        comparison, resolved = judge(
            problem.layout.names, ours, answer, implementation=implementation, tolerance=tolerance_for(dtype, name), dtype=dtype,
            terms=terms, rounding=rounding, rigorous=rigorous,
        )
        comparisons.append(comparison)
        resolved_by_any = resolved if resolved_by_any is None else [r | s for r, s in zip(resolved_by_any, resolved)]
    unjudged = ()
    if resolved_by_any is not None:
        unjudged = tuple(
            trees.element(name, index) for name, r in zip(problem.layout.names, resolved_by_any) for index in np.argwhere(~r)
        )
    elements = sum(int(np.size(a)) for a in ours)
    return Verdict(implementation, tuple(comparisons), tuple(skipped), note, unjudged, elements, tuple(disputes))


def rounding_terms(problem, answers: dict[str, Answer]) -> tuple[list[np.ndarray] | None, str, bool]:
    """B_k per leaf (``oracles.rounding``), where it came from, and whether it is a bound.

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
    * Otherwise none (the floor stands in)."""
    if isinstance(problem, NetworkProblem):
        return problem.terms(), "from a backward pass on magnitudes", True
    exact = [answers[name].flat("gradients") for name in answers if not ORACLES[name].numerical]
    pieces = [
        _evidence(a, b, float(np.finfo(np.float64).eps), SPREAD_LIMIT) for i, a in enumerate(exact) for b in exact[i + 1:]
    ]
    sources = ["the spread of the exact oracles"] if pieces else []
    if problem.forms.runs_on("torch"):
        torch = ORACLES["torch"]
        try:
            g64 = (answers["torch"] if "torch" in answers else torch.answer(problem)).flat("gradients")
            g32 = torch.answer(problem.in_float32()).flat("gradients")
            pieces.append(_evidence(g32, g64, float(np.finfo(np.float32).eps), FLOAT32_LIMIT))
            sources.append("torch.autograd in float32 (2²⁹ × float64's rounding)")
        except (OracleCannotRun, ImportError):  # no float32 run: no evidence from it
            pass
    if pieces:  # at an element judged by one-sided derivatives, the oracles' spread is a convention, not rounding
        kinked = _kinked(answers, pieces[0])
        pieces = [[np.where(k, 0.0, t) for t, k in zip(piece, kinked)] for piece in pieces]
    if not pieces:
        return None, "", False
    terms = [np.max(np.stack(leaf), axis=0) for leaf in zip(*pieces)]
    return terms, "estimated from " + " and ".join(sources), False


def _kinked(answers: dict[str, Answer], like: list[np.ndarray]) -> list[np.ndarray]:
    """Per leaf, the elements every oracle judges by one-sided derivatives (``oracles.kinks``
    marks them on the exact oracles' answers too): no rounding evidence and no dispute there.
    A numerical oracle's own kink flags (its stencil crossed a kink near the point) do not count."""
    for name, answer in answers.items():
        if not ORACLES[name].numerical and answer.kinked is not None:
            return [np.asarray(k, dtype=bool) for k in answer.flat("kinked")]
    return [np.zeros(np.shape(t), dtype=bool) for t in like]


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


def _truth(problem, element: tuple[int, tuple[int, ...]], allowed: float):
    """One disputed element in mpmath, to within ``allowed``: 50 digits, then 120 for an element
    too small for them (50 resolve ~1e-27 · |E|); the record, or None and why not."""
    from oracles.arbitration import arbitrate  # mpmath is loaded only when oracles disagree

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
    ``oracles.network_terms``), each disputed element arbitrated in mpmath —
    and the disputes: what the report lists as framework disagreements."""
    answers, disputes = _arbitrate(NetworkProblem(mlp, params, X, Y), answers, None, "", terms, True)
    return answers, tuple(disputes)


def _arbitrate(problem, answers: dict[str, Answer], ours, implementation: str, terms, rigorous: bool) -> tuple[dict[str, Answer], list[Dispute]]:
    """Where the exact oracles (jax, torch, complex step) disagree with each
    other beyond an element's tolerance, no float64 party can judge it.  For a
    network (or an f written against ``xp`` that mpmath can evaluate) each
    disputed element is recomputed in mpmath (``oracles.arbitration``): an
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
            disputed = [d | m for d, m in zip(disputed, disagreeing(flat[first], flat[second], tolerance, terms, rigorous))]
    disputed = [d & ~k for d, k in zip(disputed, _kinked(answers, disputed))]  # a kink's convention is no dispute
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


def _kink_policy(problem, chosen: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """On a kink, the exact oracles' value is their framework's convention: skip
    them and let the kink-aware numerical oracles decide (central if none was chosen)."""
    if not problem.on_a_kink():
        return chosen, []
    reason = (
        "a pre-activation sits exactly on a kink, where the derivative is a convention "
        "(jax.grad takes the right-hand value for leaky_relu); the kink-aware numerical oracle decides"
    )
    skipped = [(name, reason) for name in chosen if not ORACLES[name].numerical]
    return [name for name in chosen if ORACLES[name].numerical] or ["central"], skipped


def _check_implementation(implementation: object) -> str:
    if not isinstance(implementation, str):
        raise TypeError(f"implementation must be a name (str); got {implementation!r}")
    return implementation


# --- networks --------------------------------------------------------------------------------


def _float64(params: Params) -> Params:
    return [(W.astype(np.float64), None if b is None else b.astype(np.float64)) for W, b in params]


def check_network_gradients(
    mlp: MLP,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    grads: Params,
    *,
    oracles: tuple[str, ...] = DEFAULT_ORACLES,
    implementation: str = "implementation",
    taylor: bool = False,
) -> Verdict:
    """Judge ``grads`` — ∂E/∂(W^l, b^l) of the canonical mean objective,
    computed by any means — against each of ``oracles``.  ``taylor``: add the
    Taylor remainder test (``oracles.taylor_network``) as a second opinion
    that needs no tolerance; it is shown in the message, not judged (near a
    relu/maxout kink its order is not 2 even for a right gradient)."""
    dtype = check_network_inputs(mlp, params, X, Y)
    check_grads(mlp, grads, dtype)
    chosen = list(check_oracle_names(oracles))
    _check_implementation(implementation)
    note = ""
    if not isinstance(taylor, bool):
        raise TypeError(f"taylor must be True or False; got {taylor!r}")
    if dtype == np.float32:
        params, X, Y = _float64(params), X.astype(np.float64), Y.astype(np.float64)
        note = "float32 gradients judged against oracles run on float64 copies, with float32 tolerances"
    problem = NetworkProblem(mlp, params, X, Y)
    chosen, skipped = _kink_policy(problem, chosen)
    ours = problem.layout.flatten(grads)
    verdict = judge_problem(problem, ours, chosen, implementation=implementation, dtype=dtype, skipped=skipped, note=note)
    if taylor and all(np.all(np.isfinite(g)) for g in ours):  # a non-finite gradient is WRONG already
        from oracles.taylor import taylor_network

        verdict = dataclasses.replace(verdict, taylor=taylor_network(mlp, params, X, Y, problem.layout.unflatten([np.asarray(g, np.float64) for g in ours])))
    return verdict


assert_network_gradients = asserting(check_network_gradients)


# --- any function -------------------------------------------------------------------------------


def _arguments(x: Any, f: Callable) -> tuple[tuple, list[str]]:
    """The positional arguments and their names (f's parameter names)."""
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        if not x:
            raise ValueError("x must hold at least one argument; got an empty tuple")
        return x, arguments.roots(f, len(x))
    return (x,), arguments.roots(f, 1)


def _check_data(args: tuple, names: Sequence[str], argnums: tuple[int, ...]) -> None:
    """Arguments not differentiated by check_gradient: arrays (integer data may ride along), None."""
    for n, (a, root) in enumerate(zip(args, names)):
        if n in argnums:
            continue
        for path, leaf in trees.leaves(a, root):
            if leaf is not None and not (isinstance(leaf, np.ndarray) and leaf.dtype.kind in "biuf"):
                raise TypeError(f"argument {path} must be a numpy.ndarray (float, or integer data not differentiated); got {arguments._kind(leaf)}")
            if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f" and leaf.dtype not in (np.float32, np.float64):
                raise TypeError(f"argument {path} must be float32 or float64; got dtype {leaf.dtype}")


def check_gradient(
    f: Callable,
    grad: Callable,
    x: Any,
    *,
    argnums: int | tuple[int, ...] = 0,
    oracles: tuple[str, ...] | list[str] | None = None,
    implementation: str = "grad",
    mode: str = "auto",
    samples: int | None = None,
    directions: int | None = None,
    seed: int = 0,
) -> Verdict:
    """Judge the hand-written ``grad`` of the scalar function ``f`` at ``x``
    against every applicable oracle (or those named in ``oracles``).

    ``mode``: ``"elementwise"`` — every oracle differentiates every element;
    ``"sampled"`` — the exact oracles (jax, torch) judge every element, the
    per-element ones (complex step, Richardson, central) ``samples`` seeded
    random elements, every element where ``grad`` differs from an exact
    oracle, and ``directions`` random projections (defaults 256 and 8;
    ``oracles.sampled``, with what it can miss); ``"auto"`` (default) —
    elementwise up to ``sampled.ELEMENTWISE_LIMIT`` (20,000) elements, sampled
    above.  The verdict's note says which ran.

    ``x``: one array, or a tuple of positional arguments (each may be a pytree:
    nested lists, tuples and dicts of arrays, ``None`` for absent leaves; a
    single argument that is itself a tuple must be wrapped: ``x=(params,)``).
    ``argnums``: which argument(s) ``grad`` differentiates; an int → one
    gradient, a tuple → a tuple of gradients, each shaped like its argument.
    ``f(…, xp)`` written against the array namespace ``xp`` is run with
    ``jax.numpy`` (``jax.grad``), ``torch`` (``torch.autograd``) and NumPy on
    complex128 copies (complex step, after checking that ``f`` is complex-safe),
    besides Richardson and central differences with ``xp = numpy``; a plain
    NumPy ``f(x)`` gets the numerical oracles only, and the verdict says why.
    Every oracle runs in float64 on copies of the inputs; a float32 gradient
    is judged with the float32 tolerances.  For an ``f`` written against
    ``xp``, torch.autograd also runs once on float32 copies: how far that moves
    each element is the evidence of its rounding (``rounding_terms``), which
    can only widen an element's tolerance above the floor, and the message says so."""
    check_callable(f, "f")
    check_callable(grad, "grad")
    _check_implementation(implementation)
    args, roots = _arguments(x, f)
    chosen_argnums, single = arguments.check_argnums(argnums, len(args))
    chosen = check_oracle_names(oracles)
    arguments.check_leaves(args, roots, chosen_argnums)
    _check_data(args, roots, chosen_argnums)
    samples, directions = sampled.check_options(mode, samples, directions, seed)

    def copies() -> tuple:
        return tuple(trees.map_leaves(a, lambda _, leaf: leaf.copy(), r) for a, r in zip(args, roots))

    scalar(f(*copies(), **({"xp": np} if takes_xp(f) else {})), "f")
    problem = FunctionProblem(f, args, roots, chosen_argnums)
    like = [(problem.args[n], roots[n]) for n in chosen_argnums]
    ours = arguments.returned(grad(*copies(), **({"xp": np} if takes_xp(grad) else {})), like, single, "grad")
    dtype = np.dtype(np.float32) if any(g.dtype == np.float32 for g in ours) else np.dtype(np.float64)
    note = ""
    if dtype == np.float32 or any(leaf is not None and leaf.dtype == np.float32 for a, r in zip(args, roots) for _, leaf in trees.leaves(a, r)):
        note = f"float32 inputs evaluated by every oracle on float64 copies; the {dtype.name} gradient judged with {dtype.name} tolerances"
    if sampled.chosen_mode(mode, sum(g.size for g in ours)) == "sampled":
        return judge_sampled(problem, ours, chosen, implementation=implementation, dtype=dtype, note=note,
                             samples=samples, directions=directions, seed=seed)
    return judge_problem(problem, ours, chosen, implementation=implementation, dtype=dtype, note=note)


def judge_sampled(
    problem, ours: Sequence[np.ndarray], oracles: Sequence[str], *, implementation: str, dtype: np.dtype, note: str,
    samples: int, directions: int, seed: int,
) -> Verdict:
    """The sampled check (``oracles.sampled``): the exact oracles on every element, the
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
    suspects, left = sampled.followed(ours, exact, dtype)
    subset = sampled.drawn(problem.leaves, samples, seed, suspects)
    partial, more = sampled.partial_answers(problem, costly, subset)
    full = judge_problem(problem, ours, list(exact), implementation=implementation, dtype=dtype, skipped=skipped, brackets=partial,
                         answers=sampled.unfollowed(exact, left))
    terms, rounding, rigorous = rounding_terms(problem, exact) if exact else (None, "", False)
    by_sample, unresolved = sampled.sampled_comparisons(problem, ours, partial, subset, implementation=implementation, dtype=dtype,
                                                        terms=terms, rigorous=rigorous, rounding=rounding)
    along, skipped_along = sampled.projections(problem, ours, partial, directions, seed, implementation=implementation, dtype=dtype)
    total = sum(int(np.size(g)) for g in ours)
    picked = sum(s.size for s in subset)
    extra = sum(s.size for s in suspects)
    unchecked = sum(k.size for k in left)
    how = (
        f"sampled check of {total:,} elements: "
        + (f"every element by {', '.join(exact)}; " if exact else "no exact oracle ran (every element judged only by the samples and projections); ")
        + f"{picked:,} elements ({min(samples, total):,} drawn with seed {seed}" + (f", {extra:,} where grad differs from an exact oracle" if extra else "")
        + f") and {directions} random directions by {', '.join(partial) or 'no per-element oracle'}"
        + (f"; {unchecked:,} more elements where grad differs from an exact oracle (beyond the {sampled.MAX_FOLLOWED:,} followed) are not judged"
           if unchecked else "")
        + " (mode='elementwise' judges every element by every oracle)"
    )
    unjudged = full.unjudged if full.comparisons else tuple(sorted(unresolved))
    return Verdict(
        implementation, full.comparisons + tuple(by_sample) + tuple(along), full.skipped + tuple(more) + tuple(skipped_along),
        "; ".join(n for n in (how, full.note or note) if n), unjudged, total, full.disputes,
    )


assert_gradient = asserting(check_gradient)


# --- random projections ---------------------------------------------------------------------------


def check_projections(
    mlp: MLP,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    grads: Params,
    *,
    directions: int = 8,
    seed: int = 0,
    implementation: str = "implementation",
) -> Verdict:
    """Judge float64 ``grads`` of a network too large for elementwise checks
    along ``directions`` Gaussian directions over all parameters at once,
    comparing the claimed directional derivative v·g with the measured one,
    by a complex step along v:

        D_v = Im E(θ + i h v) / h,   h = 1e-30,

    one complex forward pass per direction whatever the parameter count.  A
    complex step moves no real part, so it never steps across a relu or maxout
    kink, and it has no subtraction, so D_v is exact to rounding.  Since
    E[(v·∇E)²] = ‖∇E‖² for standard Gaussian v, the measured D_v estimate the
    gradient's norm S = √mean(D_v²) without trusting the claimed g; the
    normalised error of direction v is |v·g − D_v| / max(S, floor), judged
    with the complex-step tolerance.

    Detection limits (read these before trusting a pass):

    * An error e = g − ∇E is seen only through v·e ~ N(0, ‖e‖²).  One direction
      misses it with probability P(|N(0, 1)| < τ·S/‖e‖) ≈ 0.8·τ·S/‖e‖ when that
      is small (τ the tolerance, 1e-12 in float64); k independent directions
      miss it with that probability to the power k.  With the default k = 8,
      an error of relative size ‖e‖/‖∇E‖ = 1e-9 is missed with probability
      ≈ (8e-4)⁸ ≈ 2e-25; one of relative size 1e-12 about half the time.
    * It cannot say which element is wrong: a failure names a direction
      (``v·g[d]``), not W^l[i, j].  Follow up with an elementwise oracle on a
      smaller network.
    * It bounds the error vector as a whole: an error confined to a few
      elements is seen in proportion to its norm, not its share of those elements.
    * Exactly at a kink (a pre-activation equal to 0, a maxout tie) the complex
      step takes the left-hand branch, the convention of the hand derivations."""
    dtype = check_network_inputs(mlp, params, X, Y)
    if dtype != np.float64:
        raise TypeError(f"params must be float64 for the projection check; got {dtype}")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be a positive integer; got {directions!r}")
    problem = NetworkProblem(mlp, params, X, Y)
    g = trees.network_layout(grads).flatten(grads) if isinstance(grads, (list, tuple)) else None
    if g is None or [a.shape for a in g] != [a.shape for a in problem.leaves]:
        raise ValueError("grads must be a list of (dW, db) pairs with the shapes of params")
    _check_implementation(implementation)
    tolerance = tolerance_for(np.float64, "complex_step")
    rng = np.random.default_rng(seed)
    fixed = [np.zeros(a.shape, dtype=bool) if m is None else m for a, m in zip(problem.leaves, network_fixed(mlp, params))]
    claimed, measured = [], []
    for _ in range(directions):
        v = [rng.standard_normal(a.shape) * ~absent for a, absent in zip(problem.leaves, fixed)]  # absent connections stay absent
        measured.append(stencils.along(stencils.COMPLEX_STEP, problem.along(v))[0])
        claimed.append(float(sum(np.sum(a * b) for a, b in zip(v, g))))
    scale = max(float(np.sqrt(np.mean(np.square(measured)))), tolerance.floor)
    layout = trees.Layout((PROJECTION,), lambda values: list(values), lambda items: list(items))
    answer = Answer("complex_step", layout, [np.array(measured)])
    comparison, _ = judge(layout.names, [np.array(claimed)], answer, implementation=implementation, tolerance=tolerance, scale=scale)
    note = f"along {directions} random Gaussian directions over {sum(a.size for a in g)} parameters (seed {seed}); v·g[d] is direction d"
    return Verdict(implementation, (comparison,), note=note, elements=sum(a.size for a in g))


assert_projections = asserting(check_projections)
