"""One small hand-worked case per document, with its intermediate values.

The literals were computed with mpmath at 30 digits from the document's
equations, independently of the code under test (see each docstring).
"""

import numpy as np

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.reference import MLP
from backprop_reference.reference.notations import column_vector, delta_rule

TOL = oracles.engine.tolerances.tolerance_for(np.float64, "jax")


def close(actual, expected):
    actual, expected = np.asarray(actual, dtype=np.float64).ravel(), np.asarray(expected, dtype=np.float64).ravel()
    assert actual.shape == expected.shape
    assert np.max(np.abs(actual - expected)) <= TOL.limit * max(1.0, np.max(np.abs(expected))), (actual, expected)


def test_seed_000_bp1_to_bp4_on_a_2_2_1_network():
    """x = (1, 0.5)ᵀ, y = 0.2, σ = sigmoid, C = ½(a³ − y)²;
    W² = [[0.1, −0.2], [0.4, 0.3]], b² = (0.1, −0.1)ᵀ, W³ = [[0.5, −0.6]], b³ = 0.2.
    Layers are numbered from the input as in the document: a¹ = x."""
    mlp = MLP((2, 2, 1), ("sigmoid", "sigmoid"), "squared_error")
    params = [(np.array([[0.1, -0.2], [0.4, 0.3]]), np.array([0.1, -0.1])), (np.array([[0.5, -0.6]]), np.array([0.2]))]
    x, y = np.array([[1.0], [0.5]]), np.array([[0.2]])
    W, b = column_vector.to_document(params)
    assert sorted(W) == [2, 3]  # the input layer (l = 1) has no weights
    z, a = column_vector.feedforward(mlp, W, b, x)
    close(z[2], [0.1, 0.45])
    close(a[2], [0.52497918747893999, 0.61063923394922199])
    close(z[3], [0.0961060533699368])
    close(a[3], [0.52400803725325282])
    delta_L = column_vector.output_delta(mlp, z[3], a[3], y)
    close(delta_L, [0.080815255664461978])  # BP1: (a³ − y) σ'(z³)
    nabla_b, nabla_w = column_vector.backprop(mlp, W, b, x, y)
    close(nabla_b[3], [0.080815255664461978])  # BP3
    close(nabla_b[2], [0.010076694222389855, -0.011528730679040689])  # BP2
    close(nabla_w[3], [0.042426327254632051, 0.049348965810357585])  # BP4: δ³ (a²)ᵀ
    close(nabla_w[2], [0.010076694222389855, 0.0050383471111949276, -0.011528730679040689, -0.0057643653395203447])
    assert 2 in nabla_w and 1 not in nabla_w  # "no delta for the first layer"
    # Through the public entry, one sample: the batch average is the sample's gradient.
    grads = reference.gradients(mlp, params, x.T.copy(), y.T.copy(), notation="column_vector")
    close(grads[1][0], nabla_w[3])
    close(grads[0][1], nabla_b[2])


def test_seed_003_delta_rule_on_a_2_2_1_network():
    """x = (1, 0), y = 1, sigmoid everywhere, log loss (so δ^L = o − y);
    w¹ = [[0.3, 0.2], [0.7, −0.4]], b¹ = (0.5, −0.2), w² = [[0.5, 0.7]], b² = −0.1."""
    mlp = MLP((2, 2, 1), ("sigmoid", "sigmoid"), "log_loss")
    params = [(np.array([[0.3, 0.2], [0.7, -0.4]]), np.array([0.5, -0.2])), (np.array([[0.5, 0.7]]), np.array([-0.1]))]
    w = {1: params[0][0], 2: params[1][0]}
    b = {1: params[0][1], 2: params[1][1]}
    x, y = np.array([1.0, 0.0]), np.array([1.0])
    z, a = delta_rule.forward(mlp, w, b, x)
    close(z[1], [0.8, 0.5])
    close(a[1], [0.68997448112761244, 0.62245933120185456])
    close(z[2], [0.68070877240510442])
    close(a[2], [0.66389686969849622])
    delta = delta_rule.deltas(mlp, w, z, a, y)
    close(delta[2], [-0.33610313030150378])  # o − y
    close(delta[1], [-0.035947859301157823, -0.055289838312400724])  # f'(z_i) Σ_j w_ji δ_j
    grads = reference.gradients(mlp, params, x[None, :], y[None, :], notation="delta_rule")
    close(grads[1][0], [-0.23190258293514638, -0.20921052970232382])  # δ_i a_j
    close(grads[0][0], [-0.035947859301157823, 0.0, -0.055289838312400724, 0.0])
    close(grads[0][1], delta[1])


def test_seed_003_uses_o_minus_y_only_where_exact():
    from backprop_reference.reference.shortcuts import O_MINUS_Y

    one_hot, soft = np.array([0.0, 1.0, 0.0]), np.array([0.2, 0.3, 0.4])
    assert O_MINUS_Y.applies("softmax", "cross_entropy", one_hot)
    assert not O_MINUS_Y.applies("softmax", "cross_entropy", soft)  # Σ y = 0.9
    assert O_MINUS_Y.applies("sigmoid", "log_loss", soft) and O_MINUS_Y.applies("identity", "squared_error", soft)
    assert not O_MINUS_Y.applies("sigmoid", "squared_error", one_hot)  # the classic slip
    # With Σ y ≠ 1 the general softmax path still gives the right gradient.
    mlp = MLP((2, 3), ("softmax",), "cross_entropy")
    params = reference.init_params(mlp, seed=5)
    X, Y = np.array([[0.3, -1.2]]), soft[None, :]
    oracles.assert_agree(
        reference.gradients(mlp, params, X, Y, notation="delta_rule"),
        oracles.gradients(mlp, params, X, Y, oracle="jax"),
        implementation="delta_rule",
        oracle="jax",
    )
    zs, activations = reference.forward(mlp, params, X)
    z, o = zs[-1][0], activations[-1][0]
    assert np.max(np.abs((o - soft) - delta_rule.output_delta(mlp, z, o, soft))) > 1e-3  # o − y would be wrong here
