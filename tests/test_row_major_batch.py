"""Seed 004 (``reference.row_major_batch``): samples are rows, W is
(inputs × outputs), b̃ repeats bᵀ on every row, the whole batch at once.

The fixture is the worked example (形象的例子): x = (1, 4, 5), t = (0.1, 0.05),
w1 … w10 = 0.1, 0.2, …, 0.9, 0.1, ONE scalar bias per layer shared by its
neurons (b1 = b2 = 0.5), sigmoid everywhere, E = ½ Σ (o − t)², α = 0.01.
Wired as the text's equations say:
    z_h1 = w1 x1 + w3 x2 + w5 x3 + b1,  z_h2 = w2 x1 + w4 x2 + w6 x3 + b1,
    z_o1 = w7 h1 + w9 h2 + b2,          z_o2 = w8 h1 + w10 h2 + b2,
so in the document's (inputs × outputs) layout column n holds the weights into
neuron n.
"""

import numpy as np
import pytest

from backprop_reference import oracles
from tests.helpers import TOL, check_structure, close  # noqa: F401
from backprop_reference import reference
from backprop_reference.reference import MLP
from backprop_reference.reference.notations import row_major_batch
from backprop_reference.reference.mlp import BIAS_MODES
from backprop_reference.reference.cases import derivative_is_finite, make_case

ORACLE_NAMES = tuple(oracles.ORACLES)






def printed(value) -> float:
    """A computed value as the document prints it: 4 decimals."""
    return round(float(value), 4)


# --- (a) the worked example, in the document's layout ---------------------------

w1, w2, w3, w4, w5, w6, w7, w8, w9, w10 = 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.1
EXAMPLE_MLP = MLP((3, 2, 2), ("sigmoid", "sigmoid"), "squared_error", bias="shared")
EXAMPLE_W = {
    1: np.array([[w1, w2], [w3, w4], [w5, w6]], dtype=np.float64),  # rows x1, x2, x3; columns h1, h2
    2: np.array([[w7, w8], [w9, w10]], dtype=np.float64),  # rows h1, h2; columns o1, o2
}
EXAMPLE_b = {1: np.array([[0.5]], dtype=np.float64), 2: np.array([[0.5]], dtype=np.float64)}  # b1, b2: shared
EXAMPLE_X = np.array([[1.0, 4.0, 5.0]], dtype=np.float64)
EXAMPLE_T = np.array([[0.1, 0.05]], dtype=np.float64)
ALPHA = 0.01


def test_worked_example_converts_to_canonical_and_back():
    params = row_major_batch.from_document(EXAMPLE_W, EXAMPLE_b)
    (W1, b1), (W2, b2) = params
    assert W1.shape == (2, 3) and W2.shape == (2, 2) and b1.shape == b2.shape == (1,)
    assert all(a.dtype == np.float64 for a in (W1, b1, W2, b2))
    assert W1[0, 1] == w3 and W1[1, 0] == w2 and W2[1, 0] == w8 and W2[0, 1] == w9  # canonical: row = destination
    W, b = row_major_batch.to_document(EXAMPLE_MLP, params)
    assert all(np.array_equal(W[l], EXAMPLE_W[l]) and np.array_equal(b[l], EXAMPLE_b[l]) for l in (1, 2))
    assert row_major_batch.cannot_express(EXAMPLE_MLP) is None


def test_worked_example_forward_and_gradients_match_the_printed_numbers():
    h, Z = row_major_batch.forward(EXAMPLE_MLP, EXAMPLE_W, EXAMPLE_b, EXAMPLE_X)
    close(h[1], [[4.3, 5.3]])  # 0.1×1 + 0.3×4 + 0.5×5 + 0.5 and 0.2×1 + 0.4×4 + 0.6×5 + 0.5
    assert [printed(v) for v in Z[1][0]] == [0.9866, 0.9950]  # h1, h2
    assert [printed(v) for v in h[2][0]] == [2.0862, 1.3888]  # z_o1, z_o2
    assert [printed(v) for v in Z[2][0]] == [0.8896, 0.8004]  # o1, o2
    dJ_dW, dJ_db = row_major_batch.backward(EXAMPLE_MLP, EXAMPLE_W, EXAMPLE_b, h, Z, EXAMPLE_T)
    assert [[printed(v) for v in row] for row in dJ_dW[2]] == [[0.0765, 0.1183], [0.0772, 0.1193]]  # w7 w8; w9 w10
    assert [[printed(v) for v in row] for row in dJ_dW[1]] == [[0.0020, 0.0004], [0.0079, 0.0016], [0.0099, 0.0020]]
    assert printed(dJ_db[2][0, 0]) == 0.1975  # ∂E/∂b2 = δ_o1 + δ_o2
    # ∂E/∂b1 = δ_h1 + δ_h2 (all four paths); since x1 = 1 it equals ∂E/∂w1 + ∂E/∂w2.
    close(dJ_db[1][0, 0], dJ_dW[1][0, 0] + dJ_dW[1][0, 1])
    assert printed(dJ_db[1][0, 0]) == 0.0024  # the document prints 0.0008: it keeps only two of the four paths
    params = row_major_batch.from_document(EXAMPLE_W, EXAMPLE_b)
    Delta_W, _ = row_major_batch.increments(EXAMPLE_MLP, params, EXAMPLE_X, EXAMPLE_T, ALPHA)
    assert [printed(v) for v in (EXAMPLE_W[2] + Delta_W[2]).ravel()] == [0.6992, 0.7988, 0.8992, 0.0988]  # w := w − α ∂E/∂w


