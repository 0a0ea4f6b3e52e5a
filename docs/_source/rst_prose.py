"""A griffe extension for the docs build: the project's docstrings are free prose
in reStructuredText style, rendered by mkdocstrings as Markdown.  Most of it is
Markdown already (``literals`` are code spans, ``*emphasis*``, bullets, a title
underlined with ``---``); two constructs are not, and are rewritten here, in
the docs build only (the source is untouched):

* a literal block — a paragraph ending in ``::`` and the indented block after
  it — becomes a fenced code block (the ``::`` becomes ``:``, or goes when it
  stands alone);
* a simple table — columns marked by a border of ``===`` runs — becomes a
  Markdown table (continuation lines, whose first column is blank, join the
  row above).

Loaded by mkdocs.yml (``handlers.python.options.extensions``).
"""

from __future__ import annotations

import re

import griffe

_BORDER = re.compile(r"^(\s*)=+( +=+)+\s*$")


def _columns(border: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", border)]


def _cells(line: str, columns: list[tuple[int, int]]) -> list[str]:
    cells = []
    for i, (start, _) in enumerate(columns):
        end = columns[i + 1][0] if i + 1 < len(columns) else len(line)
        cells.append(line[start:end].strip())
    return cells


def _table(lines: list[str], columns: list[tuple[int, int]], indent: str) -> list[str]:
    """A simple table's lines (borders included) as a Markdown table."""
    borders = [i for i, line in enumerate(lines) if _BORDER.match(line)]
    header_end = borders[1] if len(borders) >= 3 else None
    rows: list[list[str]] = []
    header: list[str] | None = None
    for i, line in enumerate(lines):
        if i in borders:
            if header_end is not None and i == header_end:
                header, rows = [" ".join(c for c in col if c) for col in zip(*rows)] if rows else None, []
            continue
        if not line.strip():
            continue
        cells = _cells(line, columns)
        if rows and not cells[0]:  # a continuation line
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    if header is None:
        header = [""] * len(columns)
    out = [_row(header, indent), indent + "|" + "---|" * len(columns)]
    return out + [_row(row, indent) for row in rows]


def _row(cells: list[str], indent: str) -> str:
    return indent + "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def rst_to_markdown(text: str) -> str:
    """``text`` with its literal blocks fenced and its simple tables as Markdown tables."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        border = _BORDER.match(line)
        if border:  # a simple table runs to its last border: a border followed by a blank line or the end
            columns, j = _columns(line), i + 1
            while j < len(lines) and not (_BORDER.match(lines[j]) and (j + 1 == len(lines) or not lines[j + 1].strip())):
                j += 1
            if out and out[-1].strip():
                out.append("")
            out += _table(lines[i : j + 1], columns, border.group(1))
            out.append("")
            i = j + 1
            continue
        if line.rstrip().endswith("::") and i + 1 < len(lines) and not lines[i + 1].strip():  # a literal block
            indent = len(line) - len(line.lstrip())
            if line.lstrip().startswith(("* ", "- ")):
                indent += 2
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block_indent = len(lines[j]) - len(lines[j].lstrip()) if j < len(lines) else 0
            if j < len(lines) and block_indent > indent:
                k = j
                while k < len(lines) and (not lines[k].strip() or len(lines[k]) - len(lines[k].lstrip()) >= block_indent):
                    k += 1
                while lines[k - 1].strip() == "":
                    k -= 1
                head = line.rstrip()[:-2].rstrip()
                if head.strip():
                    out.append(head + ":")
                out += ["", "```text", *(l[block_indent:] for l in lines[j:k]), "```", ""]
                # What follows, still indented as part of a list item, is a paragraph of its own now:
                # dedented, and the next item starts a new list (Markdown wants a blank line before it).
                i = k
                while i < len(lines) and not lines[i].strip():
                    i += 1
                while i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) >= indent > 0:
                    out.append(lines[i].lstrip())
                    i += 1
                if i < len(lines) and lines[i].lstrip().startswith(("* ", "- ")):
                    out.append("")
                continue
        out.append(line)
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


class RstProse(griffe.Extension):
    """Rewrite each docstring's literal blocks and simple tables as Markdown."""

    def on_object(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
