"""What the oracles differentiate, and which derivative they are asked for.

Every check builds one problem and hands it to each oracle
(``oracles.methods.registry``); the oracles never look at where it came from.  A
problem's ``mode`` says which derivative is wanted, and each oracle has one
way to compute each mode:

* ``"gradient"`` — ∂E/∂θ of a scalar E:
  - ``FunctionProblem``: any ``f(*args)`` (or ``f(*args, xp)``, written
    against the array namespace), with respect to the leaves of the arguments
    chosen by ``argnums``; with a ``cotangent``, E = ⟨cotangent, f(args)⟩ for
    an f with array (or pytree) outputs, whose gradient is the vector–Jacobian
    product (``check_vjp``, ``check_layer``, custom rules);
  - ``NetworkProblem``: a network's objective E(params) on a batch, plus what
    only a network has — its oracles' own forward passes
    (``oracles.methods.frameworks``), batched numerical evaluation and kinks.
* ``"tangent"`` — ``TangentProblem``: the Jacobian–vector product
  d/dt f(x + t v) at t = 0 of an f with array outputs (``check_jvp``), and
  of the gradient of a scalar f (the Hessian–vector product, ``check_hvp``).
* ``"jacobian"`` — ``JacobianProblem``: the full Jacobian of a small f, one
  tangent problem per input element (``check_jacobian``).

How f is evaluated by each oracle is its ``Forms``: an f written against
``xp`` runs anywhere (jax.numpy, torch, NumPy on complex copies, mpmath);
a plain NumPy f only where NumPy runs (the numerical oracles); a custom rule
(``oracles.checks.rules``) only where its forward pass can run without the rule
under test.

A problem offers the oracles:

* ``leaves`` (the point θ, one float array per differentiated leaf) and
  ``layout`` (the names and the caller's structure of what is compared:
  the gradient's leaves, or the product's output leaves);
* ``function(framework)`` → ``(fn, data)``: ``fn(leaves, data)`` is E (or
  f's outputs) written in that framework, ``data`` the arguments it reads
  besides the leaves (the framework oracles convert their arrays);
* for the numerical oracles, ``evaluator(stencil)`` (gradients: where E is
  evaluated, element by element) or ``line(stencil)`` (products: t ↦ the
  outputs at x + t v).

An oracle that cannot evaluate the problem raises ``OracleCannotRun`` with
the reason; the checks report it as skipped.  The interface all four share is
``oracles.methods.problem.Problem``: the engine calls it, never the class.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import warnings
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import Framework, OracleCannotRun, describe, load, network_objective
from backprop_reference.oracles.methods.numerical import stencils
from backprop_reference.oracles.methods.numerical.complex_safe import COMPLEX_SAFE
from backprop_reference.oracles.methods.numerical.evaluators import Loop, NetworkBatches, network_fixed, network_loop
from backprop_reference.oracles.engine.rounding import network_terms, objective_terms
from backprop_reference.oracles.engine.tolerances import tolerance_for
from backprop_reference.reference.activations import ACTIVATIONS as REGISTERED_ACTIVATIONS
from backprop_reference.reference.cases import kink_distance
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import per_sample_loss

EPS = float(np.finfo(np.float64).eps)
MAPPED_MIN_EVALUATIONS = 4096  # below this many stencil points the loop beats compiling a mapped f (~0.1–0.2 s)
COMPLEX_COST = 4  # a complex evaluation costs about four real ones


def takes_xp(fn: Callable) -> bool:
    """Whether ``fn`` has a parameter named ``xp`` (the array namespace)."""
    try:
        parameter = inspect.signature(fn).parameters.get("xp")
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)


def check_callable(value: Any, name: str) -> None:
    if not callable(value):
        raise TypeError(f"{name} must be callable; got {type(value).__name__} {value!r:.60}")


def scalar(value: Any, who: str) -> float:
    """``value`` as a float, if it is a real scalar."""
    shape = np.shape(value)
    if shape != ():
        raise ValueError(
            f"{who} must return a scalar; got shape {shape} (for an array output, check its vector–Jacobian "
            f"product: oracles.check_vjp(f, vjp, x), or check_layer(forward, backward, x) for a layer)"
        )
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{who} must return a real number; got {type(value).__name__} of dtype {array.dtype}")
    return float(array)


def scalar_at_x(value: Any, who: str) -> float:
    """f's value at the point checked: a real scalar, finite (at a moved point a non-finite
    value is the oracles' business; at x there is nothing to differentiate)."""
    number = scalar(value, who)
    if not np.isfinite(number):
        raise ValueError(f"{who} is {number} at the point checked: there is no derivative to judge there "
                         "(check the arguments, or f's domain)")
    return number


