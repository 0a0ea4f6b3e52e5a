"""Renderers: a ``Report`` as Markdown, self-contained HTML and JSON, and the plots as PNG figures."""
