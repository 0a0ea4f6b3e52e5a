"""``make bench``: the speed issue's figures in one run (not part of the test suite).

* ``hand_derived`` — the vectorised derivations against torch.autograd and
  jax.jit(jax.grad), and against their own forward pass, on the CPU and on a
  GPU when one is visible;
* ``numerical`` — the batched numerical oracles on a 26,122-parameter
  network, and how their cost grows with parameter count and depth.

``python -m backprop_reference.reports.bench`` pins the thread counts (``threads``), prints the
tables and writes ``bench.json`` (atomically), which the report's Speed
section reads.
"""
