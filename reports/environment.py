"""Environment section: versions, CPU, threads, GPU (or its absence)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

import numpy as np

from reports.model import Section, Table


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
    import torch

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
    import jax
    import torch

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
