"""What the timing section times: one ``Method`` per notation, whole-batch
form, framework oracle (``jax`` as eager and jit) and numerical oracle, from
the registries, each preparing for one network and device a zero-argument
call that computes the gradient and returns only when the result is ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.oracles.methods import jax_oracle
from backprop_reference.oracles.engine.problems import NetworkProblem
from backprop_reference.reference import fast
from backprop_reference.reference.mlp import MLP

# A method prepares, for one network case and device, a zero-argument call that
# computes the gradient and returns only when the result is ready — or, when it
# cannot run that network, the reason as a string.
Prepare = Callable[[MLP, list, np.ndarray, np.ndarray, str], "Callable[[], object] | str"]


@dataclass(frozen=True)
class Method:
    name: str
    devices: tuple[str, ...]  # the devices it runs on ("cpu", "cuda")
    per_parameter: bool  # cost = forward pass × parameter count (numerical oracles)
    prepare: Prepare


def _notation_method(name: str) -> Method:
    def prepare(mlp, params, X, Y, device):
        reason = reference.why_cannot_express(mlp, name)
        if reason is not None:
            return f"cannot express this network: {reason}"
        return lambda: reference.gradients(mlp, params, X, Y, notation=name)

    return Method(f"notation: {name}", ("cpu",), False, prepare)


def _fast_method(name: str) -> Method:
    """A notation's whole-batch gradient on arrays already in its layout:
    NumPy on the CPU, torch tensors (no autograd) on a GPU."""

    def prepare(mlp, params, X, Y, device):
        reason = reference.why_cannot_express(mlp, name)
        if reason is not None:
            return f"cannot express this network: {reason}"
        form = fast.batched(name)
        if device == "cpu":
            W, b = form.prepare(mlp, params)
            return lambda: form.core(mlp, W, b, X, Y)

        def to(a):
            return None if a is None else torch.from_numpy(np.array(a)).to("cuda")

        W, b = form.prepare(mlp, [(to(W_), to(b_)) for W_, b_ in params])
        tX, tY = to(X), to(Y)

        def call():
            result = form.core(mlp, W, b, tX, tY)
            torch.cuda.synchronize()
            return result

        return call

    return Method(f"fast: {name}", ("cpu", "cuda"), False, prepare)


def _jax_method(jit: bool) -> Method:
    def prepare(mlp, params, X, Y, device):
        jax = jax_oracle.jax
        where = jax.devices("cpu")[0] if device == "cpu" else jax.devices()[0]
        return jax_oracle.prepare(NetworkProblem(mlp, params, X, Y), device=where, jit=jit)

    return Method("jax jit" if jit else "jax eager", _jax_devices(), False, prepare)


def _jax_devices() -> tuple[str, ...]:
    return ("cpu", "cuda") if jax_oracle.jax.default_backend() == "gpu" else ("cpu",)


def _torch_method(name: str) -> Method:
    def prepare(mlp, params, X, Y, device):
        if device == "cpu":
            return lambda: oracles.gradients(mlp, params, X, Y, oracle=name)

        def call():
            torch.cuda.synchronize()  # nothing of an earlier call still running
            result = oracles.gradients(mlp, params, X, Y, oracle=name, device="cuda")
            torch.cuda.synchronize()
            return result

        return call

    return Method(name, ("cpu", "cuda"), False, prepare)


def _oracle_method(name: str, numerical: bool) -> Method:
    def prepare(mlp, params, X, Y, device):
        return lambda: oracles.gradients(mlp, params, X, Y, oracle=name)

    return Method(name, ("cpu",), numerical, prepare)


def methods() -> list[Method]:
    """Every timed method, from the registries: notations, then oracles in
    registry order (``jax`` as eager and jit)."""
    found = [_notation_method(name) for name in reference.NOTATIONS]
    found += [_fast_method(name) for name in fast.names()]
    for name, oracle in oracles.ORACLES.items():
        if name == "jax":
            found += [_jax_method(jit=False), _jax_method(jit=True)]
        elif name == "torch":
            found.append(_torch_method(name))
        else:  # kind "analytic": one backward pass; any other kind: forward passes per parameter
            found.append(_oracle_method(name, numerical=oracle.kind != "analytic"))
    return found
