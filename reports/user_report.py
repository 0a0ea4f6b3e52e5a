"""The report of your own checks (``backprop-check``): the renderers of ours, your verdicts.

compute (``run``: each declared check, timed) → ``Ran`` records → ``build``: a
``Report`` of sections (the verdicts, a heatmap of worst error ÷ tolerance per
check and oracle, every comparison, the backward-pass properties) → the
Markdown, HTML and JSON renderers of ``reports.render``.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Callable, Sequence

from backprop_reference.oracles.checks.declared import Declared
from backprop_reference.oracles.engine.verdict import Verdict
from backprop_reference.reports.model import Report, Section, Table
from backprop_reference.reports.render import plots

SCHEMA = 1


@dataclass(frozen=True)
class Ran:
    """One declared check as it ran: its verdict, or the exception it raised instead."""

    name: str
    where: str
    verdict: Verdict | None
    seconds: float
    error: str = ""  # the check itself raised (a bad argument, a crash in the derivative)
    taylor: object = None  # an oracles.TaylorResult: the Taylor remainder test, where the check has one

    @property
    def taylor_result(self):
        """This check's Taylor remainder test: its own, or the one its verdict carries."""
        return self.taylor if self.taylor is not None else (self.verdict.taylor if self.verdict is not None else None)

    @property
    def ok(self) -> bool:
        return self.verdict is not None and self.verdict.ok

    @property
    def status(self) -> str:
        return "ERROR" if self.verdict is None else self.verdict.status


def described(error: BaseException) -> str:
    """One line for a check that raised: the exception, and where in the user's code."""
    text = str(error).strip()
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ is not None else None
    at = f" (at {where.filename}:{where.lineno})" if where is not None else ""
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}{at}"


def run(
    checks: Sequence[Declared], starting: Callable[[str], None] = lambda name: None, finished: Callable[["Ran"], None] = lambda ran: None,
) -> list[Ran]:
    """Every check, in order, timed; one that raises is recorded as an error, not fatal.
    ``starting(name)`` before each check and ``finished(ran)`` after it (progress, a line each)."""
    results = []
    for check in checks:
        starting(check.name)
        start = time.perf_counter()
        try:
            verdict, error = check.run(), ""
        except Exception as exc:  # noqa: BLE001 — a user's check that raises is reported as such
            verdict, error = None, described(exc)
        seconds = time.perf_counter() - start
        taylor = None
        if verdict is not None and check.taylor is not None:
            try:
                taylor = check.taylor()
            except Exception:  # noqa: BLE001 — a second opinion that cannot run is left out, the verdict stands
                taylor = None
        results.append(Ran(check.name, check.where, verdict, seconds, error, taylor))
        finished(results[-1])
    return results


def _worst(ran: Ran) -> str:
    if ran.verdict is None:
        return ran.error
    worst = ran.verdict.worst
    if worst is None:
        return "—"
    return f"{worst.element} (by {worst.oracle}: {worst.error:.1e} vs {worst.tolerance.limit:.0e})"


def _properties(ran: Ran) -> str:
    if ran.verdict is None or not ran.verdict.properties:
        return "—"
    failed = ran.verdict.failed_properties
    return "all hold" if not failed else "FAILS " + ", ".join(failed)


def _ratio(comparison) -> float | None:
    if not comparison.compared:
        return None
    return comparison.error / comparison.tolerance.limit


