"""A corpus of correct derivative rules: the frameworks' own (issue 25, item 7).

Each ``Rule`` is one function of jax.numpy, jax.nn, jax.scipy.special or torch
(``torch``, ``torch.special``, ``torch.linalg``, ``torch.nn.functional``) whose
VJP and JVP — the framework's own autograd, in float64 — the checker judges:

* at a random point of its domain (a seeded ``numpy.random.Generator``: the
  same points on every run);
* at its special points, where they exist: ``ties`` (2 to 4 equal elements of
  a reduction, a sort, a max or min, a median, a cumulative max, a softmax or
  logsumexp of equal values), ``kinks`` (elements on a kink of a piecewise
  function: relu(0), clip at its bounds), ``edges`` (1e-3 … 1e-6 from the edge
  of the domain: sqrt, log, arcsin, arccosh, xlogy, …) and ``poles`` (1e-3 …
  1e-6 from a pole of f or of f′: tan, gamma, digamma, 1/x, …).

``Rule.f(x, xp)`` is f written against the array namespace, so the checker
runs it as its exact oracles do: in NumPy (real float64, for the numerical
oracles) it is the framework's *own* forward pass, in float64; in the other
framework (torch for a jax rule, jax for a torch rule) it is that framework's
form of the same function, an independent exact oracle; on complex NumPy
arrays (the complex step) a NumPy/SciPy form where f is holomorphic and one
exists; in mpmath object arrays (arbitration) an mpmath form where one is
written.  A form that does not exist raises, and the checker reports that
oracle as not run.  ``Rule.oracles`` leaves out the rule's own framework: a
rule is never its own witness.

``Rule.vjp(c, x)`` and ``Rule.jvp(t, x)`` are the framework's rules as the
checker calls them (cotangent or tangent first): for jax,
``jax.vjp(fn, x)[1](c)[0]`` and ``jax.jvp(fn, (x,), (t,))[1]``, each compiled
once with ``jax.jit`` (the same rules: one compilation per rule instead of one
per primitive, which is most of the corpus's time; the verdicts of all its
checks are the same eager), with ``jax_enable_x64`` on only while they run
(``jax_x64``); for torch, ``torch.autograd.grad`` and ``torch.func.jvp`` on
float64 tensors.

``RULES`` is the registry: name → ``Rule``.  Left out on purpose: aliases of a
rule already here (``jax.nn.logsumexp`` is ``jax.scipy.special.logsumexp``,
``jax.nn.tanh`` is ``jax.numpy.tanh``, ``torch.special.expit`` is
``torch.sigmoid`` …), and ``jax.scipy.special.exp1``/``expn`` near 0: on an
array of two or more elements with one below ~6e-6, JAX 0.10.2's ``exp1``
never returns (its x > 1 continued fraction runs on every element once
vectorised, and does not converge there).
"""

from __future__ import annotations

import contextlib
import functools
import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import jax
import jax.numpy as jnp
import jax.nn as jnn
import jax.scipy.special as jss
import mpmath
import numpy as np
import scipy.special as ss
import torch
import torch.nn.functional as F

__all__ = ["RULES", "Rule", "KINDS", "SOURCES", "jax_x64", "cases"]

KINDS = ("random", "ties", "kinks", "edges", "poles")
SOURCES = ("jax.numpy", "jax.nn", "jax.scipy.special", "torch")
FRAMEWORK_ORACLES = {"jax": ("torch", "complex_step", "richardson", "central"), "torch": ("jax", "complex_step", "richardson", "central")}


