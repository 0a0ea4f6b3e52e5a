"""Check a hand-written gradient against jax, torch, complex step and finite differences."""

import numpy as np

from backprop_reference import oracles


def f(W, x, xp):  # written against the array namespace xp: numpy, jax.numpy or torch
    return xp.sum(xp.log1p(xp.exp(W @ x)))  # Σ softplus(W x)


def grad_f(W, x):  # ∂f/∂W = σ(W x) xᵀ, derived by hand
    return np.outer(1 / (1 + np.exp(-(W @ x))), x)


rng = np.random.default_rng(0)
W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
print(oracles.check_gradient(f, grad_f, (W, x)))  # argnums=0: the gradient with respect to W


def wrong_grad_f(W, x):  # a sign slip in row 1
    g = grad_f(W, x)
    g[1] = g[1] * -1
    return g


verdict = oracles.check_gradient(f, wrong_grad_f, (W, x), oracles=("jax", "central"))
print()
print(verdict.message())
assert not verdict.ok
