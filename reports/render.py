"""Renderers: aggregated rows → Markdown and JSON text."""

from __future__ import annotations

import json
from dataclasses import asdict

from tabulate import tabulate

from reports.agreement import AgreementRow, CaseResult

SCHEMA = 1


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


def agreement_markdown(rows: list[AgreementRow], failures: list[CaseResult], header: str) -> str:
    table = tabulate(
        [
            (r.notation, r.oracle, r.dtype, r.cases, _number(r.max_error), _number(r.median_error),
             f"{r.tolerance:.0e}", r.failures, r.not_compared, r.kinks, r.unresolved, "pass" if r.passed else "FAIL")
            for r in rows
        ],
        headers=("notation", "oracle", "dtype", "cases", "worst error", "median error", "tolerance",
                 "failures", "cannot express", "kink elements", "unresolved elements", "verdict"),
        tablefmt="github",
    )
    lines = [header, "", table, ""]
    if failures:
        lines += ["Failures:", ""] + [f"- {f.network}: {f.message}" for f in failures] + [""]
    return "\n".join(lines)


def agreement_json(rows: list[AgreementRow], results: list[CaseResult], environment: dict) -> str:
    document = {
        "schema": SCHEMA,
        "environment": environment,
        "agreement": [asdict(r) for r in rows],
        "cases": [asdict(r) for r in results],
    }
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