@contextlib.contextmanager
def jax_x64() -> Iterator[None]:
    """``jax_enable_x64`` on while the block runs, and put back as it was after it."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def _form_of(x: Any, xp: Any) -> str:
    """Which form of f the checker asks for: "numpy" (real float64), "complex", "mpmath", "jax" or "torch"."""
    if xp is np:
        x = np.asarray(x)
        if x.dtype == object:
            return "mpmath"
        return "complex" if np.iscomplexobj(x) else "numpy"
    if xp is jnp or getattr(xp, "__name__", "").startswith("jax"):
        return "jax"
    if xp is torch:
        return "torch"
    if isinstance(x, np.ndarray) and x.dtype == object:
        return "mpmath"  # the arbitration's namespace
    raise TypeError(f"unknown array namespace {xp!r}")


class FormMissing(NotImplementedError):
    """The rule has no form of f in this namespace: the oracle that asked is not run."""


@dataclass(frozen=True)
class Rule:
    """One derivative rule of a framework: ``fn`` (one array in, one array out), with
    the same function's forms in the other namespaces (``forms``: "jax", "torch",
    "complex", "mpmath"), where its points are drawn (``domain``: an interval, or a
    function of a Generator and the size) and its special points by kind."""

    name: str
    framework: str  # "jax" or "torch": whose rule it is
    fn: Callable[[Any], Any]
    forms: Mapping[str, Callable[[Any], Any]]
    domain: tuple[float, float] | Callable[[np.random.Generator, int], np.ndarray] = (-2.0, 2.0)
    size: int = 4
    special: Mapping[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    modes: tuple[str, ...] = ("vjp", "jvp")

    @property
    def source(self) -> str:
        """jax.numpy, jax.nn, jax.scipy.special or torch (torch.special, torch.linalg, torch.nn.functional too)."""
        for source in SOURCES[:3]:
            if self.name.startswith(source + "."):
                return source
        return "torch"

    @property
    def oracles(self) -> tuple[str, ...]:
        """Every oracle but the rule's own framework's: a rule is not its own witness."""
        return FRAMEWORK_ORACLES[self.framework]

    # --- f, in every namespace -----------------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The framework's own forward pass on a float64 NumPy x, as a float64 NumPy array."""
        if self.framework == "jax":
            with jax_x64():
                return np.asarray(self._jitted[0](jnp.asarray(x, dtype=jnp.float64)), dtype=np.float64)
        with torch.no_grad():
            return self.fn(torch.tensor(np.asarray(x, dtype=np.float64))).numpy().astype(np.float64)

    def f(self, x, xp):
        """f written against ``xp``: the framework's own forward in NumPy, another form elsewhere."""
        form = _form_of(x, xp)
        if form == "numpy":
            return self.forward(x)
        if form == self.framework:
            return self.fn(x)
        if form not in self.forms:
            raise FormMissing(f"{self.name} has no {form} form")
        return self.forms[form](x)

    # --- the framework's derivative rules ------------------------------------------------------

    def vjp(self, c, x) -> np.ndarray:
        """∂⟨c, f(x)⟩/∂x by the framework's own reverse mode, float64."""
        if self.framework == "jax":
            with jax_x64():
                return np.asarray(self._jitted[1](jnp.asarray(c, dtype=jnp.float64), jnp.asarray(x, dtype=jnp.float64)))
        xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
        (g,) = torch.autograd.grad(self.fn(xt), xt, grad_outputs=torch.tensor(np.asarray(c, dtype=np.float64)))
        return g.numpy()

    def jvp(self, t, x) -> np.ndarray:
        """d/ds f(x + s·t) at s = 0 by the framework's own forward mode, float64."""
        if self.framework == "jax":
            with jax_x64():
                return np.asarray(self._jitted[2](jnp.asarray(t, dtype=jnp.float64), jnp.asarray(x, dtype=jnp.float64)))
        _, out = torch.func.jvp(self.fn, (torch.tensor(np.asarray(x, dtype=np.float64)),), (torch.tensor(np.asarray(t, dtype=np.float64)),))
        return out.detach().numpy()

    @functools.cached_property
    def _jitted(self) -> tuple[Callable, Callable, Callable]:
        """jax's forward, VJP and JVP of ``fn``, each compiled on first use (per shape, in float64)."""
        fn = self.fn
        return (jax.jit(fn), jax.jit(lambda c, x: jax.vjp(fn, x)[1](c)[0]), jax.jit(lambda t, x: jax.jvp(fn, (x,), (t,))[1]))

    # --- points ---------------------------------------------------------------------------------

    def rng(self, *salt: str) -> np.random.Generator:
        return np.random.default_rng(zlib.crc32("/".join((self.name, *salt)).encode()))

    def points(self, kind: str) -> tuple[np.ndarray, ...]:
        if kind == "random":
            rng = self.rng("random")
            if callable(self.domain):
                return (np.asarray(self.domain(rng, self.size), dtype=np.float64),)
            low, high = self.domain
            return (rng.uniform(low, high, self.size),)
        return tuple(np.asarray(p, dtype=np.float64) for p in self.special.get(kind, ()))

    def probe(self, kind: str, index: int, x: np.ndarray, mode: str) -> np.ndarray:
        """The cotangent (shaped like f's output) or tangent (like x) of one check: seeded Gaussian."""
        shape = np.shape(self.forward(x)) if mode == "vjp" else np.shape(x)
        return np.asarray(self.rng(kind, str(index), mode).standard_normal(shape), dtype=np.float64)


# --- how rules are written ------------------------------------------------------------------------

RULES: dict[str, Rule] = {}


def _mp(function: Callable) -> Callable:
    """An mpmath function of one number, applied element by element to an object array."""
    ufunc = np.frompyfunc(function, 1, 1)
    return lambda x: ufunc(x)


def _register(name: str, framework: str, fn: Callable, other: Callable | None, *, mp: Callable | None = None, cplx: Callable | None = None,
              domain: Any = (-2.0, 2.0), size: int = 4, modes: tuple[str, ...] = ("vjp", "jvp"), **special: Any) -> None:
    if name in RULES:
        raise ValueError(f"rule {name!r} registered twice")
    forms: dict[str, Callable] = {}
    if other is not None:
        forms["torch" if framework == "jax" else "jax"] = other
    if mp is not None:
        forms["mpmath"] = mp
    if cplx is not None:
        forms["complex"] = cplx
    unknown = set(special) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of point {sorted(unknown)} for {name}")
    RULES[name] = Rule(name, framework, fn, forms, domain, size, {k: tuple(v) for k, v in special.items()}, modes)


def J(name: str, fn: Callable, torch_form: Callable | None, **options: Any) -> None:
    _register(name, "jax", fn, torch_form, **options)


def T(name: str, fn: Callable, jax_form: Callable | None, **options: Any) -> None:
    _register(name, "torch", fn, jax_form, **options)


def _c(value: Any, like: Any) -> Any:
    """A NumPy constant in ``like``'s namespace and dtype (jax or torch, as the forms that use it)."""
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(np.asarray(value), dtype=like.dtype)
    return jnp.asarray(value, dtype=like.dtype)