# --- how f is evaluated by each oracle --------------------------------------------------------


class Forms:
    """How one f is evaluated by each oracle: ``numpy(*args)`` on real float64
    NumPy arrays (the numerical oracles), and ``on(framework)`` — f in that
    framework's arrays (jax.numpy, torch, complex NumPy, mpmath) — from
    ``traced``: one callable for every framework (an f written against xp), or
    a table by framework name; elsewhere ``OracleCannotRun`` says ``why_not``
    (one reason, or one per framework name with "" for the rest).  ``device``:
    where the framework oracles put their copies (the user's tensors' device,
    ``oracles.checks.tensors``; the CPU for NumPy inputs)."""

    def __init__(self, numpy: Callable, traced: Callable[[Framework], Callable] | Mapping[str, Callable[[Framework], Callable]],
                 why_not: str | Mapping[str, str] = "", device: str = "cpu"):
        self.numpy, self._traced, self.why_not, self.device = numpy, traced, why_not, device

    def on(self, framework: Framework) -> Callable:
        if not self.runs_on(framework.name):
            raise OracleCannotRun(self.reason(framework.name))
        return self._traced(framework) if callable(self._traced) else self._traced[framework.name](framework)

    def reason(self, name: str) -> str:
        """Why f has no form in the framework called ``name``."""
        return self.why_not if isinstance(self.why_not, str) else self.why_not.get(name, self.why_not.get("", ""))

    def runs_on(self, name: str) -> bool:
        return callable(self._traced) or name in self._traced

    @classmethod
    def of(cls, f: Callable) -> "Forms":
        """An ``f(*args, xp)`` runs in every framework; a plain NumPy ``f(*args)`` in NumPy only."""
        if takes_xp(f):
            return cls(functools.partial(f, xp=np), lambda framework: functools.partial(f, xp=framework.xp))
        return cls(
            f, {}, "f takes no xp argument, so it cannot be traced or run on complex inputs "
            "(write f(x, xp) against the array namespace xp)",
        )


def argument_names(fn: Callable, count: int) -> list[str]:
    """The names of ``fn``'s first ``count`` positional parameters (``xp`` left
    out), for naming elements (``w[0, 2]``); those that fall in a ``*params``
    parameter are ``params[0]``, ``params[1]``, …; ``args[i]`` where ``fn`` has
    no signature or too few positional parameters."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    named = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "xp"]
    rest = next((p.name for p in parameters if p.kind == p.VAR_POSITIONAL and not p.name.startswith("_")), None)  # *_: no name
    names = named[:count]
    if len(names) < count and rest is not None:
        names += [f"{rest}[{j}]" for j in range(count - len(names))]
    if len(names) < count or len(set(names)) < len(names):
        return [f"args[{i}]" for i in range(count)]
    return names


def copied(value: Any) -> Any:
    """An argument as one evaluation receives it: a NumPy array copied, a framework's array
    as it is, anything else deep-copied (a layer's settings dict that its forward pass
    updates, say, is fresh for every evaluation)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    return copy.deepcopy(value)


def outputs(value: Any) -> list:
    """f's output leaves (an array, or a pytree of them), in order."""
    return [leaf for _, leaf in trees.leaves(value, "out") if leaf is not None]


def contracted(value: Any, cotangent: Any, framework: Framework | None) -> Any:
    """⟨cotangent, value⟩ = Σ over leaves of sum(c · o), in ``framework``'s arrays (NumPy when None)."""
    xp = np if framework is None else framework.xp
    total = 0
    for _, c, o in trees.matched(cotangent, value, "cotangent", "f's output"):
        c = c if framework is None else framework.constant(c, o)
        total = total + xp.sum(c * o)
    return total


# --- any function ---------------------------------------------------------------------------------


def _as(leaf: Any, dtype: type) -> Any:
    """A floating array as a C-ordered copy in ``dtype``; an integer array copied; anything else as it is."""
    if not isinstance(leaf, np.ndarray):
        return leaf
    return np.array(leaf, dtype=dtype if leaf.dtype.kind == "f" else leaf.dtype, order="C")


