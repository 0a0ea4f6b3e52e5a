"""One verdict: an implementation judged against several references at once.

Every entry point — ``check_gradient``, ``check_network_gradients``,
``check_projections``, ``compare_golden`` — returns a ``Verdict``: one
``Comparison`` per reference that ran (an oracle, a golden file, random
projections), the references that could not run and why, and the elements
no reference that ran could resolve.  It is ok when something was
compared, every comparison agrees and every element was judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from oracles.comparison import Comparison


@dataclass(frozen=True)
class Verdict:
    implementation: str
    comparisons: tuple[Comparison, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (reference, why it did not run)
    note: str = ""  # e.g. the float64 evaluation of float32 inputs
    unjudged: tuple[str, ...] = ()  # elements that no reference that ran could resolve
    elements: int = 0  # gradient elements the verdict covers

    @property
    def ok(self) -> bool:
        return bool(self.comparisons) and all(c.ok for c in self.comparisons) and not self.unjudged

    @property
    def oracles_ran(self) -> tuple[str, ...]:
        return tuple(c.oracle for c in self.comparisons)

    @property
    def worst(self) -> Comparison | None:
        if not self.comparisons:
            return None
        failing = [c for c in self.comparisons if not c.ok]
        return max(failing or self.comparisons, key=lambda c: c.error / c.tolerance.limit)

    def message(self) -> str:
        ran = ", ".join(self.oracles_ran) or "no oracle"
        lines = [f"{self.implementation}: {'OK' if self.ok else 'WRONG'} against {ran}"]
        if not self.ok and self.worst is not None and not self.worst.ok:
            lines.append(f"  worst: {self.worst.element} (by {self.worst.oracle})")
        lines += [f"  {c.message()}" for c in self.comparisons]
        if self.unjudged:
            shown = ", ".join(self.unjudged[:5]) + (f" and {len(self.unjudged) - 5} more" if len(self.unjudged) > 5 else "")
            lines.append(f"  not judged: {shown} — unresolved by every oracle that ran")
        lines += [f"  {oracle} skipped: {why}" for oracle, why in self.skipped]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()
