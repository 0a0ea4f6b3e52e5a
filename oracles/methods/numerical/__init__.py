"""The numerical oracles: central differences, Richardson extrapolation and the
complex step (``stencils``, each written once), evaluated by a plain loop or
by a network's batched forward passes (``evaluators``).

``answer(stencil, problem)`` is the oracle for a gradient: the problem says
where E is evaluated (``problem.evaluator``), the stencil how it is combined;
``tangent(stencil, problem)`` for a product with a tangent: the stencil along
the tangent's line (``problem.line``), every output element at once.
``batched=False`` gives the plain one-element-at-a-time loop, kept as the
cross-check of the batches and the benchmark's baseline.
"""

from __future__ import annotations

from typing import Callable

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
import numpy as np

from backprop_reference.oracles.methods.numerical.stencils import CENTRAL, COMPLEX_STEP, RICHARDSON, Stencil, along_elements, differentiate

STENCILS: dict[str, Stencil] = {s.name: s for s in (COMPLEX_STEP, RICHARDSON, CENTRAL)}


def answer(stencil: Stencil, problem, *, batched: bool = True, limit: int | None = None, subset=None) -> Answer:
    """``stencil``'s answer for ``problem``: the gradient, and for the real
    stencils each element's error estimate and kink bracket (``subset``: per
    leaf, the flat indices of the only elements differentiated; NaN elsewhere)."""
    result = differentiate(stencil, problem.evaluator(stencil, batched), limit=limit, E_terms=problem.objective_terms(), subset=subset)
    unflatten = problem.layout.unflatten
    _tell_noise(problem, result)
    if result.domain:
        _tell(problem, stencil, [
            (trees.element(problem.layout.names[i], np.unravel_index(k, result.values[i].shape)), where)
            for (i, k), where in sorted(result.domain.items())
        ], lambda name, where: f"{_leaf(name)} {'+' if where.move >= 0 else '−'} {abs(where.move):.1e}{'i' if stencil.complex else ''}·e{_index(name)}")

    def shaped(items):
        return None if items is None else unflatten(items)

    return Answer(
        stencil.name, problem.layout, unflatten(result.values), shaped(result.errors), shaped(result.kinked),
        shaped(result.lower), shaped(result.upper),
    )


SHOWN_OUTSIDE = 3  # elements named per oracle where f's domain ended within the stencil


def _leaf(name: str) -> str:
    return name[: name.rindex("[")] if name.endswith("]") else name


def _index(name: str) -> str:
    return name[name.rindex("["):] if name.endswith("]") else ""


def _tell(problem, stencil: Stencil, outside: list, point: Callable) -> None:
    """The verdict's line on where f left its domain within ``stencil``'s points (``problem.notes``):
    ``f raised ValueError('x must sum to 1') at x + 6.1e-06·e[3]: central judged x[3] one-sided``."""
    parts = []
    for judged, what in ((True, "took a one-sided difference for {}, from the side inside f's domain"), (False, "could not judge {}")):
        chosen = [(name, where) for name, where in outside if bool(where.side) == judged]
        if not chosen:
            continue
        name, where = chosen[0]
        cause = where.why if not where.why.startswith("f = ") else f"{where.why[4:]}"
        said = f"f raised {cause}" if not where.why.startswith("f = ") else f"f is {cause}"
        names = ", ".join(n for n, _ in chosen[:SHOWN_OUTSIDE]) + (f" and {len(chosen) - SHOWN_OUTSIDE} more" if len(chosen) > SHOWN_OUTSIDE else "")
        parts.append(f"{said} at {point(name, where)}: {stencil.name} {what.format(names)}")
    problem.notes[f"domain:{stencil.name}"] = "; ".join(parts)


def oracle(stencil: Stencil):
    """The registry's callable for ``stencil``: ``(problem) -> Answer``."""

    def run(problem, **options) -> Answer:
        return answer(stencil, problem, **options)

    run.__name__ = stencil.name
    run.__doc__ = f"The {stencil.name} oracle: ``numerical.answer`` with the {stencil.name} stencil."
    return run


def tangent(stencil: Stencil, problem) -> Answer:
    """``stencil``'s answer for the product of f's Jacobian with ``problem.tangent``:
    every output element differentiated along the line x + t v, with error
    estimates and, where the line crosses a kink, one-sided brackets."""
    flat = along_elements(stencil, problem.line(stencil), find_kinks=not stencil.complex, quantum=_quantum(problem))
    _tell_noise(problem, flat)
    sizes = [int(np.prod(shape)) for shape in problem.out_shapes]
    cuts = np.cumsum(sizes)[:-1]
    if flat.domain:
        names = [trees.element(name, index) for name, shape in zip(problem.layout.names, problem.out_shapes) for index in np.ndindex(shape)]
        _tell(problem, stencil, [(names[k], where) for (_, k), where in sorted(flat.domain.items())],
              lambda name, where: f"x + t·v (t = {where.move:.1e}{'i' if stencil.complex else ''})")

    def shaped(items):
        if items is None:
            return None
        return problem.layout.unflatten([part.reshape(shape) for part, shape in zip(np.split(items[0], cuts), problem.out_shapes)])

    return Answer(
        stencil.name, problem.layout, shaped(flat.values), shaped(flat.errors), shaped(flat.kinked), shaped(flat.lower), shaped(flat.upper),
    )


NOISY = 10.0  # f's measured noise this many times ε|E| (or more) is worth a line in the verdict


def _tell_noise(problem, result) -> None:
    """The verdict's line where f's own rounding exceeds what float64 would give (``stencils.noise``)."""
    if result.float32:
        problem.notes["float32"] = (
            "f computes in float32 (its values at float64 inputs are float32 numbers: a wrapper around a float32 "
            "computation, JAX with x64 off?): the numerical oracles count float32 rounding in their error estimates, "
            "so they resolve only what float32 differences can; the elements they cannot are not judged by them"
        )
    elif result.noisier >= NOISY:
        problem.notes["noise"] = (
            f"f's values carry rounding noise ~{result.noisier / 3:.0f}× float64's ε·|f|: the numerical oracles' error "
            "estimates count it"
        )


def _quantum(problem) -> float:
    """max_i ε|θ_i|/|v_i| over the elements the tangent moves: below steps t of this size,
    θ + t v is mostly the rounding of θ (``stencils.along_elements``)."""
    worst = 0.0
    for theta, v in zip(problem.leaves, problem.tangent):
        theta, v = np.asarray(theta, np.float64), np.asarray(v, np.float64)
        moved = v != 0
        if np.any(moved):
            worst = max(worst, float(np.max(np.finfo(np.float64).eps * np.abs(theta[moved]) / np.abs(v[moved]))))
    return worst


def tangent_oracle(stencil: Stencil):
    """The registry's callable for ``stencil``'s products with a tangent."""

    def run(problem, **options) -> Answer:
        return tangent(stencil, problem, **options)

    run.__name__ = f"{stencil.name}_tangent"
    return run
