"""Arbitration: disputed gradient elements decided in arbitrary precision.

When the exact oracles (jax.grad, torch.autograd, the complex step) disagree
among themselves beyond rounding, no float64 party can be the judge.  The
disputed elements are then recomputed with mpmath at ``digits`` ≥ 30 decimal
digits, and each party's error is measured against that value.

The objective is the network's forward pass written once
(``oracles.methods.frameworks.network_objective``), evaluated in ``MPMATH``: a
``Framework`` whose arrays are NumPy object arrays of ``mpmath.mpf`` and whose
activations and stable losses are written here from their mathematical
definitions (no overflow guards are needed: mpmath's exponent range is
unbounded for practical purposes).  The float64 parameters and data are
converted exactly (every float64 is an mpf at ≥ 53 bits).

Derivative (the CENTRAL stencil of ``oracles.methods.numerical.stencils``, scales 1
and 2, evaluated in mpmath with a step chosen for mpmath, not for float64):

    D(s) = (E(θ + s) − E(θ − s)) / (2 s),   value = D(h),
    error = |D(2h) − D(h)| + 10⁶ · 10^{−d} · max(|E(θ)|, 1) / h,
    h = 2^{−⌈d · log₂10 / 3⌉}   (d = digits; h = 2⁻⁵⁶ ≈ 1.4e-17 for d = 50)

* truncation: D(h) − E′ = h² E‴/6 + O(h⁴) ≈ 3e-35 · E‴ for d = 50;
  |D(2h) − D(h)| ≈ 3 · h² |E‴|/6 bounds it with a factor 3 to spare;
* rounding: each E is computed with ≲ 10⁶ rounding units 10^{−d} of its
  size (a generous bound for the passes of the networks checked here), so
  D's rounding error is ≲ 10^{6−d} · max(|E|, 1)/h ≈ 7e-28 · max(|E|, 1);
* both are ~11 orders of magnitude below float64 resolution (1.1e-16) for
  elements of the size of E, so ``Arbitration.value``, the float64 nearest
  D(h), is the correctly rounded derivative unless the true derivative lies
  within ~1e-27 of a rounding boundary.  The bound is absolute: an element
  ≪ 1e-27 · max(|E|, 1) (a fully saturated unit's) reads 0 ± error, and
  ``Arbitration.resolved`` is False; more digits resolve it (the error
  falls as 10^{−2d/3}: ~1e-74 at d = 120).  h is a power of two, so 2s divides exactly, and
  θ ± s is exact for |θ| < 2¹⁰⁰ (its bits and h's fit in the working
  precision; elsewhere it rounds at 10^{−d} relative, far below the bound).

Kinks: every relu/leaky_relu/maxout/ELU unit (any registered activation with
``kinks`` or ``pieces``) records which side of its kink each pre-activation
is on (each maxout unit's winning piece), as ``oracles.methods.numerical.evaluators``
does in float64.  If the stencil θ ± 2h changes that pattern, h is divided by
2⁵⁰ and the precision raised by 15 digits (so rounding/h stays put), up to
twice; a pattern that still changes means θ sits on a kink (within ~1e-47):
the element is not differentiable there and ``OracleCannotRun`` says so.

Cost: each element takes 4 forward passes (θ ± h, θ ± 2h), plus one at θ
per call; a pass on object arrays costs ~1 µs per multiply-add
(pure-Python mpmath), i.e. O(parameters × batch) mp operations.  Measured
(2-core machine, d = 50): 3-4-2 on 5 samples, ~2 ms per element;
20-16-16-4 on 16 samples, ~0.08 s per element; 784-16-10 on 8 samples,
~0.11 s per pass, 0.7 s for one element and ~0.45 s for each further one.
At these sizes the cost hardly depends on d (Python's overhead per mp
operation dominates): 200 digits cost ~10 % more than 50.  No reuse of unchanged layers is attempted: arbitration is for a
few disputed elements.

``mp.dps`` is changed only inside ``mpmath.workdps`` blocks, so the caller's
mpmath precision is as it was after every call.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import mpmath
import numpy as np
from mpmath.libmp import round_nearest, to_float

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.frameworks import Framework, OracleCannotRun, describe
from backprop_reference.oracles.methods.numerical.evaluators import Loop
from backprop_reference.oracles.methods.numerical.stencils import CENTRAL
from backprop_reference.oracles.methods.problem import Problem
from backprop_reference.reference import contrib
from backprop_reference.reference.activations import ACTIVATIONS as REGISTERED_ACTIVATIONS
from backprop_reference.reference.activations import LEAKY_RELU_SLOPE

__all__ = ["MPMATH", "MIN_DIGITS", "Arbitration", "PartyError", "arbitrate", "errors_against", "message", "objective", "to_mp"]

MIN_DIGITS = 30  # below this, 10^{6−d}/h is no longer far below float64 resolution
KINK_RETRIES = 2  # h / 2⁵⁰ and h / 2¹⁰⁰ before an element is declared on a kink
RETRY_SHRINK_BITS = 50  # h / 2⁵⁰ ≈ h / 1.1e15 ...
RETRY_EXTRA_DIGITS = 15  # ... so 15 more digits keep the rounding term 10^{6−d}/h where it was
ROUNDING_UNITS = 1e6  # rounding units of E per forward pass assumed in the error estimate


# --- the mpmath namespace ------------------------------------------------------------------------


def _mpf(value: Any) -> Any:
    """A number as an mpf (exact for floats and integers), an mpf or mpc left as it is."""
    if isinstance(value, (mpmath.mpf, mpmath.mpc)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return mpmath.mpf(int(value))
    if isinstance(value, numbers.Integral):
        return mpmath.mpf(int(value))
    if isinstance(value, numbers.Real):
        return mpmath.mpf(float(value))  # float(np.float32) is exact; mpf(float) is exact at ≥ 53 bits
    if isinstance(value, numbers.Complex):
        return mpmath.mpc(complex(value))
    return value


def to_mp(array: Any) -> np.ndarray:
    """An array (or number) as a NumPy object array of ``mpmath.mpf``,
    element for element and exactly: every float64 is an mpf."""
    source = np.asarray(array)
    out = np.empty(source.shape, dtype=object)
    out.reshape(-1)[:] = [_mpf(v) for v in source.reshape(-1).tolist()]  # out is C-contiguous: reshape is a view
    return out


def _elementwise(f: Callable, arguments: int = 1) -> Callable[..., Any]:
    """``f`` on mpf numbers, applied element by element to object arrays (or numbers)."""
    ufunc = np.frompyfunc(f, arguments, 1)
    return lambda *z: ufunc(*z)


def _where(condition: Any, x: Any, y: Any) -> np.ndarray:
    x, y = (to_mp(v) if not isinstance(v, np.ndarray) or v.dtype != object else v for v in (x, y))
    return np.where(np.asarray(condition, dtype=bool), x, y)


def _astype(x: Any, dtype: Any, copy: bool = True) -> np.ndarray:
    return to_mp(x)  # a bool mask [z > 0] becomes 0 and 1: everything here is an mpf


def _like(z: Any, fill: Any) -> np.ndarray:
    out = np.empty(np.shape(z), dtype=object)
    out[...] = _mpf(fill)
    return out


class MpNamespace:
    """The array namespace ``xp`` of ``MPMATH``: what ``network_objective`` and
    the activations and losses use, and what a typical user-registered
    ``f(z, xp)`` calls.  Arrays are NumPy object arrays of mpf; arithmetic
    operators (+ − * / **, @) work on them directly; every function below
    returns mpf elements, computed at the current ``mp.prec``."""

    # elementwise, from mpmath
    exp = staticmethod(_elementwise(mpmath.exp))
    expm1 = staticmethod(_elementwise(mpmath.expm1))
    log = staticmethod(_elementwise(mpmath.log))
    log1p = staticmethod(_elementwise(mpmath.log1p))
    log2 = staticmethod(_elementwise(lambda v: mpmath.log(v, 2)))
    sqrt = staticmethod(_elementwise(mpmath.sqrt))
    tanh = staticmethod(_elementwise(mpmath.tanh))
    sinh = staticmethod(_elementwise(mpmath.sinh))
    cosh = staticmethod(_elementwise(mpmath.cosh))
    sin = staticmethod(_elementwise(mpmath.sin))
    cos = staticmethod(_elementwise(mpmath.cos))
    arctan = atan = staticmethod(_elementwise(mpmath.atan))
    erf = staticmethod(_elementwise(mpmath.erf))
    abs = staticmethod(_elementwise(lambda v: abs(_mpf(v))))
    sign = staticmethod(_elementwise(lambda v: mpmath.sign(v)))
    square = staticmethod(_elementwise(lambda v: _mpf(v) * v))
    negative = staticmethod(_elementwise(lambda v: -_mpf(v)))
    real = staticmethod(lambda z: z)  # mpf numbers are real: Re z = z
    logaddexp = staticmethod(_elementwise(lambda a, b: mpmath.log(mpmath.exp(a) + mpmath.exp(b)), 2))
    maximum = staticmethod(_elementwise(lambda a, b: _mpf(a) if a >= b else _mpf(b), 2))
    minimum = staticmethod(_elementwise(lambda a, b: _mpf(a) if a <= b else _mpf(b), 2))
    where = staticmethod(_where)
    astype = staticmethod(_astype)

    # reductions and contractions: NumPy's object loops call the mpf operators
    sum = staticmethod(np.sum)
    mean = staticmethod(np.mean)
    max = staticmethod(np.max)
    min = staticmethod(np.min)
    prod = staticmethod(np.prod)
    argmax = staticmethod(np.argmax)
    einsum = staticmethod(np.einsum)
    matmul = staticmethod(np.matmul)

    # constructors: mpf elements
    @staticmethod
    def asarray(x: Any, dtype: Any = None, copy: bool | None = None, device: Any = None) -> np.ndarray:
        return to_mp(x) if not (isinstance(x, np.ndarray) and x.dtype == object) else (x.copy() if copy else x)

    @staticmethod
    def zeros_like(z: Any, dtype: Any = None, device: Any = None) -> np.ndarray:
        return _like(z, 0)

    @staticmethod
    def ones_like(z: Any, dtype: Any = None, device: Any = None) -> np.ndarray:
        return _like(z, 1)

    @staticmethod
    def full_like(z: Any, fill_value: Any, dtype: Any = None, device: Any = None) -> np.ndarray:
        return _like(z, fill_value)

    @staticmethod
    def eye(n: int, dtype: Any = None, device: Any = None) -> np.ndarray:
        return to_mp(np.eye(n))

    @staticmethod
    def arange(*args: Any, device: Any = None, **kwargs: Any) -> np.ndarray:
        return np.arange(*args, **kwargs)  # integer positions, not values


MP = MpNamespace()


# --- MPMATH's own activations and losses, from their definitions --------------------------------


def _sigmoid(v: Any) -> Any:
    return 1 / (1 + mpmath.exp(-v))  # σ(z) = 1 / (1 + e^{−z})


def _softplus(v: Any) -> Any:
    return mpmath.log1p(mpmath.exp(v))  # log(1 + e^z); log1p keeps e^z ≪ 1 accurate


def _logsumexp(z: np.ndarray) -> np.ndarray:
    return MP.log(np.sum(MP.exp(z), axis=-1, keepdims=True))  # log Σ_j e^{z_j}: no shift needed in mpmath


# The slope is the project's float64 constant (0.01 rounded to float64, as the frameworks use it),
# converted exactly: the function arbitrated is the one the parties evaluate.
_SLOPE = mpmath.mpf(LEAKY_RELU_SLOPE)

BUILTIN_ACTIVATIONS: dict[str, Callable] = {
    "identity": lambda z: z,
    "sigmoid": _elementwise(_sigmoid),
    "tanh": MP.tanh,
    "relu": _elementwise(lambda v: v if v > 0 else mpmath.mpf(0)),  # max(z, 0)
    "leaky_relu": _elementwise(lambda v: v if v > 0 else _SLOPE * v),  # z or 0.01 z
    "softplus": _elementwise(_softplus),
    "softmax": lambda z: MP.exp(z - _logsumexp(z)),  # o_k = e^{z_k} / Σ_j e^{z_j}
    "maxout": lambda z: np.max(z, axis=-1),  # h_i = max_p z_ip, z: (N, n, k)
}


def _gelu(v: Any) -> Any:
    # GELU as registered (reference.contrib): the tanh form ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))),
    # not the erf form Φ: the two differ by ~1e-3, and the registered one is what every party differentiates.
    c = mpmath.sqrt(2 / mpmath.pi)
    return v * (1 + mpmath.tanh(c * (v + mpmath.mpf("0.044715") * v**3))) / 2


CONTRIB_ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {  # name -> (reference.contrib's f, MPMATH's form)
    "gelu": (contrib.gelu, _elementwise(_gelu)),
    "elu": (contrib.elu, _elementwise(lambda v: v if v > 0 else mpmath.expm1(v))),  # ELU, α = 1
    "silu": (contrib.silu, _elementwise(lambda v: v * _sigmoid(v))),  # z σ(z)
}


class _Activations(Mapping):
    """MPMATH's own activations: the built-ins always; gelu, elu and silu only
    while the registry holds ``reference.contrib``'s functions under those
    names — one registered again under the same name is a user's function,
    evaluated through ``Framework.activation``'s fallback like any other."""

    def _own(self) -> dict[str, Callable]:
        own = dict(BUILTIN_ACTIVATIONS)
        for name, (registered, form) in CONTRIB_ACTIVATIONS.items():
            entry = REGISTERED_ACTIVATIONS.get(name)
            if entry is not None and entry.xp_f is registered:
                own[name] = form
        return own

    def __getitem__(self, name: str) -> Callable:
        return self._own()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._own())

    def __len__(self) -> int:
        return len(self._own())


