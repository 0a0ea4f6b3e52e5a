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

from oracles.comparison import Comparison, ParameterComparison, assert_agree, compare
from oracles.tolerances import ORACLE_KINDS, TOLERANCES, Tolerance, tolerance_for
from reference.network import MLP, Params, check_batch, check_params


@dataclass(frozen=True)
class Oracle:
    name: str
    kind: str  # key into the tolerance table
    module: str
    function: str  # (mlp, params, X, Y, **options) -> gradients shaped like params
    summary: str
    numerical: str | None = None  # (mlp, params, X, Y) -> NumericalGradient (errors, kinks)

    def gradients(self) -> Callable[..., Params]:
        return getattr(import_module(self.module), self.function)

    def numerical_gradients(self) -> Callable[..., "NumericalGradient"]:
        if self.numerical is None:
            raise ValueError(f"oracle {self.name!r} is not numerical: it gives no error estimates or kink brackets")
        return getattr(import_module(self.module), self.numerical)


ORACLES: dict[str, Oracle] = {
    oracle.name: oracle
    for oracle in (
        Oracle("jax", ORACLE_KINDS["jax"], "oracles.jax_oracle", "gradients", "jax.grad of an independent JAX forward pass"),
        Oracle("torch", ORACLE_KINDS["torch"], "oracles.torch_oracle", "gradients", "torch.autograd, float64 on the CPU by default"),
        Oracle(
            "complex_step", ORACLE_KINDS["complex_step"], "oracles.complex_step", "gradients",
            "Im E(θ + ih)/h, h = 1e-30, of an independent complex-safe forward pass",
        ),
        Oracle(
            "richardson", ORACLE_KINDS["richardson"], "oracles.finite_differences", "richardson_gradients",
            "central differences extrapolated twice (h, h/2, h/4), with error estimates", numerical="richardson",
        ),
        Oracle(
            "central", ORACLE_KINDS["central"], "oracles.finite_differences", "gradients",
            "central differences of reference.loss, with error estimates", numerical="central",
        ),
    )
}


def _checked_oracle(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: object) -> Oracle:
    if not isinstance(oracle, str):
        raise TypeError(f"oracle must be a name (str); got {oracle!r}")
    if oracle not in ORACLES:
        raise ValueError(f"unknown oracle {oracle!r}; registered: {', '.join(ORACLES)}")
    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    return ORACLES[oracle]


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: str = "jax", **options) -> Params:
    """∂E/∂(W^l, b^l) of the canonical objective by ``oracle``; same structure as ``params``.

    ``options`` go to the oracle (``device="cuda"`` for torch)."""
    return _checked_oracle(mlp, params, X, Y, oracle).gradients()(mlp, params, X, Y, **options)


def numerical_gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: str = "central"):
    """A numerical oracle's ``NumericalGradient``: gradients with per-element
    error estimates and kink brackets (pass it to ``compare(numerical=...)``)."""
    return _checked_oracle(mlp, params, X, Y, oracle).numerical_gradients()(mlp, params, X, Y)


def answer(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: str):
    """``(gradients, numerical)`` from ``oracle``, ready for
    ``compare(ours, gradients, oracle=oracle, numerical=numerical)``:
    ``numerical`` is a numerical oracle's ``NumericalGradient`` (error
    estimates, kink brackets) and ``None`` for an exact oracle."""
    chosen = _checked_oracle(mlp, params, X, Y, oracle)
    if chosen.numerical:
        numerical = chosen.numerical_gradients()(mlp, params, X, Y)
        return numerical.gradients, numerical
    return chosen.gradients()(mlp, params, X, Y), None


from oracles.projections import ProjectionCheck  # noqa: E402
from oracles.projections import check as check_projections  # noqa: E402
from oracles.functions import FunctionVerdict, assert_gradient, check_gradient  # noqa: E402
from oracles.golden import (  # noqa: E402
    Golden,
    GoldenConfig,
    GoldenVerdict,
    assert_golden,
    compare_golden,
    golden_inputs,
    load_golden,
    save_golden,
)
from oracles.checks import DEFAULT_ORACLES, Verdict, assert_network_gradients, check_network_gradients  # noqa: E402

__all__ = [
    "DEFAULT_ORACLES",
    "FunctionVerdict",
    "assert_gradient",
    "check_gradient",
    "Golden",
    "GoldenConfig",
    "GoldenVerdict",
    "assert_golden",
    "compare_golden",
    "golden_inputs",
    "load_golden",
    "save_golden",
    "ProjectionCheck",
    "check_projections",
    "Verdict",
    "assert_network_gradients",
    "check_network_gradients",
    "ORACLES",
    "Comparison",
    "Oracle",
    "ParameterComparison",
    "TOLERANCES",
    "Tolerance",
    "assert_agree",
    "compare",
    "answer",
    "gradients",
    "numerical_gradients",
    "tolerance_for",
]
