"""The report's sections: each module computes its records, then a ``Section`` of
tables and figures, then its JSON, and ends with its ``ReportSection``
(``reports.sections.registry``).  ``SECTIONS`` lists them in the order the
report computes them; ``reports.build`` runs whatever it holds.  A new section
is its module and one line below — or, from a plugin (``--plugin MODULE``),
``SECTIONS.register(MY_SECTION, before="agreement-table")``.
"""

from backprop_reference.reports.sections import (
    agreement, bugs, delta_forms, environment, examples, speed, taylor, timing, training,
)
from backprop_reference.reports.sections.registry import Context, Options, Registry, ReportSection

SECTIONS = Registry((
    environment.SECTION,
    agreement.SECTION,
    examples.SECTION,
    delta_forms.SECTION,
    bugs.SECTION,
    taylor.SECTION,
    timing.SECTION,  # computed before training; shown after it
    training.SECTION,
    speed.SECTION,
    agreement.APPENDIX,
))

__all__ = ["SECTIONS", "Context", "Options", "Registry", "ReportSection"]