def _log_loss_sigmoid(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    # −y log σ(z) − (1 − y) log(1 − σ(z)) = softplus(z) − y z
    return np.sum(_elementwise(_softplus)(z) - y * z, axis=-1)


def _cross_entropy_softmax(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -np.sum(y * (z - _logsumexp(z)), axis=-1)  # −Σ_k y_k log o_k, log o_k = z_k − log Σ_j e^{z_j}


MPMATH = Framework(
    "mpmath",
    MP,
    _Activations(),
    constant=lambda array, like: to_mp(array),  # masks: 0 and 1 as mpf
    fused={("sigmoid", "log_loss"): _log_loss_sigmoid, ("softmax", "cross_entropy"): _cross_entropy_softmax},
    namespace="mpmath object arrays",
)


# --- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arbitration:
    """One element's derivative ∂E/∂θ_k in arbitrary precision.

    ``value`` is the float64 nearest the mpmath derivative ``exact`` (its
    decimal text, ``digits`` significant digits); ``error`` bounds
    |exact − ∂E/∂θ_k| (module docstring); ``digits`` and ``step`` are the
    precision and h finally used (raised and shrunk near a kink)."""

    element: str  # "W^1[1, 1, 0]"
    leaf: int  # position in problem.leaves / layout.names
    index: tuple[int, ...]
    value: float
    exact: str
    error: float
    digits: int
    step: float

    @property
    def resolved(self) -> bool:
        """Whether ``error`` is below half a float64 ulp of ``value``: then ``value``
        is the correctly rounded derivative (barring a tie within ``error``).
        Elements far below ``error`` ≈ 1e-27 · max(|E|, 1) read as 0 ± error:
        ask for more ``digits`` to resolve them (h² and 10^{−d}/h both ≈ 10^{−2d/3})."""
        return self.error <= 0.5 * math.ulp(self.value)

    def pick(self, leaves: Sequence[Any]) -> float:
        """This element of a flat list of per-leaf arrays (``layout.flatten(gradients)``,
        ``Answer.flat("gradients")``)."""
        return float(np.asarray(leaves[self.leaf])[self.index])


@dataclass(frozen=True)
class PartyError:
    """One party's value of an arbitrated element and its distance from the
    mpmath derivative (computed in mpmath, so 3e-20 reads as 3e-20)."""

    party: str
    value: float
    error: float  # |value − exact|
    relative: float  # error / |exact| (inf when exact is 0 and value is not)


# --- arbitration ---------------------------------------------------------------------------------


def _check_digits(digits: object) -> int:
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        raise TypeError(f"digits must be an integer (decimal digits of mpmath precision); got {digits!r}")
    if digits < MIN_DIGITS:
        raise ValueError(
            f"digits must be at least {MIN_DIGITS} so that step and rounding errors fall far below float64 resolution; "
            f"got {digits!r} (the default 50 is plenty)"
        )
    return int(digits)


def _check_element(problem: Problem, position: int, element: object) -> tuple[int, tuple[int, ...]]:
    """``(leaf, index)`` with leaf an integer position or a leaf name (``"W^1"``), index a tuple of
    non-negative integers within the leaf's shape."""
    where = f"elements[{position}]"
    names = problem.layout.names
    if not isinstance(element, (tuple, list)) or len(element) != 2:
        raise ValueError(f"{where} must be a (leaf, index) pair such as (0, (1, 2)) or ('W^1', (1, 2)); got {element!r}")
    leaf, index = element
    if isinstance(leaf, str):
        if leaf not in names:
            raise ValueError(f"{where} = {element!r} names leaf {leaf!r}, which is not one of {', '.join(names)}")
        leaf = names.index(leaf)
    elif isinstance(leaf, bool) or not isinstance(leaf, numbers.Integral) or not 0 <= leaf < len(names):
        raise ValueError(f"{where} = {element!r}: the leaf must be a name or a position 0..{len(names) - 1} ({', '.join(names)}); got {leaf!r}")
    leaf = int(leaf)
    shape = problem.leaves[leaf].shape
    if not isinstance(index, (tuple, list)) or any(isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in index):
        raise ValueError(f"{where} = {element!r}: the index must be a tuple of integers, one per axis of {names[leaf]} {shape}")
    if len(index) != len(shape) or not all(0 <= i < n for i, n in zip(index, shape)):
        raise ValueError(
            f"{where} = {element!r}: index {tuple(index)!r} is out of range for {names[leaf]} of shape {shape} "
            "(one non-negative index per axis, each below the axis length)"
        )
    return leaf, tuple(int(i) for i in index)


def _check_problem(problem: object) -> None:
    if not isinstance(problem, Problem) or problem.mode != "gradient":
        raise TypeError(
            "problem must be a gradient problem, a NetworkProblem or FunctionProblem (oracles.methods.problem.Problem "
            f"with mode 'gradient'); got {type(problem).__name__}"
        )


class _Objective:
    """E in mpmath at moved copies of θ: ``at(leaf, k, value)`` → (E, kink pattern)."""

    def __init__(self, problem: Problem):
        seen: list[bytes] = []
        self._seen = seen
        fn, data = problem.function(problem.watched(MPMATH, seen))
        self._fn = fn
        self._data = trees.map_leaves(data, lambda _, a: to_mp(a) if np.asarray(a).dtype.kind in "fc" else a, "data")
        self.leaves = [to_mp(leaf) for leaf in problem.leaves]
        self._loop = Loop(self.leaves, self.evaluate, theta=self.leaves)  # moves one element at a time, as the float oracles do

    def evaluate(self) -> tuple[Any, bytes]:
        self._seen.clear()
        try:
            value = self._fn(self.leaves, self._data)
        except OracleCannotRun:
            raise
        except Exception as error:  # noqa: BLE001 — a failure in mpmath is why this oracle cannot run
            raise OracleCannotRun(f"the mpmath oracle failed to evaluate the objective: {describe(error)}") from error
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if not isinstance(value, mpmath.mpf):
            raise OracleCannotRun(
                f"the objective evaluated in mpmath is a {type(value).__name__}, not a real mpf "
                "(a cast to float, a NumPy function outside xp, or a complex intermediate?)"
            )
        if not mpmath.isfinite(value):
            raise OracleCannotRun(f"the objective evaluated in mpmath is {value}, not finite")
        return value, b"".join(self._seen)

    def at(self, leaf: int, k: int, value: Any) -> tuple[Any, bytes]:
        return self._loop.at(leaf, k, value)


def _step(digits: int) -> Any:
    """h = 2^{−⌈d log₂10 / 3⌉}: h² ≈ 10^{−2d/3} truncation against 10^{−d}/h rounding."""
    return mpmath.ldexp(1, -math.ceil(digits * math.log2(10) / 3))


def _to_float(x: Any) -> float:
    return to_float(x._mpf_, rnd=round_nearest)  # the nearest float64, explicitly (not the context's rounding)


def _differentiate(objective: _Objective, leaf: int, k: int, h: Any, digits: int, E0: Any, pattern: bytes) -> tuple[Any, Any] | None:
    """D(h) and its error estimate (module docstring) at the current precision,
    or None when the stencil θ ± 2h changes the kink pattern."""
    theta = objective.leaves[leaf].reshape(-1)[k]
    D = []
    for s in CENTRAL.scales:  # 1, 2: the central stencil's D(h), D(2h)
        (E_plus, p_plus), (E_minus, p_minus) = objective.at(leaf, k, theta + s * h), objective.at(leaf, k, theta - s * h)
        if p_plus != pattern or p_minus != pattern:
            return None
        D.append((E_plus - E_minus) / (2 * s * h))  # θ ± s h exact: h is a power of two
    D_h, D_wide = D
    return D_h, abs(D_wide - D_h) + ROUNDING_UNITS * mpmath.mpf(10) ** -digits * max(abs(E0), 1) / h


def _arbitrate_one(objective: _Objective, name: str, leaf: int, index: tuple[int, ...], digits: int, unmoved: dict) -> Arbitration:
    """One element: the stencil at h, then at h/2⁵⁰ and h/2¹⁰⁰ with 15 and 30 more
    digits while it crosses a kink.  ``unmoved`` caches (E(θ), pattern) per precision."""
    k = int(np.ravel_multi_index(index, objective.leaves[leaf].shape))
    for attempt in range(KINK_RETRIES + 1):
        working = digits + attempt * RETRY_EXTRA_DIGITS
        with mpmath.workdps(working):
            if working not in unmoved:
                unmoved[working] = objective.evaluate()
            E0, pattern = unmoved[working]
            h = mpmath.ldexp(_step(digits), -attempt * RETRY_SHRINK_BITS)
            found = _differentiate(objective, leaf, k, h, working, E0, pattern)
            if found is not None:
                D_h, error = found
                return Arbitration(name, leaf, index, _to_float(D_h), mpmath.nstr(D_h, digits), _to_float(error), working, _to_float(h))
    raise OracleCannotRun(
        f"the mpmath oracle cannot arbitrate {name}: θ ± 2h crosses a kink (relu/leaky_relu/maxout/ELU) even with "
        f"h = {_to_float(h):.1e}, so θ sits on the kink, where E is not differentiable and the one-sided "
        "derivatives differ (which one a party reports is a convention)"
    )


def arbitrate(
    problem: Problem, elements: Sequence[tuple[int | str, tuple[int, ...]]], *, digits: int = 50
) -> tuple[Arbitration, ...]:
    """∂E/∂θ_k for each of ``elements`` of ``problem`` (``oracles.engine.problems``),
    by central differences of E evaluated in mpmath at ``digits`` decimal
    digits (module docstring: step, error bound, kinks, cost).

    ``elements``: ``(leaf, index)`` pairs — leaf a position in
    ``problem.leaves`` or a leaf name (``"W^1"``), index a tuple with one
    non-negative integer per axis, e.g. ``("W^1", (1, 1, 0))``.

    Raises ``ValueError`` naming a malformed or out-of-range element or a
    precision below ``MIN_DIGITS``; ``OracleCannotRun`` with the reason when
    mpmath cannot evaluate the problem (a function it has no form for, an f
    that leaves mpmath) or when an element sits on a kink.  ``mp.dps`` is as
    it was on return."""
    _check_problem(problem)
    digits = _check_digits(digits)
    if isinstance(elements, (str, bytes)) or not isinstance(elements, Sequence):
        raise TypeError(f"elements must be a sequence of (leaf, index) pairs; got {elements!r}")
    chosen = [_check_element(problem, position, element) for position, element in enumerate(elements)]
    if not chosen:
        return ()
    objective, unmoved = _Objective(problem), {}
    return tuple(
        _arbitrate_one(objective, trees.element(problem.layout.names[leaf], index), leaf, index, digits, unmoved)
        for leaf, index in chosen
    )


def objective(problem: Problem, *, digits: int = 50) -> mpmath.mpf:
    """E(θ) evaluated in mpmath at ``digits`` decimal digits (the mpf carries its
    precision; ``mp.dps`` is as it was on return)."""
    _check_problem(problem)
    digits = _check_digits(digits)
    with mpmath.workdps(digits):
        return _Objective(problem).evaluate()[0]


# --- each party against the arbitrated value -----------------------------------------------------


def errors_against(arbitration: Arbitration, answers: Mapping[str, float]) -> tuple[PartyError, ...]:
    """Each party's value of the arbitrated element (``answers``: party name →
    its value, e.g. ``arbitration.pick(answer.flat("gradients"))``) and its
    error against the mpmath derivative, computed in mpmath; in the order given."""
    if not isinstance(answers, Mapping):
        raise TypeError(f"answers must map each party's name to its value of {arbitration.element}; got {type(answers).__name__}")
    results = []
    with mpmath.workdps(arbitration.digits):
        exact = mpmath.mpf(arbitration.exact)
        for party, value in answers.items():
            if not isinstance(value, numbers.Real):
                raise TypeError(f"answers[{party!r}] must be a real number (the party's value of {arbitration.element}); got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                results.append(PartyError(party, value, math.inf, math.inf))
                continue
            error = abs(mpmath.mpf(value) - exact)
            relative = _to_float(error / abs(exact)) if exact != 0 else (0.0 if error == 0 else math.inf)
            results.append(PartyError(party, value, _to_float(error), relative))
    return tuple(results)


def message(arbitration: Arbitration, errors: Sequence[PartyError]) -> str:
    """One line: ``W^1[1, 1, 0]: mpmath (50 digits) -2.5440e-05; row_major_batch -2.5440e-05 (error 3.0e-20), jax …``."""
    parties = ", ".join(f"{p.party} {p.value:.4e} (error {p.error:.1e})" for p in errors)
    head = f"{arbitration.element}: mpmath ({arbitration.digits} digits) {arbitration.value:.4e} (± {arbitration.error:.0e})"
    return f"{head}; {parties}" if parties else head
