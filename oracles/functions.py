"""Check any hand-written gradient against every oracle that can run on it.

    verdict = check_gradient(f, grad, x)          # f(x) → scalar, grad(x) → ∂f/∂x
    assert verdict.ok, verdict.message()           # or assert_gradient(f, grad, x) in pytest

``f`` maps arrays to a scalar; ``grad`` has the same signature and returns
∂f/∂(the arguments chosen by ``argnums``): one gradient for an int, a tuple
of gradients for a tuple of ints.  ``x`` is one array, or a *tuple* of the
positional arguments; an argument may be a pytree — nested lists, tuples and
dicts of ndarrays, with ``None`` for absent leaves (a list of ``(W, b)``
pairs) — and its gradient has the same structure.  A single argument that is
itself a tuple must be wrapped: ``x=(params,)``.

Which oracles run depends on how ``f`` is written:

* ``f(x, xp)`` — written against an array namespace — is run with
  ``xp = jax.numpy`` (``jax.grad``), ``xp = torch`` (``torch.autograd``) and
  ``xp = numpy`` on complex128 inputs (complex step), plus the numerical
  oracles with ``xp = numpy``;
* a plain NumPy ``f(x)`` gets only the numerical oracles (Richardson and
  central differences); the verdict says why the others were skipped.

Every oracle runs in float64 on copies of the inputs; a float32 gradient is
judged with the float32 tolerances (``oracles.tolerances``).  The metric is
the normalised error of ``oracles.comparison``:

    e = max_k |ours_k − oracle_k| / max(G, floor),   G = max_k |oracle_k| over all leaves.

Numerical oracles (formulas as in ``oracles.finite_differences``, written out
again here for a generic ``f``; no kink handling, since ``f`` is opaque):

    central     D(h) = (f(θ + h) − f(θ − h)) / ((θ + h) − (θ − h)),  h = ε^{1/3} max(1, |θ|)
                error ≈ |D(2h) − D(h)| / 3 + ε max(|f|, 1) / h
    Richardson  R₁(h) = (4 D(h/2) − D(h)) / 3,  R₂ = (16 R₁(h/2) − R₁(h)) / 15,  h = ε^{1/5} max(1, |θ|)
                error ≈ |R₂ − R₁(h/2)| + 6.6 ε max(|f|, 1) / h

An element whose own error estimate exceeds the tolerance is *unresolved*
by that oracle: counted, not compared.  An element no oracle could resolve
makes the verdict fail (nothing judged it).

Complex step

    ∂f/∂θ = Im f(θ + i h) / h,   h = 1e-30

needs ``f`` to be complex-safe (analytic; no ``abs``, no casts to real).  Before
trusting it, the complex evaluation at x must be complex, finite and equal to
f(x) in its real part, and the complex-step derivative along one random
direction must match central differences along it; otherwise the oracle is
skipped with the reason (an unsafe ``f`` is not the gradient's fault).
"""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from oracles.tolerances import ORACLE_KINDS, Tolerance, tolerance_for

__all__ = ["FunctionVerdict", "OracleComparison", "assert_gradient", "check_gradient"]

ALL_ORACLES: tuple[str, ...] = tuple(ORACLE_KINDS)  # jax, torch, complex_step, richardson, central
NEEDS_XP = ("jax", "torch", "complex_step")
COMPLEX_STEP = 1e-30
RICHARDSON_ROUNDING = (64 * 4 + 20 * 2 + 1) / 45  # ≈ 6.6: rounding of R₂ = (64 D(h/4) − 20 D(h/2) + D(h))/45
EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class OracleComparison:
    """The hand-written gradient against one oracle: its worst element and the error."""

    implementation: str
    oracle: str
    dtype: str  # the gradient's dtype (the oracle always ran in float64)
    ok: bool
    error: float  # normalised: worst |ours − oracle| / scale
    tolerance: Tolerance
    scale: float  # max(G, floor)
    element: str  # the worst element, e.g. "x[0][1][2, 3]" or "args[1]['W'][0, 2]"
    actual: float  # ours there
    desired: float  # the oracle's value there
    abs_error: float
    rel_error: float  # abs_error / |desired| (inf when desired is 0 and they differ)
    compared: int  # elements judged
    unresolved: int  # elements whose oracle error estimate exceeds the tolerance

    def message(self) -> str:
        verdict = "agree" if self.ok else "DISAGREE"
        text = (
            f"{self.implementation} and {self.oracle} {verdict} ({self.dtype}): worst element {self.element}: "
            f"{self.implementation} = {self.actual!r}, {self.oracle} = {self.desired!r}, "
            f"|difference| = {self.abs_error:.3e} (relative {self.rel_error:.3e}), normalised error "
            f"{self.error:.3e} (scale {self.scale:.3e}) vs tolerance {self.tolerance.limit:.0e}"
        )
        if self.unresolved:
            text += f"; {self.unresolved} element(s) unresolved by {self.oracle} at this tolerance"
        return text

    def __str__(self) -> str:
        return self.message()


