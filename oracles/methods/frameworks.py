"""How an oracle writes the network it differentiates: its own functions, one forward pass.

Each framework oracle evaluates the network with its *own* activations and
losses — ``jax.nn`` for JAX, ``torch`` for torch, complex-safe NumPy forms for
the complex step — never the registry's hand-written ones, so a slip in the
registry cannot hide in the oracle.  What they share is written once here
against the framework's namespace ``xp``: the network's structure,

    Z^l = A^{l-1} (W^l ⊙ M^l)ᵀ + b^l   (maxout: Z^l[n, i, p] = Σ_j W^l[i, p, j] A^{l-1}[n, j])
    A^l = f_l(Z^l),   E = mean over the N samples of J(y_n, Z^L_n),

and the losses through the output (``GENERAL_LOSSES``: squared error and log
loss as formulas, each evaluated with the framework's own output activation),
where a framework has no stable fused form from Z^L of its own (log-softmax,
log-sigmoid).  An activation or loss a user
registered (``oracles.register_activation``) has no framework form of its
own: the oracle evaluates the user's ``f(z, xp)`` in its namespace and
differentiates that.  An oracle that cannot evaluate the network says so
with ``OracleCannotRun`` (a ``ValueError``), which every check reports as
a skipped oracle with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from backprop_reference.reference.activations import ACTIVATIONS as REGISTERED_ACTIVATIONS
from backprop_reference.reference.losses import LOSSES as REGISTERED_LOSSES
from backprop_reference.reference.mlp import MLP


def load(module: str):
    """``importlib.import_module(module)`` without touching the caller's NumPy
    random state: importing JAX draws from NumPy's global generator
    (``jax/_src/clusters/k8s_cluster.py``), and a check must not change the
    user's random sequence (nor an ``object_layer``'s seeded draws)."""
    import importlib

    state = np.random.get_state()
    try:
        return importlib.import_module(module)
    finally:
        np.random.set_state(state)


class OracleCannotRun(ValueError):
    """This oracle cannot evaluate this function or network; the message says why."""


def describe(error: BaseException) -> str:
    """One line for a skip reason: the exception's type and first line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


def _users(what: str, framework: str, function: Callable) -> Callable:
    """A user-registered function as an oracle runs it: its failure in this
    framework (not complex-safe, say) means the oracle cannot run, not a crash."""

    def run(*args):
        try:
            return function(*args)
        except OracleCannotRun:
            raise
        except Exception as error:  # noqa: BLE001 — reported as why this oracle cannot run
            raise OracleCannotRun(f"the {framework} oracle cannot evaluate {what}: {describe(error)}") from error

    return run


def _squared_error(xp, f_out: Callable, z, y):
    return 0.5 * xp.sum((f_out(z) - y) ** 2, axis=-1)  # (o − y)², never |o − y|²: analytic for the complex step


def _log_loss(xp, f_out: Callable, z, y):
    o = f_out(z)
    return -xp.sum(y * xp.log(o) + (1 - y) * xp.log1p(-o), axis=-1)


# The losses through the output o = f_out(z), written once: every framework evaluates them in its
# own namespace, with its own output activation.  Where a framework has a stable form from the
# logits, its ``fused`` entry is used instead.
GENERAL_LOSSES: dict[str, Callable] = {"squared_error": _squared_error, "log_loss": _log_loss}


@dataclass(frozen=True)
class Framework:
    """One oracle's way of computing: a namespace, its own activations, its own
    stable per-sample losses from the logits (``fused``; the others are
    ``GENERAL_LOSSES`` in its namespace), and how a NumPy constant (a mask,
    the data) becomes one of its arrays."""

    name: str  # as the oracle is called in messages: "jax", "torch", "complex-step"
    xp: Any
    activations: Mapping[str, Callable]
    constant: Callable[[np.ndarray, Any], Any]  # (NumPy array, an array like the parameters) -> array
    fused: Mapping[tuple[str, str], Callable[[Any, Any], Any]] = field(default_factory=dict)  # (output, loss) -> (z, y) -> J
    namespace: str = ""  # how a user's f sees xp, for messages: "jax.numpy", "torch", "numpy"
    gradient: Callable[[Callable], Callable] | None = None  # fn ↦ its gradient function, where the framework differentiates

    def activation(self, name: str) -> Callable:
        """This framework's own activation, or a user-registered one in its namespace."""
        if name in self.activations:
            return self.activations[name]
        entry = REGISTERED_ACTIVATIONS.get(name)
        if entry is None or entry.xp_f is None:
            raise OracleCannotRun(f"the {self.name} oracle has no implementation of activation {name!r}")
        return _users(f"activation {name!r}", self.name, lambda z: entry.xp_f(z, self.xp))

    def per_sample_loss(self, loss: str, output: str) -> Callable[[Any, Any], Any]:
        """J per sample from Z^L: ``(z, y) -> J``, a fused form where there is one."""
        if (output, loss) in self.fused:
            return self.fused[(output, loss)]
        f_out = self.activation(output)
        if loss in GENERAL_LOSSES:
            general = GENERAL_LOSSES[loss]
            return lambda z, y: general(self.xp, f_out, z, y)
        entry = REGISTERED_LOSSES.get(loss)
        if entry is None or entry.xp_J is None:
            raise OracleCannotRun(f"the {self.name} oracle has no implementation of loss {loss!r}")
        return _users(f"loss {loss!r}", self.name, lambda z, y: entry.xp_J(y, f_out(z), self.xp))


def network_per_sample(mlp: MLP, framework: Framework) -> Callable[[list, Any, Any], Any]:
    """J(y_n, o_n) for each sample n, in ``framework``: ``(params, X, Y) -> (N,)``
    with ``params`` a list of ``(W, b)`` pairs of its arrays.  Raises
    ``OracleCannotRun`` at once when the framework cannot evaluate one of the
    network's functions."""
    activations = [framework.activation(name) for name in mlp.activations[:-1]]
    per_sample = framework.per_sample_loss(mlp.loss, mlp.activations[-1])
    xp = framework.xp

    def layer(l: int, a, W, b):
        mask = mlp.mask(l)
        if mask is not None:
            W = W * framework.constant(mask, W)  # absent connections
        # a maxout layer's W is (n, k, n_in): its z has a trailing axis of k pieces
        z = xp.einsum("ipj,nj->nip", W, a) if W.ndim == 3 else a @ W.T
        return z if b is None else z + b  # b of shape (1,) is a shared bias

    def J(params, X, Y):
        a = X
        for l, ((W, b), f) in enumerate(zip(params[:-1], activations), start=1):
            a = f(layer(l, a, W, b))
        W, b = params[-1]
        return per_sample(layer(mlp.depth, a, W, b), Y)

    return J


def network_objective(mlp: MLP, framework: Framework) -> Callable[[list, Any, Any], Any]:
    """E(params, X, Y) = mean_n J(y_n, o_n), in ``framework`` (``network_per_sample``)."""
    J = network_per_sample(mlp, framework)
    return lambda params, X, Y: framework.xp.mean(J(params, X, Y))