def build(target: str, results: Sequence[Ran]) -> Report:
    failed = [r for r in results if not r.ok]
    summary = (
        f"{len(results)} check(s) from {target}: "
        + ("all pass." if not failed else f"{len(failed)} fail: " + ", ".join(f"{r.name} ({r.status})" for r in failed) + ".")
    )
    verdicts = Table(
        headers=("check", "status", "worst element", "oracles that judged", "properties", "seconds"),
        rows=tuple(
            (r.name, r.status, _worst(r), ", ".join(c.oracle for c in r.verdict.comparisons if c.compared) if r.verdict else "—",
             _properties(r), f"{r.seconds:.2f}")
            for r in results
        ),
        caption="Each declared check: its verdict, the element with the largest error relative to its tolerance, and how long it took.",
        marks=tuple("" if r.ok else "fail" for r in results),
    )
    oracles = list(dict.fromkeys(c.oracle for r in results if r.verdict for c in r.verdict.comparisons))
    figures = ()
    if oracles:
        ratios = [[next((_ratio(c) for c in r.verdict.comparisons if c.oracle == o), None) if r.verdict else None for o in oracles] for r in results]
        figures = (plots.heatmap([r.name for r in results], oracles, ratios),)
    comparisons = [(r, c) for r in results if r.verdict for c in r.verdict.comparisons]
    detail = Table(
        headers=("check", "oracle", "verdict", "worst element", "normalised error", "tolerance", "unresolved", "kinks"),
        rows=tuple(
            (r.name, c.oracle, ("agree" if c.ok else "DISAGREE") if c.compared else "judged nothing", c.element if c.compared else "—",
             f"{c.error:.2e}", f"{c.tolerance.limit:.0e}", str(c.unresolved), str(c.kinks))
            for r, c in comparisons
        ),
        caption="Every comparison: the worst element of each check against each oracle (the normalised error is the difference over the gradient's scale).",
        marks=tuple("" if c.ok else "fail" for _, c in comparisons),
    )
    properties = [(r, p) for r in results if r.verdict for p in r.verdict.properties]
    property_table = Table(
        headers=("check", "property", "holds", "what was measured"),
        rows=tuple((r.name, p.name, "yes" if p.ok else "NO", p.message) for r, p in properties),
        caption="What else a backward pass must satisfy (checks of layers, vector–Jacobian products and custom rules).",
        marks=tuple("" if p.ok else "fail" for _, p in properties),
    )
    curves = [(r.name, r.taylor_result) for r in results if r.taylor_result is not None]
    taylor_table = Table(
        headers=("check", "order", "as a right gradient (2)", "what it says"),
        rows=tuple((name, "—" if t.order is None else f"{t.order:.2f}", "yes" if t.ok else "NO", t.message()) for name, t in curves),
        caption="The Taylor remainder r(h) = |f(x + hv) − f(x) − h vᵀg| falls as h² for a right gradient, as h for a wrong one: no oracle, no tolerance.",
        marks=tuple("" if t.ok else "fail" for _, t in curves),
    )
    taylor_figures = (plots.remainders(curves),) if curves else ()
    lines = [(r, line.strip()) for r in results for line in (r.verdict.message().splitlines() if r.verdict else [r.error])]
    said = Table(
        headers=("check", "what the verdict says"),
        rows=tuple((r.name, line) for r, line in lines),
        caption="Each check's verdict in full: both values at the worst element, the oracles skipped and why, the notes.",
        marks=tuple("" if r.ok else "fail" for r, _ in lines),
    )
    sections = (
        Section("verdicts", "Verdicts", f"The checks declared in `{target}`, in order.", (verdicts,), figures),
        Section("comparisons", "Every oracle", "Each comparison behind the verdicts, then each verdict as it reads.", (detail, said)),
        Section("properties", "Backward-pass properties",
                "Repeatable, linear in the cotangent, inputs left untouched, dtypes kept, samples independent (where asked)."
                if properties else "No check here tests backward-pass properties (they come with check_layer, check_vjp and the custom-rule checks).",
                (property_table,) if properties else ()),
        Section("taylor", "Taylor remainder test",
                "A second opinion, not part of the verdicts: the checks of a scalar function's gradient at one array "
                "(the (function, derivative, inputs) entries of CHECKS) and network checks run with taylor=True."
                if curves else "No check here has a Taylor remainder test (it comes with the (function, derivative, inputs) entries of CHECKS).",
                (taylor_table,) if curves else (), taylor_figures),
    )
    data = {
        "schema": SCHEMA,
        "target": target,
        "ok": not failed,
        "checks": [
            {
                "name": r.name, "where": r.where, "status": r.status, "ok": r.ok, "seconds": r.seconds, "error": r.error,
                "message": r.verdict.message() if r.verdict else r.error,
                "comparisons": [
                    {"oracle": c.oracle, "ok": c.ok, "compared": c.compared, "element": c.element if c.compared else None,
                     "error": c.error, "tolerance": c.tolerance.limit, "unresolved": c.unresolved, "kinks": c.kinks}
                    for c in (r.verdict.comparisons if r.verdict else ())
                ],
                "skipped": [{"oracle": o, "why": why} for o, why in (r.verdict.skipped if r.verdict else ())],
                "properties": [{"name": p.name, "ok": p.ok, "message": p.message} for p in (r.verdict.properties if r.verdict else ())],
                "taylor": None if r.taylor_result is None else {"order": r.taylor_result.order, "ok": r.taylor_result.ok,
                                                                "message": r.taylor_result.message()},
            }
            for r in results
        ],
    }
    return Report(f"Gradient checks: {target}", summary, sections, data)
