"""Benchmark of the numerical oracles: batched against the one-element loop (``make bench``).

Measures, never prints (``make bench`` wires it in):

* ``target_rows`` — the issue's target: every parameter of a 64-128-128-10
  network (tanh, tanh, softmax + cross-entropy, per-neuron biases, 26,122
  parameters), batch N = 128, float64, by central differences (with its error
  estimate), Richardson and the complex step; batched (``oracles``' own entry
  points) and the plain one-element-at-a-time loop.  The plain loop costs the
  same full forward passes for every element (4 for central, 6 for
  Richardson, 1 complex for the complex step; no element crosses a kink
  here), so it is timed on a sample of elements and scaled to all of them:
  such a row says ``estimated`` and how many elements were timed.
* ``bound_rows`` — what bounds the batched time: the activation evaluations
  the batched oracles cannot avoid (each moved element needs f on every unit
  of every layer above its own, for every sample and stencil point), times
  the measured cost of one evaluation (``np.tanh`` on float64, the complex
  step's complex-safe tanh on complex128), divided by the threads.
* ``growth_rows`` — time per full gradient of central differences and the
  complex step against the parameter count (widths w of (w, w, w, 10), depth
  L = 3) and against depth (2 to 6 hidden layers of width 64).
* ``plot_growth`` — the growth rows as a PNG (matplotlib, Agg canvas).

Times are ``time.perf_counter`` wall times, best of ``repeats`` calls (3 for
the target, 2 for the sweeps; a call over ``LONG_CALL_S`` is not repeated),
with the CPU time (``time.process_time``) of the same call beside them: on a
shared machine the CPU time shows the work when other processes take a core.
The plain loop runs as it always did, BLAS with its default threads.
``quick`` keeps a whole ``measure`` under about 20 s (one repeat, smaller
samples and sweeps, a smaller batch for the sweeps).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from oracles import complex_step, finite_differences, perturbation_batches
from reference import MLP
from reference.strategies import make_case

TARGET = MLP((64, 128, 128, 10), ("tanh", "tanh", "softmax"), "cross_entropy")
TARGET_BATCH = 128

ORACLES: dict[str, tuple[Callable, Callable]] = {
    # name: (batched, plain loop with limit=)
    "central": (finite_differences.central, finite_differences.central_plain_loop),
    "richardson": (finite_differences.richardson, finite_differences.richardson_plain_loop),
    "complex_step": (complex_step.gradients, complex_step.gradients_plain_loop),
}

STENCIL_POINTS = {"central": 4, "richardson": 6, "complex_step": 1}


@dataclass(frozen=True)
class TargetRow:
    oracle: str  # central | richardson | complex_step
    evaluation: str  # "batched" | "plain loop"
    network: str
    parameters: int
    batch: int
    dtype: str
    seconds: float  # wall time per full gradient (best of repeats; scaled when estimated)
    cpu_seconds: float  # CPU time of the same call (all threads), scaled alike
    repeats: int
    threads: int
    estimated: bool  # plain loop: timed on `sampled` elements, scaled to `parameters`
    sampled: int  # elements timed (= parameters when not estimated)
    note: str


@dataclass(frozen=True)
class BoundRow:
    oracle: str
    activation_evaluations: int  # f evaluations the batched oracle cannot avoid
    ns_per_evaluation: float  # measured here, one thread
    cpu_seconds: float  # evaluations × ns
    threads: int
    seconds: float  # cpu_seconds / threads: no batched time can be shorter
    measured_seconds: float | None  # the batched wall time of target_rows, when given
    note: str


@dataclass(frozen=True)
class GrowthRow:
    oracle: str  # central | complex_step
    sweep: str  # "width" | "depth"
    network: str
    width: int
    hidden_layers: int
    parameters: int
    batch: int
    seconds: float
    cpu_seconds: float
    repeats: int


def _parameters(mlp: MLP) -> int:
    return sum(int(np.prod(mlp.weight_shape(l))) + int(np.prod(mlp.bias_shape(l) or (0,))) for l in range(1, mlp.depth + 1))


LONG_CALL_S = 2.0  # a call this long is not repeated: its best-of gains little against the time it costs


def _best(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(wall, cpu) seconds of the fastest of ``repeats`` calls (fewer for long calls)."""
    best = (np.inf, np.inf)
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
        if best[0] > LONG_CALL_S:
            break
    return best


def _case(mlp: MLP, batch: int):
    case = make_case(mlp, seed=0, scale=1.0, batch=batch)
    return case.params, case.X, case.Y


