"""Check a Hessian–vector product, a Jacobian–vector product and a small Jacobian."""

import numpy as np

from backprop_reference import oracles


def loss(w, xp):  # logistic regression on fixed data, written against xp
    X = xp.asarray(np.linspace(-1.0, 1.0, 12).reshape(4, 3))
    y = xp.asarray(np.array([0.0, 1.0, 1.0, 0.0]))
    z = X @ w
    return xp.sum(xp.log1p(xp.exp(z)) - y * z)


def hvp(v, w):  # Xᵀ diag(σ(1 − σ)) X v
    X = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
    s = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (s * (1 - s) * (X @ v))


w = np.array([0.5, -1.0, 2.0])
print(oracles.check_hvp(loss, hvp, w))  # jax.jvp∘jax.grad, torch.func, differences of the exact gradient

wrong = oracles.check_hvp(loss, lambda v, w: hvp(v, w) * 1.0001, w)
print()
print(wrong.message().splitlines()[0])
assert not wrong.ok


def f(x, xp):
    return xp.sin(x) * x


print()
print(oracles.check_jvp(f, lambda t, x: (np.cos(x) * x + np.sin(x)) * t, np.linspace(0.1, 1.0, 5)).message().splitlines()[0])
print(oracles.check_jacobian(f, lambda x: np.diag(np.cos(x) * x + np.sin(x)), np.linspace(0.1, 1.0, 5)).message().splitlines()[0])
