"""Hand-written derivatives beyond a layer's backward pass, each beside one
realistic slip: a torch.autograd.Function, a jax.custom_vjp rule, an
activation's second derivative and a Hessian–vector product.

Like ``testbed.layers`` (the layers) and ``testbed.mutants`` (the networks'
equations), this is what the checks are tried on: ``tests/test_derivatives.py``
asserts that every correct one passes and every slip is caught, and
``python -m backprop_reference.reports.derivatives`` prints each verdict with its time.  torch and
JAX are imported only by the functions that need them.
"""

from __future__ import annotations

import numpy as np


# --- a torch.autograd.Function: y = log(1 + exp(βx)) / β -------------------------------------


def torch_functions():
    """``(ScaledSoftplus, ScaledSoftplusSlip)``: the correct Function, and one whose
    ∂y/∂β forgets the −softplus(βx)/β² term."""
    import torch

    class ScaledSoftplus(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, beta):
            ctx.save_for_backward(x, beta)
            return torch.log1p(torch.exp(beta * x)) / beta

        @staticmethod
        def backward(ctx, g):
            x, beta = ctx.saved_tensors
            s = torch.sigmoid(beta * x)
            dbeta = (x * s - torch.log1p(torch.exp(beta * x)) / beta) / beta
            return g * s, (g * dbeta).sum().reshape(beta.shape)

    class ScaledSoftplusSlip(ScaledSoftplus):
        @staticmethod
        def backward(ctx, g):
            x, beta = ctx.saved_tensors
            s = torch.sigmoid(beta * x)
            return g * s, (g * x * s / beta).sum().reshape(beta.shape)

    return ScaledSoftplus, ScaledSoftplusSlip


def torch_function_inputs():
    """float32 x (4, 3) and β (1,), as a user's tensors would come."""
    import torch

    return torch.randn(4, 3, dtype=torch.float32, generator=torch.Generator().manual_seed(0)), torch.tensor([1.5])


# --- a jax.custom_vjp: y = tanh(x w) ----------------------------------------------------------------


def custom_vjps():
    """``(tanh_layer, tanh_layer_slip)``: jax.custom_vjp functions whose bwd rule is
    right, and one that writes tanh′ as 1 − y instead of 1 − y²."""
    import jax
    import jax.numpy as jnp

    def fwd(x, w):
        y = jnp.tanh(x @ w)
        return y, (x, w, y)

    def bwd(residuals, g):
        x, w, y = residuals
        d = g * (1 - y**2)
        return d @ w.T, x.T @ d

    def bwd_slip(residuals, g):
        x, w, y = residuals
        d = g * (1 - y)
        return d @ w.T, x.T @ d

    made = []
    for rule in (bwd, bwd_slip):
        @jax.custom_vjp
        def tanh_layer(x, w):
            return jnp.tanh(x @ w)

        tanh_layer.defvjp(fwd, rule)
        made.append(tanh_layer)
    return tuple(made)


def custom_vjp_inputs():
    rng = np.random.default_rng(14)
    return rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32)


# --- an activation's second derivative: softsign z / (1 + |z|) ---------------------------------


def softsign(z, xp):
    return z / (1 + xp.abs(z))


def d_softsign(z, xp):
    return 1 / (1 + xp.abs(z)) ** 2


def d2_softsign(z, xp):
    return -2 * xp.sign(z) / (1 + xp.abs(z)) ** 3


def d2_softsign_slip(z, xp):  # the power of (1 + |z|) one short
    return -2 * xp.sign(z) / (1 + xp.abs(z)) ** 2


# --- a Hessian–vector product: log Σ exp(x) -------------------------------------------------------


def log_sum_exp(x, xp):
    return xp.log(xp.sum(xp.exp(x)))


def log_sum_exp_hvp(v, x):
    """∇² lse(x) v = p ⊙ v − p (pᵀv), p = softmax(x)."""
    p = np.exp(x - x.max())
    p /= p.sum()
    return p * v - p * np.sum(p * v)


def log_sum_exp_hvp_slip(v, x):  # the rank-one term forgotten
    p = np.exp(x - x.max())
    p /= p.sum()
    return p * v


def hvp_point() -> np.ndarray:
    return np.random.default_rng(14).standard_normal(6)
