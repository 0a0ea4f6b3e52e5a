"""Agreement: every notation against every oracle on the report's cases.

compute → frozen records (``CaseResult``) → aggregated rows (``AgreementRow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

import oracles
import reference
from reference.strategies import Case


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

    @property
    def passed(self) -> bool:
        return self.failures == 0 and self.cases > 0


DTYPES = (np.float64, np.float32)


def _as(params, dtype):
    return [(W.astype(dtype), None if b is None else b.astype(dtype)) for W, b in params]


def check_case(case: Case, dtypes=DTYPES) -> list[CaseResult]:
    """Every notation against every oracle on one case, in each dtype.

    The oracles run once, in float64; a float32 implementation is judged
    against those answers with the float32 tolerances."""
    mlp = case.mlp
    answers = {}
    for name, oracle in oracles.ORACLES.items():
        if oracle.numerical:
            numerical = oracles.numerical_gradients(mlp, case.params, case.X, case.Y, oracle=name)
            answers[name] = (numerical.gradients, numerical)
        else:
            answers[name] = (oracles.gradients(mlp, case.params, case.X, case.Y, oracle=name), None)
    results = []
    for dtype in dtypes:
        params, X, Y = _as(case.params, dtype), case.X.astype(dtype), case.Y.astype(dtype)
        for notation in reference.NOTATIONS:
            reason = reference.why_cannot_express(mlp, notation)
            ours = None if reason else reference.gradients(mlp, params, X, Y, notation=notation)
            for name in oracles.ORACLES:
                common = dict(
                    notation=notation, oracle=name, dtype=np.dtype(dtype).name, network=str(mlp),
                    activation=mlp.activations[0], output=mlp.activations[-1], loss=mlp.loss, scale=case.scale,
                )
                if ours is None:
                    results.append(CaseResult(**common, status="cannot express", error=None, message=str(reason)))
                    continue
                desired, numerical = answers[name]
                comparison = oracles.compare(ours, desired, implementation=notation, oracle=name, numerical=numerical)
                results.append(
                    CaseResult(
                        **common, status="ok" if comparison.ok else "fail", error=comparison.error,
                        message=comparison.message(), kinks=comparison.kinks, unresolved=comparison.unresolved,
                    )
                )
    return results


def run(cases: Iterable[Case], progress: Callable[[Iterable], Iterable] = lambda it: it) -> list[CaseResult]:
    results: list[CaseResult] = []
    for case in progress(list(cases)):
        results.extend(check_case(case))
    return results


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
                oracles.tolerance_for(dtype, oracle).limit,
            )
        )
    return rows