@dataclass(frozen=True)
class FunctionVerdict:
    """A hand-written gradient checked against several oracles."""

    ok: bool
    implementation: str
    comparisons: tuple[OracleComparison, ...]
    skipped: tuple[tuple[str, str], ...]  # (oracle, why it did not run)
    note: str  # e.g. the float64 evaluation of float32 inputs
    unjudged: tuple[str, ...] = ()  # elements that no oracle that ran could resolve

    @property
    def oracles_ran(self) -> tuple[str, ...]:
        return tuple(c.oracle for c in self.comparisons)

    @property
    def worst(self) -> OracleComparison | None:
        if not self.comparisons:
            return None
        failing = [c for c in self.comparisons if not c.ok]
        return max(failing or self.comparisons, key=lambda c: c.error / c.tolerance.limit)

    def message(self) -> str:
        ran = ", ".join(self.oracles_ran) or "no oracle"
        lines = [f"{self.implementation}: {'OK' if self.ok else 'WRONG'} against {ran}"]
        if not self.ok and self.worst is not None and not self.worst.ok:
            lines.append(f"  worst: {self.worst.element} (by {self.worst.oracle})")
        lines += [f"  {c.message()}" for c in self.comparisons]
        if self.unjudged:
            shown = ", ".join(self.unjudged[:5]) + (f" and {len(self.unjudged) - 5} more" if len(self.unjudged) > 5 else "")
            lines.append(f"  not judged: {shown} — unresolved by every oracle that ran")
        lines += [f"  {oracle} skipped: {why}" for oracle, why in self.skipped]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()


# ---------------------------------------------------------------- pytrees


def _is_container(tree: Any) -> bool:
    return isinstance(tree, (list, tuple, dict))


def _children(tree: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(child path, key, child) of a list, tuple or dict."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, child in items:
        yield f"{path}[{key!r}]", key, child


def _rebuild(tree: Any, children: list) -> Any:
    if isinstance(tree, dict):
        return type(tree)(zip(tree.keys(), children))
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # namedtuple
        return type(tree)(*children)
    return type(tree)(children)


def _leaves(tree: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, leaf) for every leaf, None included, depth first."""
    if _is_container(tree):
        for child_path, _, child in _children(tree, path):
            yield from _leaves(child, child_path)
    else:
        yield path, tree


def _map(tree: Any, fn: Callable[[str, Any], Any], path: str) -> Any:
    """The same structure with ``fn(path, leaf)`` at every leaf other than None."""
    if _is_container(tree):
        return _rebuild(tree, [_map(child, fn, p) for p, _, child in _children(tree, path)])
    return None if tree is None else fn(path, tree)


def _matched(argument: Any, gradient: Any, path: str, who: str) -> Iterator[tuple[str, np.ndarray, Any]]:
    """(path, argument leaf, gradient leaf) for every array leaf; the gradient
    must have the argument's structure (lists and tuples interchangeable)."""
    if _is_container(argument):
        if isinstance(argument, dict):
            if not isinstance(gradient, dict) or set(gradient) != set(argument):
                keys = sorted(map(repr, gradient)) if isinstance(gradient, dict) else type(gradient).__name__
                raise ValueError(f"{who} at {path}: expected a dict with keys {sorted(map(repr, argument))}; got {keys}")
        elif not isinstance(gradient, (list, tuple)) or len(gradient) != len(argument):
            got = f"{type(gradient).__name__} of length {len(gradient)}" if isinstance(gradient, (list, tuple)) else type(gradient).__name__
            raise ValueError(f"{who} at {path}: expected a {type(argument).__name__} of length {len(argument)}; got {got}")
        for child_path, key, child in _children(argument, path):
            yield from _matched(child, gradient[key], child_path, who)
        return
    if argument is None:
        if gradient is not None:
            raise ValueError(f"{who} at {path}: the argument is None there, so the gradient must be None; got {type(gradient).__name__}")
        return
    if gradient is None:
        raise ValueError(f"{who} at {path}: got None where the argument has shape {argument.shape}")
    yield path, argument, gradient


def _element(path: str, index: tuple[int, ...]) -> str:
    return f"{path}[{', '.join(map(str, index))}]" if index else path


# ---------------------------------------------------------------- validation


def _check_callable(value: Any, name: str) -> None:
    if not callable(value):
        raise TypeError(f"{name} must be callable; got {type(value).__name__} {value!r:.60}")


def _takes_xp(fn: Callable) -> bool:
    try:
        parameter = inspect.signature(fn).parameters.get("xp")
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)