# Special points (each an array: one check).  Distances to an edge or pole: 1e-3 down to 1e-6.
NEAR = (1e-3, 1e-4, 1e-5, 1e-6)
HALF_PI = math.pi / 2
TIES5 = (  # 2, 3 and 4 equal elements at the maximum, among 5
    [1.0, 1.0, 0.3, -0.5, 0.7],
    [0.2, 1.0, 1.0, 1.0, -0.4],
    [1.5, 1.5, 1.5, 1.5, 0.5],
)
MIN_TIES5 = tuple([-v for v in p] for p in TIES5)  # ... at the minimum
SORT_TIES5 = ([0.3, -1.0, 0.3, 2.0, 0.9], [0.5, 0.5, -1.0, 0.5, 1.5], [0.7, 0.7, 0.7, -0.2, 0.7])
MEDIAN_TIES5 = ([0.3, 0.3, -1.0, 2.0, 1.1], [0.3, 0.3, 0.3, -1.0, 2.0], [0.4, 0.4, 0.4, 0.4, -0.6])
CUM_TIES5 = ([1.0, 0.2, 1.0, -0.4, 0.5], [0.5, 0.5, 0.5, -1.0, 0.3], [-0.3, 0.8, 0.8, 0.8, 0.8])
EQUAL5 = ([0.4, 0.4, -1.0, 0.9, 0.2], [0.6, 0.6, 0.6, -0.3, 1.2], [0.25, 0.25, 0.25, 0.25, -0.75])  # for smooth functions of equal values
ABS_TIES5 = ([1.0, -1.0, 0.3, -0.5, 0.7], [0.2, 1.0, -1.0, 1.0, -0.4], [-1.5, 1.5, 1.5, -1.5, 0.5])  # |x| tied at the maximum
PAIR_TIES4 = ([0.7, -0.3, 0.7, 1.2], [0.5, 0.5, 0.5, 0.5])  # f(x[:2], x[2:]) with x[:2] == x[2:] (one or both pairs)


def _edge(at: float, side: int = +1, n: int = 4) -> list[list[float]]:
    """One point: n elements 1e-3 … 1e-6 from ``at``, on ``side`` (+1 above, −1 below)."""
    return [[at + side * d for d in NEAR[:n]]]


def _two_sided(at_low: float, at_high: float) -> list[list[float]]:
    """One point: 1e-3 above the low edge, 1e-4 below the high one, 1e-5 above, 1e-6 below."""
    return [[at_low + 1e-3, at_high - 1e-4, at_low + 1e-5, at_high - 1e-6]]


def _spd(n: int) -> Callable[[Any], Any]:
    """x (n·n elements) ↦ A Aᵀ + n I: symmetric positive definite (every namespace's matmul and eye)."""

    def make(x):
        A = x.reshape(n, n)
        if isinstance(x, torch.Tensor):
            return A @ A.T + n * torch.eye(n, dtype=x.dtype)
        return A @ A.T + n * jnp.eye(n, dtype=x.dtype)

    return make


def _sym(x):
    A = x.reshape(2, 2)
    return (A + A.T) / 2


def _mat(x):
    return x.reshape(2, 2)


# --- jax.numpy: elementwise ----------------------------------------------------------------------

J("jax.numpy.sin", jnp.sin, torch.sin, mp=_mp(mpmath.sin), cplx=np.sin, domain=(-3, 3))
J("jax.numpy.cos", jnp.cos, torch.cos, mp=_mp(mpmath.cos), cplx=np.cos, domain=(-3, 3))
J("jax.numpy.tan", jnp.tan, torch.tan, mp=_mp(mpmath.tan), cplx=np.tan, domain=(-1.4, 1.4),
  poles=[[HALF_PI - 1e-3, -HALF_PI + 1e-4, HALF_PI + 1e-5, HALF_PI - 1e-6]])
J("jax.numpy.arcsin", jnp.arcsin, torch.asin, mp=_mp(mpmath.asin), cplx=np.arcsin, domain=(-0.95, 0.95), edges=_two_sided(-1, 1))
J("jax.numpy.arccos", jnp.arccos, torch.acos, mp=_mp(mpmath.acos), cplx=np.arccos, domain=(-0.95, 0.95), edges=_two_sided(-1, 1))
J("jax.numpy.arctan", jnp.arctan, torch.atan, mp=_mp(mpmath.atan), cplx=np.arctan, domain=(-3, 3))
J("jax.numpy.tanh", jnp.tanh, torch.tanh, mp=_mp(mpmath.tanh), cplx=np.tanh, domain=(-3, 3))
J("jax.numpy.arccosh", jnp.arccosh, torch.acosh, mp=_mp(mpmath.acosh), cplx=np.arccosh, domain=(1.05, 4), edges=_edge(1.0))
J("jax.numpy.arctanh", jnp.arctanh, torch.atanh, mp=_mp(mpmath.atanh), cplx=np.arctanh, domain=(-0.9, 0.9), poles=_two_sided(-1, 1))
J("jax.numpy.exp", jnp.exp, torch.exp, mp=_mp(mpmath.exp), cplx=np.exp, domain=(-3, 3))
J("jax.numpy.expm1", jnp.expm1, torch.expm1, mp=_mp(mpmath.expm1), cplx=np.expm1, domain=(-3, 3))
J("jax.numpy.log", jnp.log, torch.log, mp=_mp(mpmath.log), cplx=np.log, domain=(0.1, 4), edges=_edge(0.0))
J("jax.numpy.log1p", jnp.log1p, torch.log1p, mp=_mp(mpmath.log1p), cplx=np.log1p, domain=(-0.9, 3), edges=_edge(-1.0))
J("jax.numpy.sqrt", jnp.sqrt, torch.sqrt, mp=_mp(mpmath.sqrt), cplx=np.sqrt, domain=(0.1, 4), edges=_edge(0.0))
J("jax.numpy.cbrt", jnp.cbrt, lambda x: torch.sign(x) * torch.abs(x) ** (1 / 3), domain=(0.2, 3), poles=[[1e-3, -1e-4, 1e-5, -1e-6]])
J("jax.numpy.reciprocal", jnp.reciprocal, torch.reciprocal, mp=_mp(lambda v: 1 / v), cplx=np.reciprocal, domain=(0.3, 3),
  poles=[[1e-3, -1e-4, 1e-5, -1e-6]])