class _Arguments:
    """What every function problem shares: the arguments (floating leaves copied to ``dtype``,
    C-ordered; other arguments kept as given), their root names, which are differentiated,
    and the leaves of those (``leaves``, in ``argnums`` order)."""

    def _take(self, forms: Forms, args: tuple, roots: Sequence[str], argnums: tuple[int, ...], dtype: type) -> None:
        self.forms, self.roots, self.argnums, self.dtype = forms, list(roots), argnums, dtype
        self.args = tuple(trees.map_leaves(a, lambda _, leaf: _as(leaf, dtype), root) for a, root in zip(args, roots))
        self.paths = [path for n in argnums for path, leaf in trees.leaves(self.args[n], self.roots[n]) if leaf is not None]
        self.leaves = [leaf for n in argnums for _, leaf in trees.leaves(self.args[n], self.roots[n]) if leaf is not None]

    def with_leaves(self, leaves: Sequence, data: Sequence) -> tuple:
        """The arguments ``data`` with the chosen leaves replaced by ``leaves``
        (which come in ``argnums`` order, as ``self.leaves`` do)."""
        arguments = list(data)
        remaining = iter(leaves)
        for n in self.argnums:
            arguments[n] = trees.map_leaves(data[n], lambda _, leaf: next(remaining), self.roots[n])
        return tuple(arguments)

    def fresh(self, args: tuple | None = None) -> tuple:
        """A copy of the arguments for one evaluation: every NumPy array copied (an f that
        writes into its input — ``x[x < 0] = 0`` — must not move the point the oracles
        differentiate at), other data deep-copied, a framework's arrays as they are."""
        return tuple(trees.map_leaves(a, lambda _, leaf: copied(leaf), root) if n in self.argnums else copied(a)
                     for n, (a, root) in enumerate(zip(self.args if args is None else args, self.roots)))

    def traced(self, framework: Framework, result: Callable[[Any], Any]) -> tuple[Callable, tuple]:
        """``(fn, data)``: ``fn(leaves, data)`` is ``result(f(arguments))`` in ``framework``."""
        form = self.forms.on(framework)

        def fn(leaves, data):
            try:
                return result(form(*self.with_leaves(leaves, self.fresh(data))))
            except OracleCannotRun:
                raise
            except Exception as error:  # noqa: BLE001 — f's own failure in this framework is reported, not raised
                raise OracleCannotRun(f"f raised with xp={framework.namespace}: {describe(error)}") from error

        return fn, self.args

    kinks_known = False  # f is opaque: its kinks are found element by element (stencils.jumped), not known beforehand

    @property
    def device(self) -> str:
        return self.forms.device

    def on_a_kink(self) -> bool:
        return False

    def why_not(self, framework: str) -> str:
        return "" if self.forms.runs_on(framework) else self.forms.reason(framework)

    def rounding_bounds(self) -> None:
        return None  # f is opaque: only evidence of its rounding (oracles.engine.judge.rounding_terms), never a bound

    def watched(self, framework: Framework, seen: list[bytes]) -> Framework:
        return framework  # where an opaque f is not differentiable is not known here


