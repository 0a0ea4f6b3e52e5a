"""Which closed forms for the output delta hold for which activation + loss
pairs — found by checking each against the true ∂J/∂z^L from ``jax.grad``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from backprop_reference import oracles
from backprop_reference.oracles.methods import jax_oracle
from backprop_reference.oracles.engine.comparison import judge
from backprop_reference.oracles.engine.problems import FunctionProblem
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.cases import valid_pairs
from backprop_reference.reference.losses import LOSSES
from backprop_reference.reference.shortcuts import CLOSED_FORMS
from backprop_reference.reports.model import Section, Table
from backprop_reference.reports.sections.registry import ReportSection


@dataclass(frozen=True)
class DeltaFormRow:
    formula: str
    seeds: str
    output: str
    loss: str
    holds: bool
    error: float  # worst normalised error against jax.grad over the samples


def true_output_delta(output: str, loss: str, z: np.ndarray, y: np.ndarray) -> oracles.Answer:
    """δ^L = ∂J/∂z^L for every sample, by ``jax.grad`` of Σ_n J(y_n, z_n) — the
    JAX oracle's own output activation and loss."""
    per_sample = jax_oracle.JAX.per_sample_loss(loss, output)
    return jax_oracle.answer(FunctionProblem(lambda z, xp: xp.sum(per_sample(z, xp.asarray(y))), (z,), ["δ^L"], (0,)))


def compute(seed: int = 0, samples: int = 64, width: int = 4) -> list[DeltaFormRow]:
    tolerance = oracles.engine.tolerances.tolerance_for(np.float64, "jax")
    rows = []
    for output, loss in valid_pairs():
        activation = ACTIVATIONS[output]
        if activation.pieces:  # maxout's z has a pieces axis: δ^L is not per unit
            continue
        rng = np.random.default_rng([seed, len(rows)])
        z = 2.0 * rng.standard_normal((samples, width))
        y = LOSSES[loss].targets(rng, z.shape)
        true = true_output_delta(output, loss, z, y)
        o = activation.f(z)
        for form in CLOSED_FORMS:
            claimed = form.delta(o, y, z, activation)
            comparison, _ = judge(true.layout.names, [claimed], true, implementation=form.formula, tolerance=tolerance)
            rows.append(DeltaFormRow(form.formula, form.seeds, output, loss, comparison.ok, comparison.error))
    return rows


def section(rows: list[DeltaFormRow]) -> Section:
    formulas = list(dict.fromkeys(r.formula for r in rows))
    pairs = list(dict.fromkeys((r.output, r.loss) for r in rows))
    lookup = {(r.formula, r.output, r.loss): r for r in rows}
    table = Table(
        ("output", "loss") + tuple(f"{f} (seed {lookup[(f, *pairs[0])].seeds})" for f in formulas),
        tuple(
            (output, loss) + tuple("holds" if lookup[(f, output, loss)].holds else f"no ({lookup[(f, output, loss)].error:.1e})" for f in formulas)
            for output, loss in pairs
        ),
        "δ^L = ∂J/∂z^L. 'no' gives the normalised error of the closed form against jax.grad.",
    )
    intro = (
        "Each document writes the output delta in closed form. Here every closed form is evaluated on every "
        f"valid output activation + loss pair with random pre-activations and targets suited to the loss "
        f"(one-hot or probability rows for cross-entropy), and compared with jax.grad of the loss: a form "
        f"holds when it agrees within {oracles.engine.tolerances.tolerance_for(np.float64, 'jax').limit:.0e}. o − y holds exactly for "
        f"identity + squared error, sigmoid + log loss and softmax + cross-entropy; the quadratic-cost form only "
        f"under squared error."
    )
    return Section("delta_forms", "Output-delta closed forms", intro, (table,))


def json_rows(rows: list[DeltaFormRow]) -> list[dict]:
    return [asdict(r) for r in rows]


SECTION = ReportSection(
    "delta_forms", "Output-delta closed forms", lambda context: compute(seed=context.options.seed),
    lambda rows, figures, context: section(rows), json=lambda rows, context: {"delta_forms": json_rows(rows)},
)