J("jax.numpy.abs", jnp.abs, torch.abs, domain=(-3, 3), kinks=[[0.0, 1.0, -0.5, 0.0]])
J("jax.numpy.sinc", jnp.sinc, torch.sinc, domain=(-3, 3), edges=[[0.0, 1e-6, -1e-4, 1e-3]])
J("jax.numpy.power", lambda x: jnp.power(x, 2.5), lambda x: torch.pow(x, 2.5), cplx=lambda x: x ** 2.5, domain=(0.1, 3), edges=_edge(0.0))
J("jax.numpy.logaddexp", lambda x: jnp.logaddexp(x[:2], x[2:]), lambda x: torch.logaddexp(x[:2], x[2:]),
  cplx=lambda x: np.log(np.exp(x[:2]) + np.exp(x[2:])), domain=(-3, 3), ties=PAIR_TIES4)
J("jax.numpy.arctan2", lambda x: jnp.arctan2(x[:2], x[2:]), lambda x: torch.atan2(x[:2], x[2:]), domain=(-2, 2),
  poles=[[1e-3, -1e-5, -1e-4, 1e-6]])
J("jax.numpy.hypot", lambda x: jnp.hypot(x[:2], x[2:]), lambda x: torch.hypot(x[:2], x[2:]), domain=(-2, 2),
  edges=[[1e-3, -1e-5, -1e-4, 1e-6]])
J("jax.numpy.maximum", lambda x: jnp.maximum(x[:2], x[2:]), lambda x: torch.maximum(x[:2], x[2:]), domain=(-2, 2), ties=PAIR_TIES4)
J("jax.numpy.minimum", lambda x: jnp.minimum(x[:2], x[2:]), lambda x: torch.minimum(x[:2], x[2:]), domain=(-2, 2), ties=PAIR_TIES4)
J("jax.numpy.clip", lambda x: jnp.clip(x, -1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0), domain=(-2, 2), kinks=[[1.0, -1.0, 0.3, 1.0]])

# --- jax.numpy: reductions, sorts, scans, products ------------------------------------------------

J("jax.numpy.sum", jnp.sum, torch.sum, cplx=np.sum, size=5, ties=EQUAL5[:1])
J("jax.numpy.mean", jnp.mean, torch.mean, cplx=np.mean, size=5)
J("jax.numpy.prod", jnp.prod, torch.prod, cplx=np.prod, size=5, ties=EQUAL5[1:2],
  edges=[[0.0, 1.5, -2.0, 0.7, 1.1], [0.0, 0.0, 1.3, 2.0, -0.6]])
J("jax.numpy.max", jnp.max, torch.amax, size=5, ties=TIES5)
J("jax.numpy.min", jnp.min, torch.amin, size=5, ties=MIN_TIES5)
J("jax.numpy.ptp", jnp.ptp, lambda x: torch.amax(x) - torch.amin(x), size=5, ties=([1.0, 1.0, -0.5, -0.5, 0.2], [0.9, 0.9, 0.9, -1.0, -1.0]))
J("jax.numpy.var", jnp.var, lambda x: torch.var(x, correction=0), cplx=np.var, size=5, ties=EQUAL5[1:2])
J("jax.numpy.std", jnp.std, lambda x: torch.std(x, correction=0), size=5, ties=EQUAL5[1:2])
J("jax.numpy.median", jnp.median, torch.median, size=5, ties=MEDIAN_TIES5)
J("jax.numpy.sort", jnp.sort, lambda x: torch.sort(x).values, size=5, ties=SORT_TIES5)
J("jax.numpy.maximum.accumulate", jnp.maximum.accumulate, lambda x: torch.cummax(x, 0).values, size=5, ties=CUM_TIES5)
J("jax.numpy.cumsum", jnp.cumsum, lambda x: torch.cumsum(x, 0), cplx=np.cumsum, size=5)
J("jax.numpy.cumprod", jnp.cumprod, lambda x: torch.cumprod(x, 0), cplx=np.cumprod, size=5, edges=[[1.2, 0.0, -0.7, 2.0, 0.5], [0.0, 0.9, 0.0, 1.5, -1.1]])
J("jax.numpy.diff", jnp.diff, torch.diff, size=5)
J("jax.numpy.linalg.norm", jnp.linalg.norm, torch.linalg.vector_norm, size=5, ties=EQUAL5[:1])
J("jax.numpy.linalg.norm(ord=1)", lambda x: jnp.linalg.norm(x, ord=1), lambda x: torch.linalg.vector_norm(x, ord=1), size=5,
  kinks=[[0.0, 1.0, -0.5, 0.0, 2.0]])
J("jax.numpy.linalg.norm(ord=inf)", lambda x: jnp.linalg.norm(x, ord=jnp.inf), lambda x: torch.linalg.vector_norm(x, ord=math.inf), size=5,
  ties=ABS_TIES5)
J("jax.numpy.linalg.det", lambda x: jnp.linalg.det(_mat(x)), lambda x: torch.linalg.det(_mat(x)), size=4)
J("jax.numpy.linalg.slogdet", lambda x: jnp.linalg.slogdet(_mat(x))[1], lambda x: torch.linalg.slogdet(_mat(x))[1],
  domain=lambda rng, n: np.eye(2).ravel() * 2 + rng.uniform(-0.5, 0.5, n))
J("jax.numpy.linalg.eigvalsh", lambda x: jnp.linalg.eigvalsh(_sym(x)), lambda x: torch.linalg.eigvalsh(_sym(x)), size=4)

# --- jax.nn ---------------------------------------------------------------------------------------

