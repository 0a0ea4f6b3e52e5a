"""Agreement: every notation against every oracle on the report's cases.

compute (``run_agreement`` over the sweep's cases, in a pool of ``workers``) →
frozen records (``CaseResult``) → aggregated rows (``AgreementRow``) → the
Agreement section (with its heatmap) and, last in the document, the appendix
of every row and the breakdown by activation × loss.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.oracles.engine.disputes import arbitrated
from backprop_reference.reference.cases import Case, derivative_is_finite
from backprop_reference.reports.model import Section, Table
from backprop_reference.reports.render import plots
from backprop_reference.reports.sections.registry import Context, ReportSection, load_plugins


@dataclass(frozen=True)
class CaseResult:
    notation: str
    oracle: str
    dtype: str
    network: str
    activation: str  # hidden activation
    output: str  # output activation
    loss: str
    scale: float
    status: str  # "ok", "fail", or "cannot express" (not compared)
    error: float | None  # normalised error; None when not compared
    message: str
    kinks: int = 0  # elements judged by their one-sided derivatives
    unresolved: int = 0  # elements the (numerical) oracle could not resolve


@dataclass(frozen=True)
class AgreementRow:
    notation: str
    oracle: str
    dtype: str
    cases: int
    max_error: float | None  # None when no case was compared
    median_error: float | None
    failures: int
    not_compared: int  # cases the notation cannot express
    kinks: int  # elements judged by one-sided derivatives, over all cases
    unresolved: int  # elements the oracle could not resolve, over all cases
    tolerance: float


@dataclass(frozen=True)
class FrameworkDispute:
    """An element where the exact oracles (jax, torch, complex step) disagreed among
    themselves beyond its rounding bound, and what 50-digit arithmetic says."""

    network: str
    scale: float
    element: str
    values: tuple[tuple[str, float], ...]
    truth: float | None
    wrong: tuple[str, ...]
    how: str


@dataclass(frozen=True)
class CaseCheck:
    results: list[CaseResult]
    disputes: list[FrameworkDispute]


DTYPES = (np.float64, np.float32)


def _as(params, dtype):
    return [(W.astype(dtype), None if b is None else b.astype(dtype)) for W, b in params]


def check_case(case: Case, dtypes=DTYPES) -> CaseCheck:
    """Every notation against every oracle on one case, in each dtype, each
    element allowed its rounding bound; and where the exact oracles disagree
    among themselves, the arbitrated disputes.

    The oracles run once, in float64; a float32 implementation is judged
    against those answers with the float32 tolerances."""
    mlp = case.mlp
    answers = {name: oracles.answer(mlp, case.params, case.X, case.Y, name) for name in oracles.ORACLES}
    terms = oracles.engine.rounding.network_terms(mlp, case.params, case.X, case.Y)
    answers, found = arbitrated(mlp, case.params, case.X, case.Y, answers, terms)  # as check_network_gradients judges
    disputes = [FrameworkDispute(str(mlp), case.scale, d.element, d.values, d.truth, d.wrong, d.how) for d in found]
    results = []
    for dtype in dtypes:
        params, X, Y = _as(case.params, dtype), case.X.astype(dtype), case.Y.astype(dtype)
        in_range = derivative_is_finite(Case(mlp, params, X, Y, case.seed, case.scale))
        for notation in reference.NOTATIONS:
            reason = reference.why_cannot_express(mlp, notation)
            if reason is None and not in_range:
                # An output rounds to exactly 0 or 1 in this dtype under log loss:
                # every derivation through ∂J/∂o is inf there (see reference.cases).
                reason = f"outside {np.dtype(dtype).name} range: an output rounds to 0 or 1, so ∂J/∂o is infinite"
            ours = None if reason else reference.gradients(mlp, params, X, Y, notation=notation)
            for name in oracles.ORACLES:
                common = dict(
                    notation=notation, oracle=name, dtype=np.dtype(dtype).name, network=str(mlp),
                    activation=mlp.activations[0], output=mlp.activations[-1], loss=mlp.loss, scale=case.scale,
                )
                if ours is None:
                    results.append(CaseResult(**common, status="cannot express", error=None, message=str(reason)))
                    continue
                comparison = oracles.compare(ours, answers[name], implementation=notation, terms=terms)
                results.append(
                    CaseResult(
                        **common, status="ok" if comparison.ok else "fail", error=comparison.error,
                        message=comparison.message(), kinks=comparison.kinks, unresolved=comparison.unresolved,
                    )
                )
    return CaseCheck(results, disputes)


def aggregate(results: list[CaseResult]) -> list[AgreementRow]:
    """One row per (notation, oracle, dtype), in registry order."""
    keys = list(dict.fromkeys((r.notation, r.oracle, r.dtype) for r in results))
    rows = []
    for notation, oracle, dtype in keys:
        group = [r for r in results if (r.notation, r.oracle, r.dtype) == (notation, oracle, dtype)]
        compared = [r.error for r in group if r.status in ("ok", "fail")]
        rows.append(
            AgreementRow(
                notation, oracle, dtype, len(compared),
                float(np.max(compared)) if compared else None,
                float(np.median(compared)) if compared else None,
                sum(r.status == "fail" for r in group),
                sum(r.status not in ("ok", "fail") for r in group),
                sum(r.kinks for r in group),
                sum(r.unresolved for r in group),
                oracles.engine.tolerances.tolerance_for(dtype, oracle).limit,
            )
        )
    return rows


# --- section --------------------------------------------------------------------



def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


@dataclass(frozen=True)
class BreakdownRow:
    activation: str  # hidden activation
    output: str
    loss: str
    checks: int
    worst_ratio: float | None  # worst normalised error ÷ its tolerance, over every notation, oracle, dtype
    failures: int


def breakdown(results: list[CaseResult]) -> list[BreakdownRow]:
    keys = list(dict.fromkeys((r.activation, r.output, r.loss) for r in results))
    rows = []
    for activation, output, loss in keys:
        group = [r for r in results if (r.activation, r.output, r.loss) == (activation, output, loss) and r.error is not None]
        ratios = [r.error / oracles.engine.tolerances.tolerance_for(r.dtype, r.oracle).limit for r in group]
        rows.append(
            BreakdownRow(activation, output, loss, len(group), max(ratios) if ratios else None, sum(r.status == "fail" for r in group))
        )
    return rows


def heatmap_cells(rows: list[AgreementRow]) -> tuple[list[str], list[str], list[list[float | None]]]:
    """(row labels "notation (dtype)", oracles, worst error ÷ tolerance per cell; None: nothing compared)."""
    labels = list(dict.fromkeys(f"{r.notation} ({r.dtype})" for r in rows))
    columns = list(dict.fromkeys(r.oracle for r in rows))
    cell = {(f"{r.notation} ({r.dtype})", r.oracle): r for r in rows}
    ratios = [
        [None if (label, o) not in cell or cell[(label, o)].max_error is None else cell[(label, o)].max_error / cell[(label, o)].tolerance
         for o in columns]
        for label in labels
    ]
    return labels, columns, ratios


def section(
    rows: list[AgreementRow], results: list[CaseResult], case_count: int, seed: int, scales: tuple[float, ...],
    disputes: list[FrameworkDispute] = (), heatmap=None,
) -> Section:
    """The agreement at a glance — the heatmap of worst error ÷ tolerance (``heatmap``, a
    ``Figure``), the framework disputes, any failure; the breakdown by activation × loss and
    the full notation × oracle × dtype table are the appendix (``appendix``) and the JSON."""
    failing = [r for r in rows if r.failures or not r.cases]
    summary = Table(
        ("notation", "oracle", "dtype", "cases", "worst error", "tolerance", "failures"),
        tuple((r.notation, r.oracle, r.dtype, str(r.cases), _number(r.max_error), f"{r.tolerance:.0e}", str(r.failures)) for r in failing),
        "Every notation × oracle × dtype that failed or compared nothing (the appendix lists them all).",
        ("fail",) * len(failing),
    )
    failures = [r for r in results if r.status == "fail"]
    tables = ([summary] if failing else []) + ([_disputes_table(disputes)] if disputes else [])
    if failures:
        tables.append(
            Table(("network", "message"), tuple((f.network, f.message) for f in failures), "Failures", ("fail",) * len(failures))
        )
    checks = sum(r.cases for r in rows)
    intro = (
        f"{case_count} seeded networks (seed {seed}): every hidden activation × every valid output activation + "
        f"loss, at weight scale{'s' if len(scales) > 1 else ''} {', '.join(map(str, scales))}, in turn plain, one hidden layer without bias, with "
        f"shared biases and masks, and with per-layer bias modes; {checks} checks of every notation against every "
        f"oracle, {sum(r.failures for r in rows)} failed. float32 implementations are judged against oracles run in "
        f"float64. The heatmap shows each notation's worst error ÷ tolerance per oracle (below 1 passes); the full "
        f"table, with kink and unresolved elements, and the breakdown by activation × loss are the appendix. "
        + ("Framework disagreements (jax, torch and the complex step differing beyond an element's rounding bound): none on these cases."
           if not disputes else "")
    )
    return Section("agreement", "Agreement", intro, tuple(tables), (heatmap,) if heatmap is not None else ())


def appendix(rows: list[AgreementRow], results: list[CaseResult]) -> Section:
    """The full agreement table (every notation × oracle × dtype) and the breakdown by activation × loss."""
    details = breakdown(results)
    by_pair = Table(
        ("hidden activation", "output", "loss", "checks", "worst error ÷ tolerance", "failures"),
        tuple((b.activation, b.output, b.loss, str(b.checks), _number(b.worst_ratio), str(b.failures)) for b in details),
        "The same checks by activation × loss (all notations, oracles and dtypes); below 1 passes.",
        tuple("fail" if b.failures else "" for b in details),
    )
    table = Table(
        ("notation", "oracle", "dtype", "cases", "worst error", "median error", "tolerance", "failures",
         "cannot express", "kink elements", "unresolved elements"),
        tuple(
            (r.notation, r.oracle, r.dtype, str(r.cases), _number(r.max_error), _number(r.median_error),
             f"{r.tolerance:.0e}", str(r.failures), str(r.not_compared), str(r.kinks), str(r.unresolved))
            for r in rows
        ),
        "Every notation against every oracle. Error = max over elements of |ours − oracle| / S, "
        "S = max(max |oracle|, the element's rounding bound ÷ tolerance): see How agreement is judged.",
        tuple("fail" if (r.failures or not r.cases) else "" for r in rows),
    )
    intro = (
        "Every notation against every oracle, in each dtype. 'kink elements' were judged by their one-sided "
        "derivatives (a finite-difference stencil crossed a relu/maxout kink); 'unresolved elements' are those a "
        "numerical oracle's own error estimate could not resolve to the tolerance (the exact oracles still judge them)."
    )
    return Section("agreement-table", "Appendix: the agreement table", intro, (table, by_pair))


def _disputes_table(disputes: list[FrameworkDispute]) -> Table:
    caption = (
        "Framework disagreements: elements where jax, torch and the complex step differ among themselves by more than "
        "the element's rounding bound, decided in 50-digit arithmetic (mpmath). "
        + ("None found on these cases." if not disputes else "The oracle named wrong is the one farther from the truth than its tolerance.")
    )
    rows = tuple(
        (d.network, f"{d.scale:g}", d.element, "; ".join(f"{party} {value:.6e}" for party, value in d.values),
         "—" if d.truth is None else f"{d.truth:.6e}", ", ".join(d.wrong) or ("not decided: " + d.how if d.truth is None else "none"))
        for d in disputes
    )
    return Table(("network", "weight scale", "element", "values", "arbitrated (50 digits)", "wrong"), rows, caption, ("",) * len(rows))


def json_disputes(disputes: list[FrameworkDispute]) -> list[dict]:
    return [{**asdict(d), "values": [list(v) for v in d.values]} for d in disputes]


def json_rows(rows: list[AgreementRow]) -> list[dict]:
    return [asdict(r) for r in rows]


# --- the sweep, in a pool ----------------------------------------------------------------


def make_executor(workers: int, plugins: tuple[str, ...] = ()) -> Executor:
    """A process pool for workers > 1 (spawned: JAX does not survive fork; each
    worker imports the plugins), else a single in-process worker; any
    concurrent.futures executor fits."""
    if workers > 1:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=load_plugins, initargs=(plugins,),
        )
    return ThreadPoolExecutor(max_workers=1)


def run_agreement(cases, executor: Executor, progress: bool) -> tuple[list[CaseResult], list[FrameworkDispute]]:
    futures = {executor.submit(check_case, case): index for index, case in enumerate(cases)}
    by_index: dict[int, CaseCheck] = {}
    for future in tqdm(as_completed(futures), total=len(futures), desc="agreement", unit="network", disable=not progress):
        by_index[futures[future]] = future.result()
    ordered = [by_index[index] for index in range(len(cases))]  # case order, whatever finished first
    return [r for check in ordered for r in check.results], [d for check in ordered for d in check.disputes]


# --- the report's sections -------------------------------------------------------------------

FIGURE = "agreement.png"


@dataclass(frozen=True)
class Agreement:
    """The section's record: the sweep's results, their disputes and the aggregated rows."""

    cases: int
    scales: tuple[float, ...]
    results: list[CaseResult]
    disputes: list[FrameworkDispute]
    rows: list[AgreementRow]


def _compute(context: Context) -> Agreement:
    cases = context.cases
    with make_executor(context.options.workers, context.options.plugins) as executor:
        results, disputes = run_agreement(cases, executor, context.progress)
    return Agreement(len(cases), context.scales, results, disputes, aggregate(results))


def _figures(record: Agreement, context: Context):
    return (plots.heatmap(*heatmap_cells(record.rows), name=FIGURE, what="notation (dtype)"),)


def _render(record: Agreement, figures, context: Context) -> Section:
    return section(record.rows, record.results, record.cases, context.options.seed, record.scales, record.disputes,
                   figures[0] if figures else None)


def _json(record: Agreement, context: Context) -> dict:
    return {
        "agreement": json_rows(record.rows),
        "agreement_breakdown": [vars(b) for b in breakdown(record.results)],
        "framework_disputes": json_disputes(record.disputes),
    }


def _headline(record: Agreement, context: Context) -> str:
    rows = record.rows
    return (
        f"{sum(r.cases for r in rows)} gradient checks of {len({r.notation for r in rows})} hand-derived notations against "
        f"{len({r.oracle for r in rows})} oracles in float64 and float32: {sum(r.failures for r in rows)} failure(s)."
    )


SECTION = ReportSection(
    "agreement", "Agreement", _compute, _render, figures=_figures, json=_json, headline=_headline, headline_rank=10,
    failed=lambda record, context: any(r.failures for r in record.rows), in_verdict=True,
)
# The full table, last in the document: the agreement's record again, nothing new in report.json.
APPENDIX = ReportSection(
    "agreement-table", "Appendix: the agreement table", lambda context: context.record("agreement"),
    lambda record, figures, context: appendix(record.rows, record.results),
)
