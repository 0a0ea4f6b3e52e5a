"""Taylor section: every notation's gradient judged by how fast the
first-order remainder falls (``oracles.checks.taylor``) — no oracle, no tolerance —
with one catalogued bug beside them for contrast.

compute (``TaylorCurve``: a frozen row and its ``TaylorResult``) → ``Section``
(a table, and the log-log figure ``reports.render.plots.taylor`` draws) → JSON rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from backprop_reference import reference
from backprop_reference.oracles import TaylorResult, taylor_network
from backprop_reference.oracles.checks.taylor import ORDER_TOLERANCE
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.cases import Case, make_case
from backprop_reference.reports.model import Figure, Section, Table
from backprop_reference.reports.render import plots
from backprop_reference.reports.sections.registry import Context, ReportSection
from backprop_reference.testbed.mutants import MUTANTS, PROBE_NETWORKS

# The bug shown for contrast: tanh' written 1 − z², on a probe network of the bug-detection section.
BUG, BUG_NETWORK = "tanh_prime_from_z", "square_tanh_softmax_ce"
WRONG_ORDER = 1.0 + ORDER_TOLERANCE  # a wrong gradient's order is 1: at most this
FIGURE = plots.TAYLOR_FIGURE  # "taylor.png"


@dataclass(frozen=True)
class TaylorRow:
    gradient: str  # a notation, or the bug's name
    kind: str  # "notation" or "bug"
    network: str
    scale: float
    order: float | None  # None: no range of clean steps (reason in message)
    fitted_low: float | None  # smallest and largest fitted step h
    fitted_high: float | None
    expected: str  # "2" for a notation, "≤ 1.1" for the bug
    as_expected: bool
    message: str


@dataclass(frozen=True, eq=False)
class TaylorCurve:
    row: TaylorRow
    result: TaylorResult | None  # None: the notation expresses no case fit for the test


def _smooth_and_curved(case: Case) -> bool:
    """No kink or piecewise-linear unit (a kink crossed by a step bends r(h)),
    curved hidden units, and more than one output (a one-unit softmax is constant)."""
    activations = [ACTIVATIONS[name] for name in case.mlp.activations]
    return (
        all(not a.kinks and not a.pieces for a in activations)
        and all(name != "identity" for name in case.mlp.activations[:-1])
        and case.mlp.sizes[-1] >= 2
    )


def _parameters(case: Case) -> int:
    return sum(W.size + (0 if b is None else b.size) for W, b in case.params)


def choose_cases(cases: list[Case]) -> dict[str, Case | None]:
    """Per notation, the report case it is tested on: the largest smooth case
    that every notation can express (so the lines share one network), else
    the largest smooth one it can express, else ``None``."""
    smooth = sorted((c for c in cases if _smooth_and_curved(c)), key=_parameters, reverse=True)  # stable: ties keep case order
    common = next((c for c in smooth if all(reference.can_express(c.mlp, n) for n in reference.NOTATIONS)), None)
    chosen = {}
    for notation in reference.NOTATIONS:
        own = [c for c in smooth if reference.can_express(c.mlp, notation)]
        chosen[notation] = common if common is not None else (own[0] if own else None)
    return chosen


def _row(gradient: str, kind: str, case: Case, result: TaylorResult) -> TaylorRow:
    low, high = result.fitted_range or (None, None)
    if kind == "notation":
        expected, as_expected = "2", result.ok
    else:
        expected, as_expected = f"≤ {WRONG_ORDER:.1f}", result.order is not None and result.order <= WRONG_ORDER
    return TaylorRow(gradient, kind, str(case.mlp), case.scale, result.order, low, high, expected, as_expected, result.message())


def compute(cases: list[Case], seed: int = 0) -> list[TaylorCurve]:
    """Each notation's gradient on its chosen report case, then the bug on its
    probe network, all along the default Gaussian direction from ``seed``."""
    curves = []
    for notation, case in choose_cases(cases).items():
        if case is None:
            reason = "no report case without kinks that this notation can express"
            curves.append(TaylorCurve(TaylorRow(notation, "notation", "—", 0.0, None, None, None, "2", False, reason), None))
            continue
        grads = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation)
        result = taylor_network(case.mlp, case.params, case.X, case.Y, grads, seed=seed)
        curves.append(TaylorCurve(_row(notation, "notation", case, result), result))
    mlp, probe_seed = next((mlp, s) for name, mlp, s in PROBE_NETWORKS if name == BUG_NETWORK)
    case = make_case(mlp, seed=probe_seed, scale=1.0, batch=4)
    wrong = MUTANTS[BUG].gradients(case.mlp, case.params, case.X, case.Y)
    result = taylor_network(case.mlp, case.params, case.X, case.Y, wrong, seed=seed)
    curves.append(TaylorCurve(_row(BUG, "bug", case, result), result))
    return curves


def _order(row: TaylorRow) -> str:
    return "none" if row.order is None else f"{row.order:.3f}"


def _steps(row: TaylorRow) -> str:
    return "—" if row.fitted_low is None else f"{row.fitted_low:.1e} … {row.fitted_high:.1e}"


def section(curves: list[TaylorCurve], figure: Figure | None = None) -> Section:
    """The table, and ``figure`` (``reports.render.plots.taylor``) when there is one."""
    rows = [c.row for c in curves]
    table = Table(
        ("gradient", "network", "weight scale", "Taylor order", "fitted steps h", "expected", "as expected"),
        tuple(
            (r.gradient + (" (bug)" if r.kind == "bug" else ""), r.network, f"{r.scale:g}", _order(r), _steps(r), r.expected,
             "yes" if r.as_expected else "NO")
            for r in rows
        ),
        f"Order: least-squares slope of log r against log h over the smallest clean steps; a right gradient "
        f"passes at 2 ± {ORDER_TOLERANCE}. A row with no order gives its reason in the JSON.",
        tuple("" if r.as_expected else "fail" for r in rows),
    )
    figures = (figure,) if figure is not None else ()
    bug = rows[-1]
    intro = (
        "For a gradient g of E at θ and a direction v, the remainder r(h) = |E(θ + hv) − E(θ) − h vᵀg| falls as h² "
        "when g is right and as h when it is wrong, however small the error: a check that needs no second "
        "gradient and no tolerance, and is blind to the scale of E, θ and v (`oracles.taylor_test`). Steps halve "
        "from ‖θ‖/‖v‖ until the floats around θ can no longer resolve them; a step counts when r exceeds its rounding "
        "floor (1000 ε times the magnitudes of E(θ), E(θ + hv), the terms of h vᵀg and the gradient's own terms, "
        "and 100 times the noise measured at the smallest steps), and the order is fitted over the 8 smallest "
        "such steps, below the higher-order terms. v is a standard Gaussian over every parameter (seeded), "
        "absent connections held at 0. Each notation runs on the largest report case without kinks that every "
        f"notation can express; for contrast, the catalogued bug `{BUG}` on the probe network `{BUG_NETWORK}` "
        f"gives order {_order(bug)}."
    )
    return Section("taylor", "Taylor remainder test", intro, (table,), figures)


def json_rows(curves: list[TaylorCurve]) -> list[dict]:
    return [asdict(c.row) for c in curves]


def _headline(curves: list[TaylorCurve], context: Context) -> str:
    judged = [c for c in curves if c.row.kind == "notation"]
    if not judged:
        return ""
    bug_seen = all(c.row.as_expected for c in curves if c.row.kind == "bug")
    return (
        f"Taylor remainder test (no oracle, no tolerance): {sum(c.row.as_expected for c in judged)}/{len(judged)} "
        f"notations' gradients fall as h², and the catalogued bug's {'as h' if bug_seen else 'NOT as h'}."
    )


SECTION = ReportSection(
    "taylor", "Taylor remainder test", lambda context: compute(context.cases, seed=context.options.seed),
    lambda curves, figures, context: section(curves, figures[0] if figures else None),
    figures=lambda curves, context: (plots.taylor(curves),), json=lambda curves, context: {"taylor": json_rows(curves)},
    headline=_headline, headline_rank=30,
)
