"""The same training with ``torch.optim.SGD``, for a step-for-step comparison.

An independent torch forward pass (the torch oracle's activations and
losses), the same initial weights and the same batches.  The document's batch
reduction becomes the torch loss: "mean" trains on the batch-mean loss,
"sum" on the batch-sum loss, "per_sample" takes one optimiser step per
sample in order — all with ``torch.optim.SGD(lr)`` and no momentum.
"""

from __future__ import annotations

import numpy as np
import torch

from oracles import torch_oracle
from reference.network import MLP, Params


def _forward_loss(mlp: MLP, leaves, X, Y):
    a = X
    for l, ((W, b), name) in enumerate(zip(leaves, mlp.activations), start=1):
        mask = mlp.mask(l)
        W_eff = W if mask is None else W * torch.tensor(mask, dtype=W.dtype)
        z = a @ W_eff.T if b is None else a @ W_eff.T + b
        a = z if l == mlp.depth else torch_oracle._activation(name)(z)
    return torch_oracle._per_sample_loss(mlp.loss, mlp.activations[-1], a, Y)  # per sample


def train(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, batches, *, lr: float, reduction: str):
    """Losses (canonical batch mean, before each step) and final parameters."""
    if reduction not in ("mean", "sum", "per_sample"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'per_sample'; got {reduction!r}")
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
            losses.append(float(torch.mean(_forward_loss(mlp, leaves, Xb, Yb))))
        chunks = [(Xb[n : n + 1], Yb[n : n + 1]) for n in range(len(index))] if reduction == "per_sample" else [(Xb, Yb)]
        for Xc, Yc in chunks:
            optimiser.zero_grad()
            per_sample = _forward_loss(mlp, leaves, Xc, Yc)
            objective = torch.sum(per_sample) if reduction == "sum" else torch.mean(per_sample)
            objective.backward()
            optimiser.step()
    final = [(W.detach().numpy().copy(), None if b is None else b.detach().numpy().copy()) for W, b in leaves]
    return losses, final
