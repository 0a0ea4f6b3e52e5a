"""The hand-derived gradient through its public entry point, for every registered activation.

``reference.gradients(mlp, params, X, Y, notation="row_major_batch")`` — what a
user calls, validation and layout conversions included — against the plain
torch.autograd script a user would write for the same network on the same
NumPy arrays (tensors made with ``torch.from_numpy``, torch's own activation,
``log_softmax`` cross-entropy, ``torch.autograd.grad``, the gradients back as
NumPy arrays).  784-512-512-10 at batch 1024, float64 and float32, one row
per hidden activation in the registry (softmax is the output).  Beside them,
what bounds ours: the gradient's matrix products alone on NumPy (its BLAS),
and the same derivation on torch tensors through ``reference.fast.gradients``
(torch's BLAS, no autograd).  Times from ``reports.clock``, each method in a
block of its own (two warm-ups, then ``rounds`` calls); the figure is the
median, the ratio ours ÷ torch's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from backprop_reference import reference
from backprop_reference.reference import fast
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.cases import make_case
from backprop_reference.reference.mlp import MLP
from backprop_reference.reports import clock
from backprop_reference.reports.bench.hand_derived import matrix_products

SIZES = (784, 512, 512, 10)
QUICK_SIZES = (256, 256, 256, 10)
BATCH = 1024
TARGET = 1.0  # ours ÷ the torch.autograd script


def _torch_maxout(z):
    return torch.amax(z, dim=-1)


TORCH_FORMS = {  # torch's own function for each registered hidden activation
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": F.leaky_relu,
    "softplus": F.softplus,
    "gelu": lambda z: F.gelu(z, approximate="tanh"),
    "elu": F.elu,
    "silu": F.silu,
    "maxout": _torch_maxout,
}


def hidden_activations() -> list[str]:
    """Every registered activation a hidden layer may use (not softmax), in registry order."""
    return [name for name, a in ACTIVATIONS.items() if not a.output_only]


@dataclass(frozen=True)
class ApiRow:
    activation: str
    network: str
    dtype: str
    ours_s: float  # median seconds of reference.gradients(notation="row_major_batch")
    torch_s: float  # median seconds of the torch.autograd script
    ratio: float
    rounds: int
    floor_s: float  # the gradient's matrix products alone, on NumPy: what bounds ours
    on_torch_s: float  # the same derivation on torch tensors (reference.fast.gradients, no autograd): torch's BLAS
    note: str


def torch_script(mlp: MLP, activation):
    """The plain torch.autograd script: NumPy in, NumPy out."""

    def gradients(params, X, Y):
        leaves = []
        for W, b in params:
            leaves += [torch.from_numpy(W).requires_grad_(), torch.from_numpy(b).requires_grad_()]
        a = torch.from_numpy(X)
        for l in range(mlp.depth):
            W, b = leaves[2 * l], leaves[2 * l + 1]
            z = torch.einsum("ipj,nj->nip", W, a) + b if W.ndim == 3 else a @ W.T + b
            a = activation(z) if l < mlp.depth - 1 else z
        loss = -(torch.from_numpy(Y) * torch.log_softmax(a, dim=-1)).sum(dim=-1).mean()
        return [g.numpy() for g in torch.autograd.grad(loss, leaves)]

    return gradients


def measure(quick: bool = False, rounds: int | None = None) -> list[ApiRow]:
    rounds = rounds or (3 if quick else 7)
    sizes = QUICK_SIZES if quick else SIZES
    rows = []
    for name in hidden_activations():
        mlp = MLP(sizes, (name,) * (len(sizes) - 2) + ("softmax",), "cross_entropy")
        script = torch_script(mlp, TORCH_FORMS.get(name) or (lambda z, f=ACTIVATIONS[name].xp_f: f(z, torch)))
        for dtype in ("float64", "float32"):
            case = make_case(mlp, 0, 1.0, BATCH, np.dtype(dtype))
            params, X, Y = case.params, case.X, case.Y
            ours = reference.gradients(mlp, params, X, Y, notation="row_major_batch")
            theirs = script(params, X, Y)
            flat = [g for pair in ours for g in pair]
            worst = max(float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30)) for a, b in zip(flat, theirs))
            tensors = [(torch.from_numpy(W), torch.from_numpy(b)) for W, b in params]
            tX, tY = torch.from_numpy(X), torch.from_numpy(Y)
            methods = {
                "ours": lambda: reference.gradients(mlp, params, X, Y, notation="row_major_batch"),
                "torch": lambda: script(params, X, Y),
                "ours on torch": lambda: fast.gradients(mlp, tensors, tX, tY, notation="row_major_batch"),
                "floor": matrix_products(mlp, case),
            }
            # each method in its own block: taking turns call by call makes one library's idle BLAS
            # threads (OpenBLAS spins after a call) compete with the next library's, which slows torch 2×
            timed = {key: clock.measure({key: call}, warmups=2, rounds=rounds)[key] for key, call in methods.items()}
            o, t = timed["ours"].median, timed["torch"].median
            rows.append(ApiRow(name, "-".join(map(str, sizes)), dtype, o, t, o / t, len(timed["ours"].wall), timed["floor"].median,
                               timed["ours on torch"].median,
                               f"largest difference from torch, relative to the leaf's largest element: {worst:.1e}"))
    return rows


def json_data(rows: list[ApiRow]) -> dict:
    return {"batch": BATCH, "target": TARGET, "rows": [asdict(r) for r in rows]}