class FunctionProblem(_Arguments):
    """E = ``f(*args)`` (a scalar), or E = ⟨``cotangent``, f(args)⟩ for an f
    with array outputs, with respect to the leaves of ``args[n]`` for n in
    ``argnums``; ``roots`` name the arguments (``x``, ``w``, or ``args[0]``, …);
    ``where`` qualifies every element's name (``x[3, 1] @ cotangent 2``).
    ``f`` is a function (evaluated as ``Forms.of(f)``) or its ``Forms``."""

    mode = "gradient"
    key = None  # nothing to compile once and reuse

    def __init__(
        self, f: Callable | Forms, args: tuple, roots: Sequence[str], argnums: tuple[int, ...], dtype: type = np.float64,
        *, cotangent: Any = None, where: str = "",
    ):
        self._take(f if isinstance(f, Forms) else Forms.of(f), args, roots, argnums, dtype)
        self.cotangent, self.where = cotangent, where
        self.layout = trees.Layout(tuple(trees.qualified(p, where) for p in self.paths), self._flatten, self._unflatten)
        self._objective_terms: float | None = None
        self.notes: dict[str, str] = {}  # what the verdict should say about how the oracles evaluated f (one line per cause)
        self._mapped: dict[bool, Any] = {}  # complex? -> the mapped evaluator, or None where f could not be mapped
        self._loops: dict[bool, Loop] = {}  # complex? -> the one-point-at-a-time evaluator (``loop``)

    def E(self, value: Any, framework: Framework | None = None) -> Any:
        return value if self.cotangent is None else contracted(value, self.cotangent, framework)

    def objective_terms(self) -> float:
        """The size of E's terms: Σ |c|·|f(x)| for a contracted f (its own cancellation
        is rounding), else 0 (f is opaque: max(|f|, 1) stands for them)."""
        if self.cotangent is None:
            return 0.0
        if self._objective_terms is None:
            value = self.forms.numpy(*self.fresh())
            self._objective_terms = float(sum(np.sum(np.abs(c) * np.abs(np.asarray(o, np.float64)))
                                              for _, c, o in trees.matched(self.cotangent, value, "cotangent", "f's output")))
        return self._objective_terms

    def in_dtype(self, dtype: Any) -> "FunctionProblem":
        """The same problem on copies in ``dtype`` (float32: the rounding evidence of ``oracles.engine.judge``;
        bfloat16, float16: the framework's own low-precision derivative, ``oracles.engine.precision``)."""
        return FunctionProblem(self.forms, self.args, self.roots, self.argnums, dtype=dtype, cotangent=self.cotangent, where=self.where)

    def _flatten(self, gradient: Any) -> list:
        """The leaves of a gradient shaped like the chosen arguments (a tuple over ``argnums``)."""
        return [g for n, part in zip(self.argnums, gradient) for _, _, g in trees.matched(self.args[n], part, self.roots[n], "gradient")]

    def _unflatten(self, items: Sequence) -> tuple:
        remaining = iter(items)
        return tuple(trees.map_leaves(self.args[n], lambda _, leaf: next(remaining), self.roots[n]) for n in self.argnums)

    def function(self, framework: Framework) -> tuple[Callable, tuple]:
        return self.traced(framework, lambda value: self.E(value, framework))

    def evaluator(self, stencil: stencils.Stencil, batched: bool = True):
        """Where E is evaluated at the stencil's points, finding kinks from its values:
        for an f with a jax form and at least ``MAPPED_MIN_EVALUATIONS`` points,
        many points per call (``oracles.methods.numerical.mapped``: jax.vmap, checked
        against the NumPy form first); otherwise, or with ``batched=False``, a
        loop over the elements on float64 copies.  For the complex step, on
        complex128 copies after checking that f is complex-safe at x."""
        loop = self.loop(stencil.complex)
        evaluations = sum(leaf.size for leaf in self.leaves) * (COMPLEX_COST if stencil.complex else stencil.count)
        if not batched or evaluations < MAPPED_MIN_EVALUATIONS or not self.forms.runs_on("jax"):
            return loop
        if stencil.complex not in self._mapped:  # one compiled f per problem and dtype: Richardson and central share it
            try:
                mapped = load("backprop_reference.oracles.methods.numerical.mapped")
                evaluator = mapped.Mapped(self, complex_=stencil.complex)
                mapped.agreeing(evaluator, loop, max(abs(float(np.real(loop.E0))), 1.0, self.objective_terms()))
            except OracleCannotRun as why:
                self.notes[f"loop:{why}"] = f"the numerical oracles evaluated f one point at a time, not in batches: {why}"
                evaluator = None
            self._mapped[stencil.complex] = evaluator
        return self._mapped[stencil.complex] or loop

    def loop(self, complex_: bool = False) -> Loop:
        """E evaluated one point at a time, on float64 copies (the kink finding and the
        ties move elements through its ``work`` arrays); ``complex_``: on complex128
        copies, after checking that f is complex-safe at x (the complex step).  Built
        once per problem: every numerical oracle, the projections and the ties share it
        (each move is put back), and the complex-safety check runs once."""
        if complex_ not in self._loops:
            self._loops[complex_] = _complex_loop(self) if complex_ else self._real_loop()
        return self._loops[complex_]

    def _real_loop(self) -> Loop:
        work = tuple(trees.map_leaves(a, lambda _, leaf: leaf.copy(), r) if n in self.argnums else a
                     for n, (a, r) in enumerate(zip(self.args, self.roots)))
        leaves = [leaf for n in self.argnums for _, leaf in trees.leaves(work[n], self.roots[n]) if leaf is not None]
        return Loop(leaves, lambda: (scalar(self.E(self.forms.numpy(*self.fresh(work))), "f"), b""), theta=self.leaves, finds_kinks=True)


