"""Seed 002 (``reference.augmented_bias``): node deltas δ_j = −∂E_d/∂net_j with
the bias folded in as a weight w_jb on an input fixed at 1.

The fixture is the seed's pictured 3-4-2 sigmoid network: inputs 1–3,
hidden nodes 4–7, outputs 8–9; W1 = [w_41 w_42 w_43 w_4b; …] is 4×4 and
W2 = [w_84 … w_87 w_8b; w_94 … w_97 w_9b] is 2×5.  The text prints no
numbers, so the weights below are made up.
"""

import numpy as np
import pytest

from backprop_reference import oracles
from tests.helpers import TOL, check_structure, close  # noqa: F401
from backprop_reference import reference
from backprop_reference.reference import MLP
from backprop_reference.reference.notations import augmented_bias
from backprop_reference.reference.cases import derivative_is_finite, make_case

ORACLE_NAMES = tuple(oracles.ORACLES)






# --- (a) the pictured 3-4-2 network, in the document's layout ---------------------

SEED_MLP = MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error")
#                  w_j1   w_j2   w_j3   w_jb
SEED_W1 = np.array(
    [
        [0.10, -0.20, 0.30, 0.05],  # node 4
        [-0.40, 0.25, 0.15, -0.10],  # node 5
        [0.35, 0.05, -0.30, 0.20],  # node 6
        [-0.15, 0.45, 0.10, 0.00],  # node 7
    ],
    dtype=np.float64,
)
#                  w_j4   w_j5   w_j6   w_j7   w_jb
SEED_W2 = np.array(
    [
        [0.50, -0.30, 0.20, 0.40, -0.10],  # node 8
        [-0.60, 0.10, 0.70, -0.20, 0.30],  # node 9
    ],
    dtype=np.float64,
)
SEED_x = np.array([1.0, 0.5, -0.8], dtype=np.float64)  # x_1, x_2, x_3
SEED_t = np.array([0.9, 0.1], dtype=np.float64)  # t_1, t_2


def test_pictured_network_converts_to_canonical_and_back():
    params = augmented_bias.from_document(SEED_MLP, {1: SEED_W1, 2: SEED_W2})
    (W1, b1), (W2, b2) = params
    assert W1.shape == (4, 3) and b1.shape == (4,) and W2.shape == (2, 4) and b2.shape == (2,)
    assert all(a.dtype == np.float64 for a in (W1, b1, W2, b2))
    assert np.array_equal(W1, SEED_W1[:, :3]) and np.array_equal(b1, SEED_W1[:, 3])  # w_4b is b^1[0]
    assert np.array_equal(W2, SEED_W2[:, :4]) and np.array_equal(b2, SEED_W2[:, 4])
    W_aug = augmented_bias.to_document(SEED_MLP, params)
    assert sorted(W_aug) == [1, 2] and W_aug[1].shape == (4, 4) and W_aug[2].shape == (2, 5)
    assert np.array_equal(W_aug[1], SEED_W1) and np.array_equal(W_aug[2], SEED_W2)
    assert augmented_bias.cannot_express(SEED_MLP) is None


def test_pictured_network_deltas_are_the_documents_delta_8_and_delta_4():
    W_aug = {1: SEED_W1, 2: SEED_W2}
    net, a = augmented_bias.forward(SEED_MLP, W_aug, SEED_x)
    zs, activations = reference.forward(SEED_MLP, augmented_bias.from_document(SEED_MLP, W_aug), SEED_x[None, :])
    close(net[1], zs[0][0])
    close(a[2], activations[2][0])
    delta = augmented_bias.deltas(SEED_MLP, W_aug, net, a, SEED_t)
    y1, a4 = a[2][0], a[1][0]
    close(delta[2][0], y1 * (SEED_t[0] - y1) * (1 - y1))  # δ_8 = y_1 (t_1 − y_1)(1 − y_1)
    w_84, w_94 = SEED_W2[0, 0], SEED_W2[1, 0]
    close(delta[1][0], a4 * (1 - a4) * (delta[2][0] * w_84 + delta[2][1] * w_94))  # δ_4 = a_4(1 − a_4)(δ_8 w_84 + δ_9 w_94)
    eta = 0.3
    params = augmented_bias.from_document(SEED_MLP, W_aug)
    Delta = augmented_bias.increments(SEED_MLP, params, SEED_x, SEED_t, eta)
    close(Delta[1][0], eta * delta[1][0] * np.array([*SEED_x, 1.0]))  # Δw_4i = η δ_4 x_4i, x_4b = 1
    close(Delta[2][1], eta * delta[2][1] * np.array([*a[1], 1.0]))  # Δw_9i = η δ_9 x_9i


