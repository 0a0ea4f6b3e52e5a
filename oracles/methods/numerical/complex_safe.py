"""The complex step's own network: complex-safe activations and losses, in NumPy.

The complex step evaluates E(θ + i h) and reads the derivative off its
imaginary part (``oracles.methods.numerical.stencils``).  That needs a forward pass
that is analytic in θ and never compares complex numbers:

* sigmoid, tanh, softplus branch on the sign of the real part to stay
  overflow-free (each branch is analytic);
* softmax and log-sum-exp shift by the max of the real part (a real constant);
* relu, leaky_relu and maxout branch on the real part (maxout picks the piece
  with the largest real part): exact away from kinks; at a kink the
  branch taken is the left-hand one, like the hand derivation.

Written independently of ``reference/``, like the other oracles' networks
(``COMPLEX_SAFE`` is a ``Framework``: ``oracles.methods.frameworks`` writes the
layers once; the batched evaluation of ``oracles.methods.numerical.network_batches``
uses these functions too).
"""

from __future__ import annotations

import numpy as np

from backprop_reference.oracles.methods.frameworks import Framework


def _sign_of_real(z):
    return np.where(z.real >= 0, 1.0, -1.0)


def _sigmoid(z):
    s = _sign_of_real(z)
    e = np.exp(-s * z)  # |e| ≤ 1
    return np.where(s > 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _tanh(z):
    s = _sign_of_real(z)
    e = (-2.0 * s) * z
    np.exp(e, out=e)  # |e| ≤ 1
    d = 1.0 + e
    np.subtract(1.0, e, out=e)
    e /= d
    e *= s  # s (1 − e)/(1 + e): in place, the cost is the one complex exp
    return e


def _softplus(z):
    # log(1 + e^z) = max(x, 0) + log(1 + e^{−|z|}) with the branch chosen by Re z
    s = _sign_of_real(z)
    return np.where(s > 0, z, 0.0) + np.log1p(np.exp(-s * z))


def _logsumexp(z):
    m = np.max(z.real, axis=-1, keepdims=True)
    return m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def _softmax(z):
    return np.exp(z - _logsumexp(z))


def _maxout(z):
    winner = np.argmax(z.real, axis=-1)[..., None]
    return np.take_along_axis(z, winner, axis=-1)[..., 0]


ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "relu": lambda z: np.where(z.real > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z.real > 0, z, 0.01 * z),
    "softplus": _softplus,
    "softmax": _softmax,
    "maxout": _maxout,
}


def _log_loss_sigmoid(z, y):
    return np.sum(_softplus(z) - y * z, axis=-1)  # −y log σ(z) − (1 − y) log(1 − σ(z)) = softplus(z) − y z


def _cross_entropy_softmax(z, y):
    return -np.sum(y * (z - _logsumexp(z)), axis=-1)


COMPLEX_SAFE = Framework(
    "complex-step",
    np,
    ACTIVATIONS,
    constant=lambda array, like: array,
    fused={("sigmoid", "log_loss"): _log_loss_sigmoid, ("softmax", "cross_entropy"): _cross_entropy_softmax},
    namespace="numpy",
)
