"""Environment section: versions, CPU, threads, GPU (or its absence)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

import jax
import numpy as np
import torch

from backprop_reference.reports.model import Section, Table
from backprop_reference.reports.sections.registry import Context, ReportSection


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _gpu() -> dict:
    if not torch.cuda.is_available():
        return {"present": False, "name": None, "driver": None, "text": "no GPU on this machine"}
    name = torch.cuda.get_device_name(0)
    driver = None
    if shutil.which("nvidia-smi"):
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
        )
        driver = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    return {"present": True, "name": name, "driver": driver, "text": f"{name} (driver {driver or 'unknown'})"}


def collect() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": _gpu(),
    }


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, where there is one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def timing_notes() -> dict[str, object]:
    """Thread counts and devices behind the timings."""
    usable = usable_cores()
    cuda = bool(torch.cuda.is_available())
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "torch_num_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "jax_version": jax.__version__,
        "jax_backend": jax.default_backend(),
        "numpy_version": np.__version__,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "tf32": False,  # off while the timings run (reference.precision.torch_full_precision)
        # other processes' load slows multi-threaded libraries (torch, BLAS) most
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def section(environment: dict) -> Section:
    rows = (
        ("Python", environment["python"]),
        ("NumPy", environment["numpy"]),
        ("JAX", f"{environment['jax']} (backend {environment['jax_backend']})"),
        ("PyTorch", environment["torch"]),
        ("platform", environment["platform"]),
        ("CPU", f"{environment['cpu']}, {environment['cpu_count']} logical cores, torch uses {environment['torch_threads']} threads"),
        ("GPU", environment["gpu"]["text"]),
    )
    return Section(
        "environment",
        "Environment",
        "Where these numbers were produced. Everything but the timings is identical from run to run for the same seed.",
        (Table(("item", "value"), rows),),
    )


# --- the report's section -------------------------------------------------------------------


def notes(context: Context) -> dict[str, object]:
    """``timing_notes()`` for this report, taken once, when first asked for: after every
    section has computed (the environment's JSON and the timing section share them)."""
    return context.shared("timing_notes", timing_notes)


def _compute(context: Context) -> dict:
    found = collect()
    if context.options.device == "gpu" and not found["gpu"]["present"]:
        raise ValueError("--device gpu: no CUDA GPU visible to torch on this machine")
    return found


def _headline(environment: dict, context: Context) -> str:
    return f"Machine: {environment['cpu']}, {environment['gpu']['text']}."


SECTION = ReportSection(
    "environment", "Environment", _compute, lambda environment, figures, context: section(environment),
    json=lambda environment, context: {"environment": {**environment, "timing": notes(context)}},
    headline=_headline, headline_rank=90,
)