def _complex_loop(problem: FunctionProblem) -> Loop:
    """Im f(θ + ih)/h needs f complex-safe (analytic; no abs, no cast to real).
    Before trusting it: the complex evaluation at x must be complex, finite and
    equal to f(x) in its real part, and the complex step along one random
    direction must match central differences along it; otherwise the complex
    step cannot run here, and says why (an unsafe f is not the gradient's fault)."""
    form = problem.forms.on(COMPLEX_SAFE)
    work = tuple(
        trees.map_leaves(a, lambda _, leaf: np.array(leaf, dtype=np.complex128, order="C"), r) if n in problem.argnums else a
        for n, (a, r) in enumerate(zip(problem.args, problem.roots))
    )
    leaves = [leaf for n in problem.argnums for _, leaf in trees.leaves(work[n], problem.roots[n]) if leaf is not None]

    def evaluate() -> tuple[complex, bytes]:
        value = _complex_value(lambda: problem.E(form(*problem.fresh(work)), COMPLEX_SAFE))
        if np.shape(value) != ():
            raise OracleCannotRun(f"f returned shape {np.shape(value)} for complex128 inputs")
        return complex(value), b""

    loop = Loop(leaves, evaluate, theta=problem.leaves)
    real = problem.loop()
    E, E_real = loop.E0, float(real.E0)
    # complex arithmetic rounds differently from real (a few ε per operation): 1000 ε of room
    if abs(E.real - E_real) > 1e3 * EPS * max(abs(E_real), 1.0, problem.objective_terms()) or E.imag != 0:
        raise OracleCannotRun(f"f(x + 0i) = {E!r} differs from f(x) = {E_real!r}, so f is not complex-safe")
    rng = np.random.default_rng(0)
    directions = [rng.standard_normal(a.shape) for a in problem.leaves]
    _check_direction(moved(leaves, directions, lambda: evaluate()[0]), moved(real.work, directions, lambda: real.evaluate()[0]))
    return loop


def _complex_value(evaluate: Callable[[], Any]) -> Any:
    """f's value on complex inputs, or ``OracleCannotRun`` where f is not complex-safe there."""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")  # a ComplexWarning means f is not complex-safe; never let it escape
        try:
            value = evaluate()
        except Exception as error:  # noqa: BLE001 — f not complex-safe: report, never crash
            raise OracleCannotRun(f"f raised on complex128 inputs: {describe(error)}") from error
    parts = outputs(value)
    if not parts or not all(np.iscomplexobj(p) for p in parts):
        raise OracleCannotRun(
            f"f returned {np.asarray(parts[0] if parts else value).dtype} for complex128 inputs: it dropped the imaginary part "
            "(abs, real, a cast to float?), so it is not complex-safe"
        )
    if not all(np.all(np.isfinite(p)) for p in parts):
        raise OracleCannotRun("f is not finite on complex128 inputs x + 0i")
    return value


def _check_direction(complex_along: Callable, real_along: Callable) -> None:
    """The complex step against central differences along one direction v: a
    complex-unsafe f (abs, a comparison on a complex value) disagrees grossly.
    Where central differences find a kink along v (relu at 0, a tie in a max),
    the two cannot be compared, and the complex step — which follows one
    side of it — cannot judge: it is skipped for that reason, not blamed on f."""
    by_complex = stencils.along_elements(stencils.COMPLEX_STEP, complex_along).values[0]
    central = stencils.along_elements(stencils.CENTRAL, real_along, find_kinks=True)
    if np.any(central.kinked[0]):
        raise OracleCannotRun(
            "f is not differentiable at x along a random direction (a kink: relu at 0, a tie in a max, abs at 0), "
            "where the complex step follows one side only; the numerical oracles judge the kinked elements"
        )
    by_central, estimate = central.values[0], central.errors[0]
    inside = np.isfinite(by_central) & np.isfinite(estimate)  # elsewhere f's domain ends within central's stencil along v
    if not np.any(inside):
        raise OracleCannotRun(
            "f's domain ends within central differences' stencil along a random direction "
            f"({'; '.join(sorted({w.why for w in central.domain.values()}))}), so the complex step's safety could not be checked there"
        )
    by_complex, by_central, estimate = by_complex[inside], by_central[inside], estimate[inside]
    allowed = tolerance_for(np.float64, "central").limit * np.maximum(np.abs(by_central), 1.0) + 10 * estimate
    if not np.all(np.abs(by_complex - by_central) <= allowed):
        k = int(np.argmax(np.abs(by_complex - by_central) - allowed))
        raise OracleCannotRun(
            f"along a random direction the complex step gives {by_complex[k]!r} but central differences "
            f"{by_central[k]!r}, so f is not complex-safe here (abs, or a comparison on a complex value?)"
        )


