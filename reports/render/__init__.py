"""Renderers: a ``Report`` as Markdown, self-contained HTML and JSON, and the plots as PNG figures."""

from __future__ import annotations

from pathlib import Path


def write_report(report, out: Path) -> None:
    """Every file of ``report`` into ``out``: its figures (PNG), report.json, report.html and
    report.md, each written atomically, all rendered before the first is written."""
    from backprop_reference.reports.io import write_atomic, write_bytes_atomic
    from backprop_reference.reports.render.html import render_html
    from backprop_reference.reports.render.json import render_json
    from backprop_reference.reports.render.markdown import render_markdown

    texts = {"report.json": render_json(report), "report.html": render_html(report), "report.md": render_markdown(report)}
    for section in report.sections:
        for figure in section.figures:
            write_bytes_atomic(Path(out) / figure.name, figure.png)
    for name, text in texts.items():
        write_atomic(Path(out) / name, text)
