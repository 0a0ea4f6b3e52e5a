"""Seed 001 (``reference.two_layer_sums``): indexed sums, one hidden layer, no
bias, δ = −∂E/∂net, Δ added with ``+=``.

The seed's figure is lost and its text names no sizes (only I, J, K with
indices from 0), so the fixture network is a small I-J-K = 3-4-2 sigmoid
network with pairwise different widths, so that a transposed V or W cannot
go unnoticed.
"""

import numpy as np
import pytest

from backprop_reference import oracles
from tests.helpers import TOL, check_structure, close  # noqa: F401
from backprop_reference import reference
from backprop_reference.reference import MLP
from backprop_reference.reference.notations import two_layer_sums
from backprop_reference.reference.cases import derivative_is_finite, make_case

ORACLE_NAMES = tuple(oracles.ORACLES)






# --- (a) the seed's network, in the document's own layout -------------------

SEED_MLP = MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error", bias="none")

# v_ij: from input i (row) to hidden j (column) — source-major, I×J = 3×4.
SEED_V = np.array(
    [
        [0.15, -0.20, 0.35, 0.10],
        [-0.30, 0.25, 0.05, -0.40],
        [0.45, 0.10, -0.15, 0.20],
    ],
    dtype=np.float64,
)
# w_jk: from hidden j (row) to output k (column) — J×K = 4×2.
SEED_W = np.array([[0.50, -0.60], [-0.25, 0.30], [0.40, 0.20], [-0.10, 0.55]], dtype=np.float64)
SEED_x = np.array([1.0, 0.5, -1.5], dtype=np.float64)
SEED_d = np.array([0.2, 0.9], dtype=np.float64)


def test_seed_network_converts_to_canonical_and_back():
    params = two_layer_sums.from_document(SEED_V, SEED_W)
    (W1, b1), (W2, b2) = params
    assert W1.dtype == W2.dtype == np.float64
    assert W1.shape == (4, 3) and W2.shape == (2, 4)  # canonical: row = destination
    assert b1 is None and b2 is None  # the document has no bias terms
    assert W1[3, 0] == SEED_V[0, 3] and W2[1, 2] == SEED_W[2, 1]  # v_03 = W^1[3, 0], w_21 = W^2[1, 2]
    V, W = two_layer_sums.to_document(params)
    assert np.array_equal(V, SEED_V) and np.array_equal(W, SEED_W)
    assert two_layer_sums.cannot_express(SEED_MLP) is None


def test_seed_network_forward_and_deltas_follow_the_document():
    O_i, net_j, O_j, net_k, O_k = two_layer_sums.forward(SEED_MLP, SEED_V, SEED_W, SEED_x)
    zs, activations = reference.forward(SEED_MLP, two_layer_sums.from_document(SEED_V, SEED_W), SEED_x[None, :])
    close(net_j, zs[0][0])
    close(O_j, activations[1][0])
    close(net_k, zs[1][0])
    close(O_k, activations[2][0])
    delta_k, delta_j = two_layer_sums.deltas(SEED_MLP, SEED_W, net_j, O_j, net_k, O_k, SEED_d)
    close(delta_k, (SEED_d - O_k) * O_k * (1 - O_k))  # step 3 with the sigmoid's f' = O(1 − O)
    close(delta_j, O_j * (1 - O_j) * (SEED_W @ delta_k))  # f'(net_j) Σ_k δ_k w_jk
    Delta_V, Delta_W = two_layer_sums.increments(SEED_MLP, two_layer_sums.from_document(SEED_V, SEED_W), SEED_x, SEED_d, 0.5)
    close(Delta_W, 0.5 * np.outer(O_j, delta_k))  # Δw_jk = η δ_k O_j
    close(Delta_V, 0.5 * np.outer(O_i, delta_j))  # Δv_ij = η O_i f'(net_j) Σ_k δ_k w_jk


@pytest.mark.parametrize("oracle", ORACLE_NAMES)
def test_seed_network_agrees_with_oracles(oracle):
    params = two_layer_sums.from_document(SEED_V, SEED_W)
    X, Y = np.stack([SEED_x, -SEED_x]), np.stack([SEED_d, 1 - SEED_d])
    ours = two_layer_sums.gradients(SEED_MLP, params, X, Y)
    check_structure(ours, params)
    oracles.assert_agree(ours, oracles.gradients(SEED_MLP, params, X, Y, oracle=oracle), implementation="two_layer_sums", oracle=oracle)


