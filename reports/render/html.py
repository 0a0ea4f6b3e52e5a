"""Renderer: a ``Report`` → one self-contained HTML page.

The page fetches nothing: the CSS sits in a ``<style>`` block, every figure is a
``data:image/png;base64`` URI, there is no script, and a strict
Content-Security-Policy meta tag (``default-src 'none'``) makes the browser
refuse anything that slips in.  The markup lives in
``reports/templates/report.html.j2``; this module only supplies the filters it uses.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from backprop_reference.reports.io import write_atomic
from backprop_reference.reports.model import Figure, Report, Table

__all__ = ["render_html", "write_html"]

TEMPLATE = "report.html.j2"

# Units a formatted number may carry; a cell is numeric if what remains parses as a float.
_NUMERIC_SUFFIXES = ("×", "%", " µs", " ms", " s")
_CODE_SPAN = re.compile(r"`([^`]+)`")


def is_numeric(cell: str) -> bool:
    """True when ``cell`` reads as a number once a unit suffix is stripped ("1.2e-13", "3.5×", "12 ms")."""
    text = cell.strip()
    for suffix in _NUMERIC_SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    try:
        float(text)
    except ValueError:
        return False
    return True


def numeric_column(table: Table, column: int) -> bool:
    """True when every non-empty cell of ``column`` is numeric, so its header aligns right too."""
    cells = [row[column] for row in table.rows if column < len(row) and row[column].strip()]
    return bool(cells) and all(is_numeric(cell) for cell in cells)


def row_mark(table: Table, index: int) -> str:
    """The row's entry in ``table.marks`` ("fail" or ""); rows past the end of ``marks`` are unmarked."""
    return table.marks[index] if index < len(table.marks) else ""


def prose(text: str) -> Markup:
    """Markdown-light prose → HTML: escape everything, then turn `code` spans into ``<code>``."""
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))


def data_uri(figure: Figure) -> str:
    """The figure's PNG as a ``data:`` URI, so the page needs no file beside it."""
    return "data:image/png;base64," + base64.b64encode(figure.png).decode("ascii")


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["prose"] = prose
    environment.filters["data_uri"] = data_uri
    environment.tests["numeric"] = is_numeric
    environment.globals["numeric_column"] = numeric_column
    environment.globals["row_mark"] = row_mark
    return environment


def render_html(report: Report) -> str:
    """The whole report as one HTML document that loads nothing from outside itself."""
    if not isinstance(report, Report):
        raise TypeError(f"report must be a reports.model.Report, got {type(report).__name__}: {report!r:.80}")
    return _environment().get_template(TEMPLATE).render(report=report)


def write_html(report: Report, path: Path) -> None:
    """Render ``report`` and write it to ``path`` atomically (see ``reports.io.write_atomic``)."""
    write_atomic(Path(path), render_html(report))
