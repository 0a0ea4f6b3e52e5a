"""The report's data model: sections of tables and figures, plus the JSON payload.

compute (``reports/sections/…``, each section a ``ReportSection`` in
``reports.sections.SECTIONS``) → frozen records → ``Section``s of ``Table``s
and ``Figure``s → renderers (``reports/render/``: Markdown, HTML, JSON; the
plots as ``Figure``s) → CLI (``reports/cli.py``).  A renderer sees only
these types, so a new format touches one file and a new section another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA = 1


@dataclass(frozen=True)
class Table:
    """A table: already-formatted cell text, one tuple per row."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    # Per row: "fail" marks a row a reader must see (failures, errata), "" otherwise.
    marks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A plot as PNG bytes, with the file name it gets beside report.md."""

    name: str  # e.g. "timing_cpu.png"
    png: bytes
    caption: str
    alt: str


@dataclass(frozen=True)
class Section:
    key: str  # anchor and JSON key, e.g. "agreement"
    title: str
    intro: str  # Markdown-light prose: plain text with `code` spans
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Report:
    title: str
    summary: str  # one paragraph: the verdict a reviewer reads first
    sections: tuple[Section, ...]
    data: dict[str, Any] = field(default_factory=dict)  # the JSON payload (schema, environment, agreement, …)
    failed: bool = False  # a section reported a failure: the command exits 1 (the tables mark which rows)
