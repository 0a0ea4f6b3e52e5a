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

    def shaped(items):
        return None if items is None else unflatten(items)

    return Answer(
        stencil.name, problem.layout, unflatten(result.values), shaped(result.errors), shaped(result.kinked),
        shaped(result.lower), shaped(result.upper),
    )


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
    flat = along_elements(stencil, problem.line(stencil), find_kinks=not stencil.complex)
    sizes = [int(np.prod(shape)) for shape in problem.out_shapes]
    cuts = np.cumsum(sizes)[:-1]

    def shaped(items):
        if items is None:
            return None
        return problem.layout.unflatten([part.reshape(shape) for part, shape in zip(np.split(items[0], cuts), problem.out_shapes)])

    return Answer(
        stencil.name, problem.layout, shaped(flat.values), shaped(flat.errors), shaped(flat.kinked), shaped(flat.lower), shaped(flat.upper),
    )


def tangent_oracle(stencil: Stencil):
    """The registry's callable for ``stencil``'s products with a tangent."""

    def run(problem, **options) -> Answer:
        return tangent(stencil, problem, **options)

    run.__name__ = f"{stencil.name}_tangent"
    return run
