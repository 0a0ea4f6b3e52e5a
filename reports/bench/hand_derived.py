"""Target 1 of the speed issue: the hand derivation at framework speed.

For networks 784-512-512-10 and 1024-2048-2048-10 (tanh, tanh, softmax with
cross-entropy) at batch 1024, in float64 and float32, each method is timed on
arrays already laid out and already on the device — nothing is converted
inside a timed call:

* ours — ``reference.fast``'s two vectorised derivations (``row_major_batch``,
  ``delta_rule``) on NumPy, on torch tensors (no autograd: they do not
  require grad) and, on the CPU, on jax arrays under ``jax.jit`` (XLA runs
  our equations; ``jax.grad`` is not called); their forward passes alone;
* the frameworks — ``torch.autograd.grad`` of the torch oracle's objective on
  leaf tensors, and ``jax.jit(jax.grad)`` of the JAX oracle's objective;
* on a GPU, a plain matrix product (N × n)(n × n) of the widest layer, whose
  FLOP rate is the yardstick for ours;
* on the CPU, the matrix products of one gradient alone, on NumPy: the floor
  under ours on NumPy, stated beside a CPU target it misses.

Timing (``reports.clock``): every method is warmed up twice (compilation,
allocator caches), then the methods take turns, one call each per round, for
``rounds`` rounds (the order rotates each round), so load on a shared machine
falls on all of them alike; a figure is the median of its rounds, with the
minimum beside it.  GPU calls end with ``torch.cuda.synchronize()``; TF32 is
off and JAX runs with x64 and full-precision products while the benchmark
runs (``reference.precision``), as in the oracles.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from backprop_reference.oracles.methods import jax_oracle, torch_oracle
from backprop_reference.oracles.engine.problems import NetworkProblem
from backprop_reference.reference import fast
from backprop_reference.reference.cases import make_case
from backprop_reference.reference.mlp import MLP
from backprop_reference.reference.precision import jax_float64, torch_full_precision
from backprop_reference.reports import clock

NETWORKS = ((784, 512, 512, 10), (1024, 2048, 2048, 10))
QUICK_NETWORKS = ((784, 512, 512, 10),)
BATCH = 1024
DTYPES = ("float64", "float32")
FRAMEWORKS = ("torch.autograd", "jax.jit(jax.grad)")
CPU_TARGET = 1.0  # gradient time / the faster framework's
FORWARD_TARGET = 3.3  # gradient time / forward time
GPU_TARGET = 1.05  # gradient time / torch.autograd's on the same GPU


@dataclass(frozen=True)
class SpeedRow:
    network: str
    dtype: str
    device: str  # "cpu" or the GPU's name
    method: str  # "row_major_batch", "delta_rule", "torch.autograd", "jax.jit(jax.grad)", "matmul", "matrix products only"
    library: str  # numpy, torch, jax, cupy
    kind: str  # "gradient", "forward", "matmul" (GPU yardstick) or "floor" (a gradient's products alone)
    median_s: float
    min_s: float
    rounds: int
    flops: float  # floating-point operations of one call (multiply-add = 2)

    @property
    def gflops_per_s(self) -> float:
        return self.flops / self.median_s / 1e9


@dataclass(frozen=True)
class Target:
    what: str
    network: str
    dtype: str
    device: str
    measured: float
    limit: float | None  # None: reported, no limit set (the GPU FLOP-rate fraction)
    met: bool | None
    detail: str


def network_name(sizes: tuple[int, ...]) -> str:
    return "-".join(map(str, sizes))


def forward_flops(sizes: tuple[int, ...], batch: int) -> float:
    return 2.0 * batch * sum(a * b for a, b in zip(sizes, sizes[1:]))


def gradient_flops(sizes: tuple[int, ...], batch: int) -> float:
    """Forward, ∂J/∂W for every layer, ∂J/∂Z for every layer but the first."""
    products = [a * b for a, b in zip(sizes, sizes[1:])]
    return 2.0 * batch * (2 * sum(products) + sum(products[1:]))


def _mlp(sizes: tuple[int, ...]) -> MLP:
    return MLP(sizes, ("tanh",) * (len(sizes) - 2) + ("softmax",), "cross_entropy")


# --- methods: name -> (library, kind, zero-argument call that returns when done) -------------

Call = Callable[[], object]


def _ours(mlp: MLP, params, X, Y, library: str, wait: Callable[[object], object]) -> dict[tuple[str, str, str], Call]:
    found = {}
    for notation in fast.names():
        form = fast.batched(notation)
        W, b = form.prepare(mlp, params)
        gradient = fast.core_for(mlp, notation, X)  # jitted for jax arrays: XLA compiles our equations
        forward = _jit(mlp, form.forward) if library == "jax" else functools.partial(form.forward, mlp)
        found[(notation, library, "gradient")] = (lambda g, W, b: lambda: wait(g(W, b, X, Y)))(gradient, W, b)
        found[(notation, library, "forward")] = (lambda f, W, b: lambda: wait(f(W, b, X)))(forward, W, b)
    return found


def _jit(mlp: MLP, forward: Callable) -> Callable:
    jitted = jax_oracle.jax.jit(lambda W, b, X: forward(mlp, W, b, X))
    return lambda W, b, X: jitted(W, b, X)


def _torch_arrays(case, device: str):
    def to(a):
        return None if a is None else torch.from_numpy(np.array(a)).to(device)

    return [(to(W), to(b)) for W, b in case.params], to(case.X), to(case.Y)


def matrix_products(mlp: MLP, case) -> Call:
    """Only the matrix products of one row-major gradient, same shapes and
    transposes, on NumPy: the floor under ours on NumPy (what bounds it)."""
    rng = np.random.default_rng(0)
    dtype = case.X.dtype
    Ws = [rng.standard_normal((a, b)).astype(dtype) for a, b in zip(mlp.sizes, mlp.sizes[1:])]
    Zs = [case.X] + [rng.standard_normal((case.X.shape[0], b)).astype(dtype) for b in mlp.sizes[1:]]

    def call():
        for l, W in enumerate(Ws):
            Zs[l] @ W  # forward: Z_{l-1} W_l
        for l in range(len(Ws) - 1, -1, -1):
            Zs[l].T @ Zs[l + 1]  # ∂J/∂W_l = Z_{l-1}ᵀ ∂J/∂h_l
            if l > 0:
                Zs[l + 1] @ Ws[l].T  # ∂J/∂Z_{l-1} = ∂J/∂h_l W_lᵀ

    return call


def cpu_methods(mlp: MLP, case) -> dict[tuple[str, str, str], Call]:
    """Call inside ``jax_float64()`` (``measure`` does): the jax arrays are float64."""
    jax = jax_oracle.jax
    cpu = jax.devices("cpu")[0]
    problem = NetworkProblem(mlp, case.params, case.X, case.Y)
    methods = _ours(mlp, case.params, case.X, case.Y, "numpy", lambda r: r)
    params, X, Y = _torch_arrays(case, "cpu")
    methods.update(_ours(mlp, params, X, Y, "torch", lambda r: r))
    jparams = jax.device_put([(W, b) for W, b in case.params], cpu)
    jX, jY = jax.device_put((case.X, case.Y), cpu)
    methods.update(_ours(mlp, jparams, jX, jY, "jax", jax.block_until_ready))
    methods[("torch.autograd", "torch", "gradient")] = torch_oracle.prepare(problem, "cpu")
    methods[("jax.jit(jax.grad)", "jax", "gradient")] = jax_oracle.prepare(problem, device=cpu)
    methods[("matrix products only", "numpy", "floor")] = matrix_products(mlp, case)
    return methods


def gpu_methods(mlp: MLP, case) -> dict[tuple[str, str, str], Call]:
    """Ours on torch CUDA tensors (and CuPy when installed), torch.autograd, jax
    when its backend is a GPU, and the matrix-product yardstick."""

    def wait(result):
        torch.cuda.synchronize()
        return result

    params, X, Y = _torch_arrays(case, "cuda")
    problem = NetworkProblem(mlp, case.params, case.X, case.Y)
    methods = _ours(mlp, params, X, Y, "torch", wait)
    methods[("torch.autograd", "torch", "gradient")] = torch_oracle.prepare(problem, "cuda")
    try:
        import cupy
    except ImportError:
        cupy = None
    if cupy is not None:
        to = (lambda a: None if a is None else cupy.asarray(a))
        cparams = [(to(W), to(b)) for W, b in case.params]

        def cupy_wait(result):
            cupy.cuda.Device().synchronize()
            return result

        methods.update(_ours(mlp, cparams, to(case.X), to(case.Y), "cupy", cupy_wait))
    jax = jax_oracle.jax
    if jax.default_backend() == "gpu":
        methods[("jax.jit(jax.grad)", "jax", "gradient")] = jax_oracle.prepare(problem, device=jax.devices()[0])
    width = max(mlp.sizes[1:-1])
    A = torch.ones((case.X.shape[0], width), dtype=X.dtype, device="cuda")
    B = torch.ones((width, width), dtype=X.dtype, device="cuda")
    methods[("matmul", "torch", "matmul")] = lambda: wait(A @ B)
    return methods


def measure(quick: bool = False, rounds: int | None = None, seed: int = 0) -> list[SpeedRow]:
    """Every method on every network, dtype and device (the GPU only when torch sees one)."""
    rounds = rounds or (3 if quick else 7)
    rows = []
    with jax_float64(), torch_full_precision():
        for sizes in QUICK_NETWORKS if quick else NETWORKS:
            rows += _network_rows(sizes, rounds, seed)
    return rows


def _network_rows(sizes: tuple[int, ...], rounds: int, seed: int) -> list[SpeedRow]:
    mlp = _mlp(sizes)
    rows = []
    for dtype in DTYPES:
        case = make_case(mlp, seed, 1.0, BATCH, np.dtype(dtype))
        devices = [("cpu", cpu_methods)] + ([(torch.cuda.get_device_name(0), gpu_methods)] if torch.cuda.is_available() else [])
        for device, make in devices:
            timed = clock.measure(make(mlp, case), warmups=2, rounds=rounds)
            for (method, library, kind), samples in timed.items():
                if kind == "matmul":
                    width = max(sizes[1:-1])
                    flops = 2.0 * BATCH * width * width
                else:
                    flops = gradient_flops(sizes, BATCH) if kind in ("gradient", "floor") else forward_flops(sizes, BATCH)
                rows.append(
                    SpeedRow(network_name(sizes), dtype, device, method, library, kind,
                             samples.median, samples.minimum, len(samples.wall), flops)
                )
    return rows


def targets(rows: list[SpeedRow]) -> list[Target]:
    """Each target of the issue, for each of our rows it applies to."""
    found = []
    groups = {(r.network, r.dtype, r.device) for r in rows}
    for network, dtype, device in sorted(groups):
        group = [r for r in rows if (r.network, r.dtype, r.device) == (network, dtype, device)]
        by = {(r.method, r.library, r.kind): r for r in group}
        frameworks = [r for r in group if r.method in FRAMEWORKS]
        ours = [r for r in group if r.method in fast.names() and r.kind == "gradient"]
        on_gpu = device != "cpu"
        for row in ours:
            forward = by.get((row.method, row.library, "forward"))
            if forward is not None:
                ratio = row.median_s / forward.median_s
                found.append(Target(
                    "gradient / forward", network, dtype, device, ratio, FORWARD_TARGET, ratio <= FORWARD_TARGET,
                    f"{row.method} on {row.library}: {row.median_s * 1e3:.1f} ms / {forward.median_s * 1e3:.1f} ms",
                ))
            if not on_gpu and frameworks:
                fastest = min(frameworks, key=lambda r: r.median_s)
                ratio = row.median_s / fastest.median_s
                floor = by.get(("matrix products only", row.library, "floor"))
                bound = (
                    f"; its matrix products alone take {floor.median_s * 1e3:.1f} ms ({floor.median_s / fastest.median_s:.2f}×)"
                    if floor is not None else ""
                )
                found.append(Target(
                    "gradient / faster framework (CPU)", network, dtype, device, ratio, CPU_TARGET, ratio <= CPU_TARGET,
                    f"{row.method} on {row.library}: {row.median_s * 1e3:.1f} ms / {fastest.method} {fastest.median_s * 1e3:.1f} ms{bound}",
                ))
            if on_gpu:
                autograd = by.get(("torch.autograd", "torch", "gradient"))
                if autograd is not None:
                    ratio = row.median_s / autograd.median_s
                    found.append(Target(
                        "gradient / torch.autograd (GPU)", network, dtype, device, ratio, GPU_TARGET, ratio <= GPU_TARGET,
                        f"{row.method} on {row.library}: {row.median_s * 1e3:.2f} ms / {autograd.median_s * 1e3:.2f} ms",
                    ))
                matmul = by.get(("matmul", "torch", "matmul"))
                if matmul is not None:
                    fraction = row.gflops_per_s / matmul.gflops_per_s
                    found.append(Target(
                        "FLOP rate / plain matmul's (GPU)", network, dtype, device, fraction, None, None,
                        f"{row.method} on {row.library}: {row.gflops_per_s:.0f} GFLOP/s of the matmul's {matmul.gflops_per_s:.0f}",
                    ))
    return found


def json_data(rows: list[SpeedRow], found: list[Target]) -> dict[str, object]:
    return {
        "batch": BATCH,
        "rows": [{**asdict(r), "gflops_per_s": r.gflops_per_s} for r in rows],
        "targets": [asdict(t) for t in found],
    }
