"""Bug-detection section: each catalogued wrong derivation, caught or not, by which oracle."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from backprop_reference import oracles
from backprop_reference.reference.cases import make_case
from backprop_reference.testbed.mutants import MUTANTS, PROBE_NETWORKS
from backprop_reference.reports.model import Section, Table
from backprop_reference.reports.sections.registry import ReportSection


@dataclass(frozen=True)
class MutantRow:
    name: str
    description: str
    networks: int  # probe networks where the bug changes the gradient
    detected: bool  # caught on every one of them by every oracle
    by: tuple[str, ...]  # checks that caught it on every network
    missed_by: tuple[str, ...]
    weakest_margin: float  # smallest normalised error ÷ tolerance over the catches


def compute() -> list[MutantRow]:
    cases = {name: make_case(mlp, seed=seed, scale=1.0, batch=4) for name, mlp, seed in PROBE_NETWORKS}
    answers = {
        (name, oracle_name): oracles.answer(case.mlp, case.params, case.X, case.Y, oracle_name)
        for name, case in cases.items()
        for oracle_name in oracles.ORACLES
    }
    checks = tuple(oracles.ORACLES) + ("projections",)
    rows = []
    for mutant in MUTANTS.values():
        applicable = [name for name, case in cases.items() if mutant.applies(case.mlp)]
        caught = {check: True for check in checks}
        margin = float("inf")
        for name in applicable:
            case = cases[name]
            wrong = mutant.gradients(case.mlp, case.params, case.X, case.Y)
            for oracle_name in oracles.ORACLES:
                result = oracles.compare(wrong, answers[(name, oracle_name)], implementation=mutant.name)
                caught[oracle_name] &= not result.ok
                margin = min(margin, result.error / result.tolerance.limit)
            projection = oracles.check_projections(case.mlp, case.params, case.X, case.Y, wrong)
            caught["projections"] &= not projection.ok
        by = tuple(c for c in checks if caught[c]) if applicable else ()
        rows.append(
            MutantRow(
                mutant.name, mutant.description, len(applicable), bool(applicable) and len(by) == len(checks),
                by, tuple(c for c in checks if c not in by), margin,
            )
        )
    return rows


def section(rows: list[MutantRow]) -> Section:
    caught = sum(r.detected for r in rows)
    table = Table(
        ("wrong derivation", "what the slip is", "networks", "caught", "by", "weakest margin"),
        tuple(
            (r.name, r.description, str(r.networks), "yes" if r.detected else "NO", ", ".join(r.by) or "—",
             f"{r.weakest_margin:.1e}×")
            for r in rows
        ),
        "Margin: the smallest normalised error ÷ tolerance over every oracle and network where it applies.",
        tuple("" if r.detected else "fail" for r in rows),
    )
    intro = (
        f"{len(rows)} realistic wrong derivations (`testbed/mutants.py`), each run on every probe network where it "
        f"changes the gradient ({len(PROBE_NETWORKS)} fixed networks), and judged by every oracle and by the "
        f"random-projection check. Kill rate: {caught}/{len(rows)} ({100.0 * caught / len(rows):.0f} %)."
    )
    return Section("mutants", "Bug detection", intro, (table,))


def json_rows(rows: list[MutantRow]) -> list[dict]:
    return [{**asdict(r), "by": list(r.by), "missed_by": list(r.missed_by)} for r in rows]


def _headline(rows: list[MutantRow], context) -> str:
    return f"{sum(r.detected for r in rows)}/{len(rows)} catalogued derivation bugs caught."


SECTION = ReportSection(
    "mutants", "Bug detection", lambda context: compute(), lambda rows, figures, context: section(rows),
    json=lambda rows, context: {"mutants": json_rows(rows)}, headline=_headline, headline_rank=20,
    failed=lambda rows, context: not all(r.detected for r in rows), in_verdict=True,
)
