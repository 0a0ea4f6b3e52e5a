"""The test bed: what the checks are tried on.

* ``testbed.mutants`` — the catalogue of realistic derivation bugs, each one
  equation of backpropagation replaced by the slip students make; every
  check must catch every one of them;
* ``testbed.strategies`` — Hypothesis strategies for networks and cases, for
  property tests (yours too).  It needs the ``test`` extra (Hypothesis);
  nothing else here does, and the report imports only ``testbed.mutants``.

Reproducible cases themselves (``make_case``) are the model's
(``reference.cases``): golden files and the report build on them too.
"""