def _arguments(x: Any) -> tuple[tuple, list[str]]:
    """The positional arguments and their root names."""
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        if not x:
            raise ValueError("x must hold at least one argument; got an empty tuple")
        return x, [f"args[{i}]" for i in range(len(x))]
    return (x,), ["x"]


def _check_argnums(argnums: Any, count: int) -> tuple[tuple[int, ...], bool]:
    """The chosen argument positions, and whether one gradient (not a tuple) is expected."""
    single = not isinstance(argnums, (tuple, list))
    numbers = (argnums,) if single else tuple(argnums)
    if not numbers:
        raise ValueError("argnums must name at least one argument; got ()")
    for n in numbers:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"argnums must be an int or a tuple of ints; got {argnums!r}")
        if not -count <= n < count:
            raise ValueError(f"argnums={argnums!r} is out of range: x holds {count} argument(s) (a tuple x is the positional arguments)")
    normalised = tuple(int(n) % count for n in numbers)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"argnums={argnums!r} names an argument twice")
    return normalised, single


def _check_oracles(oracles: Any) -> tuple[str, ...]:
    if oracles is None:
        return ALL_ORACLES
    if isinstance(oracles, str) or not isinstance(oracles, (list, tuple)):
        raise TypeError(f"oracles must be None or a sequence of names from {list(ALL_ORACLES)}; got {oracles!r}")
    if not oracles:
        raise ValueError(f"oracles must name at least one of {list(ALL_ORACLES)}; got {oracles!r}")
    for name in oracles:
        if name not in ALL_ORACLES:
            raise ValueError(f"unknown oracle {name!r} in oracles; known: {', '.join(ALL_ORACLES)}")
    if len(set(oracles)) != len(oracles):
        raise ValueError(f"oracles names an oracle twice: {oracles!r}")
    return tuple(name for name in ALL_ORACLES if name in oracles)  # a fixed, readable order


def _check_leaf(path: str, leaf: Any, differentiated: bool) -> None:
    if leaf is None:
        return
    if not isinstance(leaf, np.ndarray):
        raise TypeError(f"x leaf {path} must be a float32 or float64 numpy.ndarray; got {type(leaf).__name__}")
    if differentiated and leaf.dtype not in (np.float32, np.float64):
        raise TypeError(f"x leaf {path} must be float32 or float64 to be differentiated; got dtype {leaf.dtype}")
    if leaf.dtype.kind not in "biuf" or (leaf.dtype.kind == "f" and leaf.dtype not in (np.float32, np.float64)):
        raise TypeError(f"x leaf {path} must be float32 or float64 (or integer data not differentiated); got dtype {leaf.dtype}")
    if leaf.dtype.kind == "f" and not np.all(np.isfinite(leaf)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(leaf))[0])
        raise ValueError(f"x leaf {path} must be finite; {_element(path, index)} = {leaf[index]!r}")


def _scalar(value: Any, who: str) -> float:
    """``value`` as a float, if it is a real scalar."""
    shape = np.shape(value)
    if shape != ():
        raise ValueError(f"{who} must return a scalar; got shape {shape}")
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{who} must return a real number; got {type(value).__name__} of dtype {array.dtype}")
    return float(array)


