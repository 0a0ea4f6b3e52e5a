"""Checks declared for ``backprop-check``: three layers, a function, a product — one wrong on purpose.

    backprop-check examples/gradient_checks.py --out my-report    # exit 1: the averaged dw is caught

Run as a script, it runs the same checks and prints each verdict's first line.
"""

import numpy as np

from backprop_reference import oracles

rng = np.random.default_rng(0)
X, W, B = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)


def affine_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def affine_backward_averaged(dout, cache):  # the slip: dw averaged over the batch
    x, w = cache
    return dout @ w.T, x.T @ dout / x.shape[0], dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, x):
    return dout * (x > 0)


@oracles.declare("affine layer")
def affine():
    return oracles.check_layer(affine_forward, affine_backward, X, W, B)


@oracles.declare("affine layer, dw averaged over the batch (wrong on purpose)")
def affine_averaged():
    return oracles.check_layer(affine_forward, affine_backward_averaged, X, W, B)


@oracles.declare("relu at exact zeros")
def relu():
    x = rng.standard_normal((3, 4))
    x[0, :2] = 0.0
    return oracles.check_layer(relu_forward, relu_backward, x)


def softplus_sum(x, xp):
    return xp.sum(xp.log1p(xp.exp(x)))


def sigmoid(x):
    return 0.5 * (1 + np.tanh(x / 2))


CHECKS = [
    (softplus_sum, sigmoid, rng.standard_normal(50)),  # check_gradient(softplus_sum, sigmoid, x)
    oracles.Check("tanh, vector–Jacobian product", oracles.check_vjp,
                  lambda x, xp: xp.tanh(x), lambda c, x: c * (1 - np.tanh(x) ** 2), rng.standard_normal(6)),
]


if __name__ == "__main__":
    from backprop_reference.oracles.checks.declared import collected
    import sys

    for check in collected(sys.modules[__name__]):
        verdict = check.run()
        print(f"{check.name}: {verdict.message().splitlines()[0]}")
        assert verdict.ok == ("wrong on purpose" not in check.name)
