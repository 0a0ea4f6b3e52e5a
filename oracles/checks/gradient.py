"""Check gradients you computed by any means: the entry points, on one engine.

    check_gradient(f, grad, x)                      # any function: grad(x) = ∂f/∂x
    check_network_gradients(mlp, params, X, Y, grads)  # a network's ∂E/∂(W^l, b^l)
    check_projections(mlp, params, X, Y, grads)     # a network too large for elementwise checks

Products with a cotangent or a tangent, Jacobians, Hessian–vector products
(``oracles.checks.products``), layers (``oracles.checks.layers``) and custom autograd
rules (``oracles.checks.rules``) are entry points on the same engine.

Each builds a problem (``oracles.engine.problems``) and calls ``judge_problem``: every
chosen oracle answers it, each answer is compared with the claimed derivative
(``oracles.engine.comparison``), and the comparisons make one ``Verdict``.  An oracle
that cannot run on the problem is reported as skipped, with the reason.
Every one has an ``assert_`` form for pytest that raises with the worst
element named.

* float32 gradients are judged against oracles run on float64 copies, with
  the float32 tolerances (the conversion is explicit and stated in the verdict).
* Where some pre-activation of a network sits *exactly* on a relu/leaky_relu/
  maxout kink, the derivative there is a convention (torch and the hand
  derivations take the left-hand value, jax.grad the right-hand one for
  leaky_relu), so the exact oracles are skipped with that reason and the
  kink-aware numerical oracle decides: a value between the one-sided
  derivatives passes.
* A function's kinks are not known beforehand: the numerical oracles find
  them element by element from its values (``oracles.methods.numerical.stencils.jumped``),
  and every oracle judges such an element by the one-sided derivatives found
  there (``oracles.engine.kinks``, which also couples the elements of a tie).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from backprop_reference.oracles.checks import arguments, tensors
from backprop_reference.oracles.checks.options import Options
from backprop_reference.oracles.engine import sampling
from backprop_reference.oracles.engine.comparison import asserting
from backprop_reference.oracles.engine.judge import judge_problem
from backprop_reference.oracles.engine.problems import FunctionProblem, check_callable, scalar_at_x, takes_xp
from backprop_reference.oracles.engine.verdict import Verdict
from backprop_reference.oracles.methods import trees


def _arguments(x: Any, f: Callable) -> tuple[tuple, list[str]]:
    """The positional arguments and their names (f's parameter names)."""
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        if not x:
            raise ValueError("x must hold at least one argument; got an empty tuple")
        return x, arguments.roots(f, len(x))
    return (x,), arguments.roots(f, 1)


def _check_data(args: tuple, names: Sequence[str], argnums: tuple[int, ...]) -> None:
    """Arguments not differentiated by check_gradient: arrays (integer data may ride along), None."""
    for n, (a, root) in enumerate(zip(args, names)):
        if n in argnums:
            continue
        for path, leaf in trees.leaves(a, root):
            if leaf is not None and not (isinstance(leaf, np.ndarray) and leaf.dtype.kind in "biuf"):
                raise TypeError(f"argument {path} must be a numpy.ndarray (float, or integer data not differentiated); got {arguments._kind(leaf)}")
            if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f" and leaf.dtype not in (np.float32, np.float64):
                raise TypeError(f"argument {path} must be float32 or float64; got dtype {leaf.dtype}")


def check_gradient(
    f: Callable,
    grad: Callable,
    x: Any,
    *,
    argnums: int | tuple[int, ...] = 0,
    oracles: tuple[str, ...] | list[str] | None = None,
    implementation: str | None = None,
    mode: str = "auto",
    samples: int | None = None,
    directions: int | None = None,
    seed: int = 0,
    k: float = 2.0,
    atol: float | None = None,
    rtol: float | None = None,
) -> Verdict:
    """Judge the hand-written ``grad`` of the scalar function ``f`` at ``x``
    against every applicable oracle (or those named in ``oracles``).

    ``mode``: ``"elementwise"`` — every oracle differentiates every element;
    ``"sampled"`` — the exact oracles (jax, torch) judge every element, the
    per-element ones (complex step, Richardson, central) ``samples`` seeded
    random elements, every element where ``grad`` differs from an exact
    oracle, and ``directions`` random projections (defaults 256 and 8;
    ``oracles.engine.sampling``, with what it can miss); ``"auto"`` (default) —
    elementwise up to ``sampling.ELEMENTWISE_LIMIT`` (20,000) elements, sampled
    above.  The verdict's note says which ran.

    ``x``: one array, or a tuple of positional arguments (each may be a pytree:
    nested lists, tuples and dicts of arrays, ``None`` for absent leaves; a
    single argument that is itself a tuple must be wrapped: ``x=(params,)``).
    ``argnums``: which argument(s) ``grad`` differentiates; an int → one
    gradient, a tuple → a tuple of gradients, each shaped like its argument.
    ``f(…, xp)`` written against the array namespace ``xp`` is run with
    ``jax.numpy`` (``jax.grad``), ``torch`` (``torch.autograd``) and NumPy on
    complex128 copies (complex step, after checking that ``f`` is complex-safe),
    besides Richardson and central differences with ``xp = numpy``; a plain
    NumPy ``f(x)`` gets the numerical oracles only, and the verdict says why.
    Every oracle runs in float64 on copies of the inputs; a float32 gradient
    is judged with the float32 tolerances.  For an ``f`` written against
    ``xp``, torch.autograd also runs once on float32 copies: how far that moves
    each element is the evidence of its rounding (``rounding_terms``), which
    can only widen an element's tolerance above the floor, and the message says so.

    ``x`` may be torch tensors or jax arrays (``f`` and ``grad`` then take them, in
    their dtype and on their device; ``oracles.checks.tensors``), or NumPy arrays in
    ``ml_dtypes.bfloat16`` or float16.  A bfloat16, float16 or float32 tensor's
    gradient is judged to its precision (``oracles.engine.precision``): at most ``k``
    times the error of the framework's own autograd of ``f`` in that dtype, plus a
    floor — or within ``atol`` + ``rtol``·|truth| where you give them."""
    options = Options(oracles=oracles, seed=seed, implementation=implementation, mode=mode, k=k, atol=atol, rtol=rtol)
    check_callable(f, "f")
    check_callable(grad, "grad")
    implementation, chosen, seed = options.named("grad"), options.oracles, options.seed
    args, roots = _arguments(x, f)
    chosen_argnums, single = arguments.check_argnums(argnums, len(args))
    native = tensors.intake(args, roots, "check_gradient", argnums=argnums)
    if native is not None and mode == "sampled":
        raise ValueError("mode='sampled' is not offered for torch tensors, jax arrays or 16-bit arrays: every element is judged "
                         "(mode='auto' or 'elementwise')")
    if native is not None:
        args, forms = native.arrays, native.forms(f)
        call_f, call_grad = forms.numpy, native.calling(grad)
    else:
        forms = f
        call_f = lambda *a: f(*a, **({"xp": np} if takes_xp(f) else {}))  # noqa: E731
        call_grad = lambda *a: grad(*a, **({"xp": np} if takes_xp(grad) else {}))  # noqa: E731
    arguments.check_leaves(args, roots, chosen_argnums)
    _check_data(args, roots, chosen_argnums)
    samples, directions = sampling.check_options(mode, samples, directions)
    precision = None if native is None else native.precision(
        forms, chosen_argnums, k=options.k, atol=options.atol, rtol=options.rtol, derivative=implementation)

    def copies() -> tuple:
        return tuple(trees.map_leaves(a, lambda _, leaf: leaf.copy(), r) for a, r in zip(args, roots))

    scalar_at_x(call_f(*copies()), "f")
    problem = FunctionProblem(forms, args, roots, chosen_argnums)
    like = [(problem.args[n], roots[n]) for n in chosen_argnums]
    ours = arguments.returned(call_grad(*copies()), like, single, "grad")
    dtype = np.dtype(np.float32) if any(g.dtype == np.float32 for g in ours) else np.dtype(np.float64)
    note = ""
    if native is not None and precision is None:
        note = native.note(implementation)
        dtype = np.dtype(native.dtype(chosen_argnums))
    elif precision is not None:
        note = ""
    elif dtype == np.float32 or any(leaf is not None and leaf.dtype == np.float32 for a, r in zip(args, roots) for _, leaf in trees.leaves(a, r)):
        note = f"float32 inputs evaluated by every oracle on float64 copies; the {dtype.name} gradient judged with {dtype.name} tolerances"
    if native is not None:  # every element judged (the sampled mode's projections are float64 machinery)
        return native.finished(judge_problem(problem, ours, chosen, implementation=implementation, dtype=dtype, note=note, precision=precision))
    if sampling.chosen_mode(mode, sum(g.size for g in ours)) == "sampled":
        return sampling.judge_sampled(problem, ours, chosen, implementation=implementation, dtype=dtype, note=note,
                             samples=samples, directions=directions, seed=seed)
    return judge_problem(problem, ours, chosen, implementation=implementation, dtype=dtype, note=note)


assert_gradient = asserting(check_gradient)