def _gradient_leaves(
    gradient: Any, args: tuple, roots: list[str], argnums: tuple[int, ...], single: bool
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(path, argument leaf, our gradient leaf) for every differentiated array leaf."""
    if single:
        gradient = (gradient,)
    elif not isinstance(gradient, (tuple, list)) or len(gradient) != len(argnums):
        raise ValueError(f"grad must return a tuple of {len(argnums)} gradients for argnums={argnums!r}; got {type(gradient).__name__}")
    leaves = []
    for n, g in zip(argnums, gradient):
        for path, arg_leaf, g_leaf in _matched(args[n], g, roots[n], "grad's result"):
            if isinstance(g_leaf, np.floating):
                g_leaf = np.asarray(g_leaf)
            if not isinstance(g_leaf, np.ndarray):
                raise TypeError(f"grad's result at {path} must be a numpy.ndarray; got {type(g_leaf).__name__}")
            if g_leaf.dtype not in (np.float32, np.float64):
                raise TypeError(f"grad's result at {path} must be float32 or float64; got dtype {g_leaf.dtype}")
            if g_leaf.shape != arg_leaf.shape:
                raise ValueError(f"grad's result at {path} has shape {g_leaf.shape}, but the argument {path} has shape {arg_leaf.shape}")
            leaves.append((path, arg_leaf, g_leaf))
    if not leaves:
        raise ValueError(f"the arguments chosen by argnums={argnums!r} hold no arrays to differentiate")
    return leaves


# ---------------------------------------------------------------- the oracles


class _Evaluator:
    """Calls f on float64 copies of the arguments, with one element moved at a time."""

    def __init__(self, f: Callable, args: tuple, roots: list[str], argnums: tuple[int, ...], xp: Any):
        self.f, self.xp = f, xp
        self.args = tuple(
            _map(a, lambda _, leaf: np.array(leaf, dtype=np.float64 if leaf.dtype.kind == "f" else leaf.dtype, order="C"), root)
            for a, root in zip(args, roots)
        )
        self.targets = [  # (path, float64 working array), in the order of _gradient_leaves
            (path, leaf) for n in argnums for path, leaf in _leaves(self.args[n], roots[n]) if leaf is not None
        ]

    def __call__(self) -> float:
        kwargs = {} if self.xp is None else {"xp": self.xp}
        return _scalar(self.f(*self.args, **kwargs), "f")

    def at(self, flat: np.ndarray, k: int, value: float) -> float:
        saved = flat[k]
        flat[k] = value
        try:
            return self()
        finally:
            flat[k] = saved


def _central_difference(evaluate: _Evaluator, flat, k, theta: float, h: float) -> float:
    plus, minus = theta + h, theta - h  # the representable step, not 2h, in the denominator
    return (evaluate.at(flat, k, plus) - evaluate.at(flat, k, minus)) / (plus - minus)


def _numerical(evaluate: _Evaluator, method: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(gradient, error estimate) per target leaf, by central differences or Richardson."""
    rounding = EPS * max(abs(evaluate()), 1.0)
    root = 1.0 / 3.0 if method == "central" else 1.0 / 5.0
    out = []
    for _, array in evaluate.targets:
        g, err = np.empty(array.shape), np.empty(array.shape)
        flat, g_flat, err_flat = array.reshape(-1), g.reshape(-1), err.reshape(-1)
        for k in range(flat.size):
            theta = float(flat[k])
            h = EPS**root * max(1.0, abs(theta))
            D = _central_difference(evaluate, flat, k, theta, h)
            if method == "central":
                D_wide = _central_difference(evaluate, flat, k, theta, 2 * h)
                g_flat[k], err_flat[k] = D, abs(D_wide - D) / 3.0 + rounding / h
            else:
                D2 = _central_difference(evaluate, flat, k, theta, h / 2)
                D4 = _central_difference(evaluate, flat, k, theta, h / 4)
                R1_h, R1_h2 = (4 * D2 - D) / 3, (4 * D4 - D2) / 3
                R2 = (16 * R1_h2 - R1_h) / 15
                g_flat[k], err_flat[k] = R2, abs(R2 - R1_h2) + RICHARDSON_ROUNDING * rounding / h
        out.append((g, err))
    return out


class _Skip(Exception):
    """An oracle cannot run on this f; the message says why."""


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


def _jax(f, args, roots, argnums) -> list[np.ndarray]:
    import oracles.jax_oracle  # noqa: F401 — switches x64 on before any array exists
    import jax
    import jax.numpy as jnp

    as_jax = tuple(_map(a, lambda _, leaf: jnp.asarray(leaf.astype(np.float64) if leaf.dtype.kind == "f" else leaf), r) for a, r in zip(args, roots))
    try:
        grads = jax.grad(lambda *a: f(*a, xp=jnp), argnums=argnums)(*as_jax)
    except Exception as error:  # noqa: BLE001 — f's own failure under jax.numpy is reported, not raised
        raise _Skip(f"f raised with xp=jax.numpy: {_describe(error)}") from error
    out = [np.asarray(leaf) for n, g in zip(argnums, grads) for _, _, leaf in _matched(args[n], g, roots[n], "jax.grad")]
    if any(g.dtype != np.float64 for g in out):
        raise _Skip(f"jax returned {out[0].dtype}, not float64: x64 was off when the first JAX array was made")
    return out


def _torch(f, args, roots, argnums) -> list[np.ndarray]:
    import torch

    def tensor(leaf: np.ndarray, differentiated: bool):
        t = torch.from_numpy(leaf.astype(np.float64) if leaf.dtype.kind == "f" else leaf.copy())
        return t.requires_grad_(True) if differentiated else t

    as_torch = tuple(_map(a, lambda _, leaf, n=n: tensor(leaf, n in argnums), r) for n, (a, r) in enumerate(zip(args, roots)))
    leaves = [leaf for n in argnums for _, leaf in _leaves(as_torch[n], roots[n]) if leaf is not None]
    try:
        value = f(*as_torch, xp=torch)
        if not isinstance(value, torch.Tensor):
            raise _Skip(f"f returned {type(value).__name__} with xp=torch, not a tensor")
        if value.dtype != torch.float64:
            raise _Skip(f"f returned {value.dtype} for float64 inputs with xp=torch (a constant made without dtype?)")
        grads = torch.autograd.grad(value, leaves, allow_unused=True) if value.requires_grad else [None] * len(leaves)
    except _Skip:
        raise
    except Exception as error:  # noqa: BLE001
        raise _Skip(f"f raised with xp=torch: {_describe(error)}") from error
    return [np.zeros(t.shape) if g is None else g.detach().numpy().copy() for t, g in zip(leaves, grads)]


def _complex_step(f, args, roots, argnums) -> list[np.ndarray]:
    """Im f(θ + ih)/h per element, after checking that f is complex-safe at x."""
    real = _Evaluator(f, args, roots, argnums, np)
    work = _Evaluator(f, args, roots, argnums, np)
    work.args = tuple(
        _map(a, lambda _, leaf: np.array(leaf, dtype=np.complex128, order="C"), r) if n in argnums else a
        for n, (a, r) in enumerate(zip(work.args, roots))
    )
    work.targets = [(p, leaf) for n in argnums for p, leaf in _leaves(work.args[n], roots[n]) if leaf is not None]

    def evaluate() -> complex:
        value = f(*work.args, xp=np)
        if np.shape(value) != () or not np.iscomplexobj(value):
            raise _Skip(
                f"f returned {np.asarray(value).dtype} for complex128 inputs: it dropped the imaginary part "
                "(abs, real, a cast to float?), so it is not complex-safe"
            )
        value = complex(value)
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            raise _Skip(f"f(x + 0i) = {value!r} is not finite")
        return value

    try:
        with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
            warnings.simplefilter("error")  # a ComplexWarning means f is not complex-safe; never let it escape
            E = evaluate()
            E_real = real()
            # complex arithmetic rounds differently from real (a few ε per operation): 1000 ε of room
            if abs(E.real - E_real) > 1e3 * EPS * max(abs(E_real), 1.0) or E.imag != 0:
                raise _Skip(f"f(x + 0i) = {E!r} differs from f(x) = {E_real!r}, so f is not complex-safe")
            _check_direction(real, work, evaluate)
            out = []
            for _, array in work.targets:
                g = np.empty(array.shape)
                flat, g_flat = array.reshape(-1), g.reshape(-1)
                for k in range(flat.size):
                    theta = flat[k]
                    flat[k] = theta + 1j * COMPLEX_STEP
                    try:
                        g_flat[k] = evaluate().imag / COMPLEX_STEP
                    finally:
                        flat[k] = theta
                out.append(g)
    except _Skip:
        raise
    except Exception as error:  # noqa: BLE001 — f not complex-safe: report, never crash
        raise _Skip(f"f raised on complex128 inputs: {_describe(error)}") from error
    return out


def _check_direction(real: _Evaluator, work: _Evaluator, evaluate: Callable[[], complex]) -> None:
    """Im f(x + ihv)/h against central differences along one random direction v:
    a complex-unsafe f (abs, a comparison on a complex value) disagrees grossly."""
    rng = np.random.default_rng(0)
    directions = [rng.standard_normal(a.shape) for _, a in real.targets]
    saved = [(a.copy(), w.copy()) for (_, a), (_, w) in zip(real.targets, work.targets)]

    def move(s: float, imaginary: bool) -> None:
        for (_, a), (_, w), v, (a0, w0) in zip(real.targets, work.targets, directions, saved):
            if imaginary:
                w[...] = w0 + 1j * s * v
            else:
                a[...] = a0 + s * v

    def restore() -> None:
        for (_, a), (_, w), (a0, w0) in zip(real.targets, work.targets, saved):
            a[...], w[...] = a0, w0

    try:
        move(COMPLEX_STEP, imaginary=True)
        along_complex = evaluate().imag / COMPLEX_STEP
        E0 = real()
        h = EPS ** (1.0 / 3.0) * max(1.0, max(float(np.max(np.abs(a0), initial=0.0)) for a0, _ in saved))
        quotients = []
        for s in (h, 2 * h):
            move(s, imaginary=False)
            E_plus = real()
            move(-s, imaginary=False)
            E_minus = real()
            quotients.append((E_plus - E_minus) / (2 * s))
        along_central = quotients[0]
    finally:
        restore()
    estimate = abs(quotients[1] - quotients[0]) / 3.0 + EPS * max(abs(E0), 1.0) / h
    allowed = tolerance_for(np.float64, "central").limit * max(abs(along_central), 1.0) + 10 * estimate
    if not abs(along_complex - along_central) <= allowed:
        raise _Skip(
            f"along a random direction the complex step gives {along_complex!r} but central differences "
            f"{along_central!r}, so f is not complex-safe here (abs, or a comparison on a complex value?)"
        )


# ---------------------------------------------------------------- comparison


def _compare(
    implementation: str,
    oracle: str,
    dtype: np.dtype,
    ours: list[tuple[str, np.ndarray, np.ndarray]],
    theirs: list[np.ndarray],
    errors: list[np.ndarray] | None,
) -> tuple[OracleComparison, list[np.ndarray]]:
    """The comparison record, and per leaf which elements this oracle resolved."""
    tolerance = tolerance_for(dtype, oracle)
    finite = [d[np.isfinite(d)] for d in theirs]
    G = max((float(np.max(np.abs(d))) if d.size else 0.0) for d in finite)
    scale = max(G, tolerance.floor)
    allowed = tolerance.limit * scale
    worst = (-1.0, "", 0.0, 0.0)
    resolved, unresolved, compared = [], 0, 0
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # non-finite values are judged below
        for k, ((path, _, a), d) in enumerate(zip(ours, theirs)):
            a64 = a.astype(np.float64)
            judged = np.ones(a.shape, bool) if errors is None else ~(errors[k] > allowed)
            badness = np.where(judged, np.abs(a64 - d), 0.0)
            badness = np.where(np.isfinite(a64) & (np.isfinite(d) | ~judged), badness, np.inf)
            resolved.append(judged)
            unresolved += int(np.sum(~judged))
            compared += int(np.sum(judged))
            if badness.size:
                index = np.unravel_index(int(np.argmax(badness)), badness.shape)
                if badness[index] > worst[0]:
                    worst = (float(badness[index]), _element(path, tuple(int(i) for i in index)), float(a[index]), float(d[index]))
    bad, element, actual, desired = worst
    abs_error = abs(actual - desired) if math.isfinite(bad) else math.inf
    rel_error = abs_error / abs(desired) if desired != 0 else (0.0 if abs_error == 0 else math.inf)
    error = max(bad, 0.0) / scale  # bad < 0 only when every leaf is empty
    record = OracleComparison(
        implementation, oracle, np.dtype(dtype).name, bool(error <= tolerance.limit), error, tolerance, scale,
        element, actual, desired, abs_error, rel_error, compared, unresolved,
    )
    return record, resolved


# ---------------------------------------------------------------- entry points


def check_gradient(
    f: Callable,
    grad: Callable,
    x: Any,
    *,
    argnums: int | tuple[int, ...] = 0,
    oracles: tuple[str, ...] | list[str] | None = None,
    implementation: str = "grad",
) -> FunctionVerdict:
    """Judge the hand-written ``grad`` of the scalar function ``f`` at ``x``
    against every applicable oracle (or those named in ``oracles``).

    ``x``: one array, or a tuple of positional arguments (each may be a pytree).
    ``argnums``: which argument(s) ``grad`` differentiates; an int → one
    gradient, a tuple → a tuple of gradients.  ``f(…, xp)`` written against an
    array namespace gets jax, torch and complex step too."""
    _check_callable(f, "f")
    _check_callable(grad, "grad")
    if not isinstance(implementation, str):
        raise TypeError(f"implementation must be a name (str); got {implementation!r}")
    args, roots = _arguments(x)
    chosen_argnums, single = _check_argnums(argnums, len(args))
    chosen = _check_oracles(oracles)
    for n, (a, root) in enumerate(zip(args, roots)):
        for path, leaf in _leaves(a, root):
            _check_leaf(path, leaf, n in chosen_argnums)

    def copies() -> tuple:
        return tuple(_map(a, lambda _, leaf: leaf.copy(), r) for a, r in zip(args, roots))

    f_takes_xp = _takes_xp(f)
    _scalar(f(*copies(), **({"xp": np} if f_takes_xp else {})), "f")
    ours = _gradient_leaves(grad(*copies(), **({"xp": np} if _takes_xp(grad) else {})), args, roots, chosen_argnums, single)
    dtype = np.dtype(np.float32) if any(g.dtype == np.float32 for _, _, g in ours) else np.dtype(np.float64)

    note = ""
    if dtype == np.float32 or any(leaf is not None and leaf.dtype == np.float32 for a, r in zip(args, roots) for _, leaf in _leaves(a, r)):
        note = f"float32 inputs evaluated by every oracle on float64 copies; the {dtype.name} gradient judged with {dtype.name} tolerances"

    comparisons, skipped, resolved_by_any = [], [], None
    for name in chosen:
        if name in NEEDS_XP and not f_takes_xp:
            why = "cannot be traced" if name != "complex_step" else "is not evaluated on complex inputs"
            skipped.append((name, f"f takes no xp argument, so it {why} (write f(x, xp) against the array namespace xp)"))
            continue
        errors = None
        try:
            if name == "jax":
                theirs = _jax(f, args, roots, chosen_argnums)
            elif name == "torch":
                theirs = _torch(f, args, roots, chosen_argnums)
            elif name == "complex_step":
                theirs = _complex_step(f, args, roots, chosen_argnums)
            else:
                pairs = _numerical(_Evaluator(f, args, roots, chosen_argnums, np if f_takes_xp else None), name)
                theirs, errors = [g for g, _ in pairs], [e for _, e in pairs]
        except _Skip as why:
            skipped.append((name, str(why)))
            continue
        record, resolved = _compare(implementation, name, dtype, ours, theirs, errors)
        comparisons.append(record)
        resolved_by_any = resolved if resolved_by_any is None else [r | s for r, s in zip(resolved_by_any, resolved)]

    unjudged = ()
    if resolved_by_any is not None:
        unjudged = tuple(
            _element(path, tuple(int(i) for i in index))
            for (path, _, _), r in zip(ours, resolved_by_any)
            for index in np.argwhere(~r)
        )
    ok = bool(comparisons) and all(c.ok for c in comparisons) and not unjudged
    return FunctionVerdict(ok, implementation, tuple(comparisons), tuple(skipped), note, unjudged)


def assert_gradient(f: Callable, grad: Callable, x: Any, **options) -> FunctionVerdict:
    """``check_gradient``, raising ``AssertionError`` with the worst element when wrong."""
    verdict = check_gradient(f, grad, x, **options)
    if not verdict.ok:
        raise AssertionError(verdict.message())
    return verdict
