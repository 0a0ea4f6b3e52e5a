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
The growth rows are plotted by ``reports.render.plots.growth``.

Times come from ``reports.clock``: wall times, best of ``repeats`` calls (3
for the target, 2 for the sweeps; a call over ``LONG_CALL_S`` is not
repeated), with the CPU time of the same call beside them: on a shared
machine the CPU time shows the work when other processes take a core.
The plain loop runs as it always did, BLAS with its default threads.
``quick`` keeps a whole ``measure`` under about 20 s (one repeat, smaller
samples and sweeps, a smaller batch for the sweeps).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from backprop_reference.oracles.methods import numerical
from backprop_reference.oracles.methods.numerical import network_batches
from backprop_reference.oracles.methods.numerical.complex_safe import COMPLEX_SAFE
from backprop_reference.oracles.engine.problems import NetworkProblem
from backprop_reference.reference import MLP
from backprop_reference.reference.cases import make_case
from backprop_reference.reports import clock

TARGET = MLP((64, 128, 128, 10), ("tanh", "tanh", "softmax"), "cross_entropy")
TARGET_BATCH = 128

ORACLES = ("central", "richardson", "complex_step")



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
    return clock.measure({"call": call}, warmups=0, rounds=repeats, budget_s=LONG_CALL_S)["call"].best


def _oracle(name: str, mlp: MLP, params, X, Y, **options) -> Callable[[], object]:
    """One full numerical gradient by ``name``; ``batched=False, limit=k``: the plain loop's first k elements."""
    return lambda: numerical.answer(numerical.STENCILS[name], NetworkProblem(mlp, params, X, Y), **options)


def _case(mlp: MLP, batch: int):
    case = make_case(mlp, seed=0, scale=1.0, batch=batch)
    return case.params, case.X, case.Y


def target_rows(quick: bool = False) -> list[TargetRow]:
    """The 64-128-128-10, N = 128, float64 target: batched and plain loop, each oracle."""
    repeats = 1 if quick else 3
    sample = {"central": 20, "richardson": 15, "complex_step": 40} if quick else {"central": 200, "richardson": 150, "complex_step": 400}
    params, X, Y = _case(TARGET, TARGET_BATCH)
    P, threads = _parameters(TARGET), network_batches.available_threads()
    rows = []
    for oracle in ORACLES:
        wall, cpu = _best(_oracle(oracle, TARGET, params, X, Y), repeats)
        rows.append(TargetRow(oracle, "batched", str(TARGET), P, TARGET_BATCH, "float64", wall, cpu, repeats, threads, False, P, ""))
        k = sample[oracle]
        wall, cpu = _best(_oracle(oracle, TARGET, params, X, Y, batched=False, limit=k), repeats)
        rows.append(TargetRow(
            oracle, "plain loop", str(TARGET), P, TARGET_BATCH, "float64", wall * P / k, cpu * P / k, repeats, 1, True, k,
            f"estimated: the first {k} elements of W^1 timed and scaled by {P}/{k}; every element costs the same "
            f"{numerical.STENCILS[oracle].count} full {'complex ' if oracle == 'complex_step' else ''}forward pass(es) in the loop",
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
    z = rng.standard_normal(network_batches.CHUNK_ELEMENTS)
    zc = z + 1j * 1e-30 * rng.standard_normal(z.size)
    cost = {
        "central": (_ns_per_element(np.tanh, z, repeats), "np.tanh on float64 (the canonical f)"),
        "richardson": (_ns_per_element(np.tanh, z, repeats), "np.tanh on float64 (the canonical f)"),
        "complex_step": (_ns_per_element(COMPLEX_SAFE.activations["tanh"], zc, repeats), "the complex step's complex-safe tanh on complex128"),
    }
    threads = network_batches.available_threads()
    times = {r.oracle: r.seconds for r in measured or () if r.evaluation == "batched"}
    rows = []
    for oracle in ORACLES:
        points = numerical.STENCILS[oracle].count
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
                wall, cpu = _best(_oracle(oracle, mlp, params, X, Y), repeats)
                rows.append(GrowthRow(oracle, sweep, str(mlp), width, hidden, _parameters(mlp), batch, wall, cpu, repeats))
    return rows


@dataclass(frozen=True)
class ActivationRow:
    activation: str
    network: str
    parameters: int
    batch: int
    batched_s: float  # central differences, every parameter, batched
    loop_s: float  # the plain loop, estimated from ``sampled`` elements
    sampled: int
    ratio: float  # batched ÷ loop


ACTIVATION_TARGET = 0.05  # batched ÷ plain loop, with any registered activation


def activation_rows(quick: bool = False) -> list[ActivationRow]:
    """Central differences over every parameter of the target's shape with each
    registered hidden activation (both hidden layers), batched against the plain loop."""
    from backprop_reference.reports.bench.public_api import hidden_activations

    sample = 30 if quick else 120
    batch = 32 if quick else TARGET_BATCH
    rows = []
    for name in hidden_activations():
        mlp = MLP(TARGET.sizes, (name, name, "softmax"), "cross_entropy")
        params, X, Y = _case(mlp, batch)
        P = _parameters(mlp)
        batched, _ = _best(_oracle("central", mlp, params, X, Y), 1)
        loop, _ = _best(_oracle("central", mlp, params, X, Y, batched=False, limit=sample), 1)
        loop = loop * P / sample
        rows.append(ActivationRow(name, str(mlp), P, batch, batched, loop, sample, batched / loop))
    return rows


def measure(quick: bool = False) -> dict:
    """Every measurement of this module, JSON-serialisable."""
    target = target_rows(quick)
    return {
        "activations": [asdict(r) for r in activation_rows(quick)],
        "activation_target": ACTIVATION_TARGET,
        "machine": {"cpus": os.cpu_count(), "threads": network_batches.available_threads(), "load_average": list(os.getloadavg())},
        "quick": quick,
        "target": [asdict(r) for r in target],
        "bounds": [asdict(r) for r in bound_rows(target, quick)],
        "growth": [asdict(r) for r in growth_rows(quick)],
    }
