"""What the oracles differentiate: a scalar function of some array leaves.

Every check builds one problem and hands it to each oracle
(``oracles.registry``); the oracles never look at where it came from.

* ``FunctionProblem`` — any ``f(*args)`` (or ``f(*args, xp)``, written against
  the array namespace), differentiated with respect to the leaves of the
  arguments chosen by ``argnums``; every oracle runs on float64 copies.
* ``NetworkProblem`` — a network's objective E(params) on a batch: the same
  thing for the parameter pytree ``[(W^1, b^1), …]``, plus what only a network
  has — its oracles' own forward passes (``oracles.frameworks``), batched
  numerical evaluation (``oracles.numerical.network_batches``) and kinks.

A problem offers the oracles three things:

* ``leaves`` (the point θ, one float array per leaf) and ``layout`` (their
  names and how per-leaf results go back into the caller's structure);
* ``function(framework)`` → ``(fn, data)``: ``fn(leaves, data)`` is E written
  in that framework, ``data`` the NumPy arrays it reads besides the leaves
  (the framework oracles convert them); ``key`` caches a compiled gradient;
* ``evaluator(stencil, batched)``: where a numerical oracle evaluates E.

An oracle that cannot evaluate the problem raises ``OracleCannotRun`` with
the reason; the checks report it as skipped.
"""

from __future__ import annotations

import inspect
import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from oracles import trees
from oracles.frameworks import Framework, OracleCannotRun, describe, network_objective
from oracles.numerical import stencils
from oracles.numerical.complex_safe import COMPLEX_SAFE
from oracles.numerical.evaluators import Loop, NetworkBatches, network_fixed, network_loop
from oracles.rounding import network_terms, objective_terms
from oracles.tolerances import tolerance_for
from reference.cases import kink_distance
from reference.mlp import MLP, Params
from reference.network import per_sample_loss

EPS = float(np.finfo(np.float64).eps)


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
        raise ValueError(f"{who} must return a scalar; got shape {shape}")
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{who} must return a real number; got {type(value).__name__} of dtype {array.dtype}")
    return float(array)


# --- any function -----------------------------------------------------------------------------


class FunctionProblem:
    """``f(*args)`` with respect to the leaves of ``args[n]`` for n in
    ``argnums``; ``roots`` name the arguments (``x``, or ``args[0]``, …).
    The arguments are copied: floating leaves to float64, C-ordered."""

    key = None  # nothing to compile once and reuse

    def objective_terms(self) -> float:
        return 0.0  # f is opaque: max(|f|, 1) stands for the size of its terms

    def in_float32(self) -> "FunctionProblem":
        """The same problem on float32 copies (the rounding evidence of ``oracles.checks``)."""
        return FunctionProblem(self.f, self.args, self.roots, self.argnums, dtype=np.float32)

    def __init__(self, f: Callable, args: tuple, roots: Sequence[str], argnums: tuple[int, ...], dtype: type = np.float64):
        self.f, self.roots, self.argnums = f, list(roots), argnums
        self.takes_xp = takes_xp(f)
        self.args = tuple(
            trees.map_leaves(a, lambda _, leaf: np.array(leaf, dtype=dtype if leaf.dtype.kind == "f" else leaf.dtype, order="C"), root)
            for a, root in zip(args, roots)
        )
        targets = [(path, leaf) for n in argnums for path, leaf in trees.leaves(self.args[n], self.roots[n]) if leaf is not None]
        self.leaves = [leaf for _, leaf in targets]
        self.layout = trees.Layout(tuple(path for path, _ in targets), self._flatten, self._unflatten)

    def _flatten(self, gradient: Any) -> list:
        """The leaves of a gradient shaped like the chosen arguments (a tuple over ``argnums``)."""
        return [g for n, part in zip(self.argnums, gradient) for _, _, g in trees.matched(self.args[n], part, self.roots[n], "gradient")]

    def _unflatten(self, items: Sequence) -> tuple:
        remaining = iter(items)
        return tuple(trees.map_leaves(self.args[n], lambda _, leaf: next(remaining), self.roots[n]) for n in self.argnums)

    def with_leaves(self, leaves: Sequence, data: Sequence) -> tuple:
        """The arguments ``data`` with the chosen leaves replaced by ``leaves``
        (which come in ``argnums`` order, as ``self.leaves`` do)."""
        arguments = list(data)
        remaining = iter(leaves)
        for n in self.argnums:
            arguments[n] = trees.map_leaves(data[n], lambda _, leaf: next(remaining), self.roots[n])
        return tuple(arguments)

    def on_a_kink(self) -> bool:
        return False  # f is opaque: where it is not differentiable is not known here

    def _needs_xp(self, why: str) -> None:
        if not self.takes_xp:
            raise OracleCannotRun(f"f takes no xp argument, so it {why} (write f(x, xp) against the array namespace xp)")

    def function(self, framework: Framework) -> tuple[Callable, tuple]:
        self._needs_xp("cannot be traced")

        def fn(leaves, data):
            try:
                return self.f(*self.with_leaves(leaves, data), xp=framework.xp)
            except OracleCannotRun:
                raise
            except Exception as error:  # noqa: BLE001 — f's own failure in this framework is reported, not raised
                raise OracleCannotRun(f"f raised with xp={framework.namespace}: {describe(error)}") from error

        return fn, self.args

    def evaluator(self, stencil: stencils.Stencil, batched: bool = True) -> Loop:
        """A loop over the elements (f is opaque: nothing to batch), on float64
        copies; for the complex step, on complex128 copies after checking that
        f is complex-safe at x."""
        if not stencil.complex:
            work = tuple(trees.map_leaves(a, lambda _, leaf: leaf.copy(), r) for a, r in zip(self.args, self.roots))
            kwargs = {"xp": np} if self.takes_xp else {}
            leaves = [leaf for n in self.argnums for _, leaf in trees.leaves(work[n], self.roots[n]) if leaf is not None]
            return Loop(leaves, lambda: (scalar(self.f(*work, **kwargs), "f"), b""), theta=self.leaves)
        self._needs_xp("is not evaluated on complex inputs")
        return _complex_loop(self)


