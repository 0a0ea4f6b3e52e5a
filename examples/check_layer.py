"""Check a CS231n-style layer: out, cache = forward(x, …); dx, … = backward(dout, cache)."""

import numpy as np

from backprop_reference import oracles


def batchnorm_forward(x, gamma, beta, bn_param):
    """Training mode; bn_param (eps, running averages) is data: a fresh copy for every call."""
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param["eps"])
    bn_param["running_mean"] = 0.9 * bn_param.get("running_mean", 0.0) + 0.1 * mu
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + bn_param["eps"]))


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
    return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


rng = np.random.default_rng(0)
x, gamma, beta = rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal(5)
bn_param = {"eps": 1e-5}
print(oracles.check_layer(batchnorm_forward, batchnorm_backward, x, gamma, beta, bn_param))


def batchnorm_backward_slip(dout, cache):  # the path through the variance forgotten
    xhat, gamma, std = cache
    dxhat = dout * gamma
    return (dxhat - dxhat.mean(axis=0)) / std, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


verdict = oracles.check_layer(batchnorm_forward, batchnorm_backward_slip, x, gamma, beta, bn_param)
print()
print(verdict.message().splitlines()[0], verdict.message().splitlines()[1], sep="\n")
assert not verdict.ok and verdict.worst.element.startswith("x[")


class ReLU:  # an object layer: forward caches, backward reads the cache
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.x > 0)


x = rng.standard_normal((3, 4))
x[0, :2] = 0.0  # exact zeros: judged by the one-sided derivatives, not called wrong
verdict = oracles.check_layer(*oracles.object_layer(ReLU()), x)
print()
print(verdict.message().splitlines()[0])
assert verdict.ok and verdict.comparisons[0].kinks > 0