def moved(arrays: list[np.ndarray], directions: list[np.ndarray], evaluate: Callable[[], Any]) -> Callable:
    """t ↦ E with every array moved in place by t times its direction, and put back."""
    start = [a.copy() for a in arrays]

    def E_at(t):
        for array, a0, v in zip(arrays, start, directions):
            array[...] = a0 + t * v
        try:
            return evaluate()
        finally:
            for array, a0 in zip(arrays, start):
                array[...] = a0

    return E_at


# --- products with a tangent ----------------------------------------------------------------------


class TangentProblem(_Arguments):
    """d/dt f(args with the chosen leaves at θ + t v) at t = 0: the product of
    f's Jacobian with ``tangent`` (one array per leaf of ``leaves``), shaped like
    f's outputs (``out_root`` names them: ``out[3]``, ``out[1][0, 2]``).  ``f``
    a function or its ``Forms``; ``output``: f's value at the point (its structure
    is the layout's)."""

    mode = "tangent"
    key = None

    def __init__(
        self, f: Callable | Forms, args: tuple, roots: Sequence[str], argnums: tuple[int, ...], tangent: Sequence[np.ndarray],
        output: Any, dtype: type = np.float64, *, out_root: str = "out", where: str = "",
    ):
        self._take(f if isinstance(f, Forms) else Forms.of(f), args, roots, argnums, dtype)
        self.tangent = [np.asarray(t, dtype=dtype) for t in tangent]
        self.output, self.out_root, self.where = output, out_root, where
        named = [(path, leaf) for path, leaf in trees.leaves(output, out_root) if leaf is not None]
        self.out_shapes = [np.shape(leaf) for _, leaf in named]
        self.layout = trees.Layout(tuple(trees.qualified(path, where) for path, _ in named), outputs, self._unflatten)
        self.notes: dict[str, str] = {}

    def _unflatten(self, items: Sequence) -> Any:
        remaining = iter(items)
        return trees.map_leaves(self.output, lambda _, leaf: next(remaining), self.out_root)

    def in_dtype(self, dtype: Any) -> "TangentProblem":
        return TangentProblem(self.forms, self.args, self.roots, self.argnums, self.tangent, self.output, dtype,
                              out_root=self.out_root, where=self.where)

    def objective_terms(self) -> float:
        return 0.0

    def function(self, framework: Framework) -> tuple[Callable, tuple]:
        """``fn(leaves, data)`` → f's output leaves, in ``framework``."""
        return self.traced(framework, outputs)

    def line(self, stencil: stencils.Stencil) -> Callable[[Any], np.ndarray]:
        """t ↦ f's outputs at θ + t v, flattened into one vector: NumPy for the real
        stencils, complex NumPy (after checking f complex-safe along v) for the complex step."""
        if not stencil.complex:
            return self._line(self.forms.numpy, np.float64)
        form = self.forms.on(COMPLEX_SAFE)
        E_at = self._line(lambda *a: _complex_value(lambda: form(*a)), np.complex128)
        value = np.concatenate([np.ravel(np.asarray(o, np.float64)) for o in outputs(self.output)])
        if not np.all(np.abs(E_at(0.0).real - value) <= 1e3 * EPS * np.maximum(np.abs(value), 1.0)):
            raise OracleCannotRun("f(x + 0i) differs from f(x) in its real part, so f is not complex-safe")
        _check_direction(E_at, self._line(self.forms.numpy, np.float64))
        return E_at

    def _line(self, form: Callable, dtype) -> Callable[[Any], np.ndarray]:
        def E_at(t):
            moved = [np.asarray(theta + t * v, dtype=dtype) for theta, v in zip(self.leaves, self.tangent)]
            value = form(*self.with_leaves(moved, self.fresh()))
            return np.concatenate([np.ravel(np.asarray(o)) for o in outputs(value)])

        return E_at


