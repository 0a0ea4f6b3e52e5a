"""Training section: each document's algorithm on the digits, step for step
against ``torch.optim.SGD``, and the accuracy a 64-32-10 network reaches."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from backprop_reference import reference
from backprop_reference.oracles.methods import torch_training
from backprop_reference.reference import MLP, training
from backprop_reference.reports.model import Figure, Section, Table
from backprop_reference.reports.render import plots
from backprop_reference.reports.sections.registry import ReportSection

NETWORK = MLP((64, 32, 10), ("tanh", "softmax"), "cross_entropy")
BASE_LR, BATCH = 0.1, 32


@dataclass(frozen=True)
class TrajectoryRow:
    notation: str
    reduction: str
    lr: float
    steps: int
    max_gap: float  # max over steps of |ours − torch| / max(1, |torch|), batch loss before each step
    first_loss: float
    last_loss: float
    seconds: float


@dataclass(frozen=True)
class TrainingResult:
    rows: tuple[TrajectoryRow, ...]
    curves: dict  # notation → losses per step
    accuracy: float
    epochs: int
    accuracy_seconds: float
    epoch_accuracy: tuple[float, ...]


def compute(quick: bool) -> TrainingResult:
    (X, Y, _), (X_test, _, labels_test) = training.digits_split()
    p0 = reference.init_params(NETWORK, seed=0)
    steps = 50 if quick else 200
    rows, curves = [], {}
    for notation in reference.NOTATIONS:
        if not reference.can_express(NETWORK, notation):
            continue
        lr = training.document_lr(notation, BASE_LR, BATCH)
        reduction = reference.NOTATIONS[notation].step_reduction
        started = time.perf_counter()
        run = training.train(NETWORK, p0, X, Y, notation=notation, lr=lr, steps=steps, batch_size=BATCH)
        seconds = time.perf_counter() - started
        losses, _ = torch_training.train(NETWORK, p0, X, Y, run.batches, lr=lr, reduction=reduction)
        gap = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(run.losses, losses))
        rows.append(TrajectoryRow(notation, reduction, lr, steps, gap, run.losses[0], run.losses[-1], seconds))
        curves[notation] = run.losses
        curves.setdefault("torch.optim.SGD", losses)
    epochs = 5 if quick else 30
    per_epoch = len(X) // BATCH
    params, accuracies = p0, []
    started = time.perf_counter()
    for epoch in range(epochs):
        run = training.train(NETWORK, params, X, Y, notation="column_vector", lr=0.5, steps=per_epoch, batch_size=BATCH, seed=epoch)
        params = run.params
        accuracies.append(training.accuracy(NETWORK, params, X_test, labels_test))
    return TrainingResult(tuple(rows), curves, accuracies[-1], epochs, time.perf_counter() - started, tuple(accuracies))


def section(result: TrainingResult, figure: Figure) -> Section:
    table = Table(
        ("notation", "update rule", "lr", "steps", "max trajectory gap", "first loss", "last loss", "time"),
        tuple(
            (r.notation, r.reduction, f"{r.lr:.4g}", str(r.steps), f"{r.max_gap:.1e}", f"{r.first_loss:.4f}", f"{r.last_loss:.4f}", f"{r.seconds:.1f} s")
            for r in result.rows
        ),
        "Gap: max over steps of |ours − torch| / max(1, |torch|), mini-batch loss before each step; target ≤ 1e-10.",
        tuple("" if r.max_gap <= 1e-10 else "fail" for r in result.rows),
    )
    intro = (
        f"scikit-learn's bundled digits (8×8, 10 classes, no download; fixed seeded 80/20 split) stand in for seed 002's "
        f"MNIST. Each notation that can express a {NETWORK} network trains with its own update rule (seed 000's step "
        f"list, mini-batches of {BATCH}; rules that sum over the batch take lr/{BATCH}) and is compared step for step with "
        f"torch.optim.SGD from the same initial weights on the same batches. Seed 000's algorithm then trains for "
        f"{result.epochs} epochs: test accuracy {100 * result.accuracy:.1f} % in {result.accuracy_seconds:.1f} s."
    )
    return Section("training", "Training", intro, (table,), (figure,))


def json_data(result: TrainingResult) -> dict:
    return {
        "trajectories": [asdict(r) for r in result.rows],
        "accuracy": result.accuracy,
        "epochs": result.epochs,
        "epoch_accuracy": list(result.epoch_accuracy),
    }


GAP = 1e-10  # the most a trajectory may stray from torch's


SECTION = ReportSection(
    "training", "Training", lambda context: compute(context.options.quick), lambda result, figures, context: section(result, figures[0]),
    figures=lambda result, context: (plots.training(result),), json=lambda result, context: {"training": json_data(result)},
    failed=lambda result, context: any(r.max_gap > GAP for r in result.rows),
)