J("jax.nn.relu", jnn.relu, torch.relu, domain=(-2, 2), kinks=[[0.0, 1.0, -0.5, 0.0]])
J("jax.nn.relu6", jnn.relu6, F.relu6, domain=(-2, 8), kinks=[[0.0, 6.0, 3.0, -1.0]])
J("jax.nn.sigmoid", jnn.sigmoid, torch.sigmoid, domain=(-5, 5))
J("jax.nn.softplus", jnn.softplus, lambda x: torch.logaddexp(x, torch.zeros_like(x)), domain=(-5, 5))
J("jax.nn.soft_sign", jnn.soft_sign, F.softsign, domain=(-3, 3), kinks=[[0.0, 1.0, -0.5, 0.0]])
J("jax.nn.silu", jnn.silu, F.silu, domain=(-5, 5))
J("jax.nn.log_sigmoid", jnn.log_sigmoid, F.logsigmoid, domain=(-5, 5))
J("jax.nn.leaky_relu", jnn.leaky_relu, F.leaky_relu, domain=(-2, 2), kinks=[[0.0, 1.0, -0.5, 0.0]])
J("jax.nn.hard_tanh", jnn.hard_tanh, F.hardtanh, domain=(-2, 2), kinks=[[1.0, -1.0, 0.3, -1.0]])
J("jax.nn.elu", jnn.elu, F.elu, domain=(-3, 3), kinks=[[0.0, 1.0, -0.5, 0.0]])
J("jax.nn.selu", jnn.selu, F.selu, domain=(-3, 3), kinks=[[0.0, 1.0, -0.5, 0.0]])
J("jax.nn.gelu(approximate=True)", lambda x: jnn.gelu(x, approximate=True), lambda x: F.gelu(x, approximate="tanh"), domain=(-4, 4))
J("jax.nn.gelu(approximate=False)", lambda x: jnn.gelu(x, approximate=False), F.gelu, domain=(-4, 4))
J("jax.nn.glu", jnn.glu, lambda x: F.glu(x, dim=-1), domain=(-3, 3))
J("jax.nn.softmax", jnn.softmax, lambda x: torch.softmax(x, 0), size=5, ties=EQUAL5)
J("jax.nn.log_softmax", jnn.log_softmax, lambda x: torch.log_softmax(x, 0), size=5, ties=EQUAL5)
J("jax.nn.standardize", lambda x: jnn.standardize(x, epsilon=1e-5),
  lambda x: (x - x.mean()) / torch.sqrt(torch.var(x, correction=0) + 1e-5), size=5, ties=EQUAL5[1:2])
J("jax.nn.hard_sigmoid", jnn.hard_sigmoid, F.hardsigmoid, domain=(-4, 4), kinks=[[3.0, -3.0, 0.5, 3.0]])
J("jax.nn.hard_silu", jnn.hard_silu, F.hardswish, domain=(-4, 4), kinks=[[3.0, -3.0, 0.5, 3.0]])
J("jax.nn.sparse_plus", jnn.sparse_plus,
  lambda x: torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, (x + 1) ** 2 / 4)), domain=(-2, 2), kinks=[[1.0, -1.0, 0.0, 1.0]])
J("jax.nn.sparse_sigmoid", jnn.sparse_sigmoid, lambda x: torch.clamp((x + 1) / 2, 0.0, 1.0), domain=(-2, 2), kinks=[[1.0, -1.0, 0.0, 1.0]])
J("jax.nn.mish", jnn.mish, F.mish, domain=(-4, 4))
J("jax.nn.log1mexp", jnn.log1mexp, lambda x: torch.log(-torch.expm1(-x)), domain=(0.1, 4), edges=_edge(0.0))
J("jax.nn.one_hot@softmax", lambda x: jnn.softmax(x) @ jnn.one_hot(jnp.arange(5) % 3, 3, dtype=x.dtype),
  lambda x: torch.softmax(x, 0) @ F.one_hot(torch.arange(5) % 3, 3).to(x.dtype), size=5)

# --- jax.scipy.special ------------------------------------------------------------------------------

NEG_POLES = [[-1 + 1e-3, -2 - 1e-4, 1e-5, -3 + 1e-6]]  # near the poles of Γ, ψ, ψ′ at 0, −1, −2, −3
J("jax.scipy.special.gammaln", jss.gammaln, torch.lgamma, domain=(0.2, 5), poles=NEG_POLES)
J("jax.scipy.special.digamma", jss.digamma, torch.digamma, mp=_mp(mpmath.digamma), cplx=ss.psi, domain=(0.2, 5), poles=NEG_POLES)
J("jax.scipy.special.polygamma", lambda x: jss.polygamma(1, x), lambda x: torch.polygamma(1, x), domain=(0.2, 5), poles=NEG_POLES)
J("jax.scipy.special.gamma", jss.gamma, lambda x: torch.exp(torch.lgamma(x)), domain=(0.2, 4), poles=[[1e-3, 1e-4, 1e-5, 1e-6]])
J("jax.scipy.special.erf", jss.erf, torch.erf, mp=_mp(mpmath.erf), cplx=ss.erf, domain=(-3, 3))
J("jax.scipy.special.erfc", jss.erfc, torch.erfc, mp=_mp(mpmath.erfc), cplx=ss.erfc, domain=(-3, 3))
J("jax.scipy.special.erfinv", jss.erfinv, torch.erfinv, mp=_mp(mpmath.erfinv), domain=(-0.95, 0.95), edges=_two_sided(-1, 1))
J("jax.scipy.special.erfcx", jss.erfcx, torch.special.erfcx, domain=(-2, 4))
J("jax.scipy.special.ndtr", jss.ndtr, torch.special.ndtr, mp=_mp(mpmath.ncdf), domain=(-4, 4))
J("jax.scipy.special.ndtri", jss.ndtri, torch.special.ndtri, domain=(0.05, 0.95), edges=_two_sided(0, 1))
J("jax.scipy.special.log_ndtr", jss.log_ndtr, torch.special.log_ndtr, domain=(-8, 4))
J("jax.scipy.special.logit", jss.logit, torch.special.logit, mp=_mp(lambda v: mpmath.log(v / (1 - v))), cplx=lambda x: np.log(x / (1 - x)),
  domain=(0.05, 0.95), edges=_two_sided(0, 1))
