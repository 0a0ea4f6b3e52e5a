"""Markdown renderer: readable on a code-hosting site; figures as PNG files beside it."""

from __future__ import annotations

from tabulate import tabulate

from backprop_reference.reports.model import Report, Table


def _table(table: Table) -> str:
    rows = [
        tuple(f"**✗ {cell}**" if i == 0 and mark == "fail" else cell for i, cell in enumerate(row))
        for row, mark in zip(table.rows, table.marks or ("",) * len(table.rows))
    ]
    text = tabulate(rows, headers=table.headers, tablefmt="github", disable_numparse=True)
    return (f"{table.caption}\n\n" if table.caption else "") + text


def render_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "", report.summary, "", "## Contents", ""]
    lines += [f"- [{s.title}](#{s.key})" for s in report.sections]
    for section in report.sections:
        lines += ["", f'<a id="{section.key}"></a>', "", f"## {section.title}", "", section.intro, ""]
        for table in section.tables:
            lines += [_table(table), ""]
        for figure in section.figures:
            lines += [f"![{figure.alt}]({figure.name})", "", f"*{figure.caption}*", ""]
    return "\n".join(lines).rstrip() + "\n"
