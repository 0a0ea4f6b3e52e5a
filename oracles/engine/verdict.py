"""One verdict: an implementation judged against several references at once.

Every entry point — ``check_gradient``, ``check_network_gradients``,
``check_projections``, ``compare_golden`` — returns a ``Verdict``: one
``Comparison`` per reference that ran (an oracle, a golden file, random
projections), the references that could not run and why, and the elements
no reference that ran could resolve.  It is ok when something was
compared, every comparison agrees and every element was judged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from backprop_reference.oracles.engine.comparison import Comparison


SHOWN_DISPUTES = 3  # dispute lines in a message; verdict.disputes holds them all
PROJECTION = "v·g"  # the leaf a projection check names its directions by (v·g[d])


@dataclass(frozen=True)
class Dispute:
    """An element where the exact oracles disagree beyond its rounding bound:
    each party's value and, where it could be decided, the arbitrated truth
    (mpmath) and which oracles it shows wrong."""

    element: str
    values: tuple[tuple[str, float], ...]  # (party, value): the exact oracles, then the implementation
    truth: float | None = None  # the arbitrated derivative; None when it could not be decided
    wrong: tuple[str, ...] = ()  # oracles farther from the truth than the element's tolerance
    how: str = ""  # "mpmath (50 digits)", or why it was not arbitrated

    def message(self) -> str:
        parties = ", ".join(f"{party} {value:.6e}" for party, value in self.values)
        if self.truth is None:
            return f"oracles disagree at {self.element}: {parties}; not arbitrated ({self.how}): not judged by the exact oracles"
        blamed = f"{', '.join(self.wrong)} wrong" if self.wrong else "no oracle beyond its tolerance"
        return (
            f"oracles disagree at {self.element}: {parties}; {self.how} {self.truth:.6e}: {blamed} "
            f"(the exact oracles' value there is replaced by it in the comparisons above)"
        )


@dataclass(frozen=True)
class Verdict:
    implementation: str
    comparisons: tuple[Comparison, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (reference, why it did not run)
    note: str = ""  # e.g. the float64 evaluation of float32 inputs
    unjudged: tuple[str, ...] = ()  # elements that no reference that ran could resolve
    elements: int = 0  # gradient elements the verdict covers
    disputes: tuple[Dispute, ...] = ()  # elements where the exact oracles disagreed among themselves
    taylor: object = None  # an oracles.checks.taylor.TaylorResult when asked for: a second opinion, shown, not judged
    properties: tuple = ()  # oracles.checks.properties.PropertyResult: what else a backward pass must satisfy
    precision: tuple = ()  # oracles.engine.precision.LeafPrecision: how a low-precision result was judged, leaf by leaf

    @property
    def ok(self) -> bool:
        # OK says something was judged: a check in which no element was compared is NOT JUDGED
        return (any(c.compared for c in self.comparisons) and all(c.ok for c in self.comparisons) and not self.unjudged
                and self.properties_hold)

    @property
    def precision_shown(self) -> tuple:
        """One low-precision record per leaf: the one nearest its allowance over the probes
        (``x @ cotangent 2`` stands for x); ``precision`` holds them all."""
        by_leaf: dict[str, object] = {}
        for record in self.precision:
            leaf = record.name.split(" @ ")[0]
            best = by_leaf.get(leaf)
            if best is None or record.error / max(record.allowed, 1e-300) > best.error / max(best.allowed, 1e-300):
                by_leaf[leaf] = record
        return tuple(by_leaf.values())

    @property
    def properties_hold(self) -> bool:
        return all(p.ok for p in self.properties)

    @property
    def failed_properties(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties if not p.ok)

    @property
    def oracles_ran(self) -> tuple[str, ...]:
        return tuple(c.oracle for c in self.comparisons)

    @property
    def worst(self) -> Comparison | None:
        if not self.comparisons:
            return None
        failing = [c for c in self.comparisons if not c.ok]
        # an element named beats a random projection (v·g[d], the sampled check's): it says where to look
        by_element = [c for c in failing if not c.element.startswith(PROJECTION)]
        return max(by_element or failing or self.comparisons, key=lambda c: c.error / c.tolerance.limit)

    @property
    def status(self) -> str:
        """"OK"; "WRONG" when a reference disagrees with the implementation; "ORACLES
        DISAGREE" when what is left undecided is only where the oracles disagree
        among themselves (and could not be arbitrated); "NOT JUDGED" when other
        elements are left undecided (no oracle that ran could resolve them);
        "NOT CHECKED" when no reference ran."""
        if self.ok:
            return "OK"
        if not self.comparisons:
            return "NOT CHECKED"
        if not self.properties_hold:
            return "WRONG"
        if all(c.ok for c in self.comparisons) and not self.unjudged:
            return "NOT JUDGED"  # nothing compared (ok is False only for that here)
        if all(c.ok for c in self.comparisons) and self.unjudged:
            undecided = {d.element for d in self.disputes if d.truth is None}
            if undecided and set(self.unjudged) <= undecided:
                return "ORACLES DISAGREE"
            return "NOT JUDGED"
        return "WRONG"

    def message(self) -> str:
        status = self.status
        if status == "WRONG" and all(c.ok for c in self.comparisons):
            judging = [c.oracle for c in self.comparisons if c.compared]
            head = f"WRONG: fails {', '.join(self.failed_properties)}" + (f" (agrees with {', '.join(judging)})" if judging else "")
        elif status == "WRONG":
            head = f"WRONG against {', '.join(c.oracle for c in self.comparisons if not c.ok)}"
            agreeing = [c.oracle for c in self.comparisons if c.ok and c.compared]
            if agreeing:
                head += f" (agrees with {', '.join(agreeing)})"
            if not self.properties_hold:
                head += f"; fails {', '.join(self.failed_properties)}"
        elif status == "NOT CHECKED":
            head = "NOT CHECKED: no oracle could run"
        else:
            judging = [c.oracle for c in self.comparisons if c.compared]
            head = f"{status} against {', '.join(judging)}" if judging else f"{status}: no oracle that ran could resolve any element"
        idle = [c.oracle for c in self.comparisons if not c.compared]
        if idle and any(c.compared for c in self.comparisons):
            head += f" ({', '.join(idle)} judged no element)"
        overruled = {}
        for dispute in self.disputes:
            for name in dispute.wrong:
                overruled[name] = overruled.get(name, 0) + 1
        if overruled:
            head += "; shown wrong by arbitration: " + ", ".join(f"{name} at {n} element(s)" for name, n in overruled.items())
        lines = [f"{self.implementation}: {head}"]
        if not self.ok and self.worst is not None and not self.worst.ok:
            lines.append(f"  worst: {self.worst.element} (by {self.worst.oracle})")
        lines += [f"  {c.message()}" for c in self.comparisons]
        lines += [f"  low precision: {p.line()}" for p in self.precision_shown]
        if self.unjudged:
            shown = ", ".join(self.unjudged[:5]) + (f" and {len(self.unjudged) - 5} more" if len(self.unjudged) > 5 else "")
            lines.append(f"  not judged: {shown} — unresolved by every oracle that ran")
        lines += [f"  {d.message()}" for d in self.disputes[:SHOWN_DISPUTES]]
        if len(self.disputes) > SHOWN_DISPUTES:
            more = self.disputes[SHOWN_DISPUTES:]
            outcomes = sorted({f"{', '.join(d.wrong)} wrong" if d.wrong else ("not decided" if d.truth is None else "none wrong") for d in more})
            lines.append(f"  … and {len(more)} more disputed elements ({'; '.join(outcomes)}): verdict.disputes lists them all")
        lines += [f"  {oracle} skipped: {why}" for oracle, why in self.skipped]
        failing = [p for p in self.properties if not p.ok]
        lines += [f"  property {p.line()}" for p in failing]
        held = [p.name for p in self.properties if p.ok]
        if held:
            lines.append(f"  properties that hold: {', '.join(held)}")
        if self.taylor is not None:
            lines.append(f"  second opinion (not part of the verdict): {self.taylor.message()}")
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()


def joined(verdicts: Sequence[Verdict], note: str = "") -> Verdict:
    """One verdict from the verdicts of several probes of one implementation
    (cotangents, tangents): per reference, one comparison over all their
    elements (each probe's leaves already qualified: ``x[3, 1] @ cotangent 2``);
    a reference skipped by any probe is listed once per reason."""
    if len(verdicts) == 1:
        return dataclasses.replace(verdicts[0], note="; ".join(n for n in (verdicts[0].note, note) if n))
    by_reference: dict[str, list[Comparison]] = {}
    for verdict in verdicts:
        for comparison in verdict.comparisons:
            by_reference.setdefault(comparison.oracle, []).append(comparison)
    comparisons = []
    for parts in by_reference.values():
        worst = max(parts, key=lambda c: c.error)
        comparisons.append(dataclasses.replace(
            worst, ok=all(c.ok for c in parts), leaves=tuple(leaf for c in parts for leaf in c.leaves),
            rounding=next((c.rounding for c in parts if c.rounding), ""),
        ))
    notes = dict.fromkeys(n for n in [v.note for v in verdicts] + [note] if n)
    return Verdict(
        verdicts[0].implementation, tuple(comparisons), tuple(dict.fromkeys(s for v in verdicts for s in v.skipped)), "; ".join(notes),
        tuple(e for v in verdicts for e in v.unjudged), sum(v.elements for v in verdicts), tuple(d for v in verdicts for d in v.disputes),
        precision=tuple(p for v in verdicts for p in v.precision),
    )
