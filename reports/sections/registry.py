"""The report's sections as records: what one section is (``ReportSection``),
what it is given (``Context``), and the ordered ``Registry`` of them that
``reports.build`` runs (``reports.sections.SECTIONS``).

A section is one module of ``reports/sections/`` that ends with its
``ReportSection``: how to compute its record from the context, draw its
figures, render its part of the document (a ``reports.model.Section`` of
tables and figures, which every renderer — Markdown, HTML — knows), write its
keys of report.json, and what it adds to the summary and the exit status.
The build knows no section by name: a new one is its module and one line in
``SECTIONS`` (or, from a plugin, ``SECTIONS.register(…)``).
"""

from __future__ import annotations

import importlib
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from backprop_reference.reports.model import Figure, Section
from backprop_reference.reports.sweep import SCALES, report_cases

DEVICES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class Options:
    """The report's options, as ``backprop-report`` parses them."""

    seed: int = 0
    quick: bool = False
    device: str = "auto"  # auto | cpu | gpu
    workers: int = 1
    plugins: tuple[str, ...] = ()  # modules that register activations/losses (or sections), imported first
    bench: Path | None = None  # a bench.json from `make bench` for the Speed section (none: "not measured")

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an integer with 0 ≤ seed < 2**32; got {self.seed!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(map(repr, DEVICES))}; got {self.device!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, numbers.Integral) or self.workers < 1:
            raise ValueError(f"workers must be a positive integer; got {self.workers!r}")
        if isinstance(self.plugins, str) or not all(isinstance(name, str) for name in self.plugins):
            raise TypeError(f"plugins must be a sequence of module names; got {self.plugins!r}")
        object.__setattr__(self, "plugins", tuple(self.plugins))


def load_plugins(plugins: Sequence[str]) -> None:
    """Import each module (it registers its activations and losses, or a section)."""
    for name in plugins:
        importlib.import_module(name)


@dataclass
class Context:
    """What every section is given: the options, whether to show progress, the
    records computed so far (by section key, in registry order) and inputs
    shared between sections, each made once on first use (``shared``)."""

    options: Options
    progress: bool = False
    records: dict[str, Any] = field(default_factory=dict)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared(self, name: str, make: Callable[[], Any]) -> Any:
        """The input ``name``, made by ``make()`` the first time any section asks for it."""
        if name not in self._shared:
            self._shared[name] = make()
        return self._shared[name]

    def record(self, key: str) -> Any:
        """The record section ``key`` computed (a section may read those computed before it)."""
        if key not in self.records:
            raise LookupError(f"no record of section {key!r} yet; computed so far: {list(self.records)}")
        return self.records[key]

    @property
    def scales(self) -> tuple[float, ...]:
        """The weight scales of the agreement sweep."""
        return (1.0,) if self.options.quick else SCALES

    @property
    def cases(self) -> list:
        """The agreement sweep's cases (``reports.sweep.report_cases``), drawn once."""
        return self.shared("cases", lambda: report_cases(self.options.seed, scales=self.scales))


def _no_figures(record, context) -> tuple[Figure, ...]:
    return ()


def _no_json(record, context) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ReportSection:
    """One section of the report.  Every hook takes (record, context) but ``compute`` and
    ``check``, which take the context.

    * ``compute(context) -> record`` — the section's results (frozen records);
    * ``figures(record, context)`` — its plots as ``reports.model.Figure``s (None entries
      are dropped); ``reports.render.write_report`` writes each beside report.md, atomically;
    * ``render(record, figures, context) -> reports.model.Section`` — its part of the
      document, under ``key`` and ``title``;
    * ``json(record, context) -> dict`` — its keys of report.json (``reports/report.schema.json``);
    * ``check(context)`` — refuses bad inputs (raise ``ValueError``) before any section computes;
    * ``headline(record, context) -> str`` — its sentence of the summary ("" for none),
      sentences ordered by ``headline_rank``;
    * ``failed(record, context) -> bool`` — the run fails (exit status 1); with
      ``in_verdict`` the summary's verdict says FAIL too;
    * ``shown_after`` — the key of a section this one follows in the document, when it is
      computed (and written to report.json) earlier than it is read.
    """

    key: str  # the anchor, and the name other sections read its record by
    title: str
    compute: Callable[[Context], Any]
    render: Callable[[Any, tuple[Figure, ...], Context], Section]
    figures: Callable[[Any, Context], Iterable[Figure | None]] = _no_figures
    json: Callable[[Any, Context], dict[str, Any]] = _no_json
    check: Callable[[Context], None] | None = None
    headline: Callable[[Any, Context], str] | None = None
    headline_rank: int = 50
    failed: Callable[[Any, Context], bool] | None = None
    in_verdict: bool = False
    shown_after: str | None = None


class Registry:
    """The report's sections in the order they are computed (and their keys written to
    report.json); the document shows them in this order too, but for a ``shown_after``."""

    def __init__(self, sections: Iterable[ReportSection] = ()):
        self._sections: list[ReportSection] = []
        for section in sections:
            self.register(section)

    def register(self, section: ReportSection, *, before: str | None = None) -> ReportSection:
        """Add ``section`` at the end, or just before the section keyed ``before``."""
        if not isinstance(section, ReportSection):
            raise TypeError(f"section must be a ReportSection; got {section!r:.80}")
        if section.key in self:
            raise ValueError(f"a section keyed {section.key!r} is already registered")
        if before is None:
            self._sections.append(section)
        else:
            self._sections.insert(self._index(before), section)
        return section

    def unregister(self, key: str) -> ReportSection:
        return self._sections.pop(self._index(key))

    def _index(self, key: str) -> int:
        for index, section in enumerate(self._sections):
            if section.key == key:
                return index
        raise KeyError(f"no section keyed {key!r}; registered: {self.keys()}")

    def keys(self) -> list[str]:
        return [section.key for section in self._sections]

    def __getitem__(self, key: str) -> ReportSection:
        return self._sections[self._index(key)]

    def __contains__(self, key: object) -> bool:
        return any(section.key == key for section in self._sections)

    def __iter__(self) -> Iterator[ReportSection]:
        return iter(tuple(self._sections))

    def __len__(self) -> int:
        return len(self._sections)

    def __repr__(self) -> str:
        return f"Registry({self.keys()})"


def document_order(sections: Sequence[ReportSection]) -> list[ReportSection]:
    """``sections`` as the document shows them: in order, but each ``shown_after`` one
    right after its anchor (and after the anchor's earlier followers)."""
    keys = {s.key for s in sections}
    followers: dict[str, list[ReportSection]] = {}
    for section in sections:
        if section.shown_after is not None:
            if section.shown_after not in keys:
                raise ValueError(f"section {section.key!r} is shown after {section.shown_after!r}, which is not registered")
            followers.setdefault(section.shown_after, []).append(section)
    shown: list[ReportSection] = []

    def place(section: ReportSection) -> None:
        shown.append(section)
        for follower in followers.get(section.key, ()):
            place(follower)

    for section in sections:
        if section.shown_after is None:
            place(section)
    if len(shown) != len(sections):
        raise ValueError(f"sections shown after one another in a loop: {sorted(keys - {s.key for s in shown})}")
    return shown
