"""The test bed: what the checks are tried on.

* ``testbed.mutants`` — the catalogue of realistic derivation bugs, each one
  equation of backpropagation replaced by the slip students make; every
  check must catch every one of them;
* ``testbed.low_precision`` — low-precision slips in torch code (bfloat16,
  float16, float32), each with its correct twin: every slip WRONG, every twin OK;
* ``testbed.framework_rules`` — 169 derivative rules of jax.numpy, jax.nn,
  jax.scipy.special and torch, with their ties, kinks, domain edges and poles:
  the corpus of mostly-correct derivatives every check is judged on
  (``tests/test_framework_corpus.py``);
* ``testbed.drawer`` — the one seeded drawer of networks and cases: the
  report's sweeps call it with a seed, the strategies with Hypothesis's draws;
* ``testbed.strategies`` — Hypothesis strategies for networks and cases, for
  property tests (yours too), wrapping the drawer.  It needs the ``test``
  extra (Hypothesis); nothing else here does, and the report imports only
  ``testbed.mutants`` and ``testbed.drawer``.

Reproducible cases themselves (``make_case``) are the model's
(``reference.cases``): golden files and the report build on them too.
"""
