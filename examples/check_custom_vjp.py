"""Check a jax.custom_vjp rule against numerical derivatives of its primal (never itself)."""

import jax
import jax.numpy as jnp
import numpy as np

from backprop_reference import oracles


@jax.custom_vjp
def log1pexp(x):
    return jnp.log1p(jnp.exp(x))


def log1pexp_fwd(x):
    return log1pexp(x), x


def log1pexp_bwd(x, g):
    return (g * jax.nn.sigmoid(x),)  # stable where autodiff of log1p(exp(x)) overflows


log1pexp.defvjp(log1pexp_fwd, log1pexp_bwd)
x = np.linspace(-5.0, 5.0, 7)
print(oracles.check_custom_vjp(log1pexp, x))


def log1pexp_bwd_slip(x, g):
    return (g * jax.nn.sigmoid(-x),)  # the sign of the argument slipped


log1pexp.defvjp(log1pexp_fwd, log1pexp_bwd_slip)
verdict = oracles.check_custom_vjp(log1pexp, x)
print()
print(verdict.message().splitlines()[0], verdict.message().splitlines()[1], sep="\n")
assert not verdict.ok and verdict.worst.element.startswith("x[")
