"""The same gradients by other means — ``jax.grad``, ``torch.autograd``, the
complex step, Richardson extrapolation, central differences — and one engine
that judges a claimed gradient against them: one problem, one comparison per
oracle, one verdict (``oracles.checks``).

No setting of JAX or torch is changed by any call beyond its own duration
(``reference.precision``).
"""

from oracles.checks import (
    assert_gradient,
    assert_network_gradients,
    assert_projections,
    check_gradient,
    check_network_gradients,
    check_projections,
)
from oracles.comparison import Answer, Comparison, assert_agree, compare
from oracles.frameworks import OracleCannotRun
from oracles.golden import GoldenConfig, assert_golden, compare_golden, golden_inputs, load_golden, save_golden
from oracles.registration import RegistrationError, register_activation, register_loss
from oracles.registry import DEFAULT_ORACLES, ORACLES, Oracle, answer, gradients, numerical_gradients
from oracles.taylor import TaylorResult, taylor_network, taylor_test
from oracles.tolerances import TOLERANCES, Tolerance, tolerance_for
from oracles.rounding import network_terms
from oracles.verdict import Dispute, Verdict


__all__ = [
    "Answer",
    "Comparison",
    "DEFAULT_ORACLES",
    "Dispute",
    "GoldenConfig",
    "ORACLES",
    "Oracle",
    "OracleCannotRun",
    "RegistrationError",
    "TOLERANCES",
    "TaylorResult",
    "Tolerance",
    "Verdict",
    "answer",
    "assert_agree",
    "assert_golden",
    "assert_gradient",
    "assert_network_gradients",
    "assert_projections",
    "check_gradient",
    "check_network_gradients",
    "check_projections",
    "compare",
    "compare_golden",
    "golden_inputs",
    "gradients",
    "load_golden",
    "network_terms",
    "numerical_gradients",
    "register_activation",
    "register_loss",
    "save_golden",
    "taylor_network",
    "taylor_test",
    "tolerance_for",
]
