"""Check gradients you computed yourself for a network, in three lines."""

import numpy as np

from backprop_reference import oracles
from backprop_reference import reference

mlp = reference.MLP(sizes=(4, 8, 3), activations=("tanh", "softmax"), loss="cross_entropy")
params = reference.init_params(mlp, seed=0)
X = np.random.default_rng(1).standard_normal((16, 4))
Y = np.eye(3)[np.random.default_rng(2).integers(0, 3, size=16)]


def my_backprop(params, X, Y):
    """A hand-written backward pass (row-major, mean over the batch)."""
    (W1, b1), (W2, b2) = params
    h = np.tanh(X @ W1.T + b1)
    z = h @ W2.T + b2
    o = np.exp(z - z.max(axis=1, keepdims=True))
    o /= o.sum(axis=1, keepdims=True)
    delta2 = (o - Y) / len(X)  # softmax + cross-entropy: δ = o − y, averaged
    delta1 = (delta2 @ W2) * (1 - h**2)
    return [(delta1.T @ X, delta1.sum(0)), (delta2.T @ h, delta2.sum(0))]


# The three lines:
grads = my_backprop(params, X, Y)
verdict = oracles.check_network_gradients(mlp, params, X, Y, grads, implementation="my_backprop")
print(verdict)

# A classic slip — tanh' written as 1 − z² instead of 1 − tanh²(z) — is caught, element named:
(W1, b1), (W2, b2) = params
z1 = X @ W1.T + b1
h = np.tanh(z1)
o = np.exp(h @ W2.T + b2)
o /= o.sum(axis=1, keepdims=True)
delta2 = (o - Y) / len(X)
delta1 = (delta2 @ W2) * (1 - z1**2)
wrong = [(delta1.T @ X, delta1.sum(0)), (delta2.T @ h, delta2.sum(0))]
bad = oracles.check_network_gradients(mlp, params, X, Y, wrong, implementation="tanh' = 1 − z²")
print(bad)
assert verdict.ok and not bad.ok