def target_rows(quick: bool = False) -> list[TargetRow]:
    """The 64-128-128-10, N = 128, float64 target: batched and plain loop, each oracle."""
    repeats = 1 if quick else 3
    sample = {"central": 20, "richardson": 15, "complex_step": 40} if quick else {"central": 200, "richardson": 150, "complex_step": 400}
    params, X, Y = _case(TARGET, TARGET_BATCH)
    P, threads = _parameters(TARGET), perturbation_batches.available_threads()
    rows = []
    for oracle, (batched, plain) in ORACLES.items():
        wall, cpu = _best(lambda: batched(TARGET, params, X, Y), repeats)
        rows.append(TargetRow(oracle, "batched", str(TARGET), P, TARGET_BATCH, "float64", wall, cpu, repeats, threads, False, P, ""))
        k = sample[oracle]
        wall, cpu = _best(lambda: plain(TARGET, params, X, Y, limit=k), repeats)
        rows.append(TargetRow(
            oracle, "plain loop", str(TARGET), P, TARGET_BATCH, "float64", wall * P / k, cpu * P / k, repeats, 1, True, k,
            f"estimated: the first {k} elements of W^1 timed and scaled by {P}/{k}; every element costs the same "
            f"{STENCIL_POINTS[oracle]} full {'complex ' if oracle == 'complex_step' else ''}forward pass(es) in the loop",
        ))
    return rows


def activation_evaluations(mlp: MLP, batch: int, points: int) -> int:
    """Hidden-layer activation evaluations a batched oracle makes: a moved element
    of layer l needs f on its own unit's column and on every unit of the hidden
    layers above, for each sample and stencil point (the output layer's f is
    part of the loss).  Masks and shared biases are ignored (an upper count)."""
    widths = [mlp.sizes[m] * (mlp.pieces if mlp.is_maxout(m) else 1) for m in range(mlp.depth + 1)]
    total = 0
    for l in range(1, mlp.depth):  # elements of the output layer move the loss only
        elements = int(np.prod(mlp.weight_shape(l))) + int(np.prod(mlp.bias_shape(l) or (0,)))
        per_point = (mlp.pieces if mlp.is_maxout(l) else 1) + sum(widths[m] for m in range(l + 1, mlp.depth))
        total += elements * points * batch * per_point
    return total


def _ns_per_element(f: Callable, z: np.ndarray, repeats: int) -> float:
    wall, _ = _best(lambda: f(z), repeats)
    return wall / z.size * 1e9


def bound_rows(measured: list[TargetRow] | None = None, quick: bool = False) -> list[BoundRow]:
    """The target's lower bounds from its tanh evaluations alone."""
    repeats = 5 if quick else 20
    rng = np.random.default_rng(0)
    z = rng.standard_normal(perturbation_batches.CHUNK_ELEMENTS)
    zc = z + 1j * complex_step.H * rng.standard_normal(z.size)
    cost = {
        "central": (_ns_per_element(np.tanh, z, repeats), "np.tanh on float64 (the canonical f)"),
        "richardson": (_ns_per_element(np.tanh, z, repeats), "np.tanh on float64 (the canonical f)"),
        "complex_step": (_ns_per_element(complex_step.ACTIVATIONS["tanh"], zc, repeats), "the complex step's complex-safe tanh on complex128"),
    }
    threads = perturbation_batches.available_threads()
    times = {r.oracle: r.seconds for r in measured or () if r.evaluation == "batched"}
    rows = []
    for oracle, points in STENCIL_POINTS.items():
        count = activation_evaluations(TARGET, TARGET_BATCH, points)
        ns, what = cost[oracle]
        cpu = count * ns * 1e-9
        rows.append(BoundRow(
            oracle, count, ns, cpu, threads, cpu / threads, times.get(oracle),
            f"{count:,} evaluations of {what} at {ns:.2f} ns each (one thread, {z.size:,}-element arrays)",
        ))
    return rows


def _width_networks(quick: bool) -> list[tuple[int, int, MLP]]:
    widths = (16, 32, 64) if quick else (16, 32, 64, 128, 256)
    return [(w, 2, MLP((w, w, w, 10), ("tanh", "tanh", "softmax"), "cross_entropy")) for w in widths]


def _depth_networks(quick: bool) -> list[tuple[int, int, MLP]]:
    depths = (2, 3, 4) if quick else (2, 3, 4, 5, 6)
    return [(64, h, MLP((64,) * (h + 1) + (10,), ("tanh",) * h + ("softmax",), "cross_entropy")) for h in depths]


def growth_rows(quick: bool = False) -> list[GrowthRow]:
    """Time per full gradient of central differences and the complex step,
    against the parameter count (width) and against depth."""
    repeats = 1 if quick else 2
    batch = 16 if quick else 32
    rows = []
    for sweep, networks in (("width", _width_networks(quick)), ("depth", _depth_networks(quick))):
        for width, hidden, mlp in networks:
            params, X, Y = _case(mlp, batch)
            for oracle in ("central", "complex_step"):
                wall, cpu = _best(lambda: ORACLES[oracle][0](mlp, params, X, Y), repeats)
                rows.append(GrowthRow(oracle, sweep, str(mlp), width, hidden, _parameters(mlp), batch, wall, cpu, repeats))
    return rows


