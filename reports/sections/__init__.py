"""The report's sections: each computes its records, then a ``Section`` of tables and figures, then its JSON."""
