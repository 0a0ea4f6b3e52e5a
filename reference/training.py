"""Training with the documents' algorithms (seed 000's step list, seed 003's three modes).

Seed 000 lists the procedure: initialise the parameters; set the iteration
count, batch size and learning rate (steps 1–2); take a batch (3); for each
sample, forward, loss, output delta, delta recursion, gradients, accumulate
(4–9); update with the batch's gradients (10); repeat (11).  Seed 003 names the
modes: **batch** (the whole training set per step), **stochastic** (one
sample per step) and **mini-batch**.  Steps 4–10 are one call of the chosen
notation's own update rule (``reference.sgd_step``), so each document trains
in its own sign convention and batch reduction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import forward, loss
from backprop_reference.reference.validation import check_network_inputs
from backprop_reference.reference.notations import get_notation, sgd_step

MODES = ("batch", "stochastic", "mini_batch")


@dataclass(frozen=True)
class TrainingRun:
    notation: str
    mode: str
    params: Params  # after the last step
    batches: tuple[np.ndarray, ...]  # the sample indices of every step, in order
    losses: tuple[float, ...]  # canonical mean loss on each step's batch, before its update


def batches(N: int, mode: str, batch_size: int, steps: int, seed: int) -> Iterator[np.ndarray]:
    """Sample indices for each step: a fresh shuffle every epoch (step 3)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if mode == "batch":
        for _ in range(steps):
            yield np.arange(N)
        return
    size = 1 if mode == "stochastic" else batch_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= N:
        raise ValueError(f"batch_size must be an integer in 1..{N}; got {batch_size!r}")
    rng = np.random.default_rng(seed)
    produced = 0
    while True:
        order = rng.permutation(N)
        for start in range(0, N - size + 1, size):  # an incomplete last batch is dropped
            yield order[start : start + size]
            produced += 1
            if produced == steps:
                return


def train(
    mlp: MLP,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    notation: str,
    lr: float,
    steps: int,
    mode: str = "mini_batch",
    batch_size: int = 32,
    seed: int = 0,
) -> TrainingRun:
    """Run ``steps`` updates of ``notation``'s own rule on batches drawn as ``mode`` says."""
    check_network_inputs(mlp, params, X, Y)
    get_notation(notation)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    used, losses = [], []
    for indices in batches(X.shape[0], mode, batch_size, steps, seed):
        Xb, Yb = X[indices], Y[indices]
        losses.append(float(loss(mlp, params, Xb, Yb)))
        params = sgd_step(mlp, params, Xb, Yb, lr, notation=notation)  # steps 4–10
        used.append(indices)
    return TrainingRun(notation, mode, params, tuple(used), tuple(losses))


def accuracy(mlp: MLP, params: Params, X: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose largest output is the label."""
    return float(np.mean(np.argmax(forward(mlp, params, X)[1][-1], axis=1) == labels))


def digits_split(seed: int = 0, test_fraction: float = 0.2):
    """scikit-learn's bundled handwritten digits (8×8, 10 classes; no download),
    scaled to [0, 1], one-hot targets, a fixed seeded train/test split —
    the stand-in for seed 002's MNIST."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data.astype(np.float64) / 16.0
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    cut = int(round(len(X) * (1 - test_fraction)))
    train_idx, test_idx = order[:cut], order[cut:]
    Y = np.eye(10)[labels]
    return (X[train_idx], Y[train_idx], labels[train_idx]), (X[test_idx], Y[test_idx], labels[test_idx])


def document_lr(notation: str, base_lr: float, batch_size: int) -> float:
    """The learning rate that gives ``notation``'s own rule the step a batch-mean
    rule takes with ``base_lr``: documents that sum over the batch (003, 004)
    take base_lr / batch_size; per-sample and mean rules take base_lr."""
    return base_lr / batch_size if get_notation(notation).step_reduction == "sum" else base_lr
