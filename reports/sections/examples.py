"""Worked-examples section: each printed number beside the computed one."""

from __future__ import annotations

from dataclasses import asdict

from backprop_reference.reference.worked_examples import ExampleRow, all_rows
from backprop_reference.reports.model import Section, Table
from backprop_reference.reports.sections.registry import ReportSection


def compute() -> list[ExampleRow]:
    return all_rows()


def section(rows: list[ExampleRow]) -> Section:
    errata = [r for r in rows if not r.agrees]
    table = Table(
        ("seed", "quantity", "printed", "computed", "agrees"),
        tuple((r.seed, r.quantity, r.printed, f"{r.computed:.6f}", "yes" if r.agrees else "ERRATUM") for r in rows),
        "Agreement is to the printed precision (half a unit in the last printed digit).",
        tuple("" if r.agrees else "fail" for r in rows),
    )
    intro = (
        f"Seed 003's example is rebuilt from NOTATION.md (bias switches and a mask) and stepped with its own update "
        f"rule; seed 004's every printed number is transcribed in `reference/seed_004_example.py` and recomputed. "
        f"{len(errata)} printed number(s) disagree with the computation: "
        + "; ".join(f"{r.quantity} printed {r.printed}, computed {r.computed:.4f}" for r in errata)
        + "."
    )
    return Section("seed_examples", "The seeds' worked examples", intro, (table,))


def json_rows(rows: list[ExampleRow]) -> list[dict]:
    return [asdict(r) for r in rows]


def _headline(rows: list[ExampleRow], context) -> str:
    errata = sum(not r.agrees for r in rows)
    return (
        f"{errata} printed number(s) in the seeds' worked examples disagree with the computation "
        "(errata: the report's worked-examples section lists them)."
    )


SECTION = ReportSection(
    "seed_examples", "The seeds' worked examples", lambda context: compute(), lambda rows, figures, context: section(rows),
    json=lambda rows, context: {"seed_examples": json_rows(rows)}, headline=_headline, headline_rank=40,
)
