"""Full precision for the array libraries, inside a ``with`` block only.

A library leaves its user's process as it found it: JAX's x64 flag and
default matmul precision and torch's TF32 switches are set for the duration
of a computation and restored on exit, whatever they were before (and
whether the block returns or raises).

* ``jax_float64()`` — ``jax_enable_x64`` on, so float64 stays float64 (with it
  off JAX silently computes in float32), and matrix products at "highest"
  precision (a GPU's default may use TF32, ~1e-3 relative error in float32).
  Both are JAX's own context managers, which are thread-local.
* ``torch_full_precision()`` — TF32 off for CUDA matrix products and cuDNN
  (``fp32_precision = "ieee"``; the legacy ``allow_tf32`` switches read False)
  and float32 matrix products at "highest": TF32 gives ~1e-3 errors silently.
  These are process-wide flags; each is restored on exit to exactly what it was.

JAX and torch are imported when a block is entered, not when this module is
(``import reference`` needs neither).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def jax_float64() -> Iterator[None]:
    import jax  # the model layer works without JAX; only its users need it

    with jax.enable_x64(True), jax.default_matmul_precision("highest"):
        yield


@contextmanager
def torch_full_precision() -> Iterator[None]:
    import torch  # likewise

    backends = torch.backends
    # torch 2.9+ keeps TF32 in per-backend fp32_precision flags (the legacy allow_tf32
    # switches are views of them): set and restore those, and the float32 matmul precision.
    flags = (backends.cuda.matmul, backends.cudnn.conv, backends.cudnn.rnn)
    saved = torch.get_float32_matmul_precision(), tuple(flag.fp32_precision for flag in flags)
    torch.set_float32_matmul_precision("highest")
    for flag in flags:
        flag.fp32_precision = "ieee"
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(saved[0])
        for flag, value in zip(flags, saved[1]):
            flag.fp32_precision = value