J("jax.scipy.special.xlogy", lambda x: jss.xlogy(x[:2], x[2:]), lambda x: torch.xlogy(x[:2], x[2:]), domain=(0.1, 3),
  edges=[[0.7, 1.3, 1e-3, 1e-6], [0.0, 0.8, 0.5, 1e-4]])
J("jax.scipy.special.xlog1py", lambda x: jss.xlog1py(x[:2], x[2:]), lambda x: torch.special.xlog1py(x[:2], x[2:]), domain=(0.1, 3),
  edges=[[0.7, 1.3, -1 + 1e-3, -1 + 1e-6]])
J("jax.scipy.special.entr", jss.entr, torch.special.entr, domain=(0.1, 3), edges=_edge(0.0))
J("jax.scipy.special.i0", jss.i0, torch.special.i0, domain=(-4, 4))
J("jax.scipy.special.i0e", jss.i0e, torch.special.i0e, domain=(-4, 4), kinks=[[0.0, 1.0, -0.5, 0.0]])
J("jax.scipy.special.i1", jss.i1, torch.special.i1, domain=(-4, 4))
J("jax.scipy.special.i1e", jss.i1e, torch.special.i1e, domain=(-4, 4), kinks=[[0.0, 1.0, -0.5, 0.0]])
J("jax.scipy.special.logsumexp", jss.logsumexp, lambda x: torch.logsumexp(x, 0), size=5, ties=EQUAL5)
J("jax.scipy.special.poch", lambda x: jss.poch(x[:2], x[2:]), lambda x: torch.exp(torch.lgamma(x[:2] + x[2:]) - torch.lgamma(x[:2])),
  domain=(0.3, 3))

# --- torch: elementwise -----------------------------------------------------------------------------

T("torch.sin", torch.sin, jnp.sin, mp=_mp(mpmath.sin), cplx=np.sin, domain=(-3, 3))
T("torch.tan", torch.tan, jnp.tan, mp=_mp(mpmath.tan), cplx=np.tan, domain=(-1.4, 1.4),
  poles=[[HALF_PI - 1e-3, -HALF_PI + 1e-4, HALF_PI + 1e-5, HALF_PI - 1e-6]])
T("torch.asin", torch.asin, jnp.arcsin, mp=_mp(mpmath.asin), cplx=np.arcsin, domain=(-0.95, 0.95), edges=_two_sided(-1, 1))
T("torch.acos", torch.acos, jnp.arccos, mp=_mp(mpmath.acos), cplx=np.arccos, domain=(-0.95, 0.95), edges=_two_sided(-1, 1))
T("torch.acosh", torch.acosh, jnp.arccosh, cplx=np.arccosh, domain=(1.05, 4), edges=_edge(1.0))
T("torch.atanh", torch.atanh, jnp.arctanh, cplx=np.arctanh, domain=(-0.9, 0.9), poles=_two_sided(-1, 1))
T("torch.log", torch.log, jnp.log, mp=_mp(mpmath.log), cplx=np.log, domain=(0.1, 4), edges=_edge(0.0))
T("torch.log1p", torch.log1p, jnp.log1p, cplx=np.log1p, domain=(-0.9, 3), edges=_edge(-1.0))
T("torch.sqrt", torch.sqrt, jnp.sqrt, mp=_mp(mpmath.sqrt), cplx=np.sqrt, domain=(0.1, 4), edges=_edge(0.0))
T("torch.rsqrt", torch.rsqrt, lambda x: 1 / jnp.sqrt(x), cplx=lambda x: 1 / np.sqrt(x), domain=(0.1, 4), poles=_edge(0.0))
T("torch.reciprocal", torch.reciprocal, jnp.reciprocal, cplx=np.reciprocal, domain=(0.3, 3), poles=[[1e-3, -1e-4, 1e-5, -1e-6]])
T("torch.abs", torch.abs, jnp.abs, domain=(-3, 3), kinks=[[0.0, 1.0, -0.5, 0.0]])
T("torch.erfinv", torch.erfinv, jss.erfinv, domain=(-0.95, 0.95), edges=_two_sided(-1, 1))
T("torch.lgamma", torch.lgamma, jss.gammaln, domain=(0.2, 5), poles=NEG_POLES)
T("torch.digamma", torch.digamma, jss.digamma, mp=_mp(mpmath.digamma), cplx=ss.psi, domain=(0.2, 5), poles=NEG_POLES)
T("torch.polygamma", lambda x: torch.polygamma(1, x), lambda x: jss.polygamma(1, x), domain=(0.2, 5), poles=NEG_POLES)
T("torch.sinc", torch.sinc, jnp.sinc, domain=(-3, 3), edges=[[0.0, 1e-6, -1e-4, 1e-3]])
T("torch.atan2", lambda x: torch.atan2(x[:2], x[2:]), lambda x: jnp.arctan2(x[:2], x[2:]), domain=(-2, 2), poles=[[1e-3, -1e-5, -1e-4, 1e-6]])
T("torch.hypot", lambda x: torch.hypot(x[:2], x[2:]), lambda x: jnp.hypot(x[:2], x[2:]), domain=(-2, 2), edges=[[1e-3, -1e-5, -1e-4, 1e-6]])
T("torch.pow", lambda x: torch.pow(x, 2.5), lambda x: jnp.power(x, 2.5), cplx=lambda x: x ** 2.5, domain=(0.1, 3), edges=_edge(0.0))
T("torch.logaddexp", lambda x: torch.logaddexp(x[:2], x[2:]), lambda x: jnp.logaddexp(x[:2], x[2:]), domain=(-3, 3), ties=PAIR_TIES4)
T("torch.xlogy", lambda x: torch.xlogy(x[:2], x[2:]), lambda x: jss.xlogy(x[:2], x[2:]), domain=(0.1, 3),
  edges=[[0.7, 1.3, 1e-3, 1e-6], [0.0, 0.8, 0.5, 1e-4]])