@pytest.mark.parametrize("oracle", ORACLE_NAMES)
def test_worked_example_agrees_with_oracles(oracle):
    params = row_major_batch.from_document(EXAMPLE_W, EXAMPLE_b)
    ours = row_major_batch.gradients(EXAMPLE_MLP, params, EXAMPLE_X, EXAMPLE_T)
    check_structure(ours, params)
    theirs = oracles.gradients(EXAMPLE_MLP, params, EXAMPLE_X, EXAMPLE_T, oracle=oracle)
    oracles.assert_agree(ours, theirs, implementation="row_major_batch", oracle=oracle)


def test_batch_cost_is_a_sum_and_the_canonical_objective_its_mean():
    mlp = MLP((3, 4, 2), ("tanh", "sigmoid"), "squared_error")
    case = make_case(mlp, seed=3, scale=1.0, batch=5)
    W, b = row_major_batch.to_document(mlp, case.params)
    h, Z = row_major_batch.forward(mlp, W, b, case.X)
    dJ_dW, dJ_db = row_major_batch.backward(mlp, W, b, h, Z, case.Y)
    summed = row_major_batch.from_document(dJ_dW, dJ_db)
    mean = row_major_batch.gradients(mlp, case.params, case.X, case.Y)
    oracles.assert_agree([(dW / 5, db / 5) for dW, db in summed], mean, implementation="row_major_batch J/N", oracle="jax")


# --- (b) seeded random networks ---------------------------------------------------

NETWORKS = {
    "3-2-2 sigmoid squared, shared bias": MLP((3, 2, 2), ("sigmoid", "sigmoid"), "squared_error", bias="shared"),
    "3-4-3-2 tanh relu softmax, mixed bias, masked": MLP(
        (3, 4, 3, 2),
        ("tanh", "relu", "softmax"),
        "cross_entropy",
        bias=("shared", "none", "neuron"),
        masks=(None, np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]]), None),
    ),
    "2-3 identity squared": MLP((2, 3), ("identity",), "squared_error"),
    "4-5-3 sigmoid log": MLP((4, 5, 3), ("sigmoid", "sigmoid"), "log_loss"),
    "3-4-2 softplus leaky_relu squared, no bias, masked": MLP(
        (3, 4, 2),
        ("softplus", "leaky_relu"),
        "squared_error",
        bias="none",
        masks=(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]]), None),
    ),
}
DRAWS = [(0, 1.0, 4), (1, 3.0, 6)]  # (seed, weight scale, batch size)
CASES = [(name, draw, oracle) for name in NETWORKS for draw in DRAWS for oracle in ORACLE_NAMES]


@pytest.mark.parametrize(("network", "draw", "oracle"), CASES, ids=[f"{n}-seed{d[0]}-{o}" for n, d, o in CASES])
def test_random_networks_agree_with_oracles(network, draw, oracle):
    mlp = NETWORKS[network]
    assert row_major_batch.cannot_express(mlp) is None
    case = make_case(mlp, *draw)
    assert case.X.dtype == case.Y.dtype == np.float64
    assert derivative_is_finite(case)
    ours = row_major_batch.gradients(mlp, case.params, case.X, case.Y)
    check_structure(ours, case.params)
    for l, (dW, _) in enumerate(ours, start=1):
        mask = mlp.mask(l)
        if mask is not None:
            assert np.all(dW[mask == 0] == 0)  # absent connections get 0
    oracles.assert_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=(oracle,), implementation="row_major_batch")


# --- (c) what it cannot express: nothing registered ----------------------------------
# Per-neuron and shared biases are the document's own b̃; "none" leaves b̃ out and
# masks are written W ⊙ Mᵀ (both flagged in the module), so no network is refused.


@pytest.mark.parametrize("bias", BIAS_MODES)
@pytest.mark.parametrize("masked", [False, True], ids=["dense", "masked"])
@pytest.mark.parametrize(("output", "loss"), [("sigmoid", "log_loss"), ("softmax", "cross_entropy"), ("identity", "squared_error")])
def test_cannot_express_refuses_nothing(bias, masked, output, loss):
    masks = (np.array([[1, 0], [1, 1], [0, 1]]), None) if masked else None
    mlp = MLP((2, 3, 2), ("tanh", output), loss, bias=bias, masks=masks)
    assert row_major_batch.cannot_express(mlp) is None
    case = make_case(mlp, seed=11, scale=1.0, batch=3)
    oracles.assert_agree(
        row_major_batch.gradients(mlp, case.params, case.X, case.Y),
        oracles.gradients(mlp, case.params, case.X, case.Y, oracle="jax"),
        implementation="row_major_batch",
        oracle="jax",
    )


# --- (d) sign: the document's step is −α × the canonical gradient -------------------


@pytest.mark.parametrize("network", NETWORKS)
def test_increment_is_minus_alpha_times_the_gradient_of_one_sample(network):
    mlp = NETWORKS[network]
    case = make_case(mlp, seed=7, scale=1.0, batch=3)
    X1, T1 = case.X[:1], case.Y[:1]
    Delta_W, Delta_b = row_major_batch.increments(mlp, case.params, X1, T1, ALPHA)
    for l in Delta_W:
        assert Delta_W[l].dtype == np.float64 and Delta_W[l].shape == (mlp.sizes[l - 1], mlp.sizes[l])  # inputs × outputs
    gradient = oracles.gradients(mlp, case.params, X1, T1, oracle="jax")
    expected = [(-ALPHA * dW, None if db is None else -ALPHA * db) for dW, db in gradient]
    oracles.assert_agree(row_major_batch.from_document(Delta_W, Delta_b), expected, implementation="row_major_batch.increments", oracle="jax")
