"""Check a derivative you computed by hand against the same derivative by other
means — ``jax.grad``/``jax.jvp``, ``torch.autograd``/``torch.func``, the
complex step, Richardson extrapolation, central differences — judged by one
engine: one problem, one comparison per oracle, one ``Verdict``.

The calling convention, the same for every entry point
--------------------------------------------------------

* **The function** is ``f(*args)`` in plain NumPy, or ``f(*args, xp)``
  written against the array namespace ``xp`` (a parameter named ``xp``).  An
  ``xp`` function is run by every oracle: jax.numpy (``jax.grad``), torch
  (``torch.autograd``), NumPy on complex copies (the complex step) and NumPy
  (Richardson, central differences); a plain one by the numerical oracles,
  and the verdict says why the others were skipped.
* **The derivative** takes what it multiplies — the cotangent, the tangent,
  the direction — *first*, then the same arguments as f::

      grad(*args)                    check_gradient(f, grad, x)
      vjp(cotangent, *args)          check_vjp(f, vjp, *args)
      jvp(tangent, *args)            check_jvp(f, jvp, *args)
      jacobian(*args)                check_jacobian(f, jacobian, *args)
      hvp(v, x)                      check_hvp(f, hvp, x)
      backward(dout, cache)          check_layer(forward, backward, *args)
      grad(x)                        taylor_test(f, grad, x)

  A derivative may take ``xp`` too (it is called with ``xp = numpy``).
* **The shared options** have the same names and defaults wherever they
  apply, and are validated together, before any work, by one ``Options``
  record (``oracles.checks.options``): ``oracles=None`` (every registered
  oracle that can run), ``seed=0``, ``implementation=None`` (the derivative's
  parameter name), ``properties=True``, ``nondet_tol=0.0``, ``mode="auto"``.
* **The result** is a ``Verdict`` (``.ok``, ``str(verdict)``, ``.worst``);
  every entry point has an ``assert_`` form for pytest that raises with the
  worst element named.

No setting of JAX or torch is changed by any call beyond its own duration
(``reference.precision``).

The parts: ``oracles.methods`` (the oracles), ``oracles.engine`` (problems
and judging), ``oracles.checks`` (one module per family of entry points);
each ``__init__`` is its table of contents.
"""

from backprop_reference.oracles.checks.declared import Check, declare
from backprop_reference.oracles.checks.golden import GoldenConfig, assert_golden, compare_golden, golden_inputs, load_golden, save_golden
from backprop_reference.oracles.checks.gradient import assert_gradient, check_gradient
from backprop_reference.oracles.checks.layers import assert_layer, check_layer, object_layer
from backprop_reference.oracles.checks.network import (
    answer,
    assert_network_gradients,
    assert_projections,
    check_network_gradients,
    check_projections,
    gradients,
)
from backprop_reference.oracles.checks.options import Options
from backprop_reference.oracles.checks.products import assert_hvp, assert_jacobian, assert_jvp, assert_vjp, check_hvp, check_jacobian, check_jvp, check_vjp
from backprop_reference.oracles.checks.properties import PROPERTIES, PropertyResult
from backprop_reference.oracles.checks.registration import RegistrationError, register_activation, register_loss
from backprop_reference.oracles.checks.rules import (
    assert_custom_jvp,
    assert_custom_vjp,
    assert_torch_function,
    check_custom_jvp,
    check_custom_vjp,
    check_torch_function,
)
from backprop_reference.oracles.checks.taylor import TaylorResult, taylor_network, taylor_test
from backprop_reference.oracles.engine.comparison import Comparison, assert_agree, compare
from backprop_reference.oracles.engine.tolerances import TOLERANCES
from backprop_reference.oracles.engine.verdict import Dispute, Verdict
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import OracleCannotRun
from backprop_reference.oracles.methods.registry import ORACLES

__all__ = [
    # entry points, each with its assert_ form
    "check_gradient", "assert_gradient",
    "check_network_gradients", "assert_network_gradients",
    "check_projections", "assert_projections",
    "check_vjp", "assert_vjp",
    "check_jvp", "assert_jvp",
    "check_jacobian", "assert_jacobian",
    "check_hvp", "assert_hvp",
    "check_layer", "assert_layer", "object_layer",
    "check_torch_function", "assert_torch_function",
    "check_custom_vjp", "assert_custom_vjp",
    "check_custom_jvp", "assert_custom_jvp",
    "taylor_test", "taylor_network",
    "save_golden", "load_golden", "compare_golden", "assert_golden", "golden_inputs",
    "answer", "gradients", "compare", "assert_agree",
    "declare", "register_activation", "register_loss",
    # the options and what the checks return
    "Options", "Verdict", "Comparison", "Dispute", "Answer", "PropertyResult", "TaylorResult", "GoldenConfig", "Check",
    "OracleCannotRun", "RegistrationError",
    # the registries
    "ORACLES", "PROPERTIES", "TOLERANCES",
]