T("torch.clamp", lambda x: torch.clamp(x, -1.0, 1.0), lambda x: jnp.clip(x, -1.0, 1.0), domain=(-2, 2), kinks=[[1.0, -1.0, 0.3, 1.0]])
T("torch.maximum", lambda x: torch.maximum(x[:2], x[2:]), lambda x: jnp.maximum(x[:2], x[2:]), domain=(-2, 2), ties=PAIR_TIES4)
T("torch.minimum", lambda x: torch.minimum(x[:2], x[2:]), lambda x: jnp.minimum(x[:2], x[2:]), domain=(-2, 2), ties=PAIR_TIES4)

# --- torch.special ------------------------------------------------------------------------------------

T("torch.special.i0e", torch.special.i0e, jss.i0e, domain=(-4, 4), kinks=[[0.0, 1.0, -0.5, 0.0]])
T("torch.special.i1e", torch.special.i1e, jss.i1e, domain=(-4, 4), kinks=[[0.0, 1.0, -0.5, 0.0]])
T("torch.special.logit", torch.special.logit, jss.logit, cplx=lambda x: np.log(x / (1 - x)), domain=(0.05, 0.95), edges=_two_sided(0, 1))
T("torch.special.xlog1py", lambda x: torch.special.xlog1py(x[:2], x[2:]), lambda x: jss.xlog1py(x[:2], x[2:]), domain=(0.1, 3),
  edges=[[0.7, 1.3, -1 + 1e-3, -1 + 1e-6]])
T("torch.special.entr", torch.special.entr, jss.entr, domain=(0.1, 3), edges=_edge(0.0))
T("torch.special.ndtr", torch.special.ndtr, jss.ndtr, domain=(-4, 4))
T("torch.special.erfcx", torch.special.erfcx, jss.erfcx, domain=(-2, 4))

# --- torch: reductions, sorts, scans, linear algebra ------------------------------------------------------

T("torch.sum", torch.sum, jnp.sum, size=5)
T("torch.mean", torch.mean, jnp.mean, size=5)
T("torch.prod", torch.prod, jnp.prod, size=5, ties=EQUAL5[1:2], edges=[[0.0, 1.5, -2.0, 0.7, 1.1], [0.0, 0.0, 1.3, 2.0, -0.6]])
T("torch.amax", torch.amax, jnp.max, size=5, ties=TIES5)
T("torch.amin", torch.amin, jnp.min, size=5, ties=MIN_TIES5)
T("torch.max(dim)", lambda x: torch.max(x.reshape(1, -1), 1).values, lambda x: jnp.max(x.reshape(1, -1), 1), size=5, ties=TIES5)
T("torch.min(dim)", lambda x: torch.min(x.reshape(1, -1), 1).values, lambda x: jnp.min(x.reshape(1, -1), 1), size=5, ties=MIN_TIES5)
T("torch.max", torch.max, jnp.max, size=5, ties=TIES5)
T("torch.median", torch.median, jnp.median, size=5, ties=MEDIAN_TIES5)
T("torch.nanmedian", torch.nanmedian, jnp.median, size=5, ties=MEDIAN_TIES5[1:2])
T("torch.quantile", lambda x: torch.quantile(x, 0.3), lambda x: jnp.quantile(x, 0.3), size=5, ties=SORT_TIES5[1:2])
T("torch.sort", lambda x: torch.sort(x).values, jnp.sort, size=5, ties=SORT_TIES5)
T("torch.kthvalue", lambda x: torch.kthvalue(x, 2).values, lambda x: jnp.sort(x)[1], size=5, ties=SORT_TIES5)
T("torch.topk", lambda x: torch.topk(x, 2).values, lambda x: jnp.sort(x)[::-1][:2], size=5, ties=TIES5)
T("torch.cumprod", lambda x: torch.cumprod(x, 0), jnp.cumprod, size=5, edges=[[1.2, 0.0, -0.7, 2.0, 0.5], [0.0, 0.9, 0.0, 1.5, -1.1]])
T("torch.cummax", lambda x: torch.cummax(x, 0).values, jnp.maximum.accumulate, size=5, ties=CUM_TIES5)
T("torch.cummin", lambda x: torch.cummin(x, 0).values, jnp.minimum.accumulate, size=5, ties=tuple([-v for v in p] for p in CUM_TIES5))
T("torch.logsumexp", lambda x: torch.logsumexp(x, 0), jnn.logsumexp, cplx=lambda x: np.log(np.sum(np.exp(x))), size=5, ties=EQUAL5)
T("torch.logcumsumexp", lambda x: torch.logcumsumexp(x, 0), lambda x: jnp.logaddexp.accumulate(x), size=5, ties=EQUAL5[2:])
T("torch.cumsum", lambda x: torch.cumsum(x, 0), jnp.cumsum, size=5)
T("torch.linalg.vector_norm", torch.linalg.vector_norm, jnp.linalg.norm, size=5, ties=EQUAL5[:1])
T("torch.linalg.vector_norm(ord=1)", lambda x: torch.linalg.vector_norm(x, ord=1), lambda x: jnp.linalg.norm(x, ord=1), size=5,
  kinks=[[0.0, 1.0, -0.5, 0.0, 2.0]])
T("torch.linalg.vector_norm(ord=inf)", lambda x: torch.linalg.vector_norm(x, ord=math.inf), lambda x: jnp.linalg.norm(x, ord=jnp.inf), size=5,
  ties=ABS_TIES5)
