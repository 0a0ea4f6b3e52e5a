"""Orchestrator: run every registered section (``reports.sections.SECTIONS``) and assemble the ``Report``.

The build knows no section by name.  In order: the plugins are imported (one
may register a section); every section's ``check`` refuses bad inputs before
anything is computed; each section computes its record, in registry order
(a later one may read an earlier one's, ``Context.record``); then each draws
its figures and renders its part of the document, and writes its keys of
report.json; the summary joins the sections' headlines.
"""

from __future__ import annotations

from backprop_reference.reports.model import SCHEMA, Report
from backprop_reference.reports.sections import SECTIONS
from backprop_reference.reports.sections.registry import Context, Options, Registry, document_order, load_plugins

__all__ = ["Options", "TITLE", "build", "load_plugins"]

TITLE = "Backpropagation correctness report"


def build(options: Options, progress: bool = True, sections: Registry | None = None) -> Report:
    """The report for ``options`` from ``sections`` (default: ``SECTIONS``, read after the plugins load)."""
    load_plugins(options.plugins)
    entries = tuple(SECTIONS if sections is None else sections)
    context = Context(options, progress)
    for entry in entries:
        if entry.check is not None:
            entry.check(context)
    for entry in entries:
        context.records[entry.key] = entry.compute(context)
    rendered = {}
    for entry in entries:
        record = context.records[entry.key]
        figures = tuple(figure for figure in entry.figures(record, context) if figure is not None)
        part = entry.render(record, figures, context)
        if (part.key, part.title) != (entry.key, entry.title):
            raise ValueError(f"section {entry.key!r} ({entry.title!r}) rendered as {part.key!r} ({part.title!r})")
        rendered[entry.key] = part
    data = {"schema": SCHEMA, "seed": options.seed, "quick": options.quick}
    for entry in entries:
        part = entry.json(context.records[entry.key], context)
        if clash := sorted(set(part) & set(data)):
            raise ValueError(f"section {entry.key!r} writes report.json keys already written: {clash}")
        data.update(part)
    failed = {entry.key for entry in entries if entry.failed is not None and entry.failed(context.records[entry.key], context)}
    verdict = "FAIL" if any(entry.in_verdict and entry.key in failed for entry in entries) else "PASS"
    headlines = [
        text
        for entry in sorted((e for e in entries if e.headline is not None), key=lambda e: e.headline_rank)
        if (text := entry.headline(context.records[entry.key], context))
    ]
    summary = " ".join([f"{verdict}:", *headlines])
    return Report(TITLE, summary, tuple(rendered[entry.key] for entry in document_order(entries)), data, failed=bool(failed))