class JacobianProblem:
    """The full Jacobian of f at the arguments: for each chosen argument n (a
    single array), a block shaped ``output.shape + args[n].shape`` named
    ``jacobian`` (one argument) or ``jacobian[i]``; each oracle computes it one
    column at a time, a ``TangentProblem`` along each input element (``columns``)."""

    mode = "jacobian"
    key = None

    def __init__(self, f: Callable | Forms, args: tuple, roots: Sequence[str], argnums: tuple[int, ...], output: np.ndarray,
                 dtype: type = np.float64, *, single: bool = True):
        self.forms = f if isinstance(f, Forms) else Forms.of(f)
        self.args, self.roots, self.argnums, self.output, self.dtype, self.single = args, list(roots), argnums, output, dtype, single
        self.leaves = [np.asarray(args[n], dtype=dtype) for n in argnums]
        names = ("jacobian",) if single else tuple(f"jacobian[{i}]" for i in range(len(argnums)))
        self.shapes = [np.shape(output) + leaf.shape for leaf in self.leaves]
        self.layout = trees.Layout(names, lambda blocks: [blocks] if single else list(blocks),
                                   lambda items: items[0] if single else tuple(items))
        self.notes: dict[str, str] = {}

    kinks_known = False

    @property
    def device(self) -> str:
        return self.forms.device

    def on_a_kink(self) -> bool:
        return False

    def why_not(self, framework: str) -> str:
        return "" if self.forms.runs_on(framework) else self.forms.reason(framework)

    def rounding_bounds(self) -> None:
        return None

    def watched(self, framework: Framework, seen: list[bytes]) -> Framework:
        return framework

    def function(self, framework: Framework) -> tuple[Callable, tuple]:
        raise OracleCannotRun("a Jacobian is evaluated one column at a time (columns), not as one function")

    def objective_terms(self) -> float:
        return 0.0

    def in_dtype(self, dtype: Any) -> "JacobianProblem":
        return JacobianProblem(self.forms, self.args, self.roots, self.argnums, self.output, dtype, single=self.single)

    def columns(self):
        """(block, element index, the tangent problem along that input element), for every input element."""
        for block, leaf in enumerate(self.leaves):
            for index in np.ndindex(leaf.shape):
                tangent = [np.zeros(l.shape) for l in self.leaves]
                tangent[block][index] = 1.0
                yield block, index, TangentProblem(self.forms, self.args, self.roots, self.argnums, tangent, self.output, self.dtype)

    def assemble(self, oracle: str, columns: Sequence[tuple[int, tuple, Any]]):
        """One ``Answer`` from the columns' answers: each field's column goes into its block."""
        fields = {}
        for field in ("gradients", "errors", "kinked", "lower", "upper"):
            if any(getattr(answer, field) is None for _, _, answer in columns):
                fields[field] = None
                continue
            fill = False if field == "kinked" else np.nan
            blocks = [np.full(shape, fill, dtype=bool if field == "kinked" else np.float64) for shape in self.shapes]
            for block, index, answer in columns:
                (column,) = answer.flat(field)
                blocks[block][(Ellipsis,) + index] = np.reshape(column, np.shape(self.output))
            fields[field] = self.layout.unflatten(blocks)
        return Answer(oracle, self.layout, fields["gradients"], fields["errors"], fields["kinked"], fields["lower"], fields["upper"])


# --- networks -----------------------------------------------------------------------------------


def complex_dtype(dtype: np.dtype) -> type:
    return np.complex64 if dtype == np.float32 else np.complex128