T("torch.std", torch.std, lambda x: jnp.std(x, ddof=1), size=5, ties=EQUAL5[1:2])
T("torch.var", torch.var, lambda x: jnp.var(x, ddof=1), size=5, ties=EQUAL5[1:2])
T("torch.softmax", lambda x: torch.softmax(x, 0), jnn.softmax, size=5, ties=EQUAL5)
T("torch.log_softmax", lambda x: torch.log_softmax(x, 0), jnn.log_softmax, size=5, ties=EQUAL5)
T("torch.linalg.eigvalsh", lambda x: torch.linalg.eigvalsh(_sym(x)), lambda x: jnp.linalg.eigvalsh(_sym(x)), size=4)

# --- torch.nn.functional -----------------------------------------------------------------------------------

T("torch.nn.functional.relu", F.relu, jnn.relu, domain=(-2, 2), kinks=[[0.0, 1.0, -0.5, 0.0]])
T("torch.nn.functional.relu6", F.relu6, jnn.relu6, domain=(-2, 8), kinks=[[0.0, 6.0, 3.0, -1.0]])
T("torch.nn.functional.elu", F.elu, jnn.elu, domain=(-3, 3), kinks=[[0.0, 1.0, -0.5, 0.0]])
T("torch.nn.functional.selu", F.selu, jnn.selu, domain=(-3, 3), kinks=[[0.0, 1.0, -0.5, 0.0]])
T("torch.nn.functional.gelu", F.gelu, lambda x: jnn.gelu(x, approximate=False), domain=(-4, 4))
T("torch.nn.functional.softsign", F.softsign, jnn.soft_sign, domain=(-3, 3), kinks=[[0.0, 1.0, -0.5, 0.0]])
T("torch.nn.functional.hardtanh", F.hardtanh, jnn.hard_tanh, domain=(-2, 2), kinks=[[1.0, -1.0, 0.3, -1.0]])
T("torch.nn.functional.hardswish", F.hardswish, jnn.hard_silu, domain=(-4, 4), kinks=[[3.0, -3.0, 0.5, 3.0]])
T("torch.nn.functional.hardsigmoid", F.hardsigmoid, jnn.hard_sigmoid, domain=(-4, 4), kinks=[[3.0, -3.0, 0.5, 3.0]])
T("torch.nn.functional.leaky_relu", F.leaky_relu, jnn.leaky_relu, domain=(-2, 2), kinks=[[0.0, 1.0, -0.5, 0.0]])
T("torch.nn.functional.softshrink", F.softshrink, lambda x: jnp.where(x > 0.5, x - 0.5, jnp.where(x < -0.5, x + 0.5, 0.0)), domain=(-2, 2),
  kinks=[[0.5, -0.5, 1.0, 0.5]])
T("torch.nn.functional.softmin", lambda x: F.softmin(x, 0), lambda x: jnn.softmax(-x), size=5, ties=EQUAL5)
T("torch.nn.functional.normalize", lambda x: F.normalize(x, dim=0), lambda x: x / jnp.linalg.norm(x), size=5, ties=EQUAL5[:1])
T("torch.nn.functional.max_pool1d", lambda x: F.max_pool1d(x.reshape(1, 1, -1), 2, 1).reshape(-1),
  lambda x: jnp.maximum(x[:-1], x[1:]), size=5, ties=([0.5, 0.5, -0.3, 0.9, 0.9], [1.0, 1.0, 1.0, -0.2, 0.4]))
T("torch.nn.functional.adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x.reshape(1, 1, -1), 2).reshape(-1),
  lambda x: jnp.stack([jnp.max(x[:3]), jnp.max(x[3:])]), size=6, ties=([0.7, 0.7, 0.7, 0.2, 0.2, -0.1],))

TARGET = np.array([0.3, -0.8, 1.1, 0.0, 0.5])
PROBS = np.array([0.2, 0.7, 0.5, 1.0, 0.0])
T("torch.nn.functional.l1_loss", lambda x: F.l1_loss(x, _c(TARGET, x)), lambda x: jnp.mean(jnp.abs(x - _c(TARGET, x))), size=5,
  kinks=[TARGET + np.array([0.0, 0.2, 0.0, -0.4, 1.0])])
T("torch.nn.functional.smooth_l1_loss", lambda x: F.smooth_l1_loss(x, _c(TARGET, x)),
  lambda x: jnp.mean(jnp.where(jnp.abs(x - _c(TARGET, x)) < 1, 0.5 * (x - _c(TARGET, x)) ** 2, jnp.abs(x - _c(TARGET, x)) - 0.5)), size=5,
  kinks=[TARGET + np.array([1.0, -1.0, 0.3, 0.0, 2.0])])
T("torch.nn.functional.binary_cross_entropy", lambda x: F.binary_cross_entropy(x, _c(PROBS, x)),
  lambda x: -jnp.mean(_c(PROBS, x) * jnp.log(x) + (1 - _c(PROBS, x)) * jnp.log1p(-x)), size=5, domain=(0.05, 0.95),
  edges=[[1e-3, 0.5, 1 - 1e-4, 0.3, 1e-6]])
T("torch.nn.functional.cross_entropy", lambda x: F.cross_entropy(x.reshape(1, -1), torch.tensor([2])),
  lambda x: -jnn.log_softmax(x)[2], size=5, ties=EQUAL5)


def cases(modes: tuple[str, ...] = ("vjp", "jvp")) -> list[tuple[str, str, int, str]]:
    """Every check of the corpus: (rule name, kind of point, index of the point, "vjp" or "jvp")."""
    out = []
    for name, rule in RULES.items():
        for kind in KINDS:
            for index, _ in enumerate(rule.points(kind)):
                out += [(name, kind, index, mode) for mode in modes if mode in rule.modes]
    return out
