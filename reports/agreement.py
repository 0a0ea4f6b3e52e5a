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
    status: str  # "ok", "fail", "kink" (not comparable), "cannot express"
    error: float  # normalised error; nan unless compared
    message: str


@dataclass(frozen=True)
class AgreementRow:
    notation: str
    oracle: str
    dtype: str
    cases: int
    max_error: float
    median_error: float
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
    oracle_grads = {name: oracles.gradients(mlp, case.params, case.X, case.Y, oracle=name) for name in oracles.ORACLES}
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
                results.append(CaseResult(**common, status="cannot express", error=float("nan"), message=str(reason)))
            elif kinked and oracle.kind != "analytic":
                results.append(CaseResult(**common, status="kink", error=float("nan"), message="pre-activation within the stencil of a kink"))
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
                float(np.max(compared)) if compared else float("nan"),
                float(np.median(compared)) if compared else float("nan"),
                sum(r.status == "fail" for r in group),
                sum(r.status not in ("ok", "fail") for r in group),
                oracles.tolerance_for(dtype, oracle).limit,
            )
        )
    return rows
