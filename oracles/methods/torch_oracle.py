"""Oracle: ``torch.autograd`` of the problem written in PyTorch.

For a network, the forward pass uses torch's own activations and losses
(``TORCH`` below), never the hand-derived registry.  For any function
``f(x, xp)``, ``xp`` is ``torch``.  Runs on the CPU unless ``device="cuda"``
is asked for and present; TF32 matrix products are off while it runs
(``reference.precision.torch_full_precision``), so float32 results are true
float32, and the caller's settings are restored afterwards.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import Framework, OracleCannotRun, describe
from backprop_reference.reference.precision import torch_full_precision

ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,  # derivative 0 at z = 0
    "leaky_relu": F.leaky_relu,  # default slope 0.01
    # Not F.softplus: it returns z itself above threshold=20, whose derivative
    # 1 differs from σ(20) = 1 − 2e-9, far above float64 tolerances.
    "softplus": lambda z: torch.logaddexp(z, torch.zeros_like(z)),
    "softmax": lambda z: torch.softmax(z, dim=-1),
    "maxout": lambda z: torch.amax(z, dim=-1),  # z: (N, n, k) pieces
}


TORCH = Framework(
    "torch",
    torch,
    ACTIVATIONS,
    constant=lambda array, like: torch.tensor(array, dtype=like.dtype, device=like.device),
    fused={
        ("sigmoid", "log_loss"): lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="none").sum(dim=-1),
        ("softmax", "cross_entropy"): lambda z, y: -torch.sum(y * torch.log_softmax(z, dim=-1), dim=-1),
    },
    namespace="torch",
    gradient=torch.func.grad,
)


DETACHED = r".*Converting a tensor with requires_grad=True to a scalar.*"
DETACHED_REASON = (
    "f turns a tensor into a Python number (float(…), .item(), int(…)) with xp=torch, which torch.autograd "
    "treats as a constant: its gradient would be wrong"
)


def resolve_device(device: str) -> torch.device:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` as a ``torch.device``, if torch sees it."""
    if not isinstance(device, str) or not (device in ("cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but torch sees no CUDA GPU on this machine")  # noqa: E501
    return torch.device(device)


def _tensor(array, where: torch.device, differentiated: bool = False) -> torch.Tensor:
    """A NumPy array as a tensor on ``where`` in its own dtype (an ``ml_dtypes.bfloat16`` array as
    torch.bfloat16, by way of float32: exact)."""
    if array.dtype.name == "bfloat16":
        return torch.tensor(array.astype(np.float32), device=where).to(torch.bfloat16).requires_grad_(differentiated)
    return torch.tensor(array, device=where, requires_grad=differentiated)


def as_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array on the CPU (bfloat16 as float32: exact)."""
    tensor = tensor.detach().cpu()
    return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy().copy()


def _converted(data, where: torch.device):
    """The NumPy arrays in ``data`` as tensors; anything else (a layer's settings) as it is."""
    return trees.map_leaves(data, lambda _, leaf: _tensor(leaf, where) if isinstance(leaf, np.ndarray) else leaf, "data")


def prepare(problem, device: str | None = None) -> Callable[[], list]:
    """The gradient on tensors already on ``device`` (default: the problem's): call it to
    compute (waiting for the GPU), get tensors shaped like the problem's leaves."""
    where = resolve_device(problem.device if device is None else device)
    fn, data = problem.function(TORCH)
    leaves = [_tensor(leaf, where, differentiated=True) for leaf in problem.leaves]
    data = _converted(data, where)

    def call() -> list:
        with torch_full_precision(), warnings.catch_warnings():
            # float(t), t.item() on a tensor that requires grad: torch warns, then differentiates as if it were a
            # constant — a wrong gradient, never to be judged by; the warning is made the reason this oracle cannot run
            warnings.filterwarnings("error", message=DETACHED, category=UserWarning)
            try:
                value = fn(leaves, data)
            except OracleCannotRun as error:
                if isinstance(error.__cause__, UserWarning) and "to a scalar" in str(error.__cause__):
                    raise OracleCannotRun(DETACHED_REASON) from error
                raise
            except UserWarning as error:
                raise OracleCannotRun(DETACHED_REASON) from error
            except Exception as error:  # noqa: BLE001 — reported as why this oracle could not run
                raise OracleCannotRun(f"evaluating with xp=torch failed: {describe(error)}") from error
            if not isinstance(value, torch.Tensor):
                raise OracleCannotRun(f"f returned {type(value).__name__} with xp=torch, not a tensor")
            if leaves[0].dtype == torch.float64 and value.dtype != torch.float64:
                raise OracleCannotRun(f"f returned {value.dtype} for {str(leaves[0].dtype).removeprefix('torch.')} inputs with xp=torch (a constant made without dtype?)")
            try:
                grads = torch.autograd.grad(value, leaves, allow_unused=True) if value.requires_grad else [None] * len(leaves)
            except RuntimeError as error:
                raise OracleCannotRun(f"torch.autograd failed: {describe(error)}") from error
        if where.type == "cuda":
            torch.cuda.synchronize()
        return [torch.zeros_like(t) if g is None else g for t, g in zip(leaves, grads)]

    return call


def answer(problem, device: str | None = None) -> Answer:
    """``torch.autograd`` of the problem, as NumPy arrays shaped like its leaves."""
    values = [as_numpy(g) for g in prepare(problem, device)()]
    return Answer("torch", problem.layout, problem.layout.unflatten(values))


def tangent(problem, device: str | None = None) -> Answer:
    """``torch.func.jvp`` of the problem's outputs along its tangent (forward mode), as NumPy arrays."""
    where = resolve_device(problem.device if device is None else device)
    fn, data = problem.function(TORCH)
    leaves = tuple(_tensor(leaf, where) for leaf in problem.leaves)
    tangents = tuple(_tensor(np.asarray(t, dtype=leaf.dtype), where) for t, leaf in zip(problem.tangent, problem.leaves))
    data = _converted(data, where)
    with torch_full_precision(), warnings.catch_warnings():
        # torch.func.jvp's first call scripts a helper with the deprecated torch.jit.script: not the caller's concern
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated", category=DeprecationWarning)
        try:
            _, out = torch.func.jvp(lambda *moved: tuple(fn(list(moved), data)), leaves, tangents)
        except OracleCannotRun:
            raise
        except Exception as error:  # noqa: BLE001 — reported as why this oracle could not run
            raise OracleCannotRun(f"torch.func.jvp failed: {describe(error)}") from error
    values = [as_numpy(o) for o in out]
    return Answer("torch", problem.layout, problem.layout.unflatten(values))