class NetworkProblem:
    """E(params) = mean_n J(y_n, o_n) of ``mlp`` on the batch ``(X, Y)``, with
    respect to every parameter (the inputs are validated by the caller)."""

    mode = "gradient"
    kinks_known = True  # its activations' kinks: seen beforehand (on_a_kink), watched in arbitration
    device = "cpu"

    def __init__(self, mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray):
        self.mlp, self.params, self.X, self.Y = mlp, params, X, Y
        self.layout = trees.network_layout(params)
        self.leaves = self.layout.flatten(params)
        self.notes: dict[str, str] = {}
        self._terms = None
        self._objective_terms: float | None = None

    def why_not(self, framework: str) -> str:
        return ""  # every framework oracle has its own forward pass of a registered network

    def in_dtype(self, dtype: Any) -> "NetworkProblem":
        cast = [(W.astype(dtype), None if b is None else b.astype(dtype)) for W, b in self.params]
        return NetworkProblem(self.mlp, cast, self.X.astype(dtype), self.Y.astype(dtype))

    def rounding_bounds(self) -> list[np.ndarray]:
        return self.terms()

    def watched(self, framework: Framework, seen: list[bytes]) -> Framework:
        """``framework`` with every kinked activation of the network (registered ``kinks``
        or ``pieces``) appending its kink pattern to ``seen`` on each call."""

        def watch(f: Callable, kinks: tuple[float, ...], pieces: bool) -> Callable:
            def run(z: np.ndarray) -> np.ndarray:
                for kink in kinks:
                    seen.append(np.packbits(np.asarray(z > kink, dtype=bool)).tobytes())
                if pieces:
                    seen.append(np.asarray(np.argmax(z, axis=-1), dtype=np.int64).tobytes())
                return f(z)

            return run

        table = {}
        for name in dict.fromkeys(self.mlp.activations):
            entry = REGISTERED_ACTIVATIONS[name]
            f = framework.activation(name)  # OracleCannotRun here if the framework cannot evaluate it
            table[name] = watch(f, entry.kinks, entry.pieces) if entry.kinks or entry.pieces else f
        return dataclasses.replace(framework, activations=table)

    def objective_terms(self) -> float:
        """The size of the terms E's own rounding is set by (``oracles.engine.rounding.objective_terms``),
        computed once per problem: central differences and Richardson both ask."""
        if self._objective_terms is None:
            self._objective_terms = objective_terms(self.mlp, self.params, self.X, self.Y)
        return self._objective_terms

    def terms(self) -> list[np.ndarray]:
        """B_k per leaf: the size of the terms summed into each gradient element (``oracles.engine.rounding``)."""
        if self._terms is None:
            self._terms = network_terms(self.mlp, self.params, self.X, self.Y)
        return self._terms

    @property
    def key(self) -> tuple:
        """One compiled gradient per network and per registry entry it uses
        (an activation registered again under the same name is a new function)."""
        mlp = self.mlp
        functions = tuple(mlp.activation(l).xp_f for l in range(1, mlp.depth + 1)) + (mlp.loss_fn.xp_J,)
        return mlp, functions

    def on_a_kink(self) -> bool:
        """Some pre-activation sits exactly on a kink (relu/leaky_relu at 0, a maxout tie)."""
        return kink_distance(self.mlp, self.params, self.X) == 0.0

    def function(self, framework: Framework) -> tuple[Callable, tuple]:
        E = network_objective(self.mlp, framework)
        unflatten = self.layout.unflatten
        return (lambda leaves, data: E(unflatten(leaves), *data)), (self.X, self.Y)

    def evaluator(self, stencil: stencils.Stencil, batched: bool = True):
        """Batched forward passes (``batched``), or the plain loop the benchmark
        compares them with: the canonical objective (and its kinks) for the
        real stencils, the complex step's own complex-safe network for it."""
        mlp, params, X, Y = self.mlp, self.params, self.X, self.Y
        if not stencil.complex:
            probe = network_loop(mlp, params, X, Y)
            if not batched:
                return probe
            return NetworkBatches(
                mlp, params, X, Y, dtype=params[0][0].dtype, activation=lambda l: mlp.activation(l).f,
                per_sample=per_sample_loss(mlp), kinks=True, probe=probe,
            )
        loss = COMPLEX_SAFE.per_sample_loss(mlp.loss, mlp.activations[-1])
        dtype = complex_dtype(params[0][0].dtype)
        if batched:
            return NetworkBatches(
                mlp, params, X, Y, dtype=dtype, activation=lambda l: COMPLEX_SAFE.activation(mlp.activations[l - 1]),
                per_sample=lambda y, z: loss(z, y), kinks=False,
            )
        E = network_objective(mlp, COMPLEX_SAFE)
        work = [np.array(a, dtype=dtype, order="C") for a in self.leaves]  # C order: the loop writes through reshape(-1)
        return Loop(work, lambda: (E(self.layout.unflatten(work), X, Y), b""), theta=self.leaves, fixed=network_fixed(mlp, params))

    def along(self, directions: Sequence[np.ndarray]) -> Callable[[complex], complex]:
        """t ↦ E(θ + t v) on the complex step's network: one complex forward
        pass per t, whatever the parameter count (the random-projection check)."""
        E = network_objective(self.mlp, COMPLEX_SAFE)
        return lambda t: E(self.layout.unflatten([a + t * v for a, v in zip(self.leaves, directions)]), self.X, self.Y)