def test_downstream_follows_the_connections():
    # Cut 4 → 9: Downstream(4) = {8}, so δ_4 = a_4 (1 − a_4) δ_8 w_84.
    mask = np.ones((2, 4), dtype=int)
    mask[1, 0] = 0
    mlp = MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error", masks=(None, mask))
    W2 = SEED_W2.copy()
    W2[1, 0] = 0.0
    W_aug = {1: SEED_W1, 2: W2}
    assert augmented_bias.downstream(mlp, 1, 0) == [0] and augmented_bias.downstream(mlp, 1, 1) == [0, 1]
    net, a = augmented_bias.forward(mlp, W_aug, SEED_x)
    delta = augmented_bias.deltas(mlp, W_aug, net, a, SEED_t)
    a4 = a[1][0]
    close(delta[1][0], a4 * (1 - a4) * delta[2][0] * W2[0, 0])
    params = augmented_bias.from_document(mlp, W_aug)
    Delta = augmented_bias.increments(mlp, params, SEED_x, SEED_t, 0.3)
    assert Delta[2][1, 0] == 0.0  # no connection, no increment
    grads = augmented_bias.gradients(mlp, params, SEED_x[None, :], SEED_t[None, :])
    assert grads[1][0][1, 0] == 0.0
    oracles.assert_agree(grads, oracles.gradients(mlp, params, SEED_x[None, :], SEED_t[None, :], oracle="jax"), implementation="augmented_bias", oracle="jax")


@pytest.mark.parametrize("oracle", ORACLE_NAMES)
def test_pictured_network_agrees_with_oracles(oracle):
    params = augmented_bias.from_document(SEED_MLP, {1: SEED_W1, 2: SEED_W2})
    X, Y = np.stack([SEED_x, -SEED_x]), np.stack([SEED_t, 1 - SEED_t])
    ours = augmented_bias.gradients(SEED_MLP, params, X, Y)
    check_structure(ours, params)
    oracles.assert_agree(ours, oracles.gradients(SEED_MLP, params, X, Y, oracle=oracle), implementation="augmented_bias", oracle=oracle)


# --- (b) seeded random networks it can express ------------------------------------

NETWORKS = {
    "3-4-2 sigmoid squared": MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error"),
    "2-3 identity squared": MLP((2, 3), ("identity",), "squared_error"),
    "3-4-3-2 tanh relu softmax, bias off in layer 2, masked": MLP(
        (3, 4, 3, 2),
        ("tanh", "relu", "softmax"),
        "cross_entropy",
        bias=("neuron", "none", "neuron"),
        masks=(None, np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]]), None),
    ),
    "4-5-3 sigmoid log, no bias, masked": MLP(
        (4, 5, 3),
        ("sigmoid", "sigmoid"),
        "log_loss",
        bias="none",
        masks=(
            np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 1, 0], [1, 1, 1, 1], [0, 0, 1, 1]]),
            np.array([[1, 0, 1, 1, 0], [1, 1, 0, 1, 1], [0, 1, 1, 0, 1]]),
        ),
    ),
    "3-4-2 leaky_relu tanh squared, masked": MLP(
        (3, 4, 2), ("leaky_relu", "tanh"), "squared_error", masks=(None, np.array([[1, 0, 1, 1], [1, 1, 0, 0]]))
    ),
    "2-3-2 softplus softmax": MLP((2, 3, 2), ("softplus", "softmax"), "cross_entropy"),
}
DRAWS = [(0, 1.0, 4), (1, 3.0, 6)]  # (seed, weight scale, batch size)
CASES = [(name, draw, oracle) for name in NETWORKS for draw in DRAWS for oracle in ORACLE_NAMES]


@pytest.mark.parametrize(("network", "draw", "oracle"), CASES, ids=[f"{n}-seed{d[0]}-{o}" for n, d, o in CASES])
def test_random_networks_agree_with_oracles(network, draw, oracle):
    mlp = NETWORKS[network]
    assert augmented_bias.cannot_express(mlp) is None
    case = make_case(mlp, *draw)
    assert case.X.dtype == case.Y.dtype == np.float64
    assert derivative_is_finite(case)
    ours = augmented_bias.gradients(mlp, case.params, case.X, case.Y)
    check_structure(ours, case.params)
    for l, (dW, _) in enumerate(ours, start=1):
        mask = mlp.mask(l)
        if mask is not None:
            assert np.all(dW[mask == 0] == 0)  # absent connections get 0
    oracles.assert_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=(oracle,), implementation="augmented_bias")


# --- (c) networks the document cannot write ---------------------------------------

REFUSED = {
    "shared bias everywhere": MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error", bias="shared"),
    "shared bias in one layer": MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error", bias=("neuron", "shared")),
}


@pytest.mark.parametrize("network", REFUSED)
def test_cannot_express_gives_a_reason(network):
    reason = augmented_bias.cannot_express(REFUSED[network])
    assert isinstance(reason, str) and "w_jb" in reason


# --- (d) sign: the document's increment is −η × the canonical gradient ----------------


@pytest.mark.parametrize("network", NETWORKS)
def test_increment_is_minus_eta_times_the_gradient_of_one_sample(network):
    mlp, eta = NETWORKS[network], 0.5
    case = make_case(mlp, seed=7, scale=1.0, batch=3)
    x, t = case.X[2], case.Y[2]
    Delta = augmented_bias.increments(mlp, case.params, x, t, eta)
    for l, D in Delta.items():
        extra = 1 if mlp.bias_mode(l) == "neuron" else 0
        assert D.dtype == np.float64 and D.shape == (mlp.sizes[l], mlp.sizes[l - 1] + extra)
    gradient = oracles.gradients(mlp, case.params, case.X[2:3], case.Y[2:3], oracle="jax")
    expected = [(-eta * dW, None if db is None else -eta * db) for dW, db in gradient]
    oracles.assert_agree(augmented_bias.from_document(mlp, Delta), expected, implementation="augmented_bias.increments", oracle="jax")
