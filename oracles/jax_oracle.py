"""Oracle: ``jax.grad`` of an independent JAX forward pass.

Nothing here comes from ``reference/``: the activations and losses are JAX's
own (``jax.nn``), so a slip in the hand-derived registry cannot hide in the
oracle.  float64 needs ``jax_enable_x64``, switched on at import, before this
module creates any array; the result's dtype is checked against the request.
"""

from __future__ import annotations

import functools

import jax

jax.config.update("jax_enable_x64", True)  # before any array exists
# Full-precision matrix products: on a GPU the default may use TF32, which
# silently gives ~1e-3 relative errors in float32 products.
jax.config.update("jax_default_matmul_precision", "highest")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from oracles import user_functions
from reference.network import MLP, Params  # noqa: E402

ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,  # derivative 0 at z = 0
    "leaky_relu": jax.nn.leaky_relu,  # default slope 0.01
    "softplus": jax.nn.softplus,
    "softmax": lambda z: jax.nn.softmax(z, axis=-1),
    "maxout": lambda z: jnp.max(z, axis=-1),  # z: (N, n, k) pieces
}


def _activation(name: str):
    """This oracle's own activation, or a user-registered one in jnp."""
    return ACTIVATIONS[name] if name in ACTIVATIONS else user_functions.activation(name, jnp, "jax")


def _per_sample_loss(loss: str, output_activation: str, z, y):
    """J(y, o) per sample, from the logits where JAX has a stable form."""
    if loss == "squared_error":
        o = _activation(output_activation)(z)
        return 0.5 * jnp.sum((o - y) ** 2, axis=-1)
    if loss == "log_loss":
        if output_activation == "sigmoid":
            return -jnp.sum(y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z), axis=-1)
        o = _activation(output_activation)(z)
        return -jnp.sum(y * jnp.log(o) + (1 - y) * jnp.log1p(-o), axis=-1)
    if loss == "cross_entropy":
        return -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1)
    return user_functions.loss(loss, jnp, "jax")(y, _activation(output_activation)(z))


def _check_supported(mlp: MLP) -> None:
    for name in mlp.activations:
        _activation(name)  # raises ValueError for an activation it cannot evaluate


def objective(mlp: MLP):
    """E(params, X, Y) = mean_n J(y_n, o_n), written in JAX."""
    _check_supported(mlp)

    masks = [None if m is None else jnp.asarray(m) for m in mlp.masks]

    def layer(l, a, W, b):
        if masks[l] is not None:
            W = W * masks[l]  # absent connections
        # a maxout layer's W is (n, k, n_in): its z has a trailing axis of k pieces
        z = jnp.einsum("ipj,nj->nip", W, a) if W.ndim == 3 else a @ W.T
        return z if b is None else z + b  # b of shape (1,) is a shared bias

    def E(params, X, Y):
        a = X
        for l, ((W, b), name) in enumerate(zip(params[:-1], mlp.activations[:-1])):
            a = _activation(name)(layer(l, a, W, b))
        W, b = params[-1]
        z = layer(mlp.depth - 1, a, W, b)
        return jnp.mean(_per_sample_loss(mlp.loss, mlp.activations[-1], z, Y))

    return E


@functools.lru_cache(maxsize=256)
def compiled_gradient(mlp: MLP):
    """``jax.jit(jax.grad(E))`` for one network (``MLP`` is frozen, so hashable).

    Jitted, because eager JAX compiles every primitive anew for each shape
    (~35 compilations per gradient of a small network) where one jit compiles
    once per network and batch shape."""
    return jax.jit(jax.grad(objective(mlp)))


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> Params:
    """∂E/∂(W^l, b^l) by ``jax.grad``, same structure as ``params``."""
    dtype = X.dtype
    as_jax = [(jnp.asarray(W), None if b is None else jnp.asarray(b)) for W, b in params]
    grads = compiled_gradient(mlp)(as_jax, jnp.asarray(X), jnp.asarray(Y))
    result = [(np.array(dW), None if db is None else np.array(db)) for dW, db in grads]
    if any(g is not None and g.dtype != dtype for pair in result for g in pair):
        raise RuntimeError(
            f"jax returned {result[0][0].dtype} for {dtype} inputs: x64 was not enabled before "
            "the first JAX array was created (import oracles before using jax)"
        )
    return result