def _complex_loop(problem: FunctionProblem) -> Loop:
    """Im f(θ + ih)/h needs f complex-safe (analytic; no abs, no cast to real).
    Before trusting it: the complex evaluation at x must be complex, finite and
    equal to f(x) in its real part, and the complex step along one random
    direction must match central differences along it; otherwise the complex
    step cannot run here, and says why (an unsafe f is not the gradient's fault)."""
    work = tuple(
        trees.map_leaves(a, lambda _, leaf: np.array(leaf, dtype=np.complex128, order="C"), r) if n in problem.argnums else a
        for n, (a, r) in enumerate(zip(problem.args, problem.roots))
    )
    leaves = [leaf for n in problem.argnums for _, leaf in trees.leaves(work[n], problem.roots[n]) if leaf is not None]

    def evaluate() -> tuple[complex, bytes]:
        with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
            warnings.simplefilter("error")  # a ComplexWarning means f is not complex-safe; never let it escape
            try:
                value = problem.f(*work, xp=np)
            except Exception as error:  # noqa: BLE001 — f not complex-safe: report, never crash
                raise OracleCannotRun(f"f raised on complex128 inputs: {describe(error)}") from error
        if np.shape(value) != () or not np.iscomplexobj(value):
            raise OracleCannotRun(
                f"f returned {np.asarray(value).dtype} for complex128 inputs: it dropped the imaginary part "
                "(abs, real, a cast to float?), so it is not complex-safe"
            )
        value = complex(value)
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            raise OracleCannotRun(f"f(x + 0i) = {value!r} is not finite")
        return value, b""

    loop = Loop(leaves, evaluate, theta=problem.leaves)
    real = problem.evaluator(stencils.CENTRAL)
    E, E_real = loop.E0, float(real.E0)
    # complex arithmetic rounds differently from real (a few ε per operation): 1000 ε of room
    if abs(E.real - E_real) > 1e3 * EPS * max(abs(E_real), 1.0) or E.imag != 0:
        raise OracleCannotRun(f"f(x + 0i) = {E!r} differs from f(x) = {E_real!r}, so f is not complex-safe")
    _check_direction(problem, real, leaves, evaluate)
    return loop


def _check_direction(problem: FunctionProblem, real: Loop, complex_leaves: list[np.ndarray], evaluate: Callable) -> None:
    """The complex step against central differences along one random direction
    v: a complex-unsafe f (abs, a comparison on a complex value) disagrees grossly."""
    rng = np.random.default_rng(0)
    directions = [rng.standard_normal(a.shape) for a in problem.leaves]
    along_complex, _ = stencils.along(stencils.COMPLEX_STEP, _moved(complex_leaves, directions, lambda: evaluate()[0]))
    along_central, estimate = stencils.along(stencils.CENTRAL, _moved(real.work, directions, lambda: real.evaluate()[0]))
    allowed = tolerance_for(np.float64, "central").limit * max(abs(along_central), 1.0) + 10 * estimate
    if not abs(along_complex - along_central) <= allowed:
        raise OracleCannotRun(
            f"along a random direction the complex step gives {along_complex!r} but central differences "
            f"{along_central!r}, so f is not complex-safe here (abs, or a comparison on a complex value?)"
        )


def _moved(arrays: list[np.ndarray], directions: list[np.ndarray], evaluate: Callable[[], Any]) -> Callable:
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


# --- networks -----------------------------------------------------------------------------------


def complex_dtype(dtype: np.dtype) -> type:
    return np.complex64 if dtype == np.float32 else np.complex128


class NetworkProblem:
    """E(params) = mean_n J(y_n, o_n) of ``mlp`` on the batch ``(X, Y)``, with
    respect to every parameter (the inputs are validated by the caller)."""

    def __init__(self, mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray):
        self.mlp, self.params, self.X, self.Y = mlp, params, X, Y
        self.layout = trees.network_layout(params)
        self.leaves = self.layout.flatten(params)
        self._terms = None
        self._objective_terms: float | None = None

    def objective_terms(self) -> float:
        """The size of the terms E's own rounding is set by (``oracles.rounding.objective_terms``),
        computed once per problem: central differences and Richardson both ask."""
        if self._objective_terms is None:
            self._objective_terms = objective_terms(self.mlp, self.params, self.X, self.Y)
        return self._objective_terms

    def terms(self) -> list[np.ndarray]:
        """B_k per leaf: the size of the terms summed into each gradient element (``oracles.rounding``)."""
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
