"""Oracle: ``torch.autograd`` of an independent PyTorch forward pass.

Nothing here comes from ``reference/``.  Runs on the CPU unless
``device="cuda"`` is asked for and present; TF32 matrix products are switched
off so float32 results are true float32.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from oracles import user_functions
from reference.network import MLP, Params

torch.backends.cuda.matmul.allow_tf32 = False  # TF32 gives ~1e-3 errors silently
torch.backends.cudnn.allow_tf32 = False

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


def _activation(name: str):
    """This oracle's own activation, or a user-registered one in torch."""
    return ACTIVATIONS[name] if name in ACTIVATIONS else user_functions.activation(name, torch, "torch")


def _per_sample_loss(loss: str, output_activation: str, z, y):
    if loss == "squared_error":
        o = _activation(output_activation)(z)
        return 0.5 * torch.sum((o - y) ** 2, dim=-1)
    if loss == "log_loss":
        if output_activation == "sigmoid":
            return F.binary_cross_entropy_with_logits(z, y, reduction="none").sum(dim=-1)
        o = _activation(output_activation)(z)
        return -torch.sum(y * torch.log(o) + (1 - y) * torch.log1p(-o), dim=-1)
    if loss == "cross_entropy":
        return -torch.sum(y * torch.log_softmax(z, dim=-1), dim=-1)
    return user_functions.loss(loss, torch, "torch")(y, _activation(output_activation)(z))


def resolve_device(device: str) -> torch.device:
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch sees no CUDA GPU on this machine")
    return torch.device(device)


def objective(mlp: MLP, device: str = "cpu", dtype=None):
    """E(leaves, X, Y) = mean_n J(y_n, o_n) on torch tensors: the oracle's forward
    pass, for ``gradients`` and for timing ``torch.autograd`` on tensors already
    on the device (``reports.bench``)."""
    for name in mlp.activations:
        _activation(name)  # raises ValueError for an activation it cannot evaluate
    where = resolve_device(device)
    masks = [None if m is None else torch.tensor(m, dtype=dtype, device=where) for m in mlp.masks]

    def layer(l, a, W, b):
        W = W if masks[l] is None else W * masks[l]  # absent connections masked out
        # a maxout layer's W is (n, k, n_in): its z has a trailing axis of k pieces
        z = torch.einsum("ipj,nj->nip", W, a) if W.dim() == 3 else a @ W.T
        return z if b is None else z + b  # b of shape (1,) is a shared bias

    def E(leaves, X, Y):
        a = X
        for l, ((W, b), name) in enumerate(zip(leaves[:-1], mlp.activations[:-1])):
            a = _activation(name)(layer(l, a, W, b))
        W, b = leaves[-1]
        z = layer(mlp.depth - 1, a, W, b)
        return torch.mean(_per_sample_loss(mlp.loss, mlp.activations[-1], z, Y))

    return E


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, device: str = "cpu") -> Params:
    """∂E/∂(W^l, b^l) by ``torch.autograd``, same structure as ``params``."""
    where = resolve_device(device)

    def leaf(array):
        return None if array is None else torch.tensor(array, device=where, requires_grad=True)

    leaves = [(leaf(W), leaf(b)) for W, b in params]
    E = objective(mlp, device, leaves[0][0].dtype)(leaves, torch.tensor(X, device=where), torch.tensor(Y, device=where))
    E.backward()

    def grad(t):
        return None if t is None else t.grad.cpu().numpy().copy()

    return [(grad(W), grad(b)) for W, b in leaves]
