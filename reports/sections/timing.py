"""Timing: gradient time per call of every notation and every oracle.

compute (``measure``) → frozen records (``TimingRow``) → ``section`` (one
table per device and dtype) and ``json_rows``; the plot (one PNG per device)
is ``reports.render.plots.timing``.

Method
------
* Methods come from the registries: one per notation
  (``reference.NOTATIONS``), one per whole-batch form (``reference.fast``,
  ``fast: …``, on arrays already in its layout), ``jax eager`` (``jax.grad`` of
  the JAX oracle's network, not jitted), ``jax jit`` (the JAX oracle's
  compiled gradient, ``oracles.methods.jax_oracle.prepare``), one per other framework
  oracle (kind ``"analytic"``, e.g. ``torch``) and one per numerical oracle
  (every other kind: complex step, Richardson, central differences).
* Networks: a ladder of widths, sizes ``(w, w, w, 10)``, tanh/tanh/softmax
  with cross-entropy, weight scale 1, float64 and float32
  (``reference.cases.make_case``).
* A time is the median of several calls after one untimed warm-up call (which
  also absorbs JAX's compilation), timed by ``reports.clock``.  Fast calls get
  more repeats, up to ``max_repeats``, so that their median is stable.  JAX
  results are waited for (``block_until_ready``) and on a GPU
  ``torch.cuda.synchronize()`` runs before each clock reading; TF32 is off
  while the timings run (``reference.precision.torch_full_precision``).
* Budget.  The slow methods cost far more than one backward pass — the
  per-sample and per-neuron Python loops of several notations, and the
  numerical oracles, which evaluate the network once or more per parameter.
  So every method starts on the smallest network and, before each larger
  one, its time per call is predicted from the networks measured so far
  (``predict``): cost = multiply-adds of a forward pass (times the parameter
  count for a numerical oracle); from one network, its time scaled by cost
  (an upper bound when time = a + b·cost, a, b ≥ 0); from two or more, the
  line a + b·cost through the last two.  A network predicted above
  ``budget_s`` per call is skipped, with the prediction in the note, and the
  ladder goes on predicting for the larger ones.  Should a prediction still
  fall short, a warm-up call over twice the budget ends that network's
  timing (its one time is kept, and said to be a warm-up), and a whole run
  stops measuring once ``max_total_s`` has passed (rows left say so).
* Default budget: 1 s per call, widths 4, 8, …, 1024 doubling (a doubling
  ladder keeps each prediction a short step), batch 1024, a 120 s cap: the
  default run took 70 s on two CPU cores shared with another busy process,
  under the 2.5 minutes allowed.  ``quick`` (widths 8, 16, 32, 64, batch 64,
  the median of 3 to 5 calls after the warm-up: four points per line, and no
  single call's outlier) takes about 15 s including the imports.

The notations and the numerical oracles are NumPy code: they run on the CPU
only.  torch and (when its default backend is a GPU) JAX are also timed on
the GPU when one is visible.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from backprop_reference.reference.cases import make_case
from backprop_reference.reference.mlp import MLP
from backprop_reference.reference.precision import torch_full_precision
from backprop_reference.reports import clock
from backprop_reference.reports.model import Figure, Section, Table
from backprop_reference.reports.render import plots
from backprop_reference.reports.render.plots import DEVICE_TITLES
from backprop_reference.reports.sections.environment import notes, timing_notes
from backprop_reference.reports.sections.registry import ReportSection
from backprop_reference.reports.sections.timing_methods import Method, methods

DEVICES = ("auto", "cpu", "gpu")
DTYPES = (np.float64, np.float32)
ACTIVATIONS = ("tanh", "tanh", "softmax")
LOSS = "cross_entropy"
OUTPUTS = 10
SCALE = 1.0

DEFAULT_BUDGET_S = 1.0  # per call; see the module docstring for why


@dataclass(frozen=True)
class Plan:
    """How much to measure: the width ladder, batch, repeats and run cap."""

    widths: tuple[int, ...]
    batch: int
    min_repeats: int  # timed calls after the warm-up, at least
    max_repeats: int  # ... and at most, for calls much faster than repeat_target_s
    repeat_target_s: float  # aim for about this much timed time per row
    max_total_s: float  # stop measuring once the run has taken this long


FULL = Plan(
    widths=(4, 8, 16, 32, 64, 128, 256, 512, 1024), batch=1024, min_repeats=3, max_repeats=15, repeat_target_s=0.3,
    max_total_s=120.0,
)
QUICK = Plan(widths=(8, 16, 32, 64), batch=64, min_repeats=3, max_repeats=5, repeat_target_s=0.02, max_total_s=15.0)


@dataclass(frozen=True)
class TimingRow:
    method: str
    device: str  # "cpu" or "cuda"
    dtype: str  # "float64" or "float32"
    sizes: tuple[int, ...]
    batch: int
    median_s: float | None  # None when skipped (the reason is in note)
    repeats: int  # timed calls behind the median (0 when skipped)
    ratio_to_fastest: float | None  # median_s / fastest median_s of the same (sizes, batch, dtype, device)
    note: str


def _cuda_available() -> bool:
    return bool(torch.cuda.is_available())


def _devices(device: str) -> tuple[str, ...]:
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(map(repr, DEVICES))}; got {device!r}")
    cuda = _cuda_available()
    if device == "gpu":
        if not cuda:
            raise ValueError("--device gpu: no CUDA GPU visible to torch on this machine")
        return ("cuda",)
    if device == "cpu" or not cuda:
        return ("cpu",)
    return ("cpu", "cuda")


# --- cost model and timing -------------------------------------------------------------------


def network(width: int) -> MLP:
    return MLP((width, width, width, OUTPUTS), ACTIVATIONS, LOSS)


def cost(mlp: MLP, batch: int, per_parameter: bool) -> float:
    """Multiply-adds of one forward pass (× the parameter count for a numerical oracle)."""
    forward = batch * sum(n_in * n_out for n_in, n_out in zip(mlp.sizes[:-1], mlp.sizes[1:]))
    if not per_parameter:
        return float(forward)
    parameters = sum(n_out * (n_in + 1) for n_in, n_out in zip(mlp.sizes[:-1], mlp.sizes[1:]))
    return float(forward) * parameters


def _time(call: Callable[[], object], plan: Plan, budget_s: float) -> tuple[float, int, str]:
    """Median seconds per call after one warm-up, the repeats behind it, and a note."""
    timed = clock.measure(
        {"call": call}, warmups=1, rounds=plan.min_repeats, most_rounds=plan.max_repeats,
        seconds_wanted=plan.repeat_target_s, budget_s=budget_s,
    )["call"]
    return timed.median, len(timed.wall), timed.note


def predict(history: list[tuple[int, float, float]], next_cost: float) -> tuple[float, str]:
    """Predicted seconds per call at ``next_cost`` from the measured
    ``(width, cost, seconds)`` so far, and how it was predicted.

    One point: time scaled by cost, an upper bound whenever time = a + b·cost
    with a, b ≥ 0.  Two or more: that line through the last two points
    (slope clamped at 0), which does not overrate a fixed per-call overhead
    — large for the per-sample loops — as growing with the network."""
    width, cost_last, seconds = history[-1]
    if len(history) == 1:
        return seconds * next_cost / cost_last, f"width {width} scaled by"
    width_before, cost_before, seconds_before = history[-2]
    slope = max((seconds - seconds_before) / (cost_last - cost_before), 0.0)
    return seconds + slope * (next_cost - cost_last), f"a + b·cost through widths {width_before} and {width}, cost ="


def _ladder(
    method: Method, device: str, dtype, plan: Plan, seed: int, budget_s: float, deadline: float
) -> list[TimingRow]:
    """One method on one device and dtype, smallest network first; larger ones
    are skipped once their predicted time per call exceeds the budget."""
    rows = []
    history: list[tuple[int, float, float]] = []  # (width, cost, median_s) of each measured network
    dtype_name = np.dtype(dtype).name
    model = "forward multiply-adds × parameters" if method.per_parameter else "forward multiply-adds"
    for width in plan.widths:
        mlp = network(width)

        def row(median_s=None, repeats=0, note=""):
            return TimingRow(method.name, device, dtype_name, mlp.sizes, plan.batch, median_s, repeats, None, note)

        this_cost = cost(mlp, plan.batch, method.per_parameter)
        if history:
            predicted, how = predict(history, this_cost)
            if predicted > budget_s:
                rows.append(row(note=f"skipped: predicted {predicted:.2g} s per call > budget {budget_s:g} s "
                                     f"({how} {model})"))
                continue
        case = make_case(mlp, seed, SCALE, plan.batch, dtype)
        prepared = method.prepare(mlp, case.params, case.X, case.Y, device)
        if isinstance(prepared, str):  # why it cannot run here ("cannot express …"): said even past the time cap
            rows.append(row(note=prepared))
            continue
        if time.perf_counter() > deadline:
            rows.append(row(note=f"skipped: the run's time cap of {plan.max_total_s:g} s was reached"))
            continue
        median_s, repeats, note = _time(prepared, plan, budget_s)
        rows.append(row(median_s, repeats, note))
        history.append((width, this_cost, median_s))
    return rows


def _with_ratios(rows: list[TimingRow]) -> list[TimingRow]:
    fastest: dict[tuple, float] = {}
    for r in rows:
        if r.median_s is not None:
            key = (r.sizes, r.batch, r.dtype, r.device)
            fastest[key] = min(fastest.get(key, math.inf), r.median_s)
    out = []
    for r in rows:
        if r.median_s is None:
            out.append(r)
            continue
        best = fastest[(r.sizes, r.batch, r.dtype, r.device)]
        ratio = 1.0 if r.median_s == best else r.median_s / best
        out.append(TimingRow(r.method, r.device, r.dtype, r.sizes, r.batch, r.median_s, r.repeats, ratio, r.note))
    return out


def measure(quick: bool, device: str = "auto", seed: int = 0, budget_s: float = DEFAULT_BUDGET_S) -> list[TimingRow]:
    """Time every method on the width ladder, float64 and float32, on each
    device asked for ("auto": the CPU, and the GPU when torch sees one).

    ``budget_s`` is the most a single call may be predicted to take; networks
    predicted above it are skipped with the prediction in the note.  Rows come
    ordered by device, dtype, network, then method (registry order)."""
    devices = _devices(device)
    if isinstance(budget_s, bool) or not isinstance(budget_s, (int, float)) or not budget_s > 0:
        raise ValueError(f"budget_s must be a positive number of seconds; got {budget_s!r}")
    plan = QUICK if quick else FULL
    deadline = time.perf_counter() + plan.max_total_s
    order = methods()
    rows = []
    with torch_full_precision():
        for where in devices:
            for dtype in DTYPES:
                for method in order:
                    if where in method.devices:
                        rows += _ladder(method, where, dtype, plan, seed, float(budget_s), deadline)
    rank = {m.name: i for i, m in enumerate(order)}
    rows.sort(key=lambda r: (devices.index(r.device), DTYPES.index(np.dtype(r.dtype).type), r.sizes, rank[r.method]))
    return _with_ratios(rows)


# --- rendering -------------------------------------------------------------------------------


def format_seconds(seconds: float | None) -> str:
    """Human-readable time: "812 ns", "45.6 µs", "1.23 ms", "2.05 s"; "—" for none."""
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.3g}"


def width(row: TimingRow) -> int:
    """w of the network (w, w, w, 10) a row timed."""
    return row.sizes[1]


def _table(rows: list[TimingRow], device: str, dtype: str) -> Table:
    chosen = [r for r in rows if r.device == device and r.dtype == dtype]
    return Table(
        headers=("method", "sizes", "batch", "median per call", "× fastest", "repeats", "note"),
        rows=tuple(
            (r.method, "(" + ", ".join(map(str, r.sizes)) + ")", str(r.batch), format_seconds(r.median_s),
             format_ratio(r.ratio_to_fastest), str(r.repeats), r.note)
            for r in chosen
        ),
        caption=f"{DEVICE_TITLES.get(device, device)}, {dtype}: median time per gradient call; "
                "× fastest is against the fastest method on the same network, dtype and device.",
    )


def section(
    rows: list[TimingRow],
    figures: list[Figure],
    environment: dict[str, object] | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
) -> Section:
    """The report's timing section: one table per (device, dtype), and the plots.

    ``environment``: ``timing_notes()`` taken when ``rows`` were measured
    (taken now if not given); ``budget_s``: the budget ``measure`` was given."""
    env = timing_notes() if environment is None else environment
    widths = sorted({width(r) for r in rows})
    batches = sorted({r.batch for r in rows})
    intro = (
        "Gradient time per call of every notation and oracle, on networks of sizes (w, w, w, 10) with "
        f"w in {', '.join(map(str, widths))} (tanh, tanh, softmax with cross-entropy), batch "
        f"{', '.join(map(str, batches))}, in float64 and float32. "
        "Each time is the median of several calls after one untimed warm-up call (which also absorbs "
        "JAX's compilation); fast calls get more repeats, and `repeats` says how many. `jax eager` is "
        "`jax.grad` of the JAX oracle's network without `jit`; `jax jit` is the oracle's compiled gradient on arrays "
        "already on the device, waited for with `block_until_ready`; `torch` is the oracle's public "
        "function, NumPy in and out (so on a GPU it includes the copies), with `torch.cuda.synchronize()` "
        "before the clock is read and TF32 off. "
        "Every method starts on the smallest network; before each larger one its time per call is "
        "predicted from those measured (cost = the forward pass's multiply-adds, times the parameter count "
        "for a numerical oracle, which evaluates the network once or more per parameter; from one network "
        "its time scaled by cost, from two or more the line a + b·cost through the last two), and a network "
        "predicted over the per-call budget"
        + f" of {budget_s:g} s"
        + " is skipped with its prediction in the note"
        + ". The notations and the numerical oracles are NumPy code and run on the CPU only; "
        "`two_layer_sums` and any notation that cannot express the network say so instead of a time. "
        f"Machine: {env.get('cpus_usable')} usable CPU cores of {env.get('cpu_count')}, torch with "
        f"{env.get('torch_num_threads')} threads, JAX backend `{env.get('jax_backend')}`"
        + (f", GPU `{env['cuda_device']}`" if env.get("cuda_device") else ", no CUDA GPU visible to torch")
        + (f", 1-minute load average {env['load_average_1min']}"
           if env.get("load_average_1min") is not None else "")
        + ". Times depend on the machine and its load: read the ratios, not the digits."
    )
    tables = tuple(
        _table(rows, device, dtype)
        for device in dict.fromkeys(r.device for r in rows)
        for dtype in dict.fromkeys(r.dtype for r in rows if r.device == device)
    )
    return Section(key="timing", title="Timing", intro=intro, tables=tables, figures=tuple(figures))


def json_rows(rows: list[TimingRow]) -> list[dict[str, object]]:
    return [
        {
            "method": r.method,
            "device": r.device,
            "dtype": r.dtype,
            "sizes": list(r.sizes),
            "batch": r.batch,
            "median_s": r.median_s,
            "repeats": r.repeats,
            "ratio_to_fastest": r.ratio_to_fastest,
            "note": r.note,
        }
        for r in rows
    ]


SECTION = ReportSection(
    "timing", "Timing",
    lambda context: measure(quick=context.options.quick, device=context.options.device, seed=context.options.seed),
    lambda rows, figures, context: section(rows, list(figures), notes(context)),
    figures=lambda rows, context: plots.timing(rows), json=lambda rows, context: {"timing": json_rows(rows)},
    shown_after="training",  # measured before training runs (as it always was), read after it
)


__all__ = [
    "DEFAULT_BUDGET_S",
    "FULL",
    "QUICK",
    "Plan",
    "TimingRow",
    "format_seconds",
    "json_rows",
    "measure",
    "methods",
    "section",
]
