"""The same derivatives by other means — ``jax.grad``/``jax.jvp``,
``torch.autograd``/``torch.func``, the complex step, Richardson extrapolation,
central differences — and one engine that judges a claimed derivative against
them: one problem, one comparison per oracle, one verdict (``oracles.checks``).
Gradients (``check_gradient``, ``check_network_gradients``), products with a
cotangent or a tangent, Jacobians and Hessian–vector products
(``oracles.derivatives``), layers (``oracles.layers``) and custom autograd
rules (``oracles.rules``) all go through it.

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
from oracles.declared import Check, declare
from oracles.derivatives import assert_hvp, assert_jacobian, assert_jvp, assert_vjp, check_hvp, check_jacobian, check_jvp, check_vjp
from oracles.layers import assert_layer, check_layer, object_layer
from oracles.rules import assert_custom_vjp, assert_torch_function, check_custom_vjp, check_torch_function
from oracles.frameworks import OracleCannotRun
from oracles.golden import GoldenConfig, assert_golden, compare_golden, golden_inputs, load_golden, save_golden
from oracles.properties import PROPERTIES, PropertyResult
from oracles.registration import RegistrationError, register_activation, register_loss
from oracles.registry import DEFAULT_ORACLES, ORACLES, Oracle, answer, gradients, numerical_gradients
from oracles.taylor import TaylorResult, taylor_network, taylor_test
from oracles.tolerances import TOLERANCES, Tolerance, tolerance_for
from oracles.rounding import network_terms
from oracles.verdict import Dispute, Verdict


__all__ = [
    "Answer",
    "Check",
    "Comparison",
    "DEFAULT_ORACLES",
    "Dispute",
    "GoldenConfig",
    "ORACLES",
    "Oracle",
    "OracleCannotRun",
    "PROPERTIES",
    "PropertyResult",
    "RegistrationError",
    "TOLERANCES",
    "TaylorResult",
    "Tolerance",
    "Verdict",
    "answer",
    "assert_agree",
    "assert_custom_vjp",
    "assert_golden",
    "assert_gradient",
    "assert_hvp",
    "assert_jacobian",
    "assert_jvp",
    "assert_layer",
    "assert_network_gradients",
    "assert_projections",
    "assert_torch_function",
    "assert_vjp",
    "check_custom_vjp",
    "check_gradient",
    "check_hvp",
    "check_jacobian",
    "check_jvp",
    "check_layer",
    "check_network_gradients",
    "check_projections",
    "check_torch_function",
    "check_vjp",
    "compare",
    "compare_golden",
    "declare",
    "golden_inputs",
    "gradients",
    "load_golden",
    "network_terms",
    "numerical_gradients",
    "object_layer",
    "register_activation",
    "register_loss",
    "save_golden",
    "taylor_network",
    "taylor_test",
    "tolerance_for",
]