# --- (b) seeded random networks it can express ----------------------------------

NETWORKS = {
    "3-4-2 sigmoid squared": MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error", bias="none"),
    "2-5-3 tanh identity squared": MLP((2, 5, 3), ("tanh", "identity"), "squared_error", bias="none"),
    "4-3-2 relu sigmoid log": MLP((4, 3, 2), ("relu", "sigmoid"), "log_loss", bias="none"),
    "1-2-1 softplus tanh squared": MLP((1, 2, 1), ("softplus", "tanh"), "squared_error", bias="none"),
    "5-3-4 leaky_relu sigmoid squared": MLP((5, 3, 4), ("leaky_relu", "sigmoid"), "squared_error", bias="none"),
}
DRAWS = [(0, 1.0, 4), (1, 3.0, 6)]  # (seed, weight scale, batch size)
CASES = [(name, draw, oracle) for name in NETWORKS for draw in DRAWS for oracle in ORACLE_NAMES]


@pytest.mark.parametrize(("network", "draw", "oracle"), CASES, ids=[f"{n}-seed{d[0]}-{o}" for n, d, o in CASES])
def test_random_networks_agree_with_oracles(network, draw, oracle):
    mlp = NETWORKS[network]
    assert two_layer_sums.cannot_express(mlp) is None
    case = make_case(mlp, *draw)
    assert case.X.dtype == case.Y.dtype == np.float64
    assert derivative_is_finite(case)
    ours = two_layer_sums.gradients(mlp, case.params, case.X, case.Y)
    check_structure(ours, case.params)
    oracles.assert_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=(oracle,), implementation="two_layer_sums")


# --- (c) networks the document cannot write ------------------------------------

REFUSED = {
    "no hidden layer": (MLP((3, 2), ("sigmoid",), "squared_error", bias="none"), "hidden layer"),
    "two hidden layers": (MLP((3, 4, 4, 2), ("sigmoid",) * 3, "squared_error", bias="none"), "hidden layer"),
    "per-neuron bias": (MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error"), "bias"),
    "shared bias on one layer": (
        MLP((3, 4, 2), ("sigmoid", "sigmoid"), "squared_error", bias=("none", "shared")),
        "bias",
    ),
    "absent connection": (
        MLP((2, 2, 1), ("sigmoid", "sigmoid"), "squared_error", bias="none", masks=(np.array([[1, 0], [1, 1]]), None)),
        "absent connections",
    ),
    "softmax output": (MLP((3, 4, 2), ("sigmoid", "softmax"), "cross_entropy", bias="none"), "does not"),
}


@pytest.mark.parametrize("network", REFUSED)
def test_cannot_express_gives_a_reason(network):
    mlp, phrase = REFUSED[network]
    reason = two_layer_sums.cannot_express(mlp)
    assert isinstance(reason, str) and phrase in reason


# --- (d) sign: the document's increment is −η × the canonical gradient ----------


@pytest.mark.parametrize("network", NETWORKS)
def test_increment_is_minus_eta_times_the_gradient_of_one_sample(network):
    mlp, eta = NETWORKS[network], 0.5
    case = make_case(mlp, seed=7, scale=1.0, batch=3)
    x, d = case.X[1], case.Y[1]
    Delta_V, Delta_W = two_layer_sums.increments(mlp, case.params, x, d, eta)
    assert Delta_V.dtype == Delta_W.dtype == np.float64
    assert Delta_V.shape == (mlp.sizes[0], mlp.sizes[1]) and Delta_W.shape == (mlp.sizes[1], mlp.sizes[2])  # source-major
    gradient = oracles.gradients(mlp, case.params, case.X[1:2], case.Y[1:2], oracle="jax")
    expected = [(-eta * dW, None) for dW, _ in gradient]
    oracles.assert_agree(two_layer_sums.from_document(Delta_V, Delta_W), expected, implementation="two_layer_sums.increments", oracle="jax")
