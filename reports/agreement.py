"""Agreement: every notation against every oracle on the report's cases.

compute → frozen records (``CaseResult``) → aggregated rows (``AgreementRow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

import oracles
import reference
from reference.strategies import Case, min_kink_distance

# A central-difference stencil may cross a relu/leaky_relu kink when a
# pre-activation lies this close to it; such cases are counted, not compared.
KINK_MARGIN = 1e-3


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
    status: str  # "ok", "fail", or not compared: "kink", "unresolved" (oracle error > tolerance), "cannot express"
    error: float | None  # normalised error; None when not compared
    message: str


@dataclass(frozen=True)
class AgreementRow:
    notation: str
    oracle: str
    dtype: str
    cases: int
    max_error: float | None  # None when no case was compared
    median_error: float | None
    failures: int
    not_compared: int
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.failures == 0 and self.cases > 0


def check_case(case: Case) -> list[CaseResult]:
    """Every notation against every oracle on one case."""
    mlp = case.mlp
    kinked = min_kink_distance(case) <= KINK_MARGIN
    oracle_grads, unresolved = {}, set()
    for name, oracle in oracles.ORACLES.items():
        if oracle.estimates_error:
            grads, uncertainty = oracles.gradients_with_error(mlp, case.params, case.X, case.Y, oracle=name)
            if not oracles.resolves(grads, uncertainty, oracles.tolerance_for(case.X.dtype, name)):
                unresolved.add(name)
        else:
            grads = oracles.gradients(mlp, case.params, case.X, case.Y, oracle=name)
        oracle_grads[name] = grads
    results = []
    for notation in reference.NOTATIONS:
        reason = reference.why_cannot_express(mlp, notation)
        ours = None if reason else reference.gradients(mlp, case.params, case.X, case.Y, notation=notation)
        for name, oracle in oracles.ORACLES.items():
            common = dict(
                notation=notation, oracle=name, dtype=case.X.dtype.name, network=str(mlp),
                activation=mlp.activations[0], output=mlp.activations[-1], loss=mlp.loss, scale=case.scale,
            )
            if ours is None:
                results.append(CaseResult(**common, status="cannot express", error=None, message=str(reason)))
            elif kinked and oracle.kind != "analytic":
                results.append(CaseResult(**common, status="kink", error=None, message="pre-activation within the stencil of a kink"))
            elif name in unresolved:
                results.append(CaseResult(**common, status="unresolved", error=None, message="the oracle's own error estimate exceeds the tolerance"))
            else:
                comparison = oracles.compare(ours, oracle_grads[name], implementation=notation, oracle=name)
                status = "ok" if comparison.ok else "fail"
                results.append(CaseResult(**common, status=status, error=comparison.error, message=comparison.message()))
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
                oracles.tolerance_for(dtype, oracle).limit,
            )
        )
    return rows
