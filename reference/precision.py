"""Full precision for the array libraries, inside a ``with`` block only.

A library leaves its user's process as it found it: JAX's x64 flag and
default matmul precision and torch's TF32 switches are set for the duration
of a computation and restored on exit, whatever they were before (and
whether the block returns or raises).

* ``jax_float64()`` — ``jax_enable_x64`` on, so float64 stays float64 (with it
  off JAX silently computes in float32), and matrix products at "highest"
  precision (a GPU's default may use TF32, ~1e-3 relative error in float32).
  Both are JAX's own context managers, which are thread-local.
* ``torch_full_precision()`` — ``torch.backends.cuda.matmul.allow_tf32`` and
  ``torch.backends.cudnn.allow_tf32`` off: TF32 gives ~1e-3 errors silently.
  These are process-wide flags; they are restored on exit.

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

    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn
