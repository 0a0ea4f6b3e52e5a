"""The same gradients by other means — ``jax.grad``, ``torch.autograd``,
central differences — and the machinery to compare them with ours.

The framework oracles import lazily: ``import oracles`` stays fast and an
oracle's framework loads on first use (JAX with float64 enabled first).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Callable

import numpy as np

from oracles.comparison import Comparison, ParameterComparison, assert_agree, compare, resolves
from oracles.tolerances import ORACLE_KINDS, TOLERANCES, Tolerance, tolerance_for
from reference.network import MLP, Params, check_batch, check_params


@dataclass(frozen=True)
class Oracle:
    name: str
    kind: str  # key into the tolerance table
    module: str
    summary: str
    estimates_error: bool = False  # module has gradients_with_error → (grads, error estimates)

    def gradients(self) -> Callable[..., Params]:
        return import_module(self.module).gradients

    def gradients_with_error(self) -> Callable[..., tuple[Params, Params]]:
        if not self.estimates_error:
            raise ValueError(f"oracle {self.name!r} gives no error estimate")
        return import_module(self.module).gradients_with_error


ORACLES: dict[str, Oracle] = {
    oracle.name: oracle
    for oracle in (
        Oracle("jax", ORACLE_KINDS["jax"], "oracles.jax_oracle", "jax.grad of an independent JAX forward pass"),
        Oracle("torch", ORACLE_KINDS["torch"], "oracles.torch_oracle", "torch.autograd, float64 on the CPU by default"),
        Oracle(
            "central", ORACLE_KINDS["central"], "oracles.finite_differences",
            "central differences of reference.loss", estimates_error=True,
        ),
    )
}


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: str = "jax", **options) -> Params:
    """∂E/∂(W^l, b^l) of the canonical objective by ``oracle``; same structure as ``params``.

    ``options`` go to the oracle (``device="cuda"`` for torch)."""
    if not isinstance(oracle, str):
        raise TypeError(f"oracle must be a name (str); got {oracle!r}")
    if oracle not in ORACLES:
        raise ValueError(f"unknown oracle {oracle!r}; registered: {', '.join(ORACLES)}")
    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    return ORACLES[oracle].gradients()(mlp, params, X, Y, **options)


def gradients_with_error(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: str = "central") -> tuple[Params, Params]:
    """``(gradients, per-element error estimates)`` from a numerical oracle."""
    if oracle not in ORACLES:
        raise ValueError(f"unknown oracle {oracle!r}; registered: {', '.join(ORACLES)}")
    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    return ORACLES[oracle].gradients_with_error()(mlp, params, X, Y)


__all__ = [
    "ORACLES",
    "Comparison",
    "Oracle",
    "ParameterComparison",
    "TOLERANCES",
    "Tolerance",
    "assert_agree",
    "compare",
    "gradients",
    "gradients_with_error",
    "resolves",
    "tolerance_for",
]
