"""Training with the documents' algorithms on real data, step for step against torch.optim.SGD."""

import numpy as np
import pytest

from backprop_reference import reference
from backprop_reference.oracles.methods import torch_training
from backprop_reference.reference import MLP, training
from backprop_reference.reference.worked_examples import seed_003_network

TRAJECTORY_TOLERANCE = 1e-10  # the target for float64 loss trajectories (relative to max(1, |loss|))

DATA = training.digits_split()
NET = MLP((64, 32, 10), ("tanh", "softmax"), "cross_entropy")
P0 = reference.init_params(NET, seed=0)


def trajectory_gap(ours, theirs):
    assert len(ours) == len(theirs)
    return max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("notation", [n for n in reference.NOTATIONS if reference.can_express(NET, n)])
def test_200_steps_agree_with_torch_sgd(notation):
    (X, Y, _), _ = DATA
    assert X.dtype == np.float64
    lr = training.document_lr(notation, 0.1, 32)
    run = training.train(NET, P0, X, Y, notation=notation, lr=lr, steps=200, mode="mini_batch", batch_size=32)
    losses, final = torch_training.train(NET, P0, X, Y, run.batches, lr=lr, reduction=reference.NOTATIONS[notation].step_reduction)
    assert len(run.losses) == 200
    assert trajectory_gap(run.losses, losses) <= TRAJECTORY_TOLERANCE
    assert run.losses[-1] < 0.5 * run.losses[0]  # it learned
    for (W, b), (W_t, b_t) in zip(run.params, final):
        assert np.max(np.abs(W - W_t)) <= TRAJECTORY_TOLERANCE * max(1.0, float(np.max(np.abs(W_t))))


@pytest.mark.parametrize(("mode", "steps"), [("batch", 20), ("stochastic", 200), ("mini_batch", 100)])
def test_seed_003_modes_agree_with_torch(mode, steps):
    (X, Y, _), _ = DATA
    run = training.train(NET, P0, X, Y, notation="delta_rule", lr=training.document_lr("delta_rule", 0.1, len(X) if mode == "batch" else 1 if mode == "stochastic" else 32), steps=steps, mode=mode)
    losses, _ = torch_training.train(NET, P0, X, Y, run.batches, lr=training.document_lr("delta_rule", 0.1, len(X) if mode == "batch" else 1 if mode == "stochastic" else 32), reduction="sum")
    sizes = {len(b) for b in run.batches}
    assert sizes == {len(X) if mode == "batch" else 1 if mode == "stochastic" else 32}
    assert trajectory_gap(run.losses, losses) <= TRAJECTORY_TOLERANCE


def test_digits_accuracy_of_a_64_32_10_network():
    (X, Y, _), (X_test, _, labels_test) = DATA
    run = training.train(NET, P0, X, Y, notation="column_vector", lr=0.5, steps=30 * (len(X) // 32), batch_size=32)
    assert training.accuracy(NET, run.params, X_test, labels_test) >= 0.95


def test_masked_network_trains_like_torch_and_keeps_connections_absent():
    mlp, params, X, Y = seed_003_network()
    X4, Y4 = np.repeat(X, 4, axis=0) + np.arange(4)[:, None] * 0.1, np.repeat(Y, 4, axis=0)
    run = training.train(mlp, params, X4, Y4, notation="delta_rule", lr=0.5, steps=50, mode="batch")
    losses, _ = torch_training.train(mlp, params, X4, Y4, run.batches, lr=0.5, reduction="sum")
    assert trajectory_gap(run.losses, losses) <= TRAJECTORY_TOLERANCE
    assert run.params[0][0][2, 0] == 0.0 and run.params[1][0][0, 2] == 0.0


def test_digits_split_is_fixed():
    (X1, _, l1), (X2, _, _) = training.digits_split()
    (X1b, _, l1b), _ = training.digits_split()
    assert X1.shape == (1438, 64) and X2.shape == (359, 64)
    assert np.array_equal(X1, X1b) and np.array_equal(l1, l1b)
    assert 0.0 <= X1.min() and X1.max() <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(mode="online"), ValueError, "mode must be one of"),
        (dict(steps=0), ValueError, "steps must be a positive integer"),
        (dict(batch_size=0), ValueError, "batch_size must be an integer in 1.."),
        (dict(notation="nielsen"), ValueError, "unknown notation"),
    ],
)
def test_train_rejects(kwargs, error, match):
    (X, Y, _), _ = DATA
    arguments = dict(notation="column_vector", lr=0.1, steps=2, mode="mini_batch", batch_size=32)
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        training.train(NET, P0, X[:64], Y[:64], **arguments)
