"""Timing: gradient time per call of every notation and every oracle.

compute (``measure``) → frozen records (``TimingRow``) → ``plot`` (one PNG per
device) and ``section`` (one table per device and dtype) → ``json_rows``.

Method
------
* Methods come from the registries: one per notation
  (``reference.NOTATIONS``), one per vectorised path (``reference.fast``,
  ``fast: …``, on arrays already in its layout), ``jax eager`` (``jax.grad`` of
  ``oracles.jax_oracle.objective``, not jitted), ``jax jit``
  (``oracles.jax_oracle.compiled_gradient``), one per other framework oracle
  (kind ``"analytic"``, e.g. ``torch``) and one per numerical oracle (every
  other kind: complex step, Richardson, central differences).
* Networks: a ladder of widths, sizes ``(w, w, w, 10)``, tanh/tanh/softmax
  with cross-entropy, weight scale 1, float64 and float32
  (``reference.strategies.make_case``).
* A time is the median of several calls after one untimed warm-up call (which
  also absorbs JAX's compilation).  Fast calls get more repeats, up to
  ``max_repeats``, so that their median is stable.  JAX results are waited for
  (``block_until_ready``) and on a GPU ``torch.cuda.synchronize()`` runs
  before each clock reading; TF32 is off (the oracles set it at import).
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
  under the 2.5 minutes allowed.  ``quick`` (widths 16, 64, batch 64, at
  most 3 repeats) takes about 10 s including the imports.

The notations and the numerical oracles are NumPy code: they run on the CPU
only.  torch and (when its default backend is a GPU) JAX are also timed on
the GPU when one is visible.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass
from io import BytesIO
from typing import Callable

import numpy as np

import oracles
import reference
from reference.network import MLP
from reference.strategies import make_case
from reports.model import Figure, Section, Table

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
QUICK = Plan(widths=(16, 64), batch=64, min_repeats=1, max_repeats=3, repeat_target_s=0.02, max_total_s=12.0)


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


# --- methods ---------------------------------------------------------------------------------

# A method prepares, for one network case and device, a zero-argument call that
# computes the gradient and returns only when the result is ready — or, when it
# cannot run that network, the reason as a string.
Prepare = Callable[[MLP, list, np.ndarray, np.ndarray, str], "Callable[[], object] | str"]


@dataclass(frozen=True)
class Method:
    name: str
    devices: tuple[str, ...]  # the devices it runs on ("cpu", "cuda")
    per_parameter: bool  # cost = forward pass × parameter count (numerical oracles)
    prepare: Prepare


def _notation_method(name: str) -> Method:
    def prepare(mlp, params, X, Y, device):
        reason = reference.why_cannot_express(mlp, name)
        if reason is not None:
            return f"cannot express this network: {reason}"
        return lambda: reference.gradients(mlp, params, X, Y, notation=name)

    return Method(f"notation: {name}", ("cpu",), False, prepare)


def _fast_method(name: str) -> Method:
    """A ``reference.fast`` path's gradient on arrays already in its layout:
    NumPy on the CPU, torch tensors (no autograd) on a GPU."""

    def prepare(mlp, params, X, Y, device):
        from reference import fast

        path = fast.FAST_PATHS[name]
        reason = path.cannot_express(mlp)
        if reason is not None:
            return f"cannot express this network: {reason}"
        if device == "cpu":
            W, b = path.prepare(mlp, params)
            return lambda: path.core(mlp, W, b, X, Y)
        import torch

        to = (lambda a: None if a is None else torch.from_numpy(np.array(a)).to("cuda"))
        W, b = path.prepare(mlp, [(to(W_), to(b_)) for W_, b_ in params])
        tX, tY = to(X), to(Y)

        def call():
            result = path.core(mlp, W, b, tX, tY)
            torch.cuda.synchronize()
            return result

        return call

    return Method(f"fast: {name}", ("cpu", "cuda"), False, prepare)


def _jax_device(device: str):
    import jax

    from oracles import jax_oracle  # noqa: F401  (x64 and full-precision matmuls before any array)

    return jax.devices("cpu")[0] if device == "cpu" else jax.devices()[0]


def _jax_method(jit: bool) -> Method:
    def prepare(mlp, params, X, Y, device):
        import jax

        from oracles import jax_oracle

        where = _jax_device(device)
        on_device = jax.device_put(([(W, b) for W, b in params], X, Y), where)
        gradient = jax_oracle.compiled_gradient(mlp) if jit else jax.grad(jax_oracle.objective(mlp))
        return lambda: jax.block_until_ready(gradient(*on_device))

    return Method("jax jit" if jit else "jax eager", _jax_devices(), False, prepare)


def _jax_devices() -> tuple[str, ...]:
    import jax

    from oracles import jax_oracle  # noqa: F401

    return ("cpu", "cuda") if jax.default_backend() == "gpu" else ("cpu",)


def _torch_method(name: str) -> Method:
    def prepare(mlp, params, X, Y, device):
        import torch

        if device == "cpu":
            return lambda: oracles.gradients(mlp, params, X, Y, oracle=name)

        def call():
            torch.cuda.synchronize()  # nothing of an earlier call still running
            result = oracles.gradients(mlp, params, X, Y, oracle=name, device="cuda")
            torch.cuda.synchronize()
            return result

        return call

    return Method(name, ("cpu", "cuda"), False, prepare)


def _oracle_method(name: str, numerical: bool) -> Method:
    def prepare(mlp, params, X, Y, device):
        return lambda: oracles.gradients(mlp, params, X, Y, oracle=name)

    return Method(name, ("cpu",), numerical, prepare)


def methods() -> list[Method]:
    """Every timed method, from the registries: notations, then oracles in
    registry order (``jax`` as eager and jit)."""
    from reference import fast

    found = [_notation_method(name) for name in reference.NOTATIONS]
    found += [_fast_method(name) for name in fast.FAST_PATHS]
    for name, oracle in oracles.ORACLES.items():
        if name == "jax":
            found += [_jax_method(jit=False), _jax_method(jit=True)]
        elif name == "torch":
            found.append(_torch_method(name))
        else:  # kind "analytic": one backward pass; any other kind: forward passes per parameter
            found.append(_oracle_method(name, numerical=oracle.kind != "analytic"))
    return found


# --- environment -----------------------------------------------------------------------------


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def environment_notes() -> dict[str, object]:
    """Thread counts and devices behind the numbers."""
    import jax
    import torch

    from oracles import jax_oracle  # noqa: F401
    from oracles import torch_oracle  # noqa: F401  (TF32 off)

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cuda = _cuda_available()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "torch_num_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "jax_version": jax.__version__,
        "jax_backend": jax.default_backend(),
        "numpy_version": np.__version__,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        # other processes' load slows multi-threaded libraries (torch, BLAS) most
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


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
    start = time.perf_counter()
    call()  # warm-up: first-call allocation, JAX compilation, torch initialisation
    warm_up = time.perf_counter() - start
    if warm_up > 2 * budget_s:  # the prediction was wrong: do not spend the repeats too
        return warm_up, 1, (f"warm-up call only (first-call costs included): it took {warm_up:.2g} s, "
                            f"over twice the budget {budget_s:g} s")
    times = []
    for _ in range(plan.max_repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        if times[0] > budget_s:
            return times[0], 1, f"one timed call only: it took {times[0]:.2g} s, over the budget {budget_s:g} s"
        wanted = min(plan.max_repeats, max(plan.min_repeats, math.floor(plan.repeat_target_s / times[0])))
        if len(times) >= wanted:
            break
    return statistics.median(times), len(times), ""


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
        if time.perf_counter() > deadline:
            rows.append(row(note=f"skipped: the run's time cap of {plan.max_total_s:g} s was reached"))
            continue
        case = make_case(mlp, seed, SCALE, plan.batch, dtype)
        prepared = method.prepare(mlp, case.params, case.X, case.Y, device)
        if isinstance(prepared, str):
            rows.append(row(note=prepared))
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


def _width(row: TimingRow) -> int:
    return row.sizes[1]


DEVICE_TITLES = {"cpu": "CPU", "cuda": "GPU (CUDA)"}
# matplotlib's ten default colours, then five dark ones; markers change once the colours run out
PALETTE = tuple(f"C{i}" for i in range(10)) + ("black", "#7f0000", "#005f5f", "#5f5f00", "#3f007f")
MARKERS = "osD^v"


def plot(rows: list[TimingRow]) -> list[Figure]:
    """One log-log PNG per device: time per call against width, one line per
    method, float64 solid and float32 dashed; skipped networks leave no point."""
    # The object-oriented API without pyplot: an Agg canvas, no global figure
    # registry to close, and no backend switch for whoever imported pyplot.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.lines import Line2D

    order = list(dict.fromkeys(r.method for r in rows))
    figures = []
    for device in dict.fromkeys(r.device for r in rows):
        measured = [r for r in rows if r.device == device and r.median_s is not None]
        if not measured:
            continue
        fig = MplFigure(figsize=(9.0, 5.6))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(order)}
        marks = {m: MARKERS[(i // len(PALETTE)) % len(MARKERS)] for i, m in enumerate(order)}
        for method in order:
            for dtype, style in (("float64", "-"), ("float32", "--")):
                points = sorted((_width(r), r.median_s) for r in measured if r.method == method and r.dtype == dtype)
                if not points:
                    continue
                xs, ys = zip(*points)
                ax.plot(xs, ys, linestyle=style, marker=marks[method], color=colours[method], linewidth=1.5, ms=4)
        # the legend: one entry per method (its colour), then the two line styles
        handles = [Line2D([], [], color=colours[m], marker=marks[m], markersize=4, label=m)
                   for m in order if any(r.method == m for r in measured)]
        handles += [Line2D([], [], color="black", linestyle=style, label=dtype)
                    for dtype, style in (("float64", "-"), ("float32", "--"))]
        batch = measured[0].batch
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        widths = sorted({_width(r) for r in rows if r.device == device})
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.set_xlabel(f"width w (network sizes (w, w, w, {OUTPUTS}), tanh/tanh/softmax)")
        ax.set_ylabel("median time per gradient call (s)")
        ax.set_title(f"Gradient time per call on the {DEVICE_TITLES.get(device, device)}, batch {batch}")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
        buffer = BytesIO()
        fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
        fig.clear()
        name = f"timing_{device}.png"
        figures.append(Figure(
            name=name,
            png=buffer.getvalue(),
            caption=f"Median gradient time per call against width on the {DEVICE_TITLES.get(device, device)} "
                    "(log-log); a method stops where its next network was predicted over the budget.",
            alt=f"log-log plot of gradient time per call against network width on the {device}, "
                f"one line per method, float64 solid and float32 dashed",
        ))
    return figures


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

    ``environment``: ``environment_notes()`` taken when ``rows`` were measured
    (taken now if not given); ``budget_s``: the budget ``measure`` was given."""
    env = environment_notes() if environment is None else environment
    widths = sorted({_width(r) for r in rows})
    batches = sorted({r.batch for r in rows})
    intro = (
        "Gradient time per call of every notation and oracle, on networks of sizes (w, w, w, 10) with "
        f"w in {', '.join(map(str, widths))} (tanh, tanh, softmax with cross-entropy), batch "
        f"{', '.join(map(str, batches))}, in float64 and float32. "
        "Each time is the median of several calls after one untimed warm-up call (which also absorbs "
        "JAX's compilation); fast calls get more repeats, and `repeats` says how many. `jax eager` is "
        "`jax.grad` of the JAX objective without `jit`; `jax jit` is `compiled_gradient` on arrays "
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


__all__ = [
    "DEFAULT_BUDGET_S",
    "FULL",
    "QUICK",
    "Plan",
    "TimingRow",
    "environment_notes",
    "format_seconds",
    "json_rows",
    "measure",
    "methods",
    "plot",
    "section",
]
