"""The correctness report: compute → records → tables → renderers → CLI."""
