"""The same training with ``torch.optim.SGD``, for a step-for-step comparison.

The torch oracle's own forward pass (``oracles.methods.frameworks`` with torch's
activations and losses), the same initial weights and the same batches.  The
document's batch reduction becomes the torch loss: "mean" trains on the
batch-mean loss, "sum" on the batch-sum loss, "per_sample" takes one
optimiser step per sample in order — all with ``torch.optim.SGD(lr)`` and no
momentum.
"""

from __future__ import annotations

import numpy as np
import torch

from backprop_reference.oracles.methods.frameworks import network_per_sample
from backprop_reference.oracles.methods.torch_oracle import TORCH
from backprop_reference.reference.mlp import MLP, Params


def train(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, batches, *, lr: float, reduction: str):
    """Losses (canonical batch mean, before each step) and final parameters."""
    if reduction not in ("mean", "sum", "per_sample"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'per_sample'; got {reduction!r}")
    per_sample = network_per_sample(mlp, TORCH)
    leaves = [
        (torch.tensor(W, requires_grad=True), None if b is None else torch.tensor(b, requires_grad=True))
        for W, b in params
    ]
    flat = [t for pair in leaves for t in pair if t is not None]
    optimiser = torch.optim.SGD(flat, lr=lr)
    X_t, Y_t = torch.tensor(X), torch.tensor(Y)
    losses = []
    for indices in batches:
        index = torch.as_tensor(indices)
        Xb, Yb = X_t[index], Y_t[index]
        with torch.no_grad():
            losses.append(float(torch.mean(per_sample(leaves, Xb, Yb))))
        chunks = [(Xb[n : n + 1], Yb[n : n + 1]) for n in range(len(index))] if reduction == "per_sample" else [(Xb, Yb)]
        for Xc, Yc in chunks:
            optimiser.zero_grad()
            J = per_sample(leaves, Xc, Yc)
            objective = torch.sum(J) if reduction == "sum" else torch.mean(J)
            objective.backward()
            optimiser.step()
    final = [(W.detach().numpy().copy(), None if b is None else b.detach().numpy().copy()) for W, b in leaves]
    return losses, final