def measure(quick: bool = False) -> dict:
    """Every measurement of this module, JSON-serialisable."""
    target = target_rows(quick)
    return {
        "machine": {"cpus": os.cpu_count(), "threads": perturbation_batches.available_threads(), "load_average": list(os.getloadavg())},
        "quick": quick,
        "target": [asdict(r) for r in target],
        "bounds": [asdict(r) for r in bound_rows(target, quick)],
        "growth": [asdict(r) for r in growth_rows(quick)],
    }


def plot_growth(rows: list[GrowthRow] | list[dict], path) -> None:
    """Two panels — seconds against parameters (width sweep) and against hidden
    layers (depth sweep), log scales, one line per oracle — written as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = [r if isinstance(r, dict) else asdict(r) for r in rows]
    fig = Figure(figsize=(10.0, 4.2))
    FigureCanvasAgg(fig)
    for axis, (sweep, x, label) in zip(
        fig.subplots(1, 2), (("width", "parameters", "parameters (widths w of w-w-w-10)"), ("depth", "hidden_layers", "hidden layers of width 64"))
    ):
        for oracle, marker in (("central", "o"), ("complex_step", "s")):
            points = sorted((r[x], r["seconds"]) for r in rows if r["sweep"] == sweep and r["oracle"] == oracle)
            if points:
                axis.plot(*zip(*points), marker=marker, label=oracle.replace("_", " "))
        axis.set_xscale("log" if sweep == "width" else "linear")
        if sweep == "depth":
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_yscale("log")
        axis.set_xlabel(label)
        axis.set_ylabel("seconds per full gradient")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    batch = {r["batch"] for r in rows}
    fig.suptitle(f"Batched numerical oracles, float64, batch {', '.join(map(str, sorted(batch)))}")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)


# --- for `make bench` and the report's Speed section -------------------------------------

FIGURE_NAME = "bench_numerical_growth.png"
TARGETS_S = {"central": 0.5, "complex_step": 5.0}  # the limits for the 26,122-parameter network


def plot(data: dict):
    """The growth plot as a report ``Figure``."""
    from io import BytesIO

    from reports.model import Figure

    buffer = BytesIO()
    plot_growth(data["growth"], buffer)
    return Figure(
        name=FIGURE_NAME,
        png=buffer.getvalue(),
        caption="Seconds per full numerical gradient against parameter count (width sweep) and depth.",
        alt="Two log-scale panels: seconds per gradient of central differences and the complex step, against parameters and against hidden layers.",
    )


def _s(seconds: float) -> str:
    return f"{seconds:.3g}"


def tables(data: dict) -> tuple:
    from reports.model import Table

    target = data["target"]
    bounds = {b["oracle"]: b for b in data["bounds"]}
    batched = {r["oracle"]: r for r in target if r["evaluation"] == "batched"}
    plain = {r["oracle"]: r for r in target if r["evaluation"] == "plain loop"}
    rows, marks = [], []
    for oracle, row in batched.items():
        limit = TARGETS_S.get(oracle)
        met = None if limit is None else row["seconds"] <= limit
        loop = plain.get(oracle)
        bound = bounds.get(oracle)
        rows.append((
            oracle, f"{row['parameters']:,}", _s(row["seconds"]), _s(row["cpu_seconds"]),
            "—" if loop is None else _s(loop["seconds"]) + (" (est.)" if loop["estimated"] else ""),
            "—" if loop is None else f"{loop['seconds'] / row['seconds']:.0f}×",
            "—" if limit is None else f"< {limit:g}",
            "reported" if met is None else ("met" if met else "NOT MET"),
            "—" if bound is None else f"{_s(bound['seconds'])} ({bound['activation_evaluations']:,} f evaluations × {bound['ns_per_evaluation']:.2f} ns / {bound['threads']} threads)",
        ))
        marks.append("fail" if met is False else "")
    network = target[0]["network"] if target else ""
    summary = Table(
        headers=("oracle", "parameters", "batched s", "CPU s", "plain loop s", "speed-up", "target", "verdict", "floor: activation evaluations alone, s"),
        rows=tuple(rows),
        caption=(
            f"Every parameter of {network} at batch {target[0]['batch'] if target else ''}, float64, same tolerances "
            "and error estimates as before. The floor counts the activation evaluations a batched oracle cannot avoid."
        ),
        marks=tuple(marks),
    )
    growth = Table(
        headers=("oracle", "sweep", "network", "parameters", "batch", "seconds"),
        rows=tuple((g["oracle"], g["sweep"], g["network"], f"{g['parameters']:,}", str(g["batch"]), _s(g["seconds"])) for g in data["growth"]),
        caption="Cost growth of the batched numerical oracles (plotted below).",
    )
    return summary, growth
