"""Pin and record the thread counts behind the benchmark's figures.

NumPy's BLAS, torch's intra-op pool and XLA's CPU pool each size themselves
from the machine by default; the benchmark fixes all three to the same count
(``pin``), before JAX creates its backend, and records what each reports
afterwards (``record``), so a figure always comes with the threads behind it.
XLA has no dependable thread setting (jax-ml/jax#1539: "setting the task
affinity map *is* the correct way to limit JAX's CPU usage"), so ``pin``
restricts the process to ``threads`` cores, and sets BLAS (threadpoolctl) and
torch to the same count.
"""

from __future__ import annotations

import os

import threadpoolctl
import torch

from backprop_reference.reports.sections.environment import usable_cores


def pin(threads: int) -> None:
    """One count for every library; call before the first JAX computation."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int; got {threads!r}")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cores and threads > len(cores):
        raise ValueError(f"threads={threads} but only {len(cores)} cores are usable here")
    if cores:
        os.sched_setaffinity(0, cores[:threads])  # XLA sizes its pool from this mask
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    threadpoolctl.threadpool_limits(threads)  # NumPy's OpenBLAS, already loaded
    torch.set_num_threads(threads)


def record() -> dict[str, object]:
    return {
        "usable_cores": usable_cores(),
        "blas": [
            {"library": p.get("internal_api"), "version": p.get("version"), "threads": p.get("num_threads")}
            for p in threadpoolctl.threadpool_info()
        ],
        "torch_threads": torch.get_num_threads(),
        "jax_cpu_threads": "sized by XLA from the affinity mask: " + str(usable_cores()) + " cores",
    }
