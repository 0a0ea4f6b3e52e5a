"""Numerical differentiation, written once: central differences, Richardson
extrapolation and the complex step, with their error estimates and kink brackets.

Every method moves one element θ of what is differentiated to a few stencil
points and combines the objective E there; *where* E is evaluated is an
``Evaluator``'s business (``oracles.methods.numerical.evaluators``: a plain loop over
any function, or a network's batched forward passes).

Central differences
    D(h) = (E(θ + h) − E(θ − h)) / ((θ + h) − (θ − h)),   h = ε^{1/3} · max(1, |θ|)
  ε^{1/3} balances the O(h²) truncation error against the O(ε/h) rounding
  error, giving ~ε^{2/3} (≈ 4e-11 in float64) when E''' is of order one.  The
  denominator is the representable step (θ + h) − (θ − h), not 2h.
  Error estimate: |D(2h) − D(h)| + ε·max(|E|, 1)/h, where max(|E|, 1)
  stands for the size of E's terms (a network's forward pass at weight
  scale 10 sums terms far larger than E: ``oracles.engine.rounding.objective_terms``
  gives them, and they replace it).  For smooth E the
  truncation grows as h², so this is three times the textbook |D(2h) − D(h)|/3;
  the margin keeps the estimate honest where E is only C¹ and the error
  shrinks like h (ELU at 0), so such an element is "unresolved", never a
  false alarm.

Richardson extrapolation
    R₁(h) = (4 D(h/2) − D(h)) / 3 = E' + O(h⁴),
    R₂ = (16 R₁(h/2) − R₁(h)) / 15 = E' + O(h⁶),   h = ε^{1/5} · max(1, |θ|)
  Error estimate: |R₂ − R₁(h/2)| + 6.6·ε·max(|E|, 1)/h — the rounding of each
  D(s), ε|E|/s, weighted as in R₂ = (64 D(h/4) − 20 D(h/2) + D(h))/45:
  (64·4 + 20·2 + 1)/45 ≈ 6.6.

Complex step
    ∂E/∂θ = Im E(θ + i h) / h + O(h²),   h = 1e-30 (1e-20 in float32)
  No subtraction, so no cancellation: as accurate as E itself, for an E that
  is analytic in θ and never compares complex numbers.  No error estimate.

Kinks
  Where the evaluator can see kinks (a network's relu/leaky_relu/maxout
  units), an element whose stencil θ ± h crosses one is flagged ``kinked``:
  E is not differentiable between the points, so its one-sided difference
  quotients (E(θ+s) − E(θ))/s and (E(θ) − E(θ−s))/s are returned as the
  bracket a correct derivative must lie in.  Each side's step is halved until
  no kink lies between θ and θ ± s (so each quotient measures one smooth
  piece, even with several kinks near θ), and the bracket is widened by the
  quotients' own error (q(s) against q(s/2), plus rounding).
  A function's kinks cannot be seen (f is opaque): there they are found from
  the stencil's own values.  With J(s) = q₊(s) − q₋(s) = (E(θ+s) − 2E(θ) +
  E(θ−s))/s, a smooth E gives J(s) = s·E'' + O(s³), so 2J(s) − J(2s) = O(s³);
  where the one-sided derivatives differ by a jump c (relu at 0, a tie in a
  max, abs at 0, or a kink within the stencil), 2J(s) − J(2s) ≈ c.  An element
  whose 2J(s) − J(2s) exceeds ``KINK_MARGIN`` times its rounding is treated as
  crossing a kink, and each side is halved until its quotients q(s), q(s/2),
  q(s/4) lie on one smooth piece (q(s) − 3q(s/2) + 2q(s/4) = O(s²) there).
  Jumps below ~1e-8 of E's terms are not seen: a kink that small is
  indistinguishable from rounding, and is judged as smooth.

Elements that move nothing (a masked weight) are not evaluated: every
difference quotient is exactly 0 and the error estimate its rounding term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np

RICHARDSON_ROUNDING = (64 * 4 + 20 * 2 + 1) / 45  # ≈ 6.6, see the module docstring
COMPLEX_STEPS = {np.dtype(np.float64): 1e-30, np.dtype(np.float32): 1e-20}  # any h ≪ √ε·|θ|, above the dtype's tiny
MAX_HALVINGS = 24  # h·2^-24 ≈ 6e-8·h: far below any kink spacing that matters
KINK_MARGIN = 100  # 2J(s) − J(2s) rounds by at most ~10 ε|E|/s: ten times that again before a kink is claimed
DOMAIN_HALVINGS = 4  # a one-sided ladder that leaves f's domain, or is not asymptotic at h (``ladder``), is tried down to h/16


NOISE_STEP = 2.0**-30  # the noise probe's spacing, relative to max(1, |θ|): far below any pole's distance that matters
NOISE_POINTS = 10  # f at θ + jδ, j = 0…9: differences of orders 3 to 6 (``noise``)
NOISE_SIGMAS = 3.0  # E's rounding taken as 3 σ of the noise measured, where that exceeds ε·max(|E|, 1)
FLOAT32_STEP = 2.0**-14  # the float32 probe's spacing, relative to max(1, |θ|): ~500 float32 ulps, so a float32 f's values differ
FLOAT32_ROUNDING = 2 * float(np.finfo(np.float32).eps)  # E's rounding where f computes in float32: 2 ε₃₂·max(|E|, 1)


def noise(E: np.ndarray) -> np.ndarray:
    """f's own rounding noise σ per element, from E at ``NOISE_POINTS`` equally spaced points
    (axis 0): the k-th differences of a smooth E at spacing δ are δ^k E⁽ᵏ⁾, negligible at
    δ = 2⁻³⁰ for k ≥ 3 unless a singularity is within ~δ; those of noise of deviation σ have
    mean square σ² (2k)!/(k!)² (Moré & Wild's ECnoise).  The smallest estimate over k = 3…6
    (the smooth part shrinks with k, the noise's does not)."""
    from math import factorial

    E = np.asarray(E, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        sigmas = [np.sqrt(factorial(k) ** 2 / factorial(2 * k) * np.mean(np.diff(E, n=k, axis=0) ** 2, axis=0)) for k in range(3, 7)]
    return np.min(sigmas, axis=0)


def float32_valued(E: np.ndarray) -> bool:
    """Whether every value is a float32 number, and not all the same: with f blind to moves below
    float32's ulp (the same value at θ + jδ, δ = 2⁻³⁰), f computes in float32."""
    E = np.asarray(E, dtype=np.float64)
    return bool(np.all(np.isfinite(E)) and np.all(E.astype(np.float32).astype(np.float64) == E) and np.ptp(E) > 0)


def failure(error: BaseException) -> str:
    """An exception raised by f at a moved point, as the verdict names it: ``ValueError('x must sum to 1')``."""
    return repr(error)[:200]


def safely(evaluate: Callable[[], Any], failed: Callable[[BaseException], None] | None = None) -> Any:
    """``evaluate()``, or NaN where f raises at a moved point (outside its domain: the
    stencil there is one-sided or not judged, ``differentiate``); ``failed`` receives the
    exception.  ``OracleCannotRun`` (an oracle that cannot evaluate f at all) is raised as it is."""
    try:
        return evaluate()
    except Exception as error:  # noqa: BLE001 — f's own failure off its domain, reported in the verdict
        if type(error).__name__ == "OracleCannotRun":
            raise
        if failed is not None:
            failed(error)
        return float("nan")


def _at(evaluator: "Evaluator", i: int, k: int, value) -> tuple[Any, bytes]:
    """``evaluator.at``, with E NaN where f raises there (``safely``; the evaluator's ``failed`` hears of it)."""
    hook = getattr(evaluator, "failed", None)
    result = safely(lambda: evaluator.at(i, k, value), None if hook is None else (lambda error: hook(i, k, value, error)))
    return (result, b"") if not isinstance(result, tuple) else result


@dataclass(frozen=True)
class Stencil:
    """One method: ``scales`` of its real steps (each D(h·s) uses θ ± h·s) and
    ``root`` (h = ε^root · max(1, |θ|)); or, for the complex step, neither."""

    name: str
    root: float | None
    scales: tuple[float, ...]

    @property
    def complex(self) -> bool:
        return self.root is None

    @property
    def count(self) -> int:
        """Stencil points per element."""
        return 1 if self.complex else 2 * len(self.scales)


CENTRAL = Stencil("central", 1.0 / 3.0, (1.0, 2.0))
RICHARDSON = Stencil("richardson", 1.0 / 5.0, (1.0, 0.5, 0.25))
COMPLEX_STEP = Stencil("complex_step", None, ())


def steps(theta: np.ndarray, stencil: Stencil) -> np.ndarray:
    """h for each θ: c · max(1, |θ|) in θ's dtype, c = ε^{1/3} or ε^{1/5}."""
    dtype = theta.dtype
    c = dtype.type(np.finfo(dtype).eps ** stencil.root)
    magnitude = np.abs(theta)
    return np.where(magnitude > 1, magnitude * c, c).astype(dtype)


def complex_step(dtype: np.dtype) -> float:
    return COMPLEX_STEPS[np.dtype(dtype)]


def points(stencil: Stencil, theta: np.ndarray) -> np.ndarray:
    """Where E is evaluated, (Q, count): θ ± h·s for each scale, or θ + i h."""
    if stencil.complex:
        return (theta + 1j * complex_step(theta.dtype))[:, None]
    h = steps(theta, stencil)
    return np.stack([p for s in stencil.scales for p in (theta + h * s, theta - h * s)], axis=1)


def quotients(stencil: Stencil, theta: np.ndarray, E: np.ndarray) -> list[np.ndarray]:
    """D(h·s) for each scale s, from E at ``points`` (Q, count)."""
    h = steps(theta, stencil)
    return [(E[:, 2 * n] - E[:, 2 * n + 1]) / ((theta + h * s) - (theta - h * s)) for n, s in enumerate(stencil.scales)]


def combine(stencil: Stencil, theta: np.ndarray, E: np.ndarray, rounding: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The derivative and its error estimate from E at ``points`` (module docstring)."""
    if stencil.complex:
        return E[:, 0].imag / complex_step(theta.dtype), None
    return _extrapolate(stencil, quotients(stencil, theta, E), steps(theta, stencil), rounding)


def _extrapolate(stencil: Stencil, D: list[np.ndarray], h: np.ndarray, rounding: float) -> tuple[np.ndarray, np.ndarray]:
    if len(D) == 2:  # central differences: D(h), D(2h)
        D_h, D_wide = D
        return D_h, np.abs(D_wide.astype(np.float64) - D_h.astype(np.float64)) + rounding / h.astype(np.float64)
    D_h, D_2, D_4 = D
    R1_h = (4 * D_2 - D_h) / 3
    R1_h2 = (4 * D_4 - D_2) / 3
    R2 = (16 * R1_h2 - R1_h) / 15
    return R2, np.abs(R2.astype(np.float64) - R1_h2.astype(np.float64)) + RICHARDSON_ROUNDING * rounding / h.astype(np.float64)


def _pairs(stencil: Stencil) -> list[tuple[int, int]]:
    """Positions of each scale s whose double 2s is also a scale, smallest s first
    (central: (1, 2); Richardson: (¼, ½) and (½, 1))."""
    pairs = [(i, stencil.scales.index(2 * s)) for i, s in enumerate(stencil.scales) if 2 * s in stencil.scales]
    return sorted(pairs, key=lambda pair: stencil.scales[pair[0]])


def jumped(stencil: Stencil, theta: np.ndarray, E: np.ndarray, E0, rounding) -> np.ndarray:
    """The elements whose stencil crosses a kink of an opaque function (module
    docstring), from E at ``points`` (Q, count) and E at θ: K(s) = 2J(s) − J(2s)
    at the smallest pair of scales exceeds ``KINK_MARGIN`` × rounding / s.  Where
    the stencil has a second pair (Richardson's steps are long enough for
    K(s) = −s³·E⁽⁴⁾/2 to show), a smooth E's K grows eightfold from one pair to
    the next while a kink's stays the same: a quarter of the next pair's K is
    taken off first.  ``rounding``: ε × the size of E's terms (a number, or one per element)."""
    h = steps(theta, stencil).astype(np.float64)
    E = np.asarray(E, dtype=np.float64)

    def K(pair: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        small, large = pair
        s = h * stencil.scales[small]
        J = [(E[:, 2 * n] - 2 * E0 + E[:, 2 * n + 1]) / step for n, step in ((small, s), (large, 2 * s))]
        return np.abs(2 * J[0] - J[1]), s

    pairs = _pairs(stencil)
    with np.errstate(invalid="ignore", over="ignore"):
        K_small, s = K(pairs[0])
        if len(pairs) > 1:
            K_small = K_small - K(pairs[1])[0] / 4
        return ~(K_small <= KINK_MARGIN * np.asarray(rounding) / s)


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """Evaluate E with each element ``flat`` of leaf ``leaf`` moved to its
    ``points(flat)`` (Q, count); ``finish(flat, E, changed)`` receives E there
    (Q, count) and whether the kink pattern changed from the unmoved one."""

    leaf: int
    flat: np.ndarray
    count: int
    points: Callable[[np.ndarray], np.ndarray]
    finish: Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class Evaluator(Protocol):
    """Where E is evaluated.  ``leaves``: the point θ, one array per leaf (not
    modified); ``E0``: E at θ; ``fixed(i)``: elements of leaf i that move
    nothing (or None); ``run(jobs)``; ``at(i, k, value)``: E and the kink
    pattern with element k of leaf i at ``value`` (for brackets).
    ``sees_kinks``: the kink pattern is known (a network's units);
    ``finds_kinks``: E is opaque, its kinks are found from its values (``jumped``)."""

    leaves: Sequence[np.ndarray]
    sees_kinks: bool
    finds_kinks: bool

    @property
    def E0(self) -> float: ...

    def fixed(self, i: int) -> np.ndarray | None: ...

    def run(self, jobs: list[Job]) -> None: ...

    def at(self, i: int, k: int, value) -> tuple[float, bytes]: ...


@dataclass(frozen=True)
class Differentiated:
    """Per leaf: the derivative (θ's dtype), its error estimate (None for the
    complex step), whether the stencil crossed a kink, and the bracket there."""

    values: list[np.ndarray]
    errors: list[np.ndarray] | None
    kinked: list[np.ndarray] | None
    lower: list[np.ndarray] | None
    upper: list[np.ndarray] | None
    domain: dict[tuple[int, int], "Outside"] = field(default_factory=dict)  # (leaf, flat index) -> where f failed
    noisier: float = 0.0  # 3σ of f's measured rounding noise over ε·max(|E|, 1, terms) (opaque f only; 0 where not measured)
    float32: bool = False  # f's values at float64 points are float32 numbers: it computes in float32


@dataclass(frozen=True)
class Outside:
    """An element whose stencil left f's domain: f raised, or was not finite, at a moved point.
    ``move``: the signed step from θ where it first failed; ``why``: the exception (its repr) or
    the value; ``side``: +1 or −1 where a one-sided difference judged it instead, 0 where none could."""

    move: float
    why: str
    side: int = 0


def differentiate(
    stencil: Stencil, evaluator: Evaluator, *, limit: int | None = None, E_terms: float = 0.0, subset: Sequence[np.ndarray] | None = None,
) -> Differentiated:
    """Every element's derivative by ``stencil``, evaluated by ``evaluator``.
    With ``limit``, only the first ``limit`` elements that move something (in
    leaf order) are evaluated and the rest of those left NaN, for timing a
    sample (elements that move nothing need no evaluation and are always filled).
    With ``subset`` (per leaf, flat indices), only those elements are evaluated
    and the rest left NaN (the sampled check of ``oracles.engine.sampling``).
    ``E_terms``: the size of the terms E's own rounding is set by, where it is
    known to exceed max(|E|, 1) (a network's, ``oracles.engine.rounding.objective_terms``):
    the rounding term of the error estimates is ε·max(|E|, 1, E_terms)/h."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be None or a non-negative integer; got {limit!r}")
    real = not stencil.complex
    rounding = float(np.finfo(evaluator.leaves[0].dtype).eps) * max(abs(float(evaluator.E0)), 1.0, E_terms) if real else 0.0
    values, errors, kinked, lower, upper, jobs = [], [], [], [], [], []
    domain: dict[tuple[int, int], Outside] = {}
    sigma, in_float32, plain = 0.0, False, rounding
    if real and evaluator.finds_kinks:  # an opaque f: its own rounding may exceed ε|E| (cancellation, float32 inside)
        sigma, in_float32 = _probe_noise(evaluator)
        rounding = max(rounding, NOISE_SIGMAS * sigma)
        if in_float32:  # judged to float32's rounding: what float32 differences cannot resolve is not judged
            rounding = max(rounding, FLOAT32_ROUNDING * plain / float(np.finfo(evaluator.leaves[0].dtype).eps))
    budget = np.inf if limit is None else limit
    finds_kinks = real and evaluator.finds_kinks
    for i, theta in enumerate(evaluator.leaves):
        g = np.full(theta.shape, np.nan, dtype=theta.dtype)
        err, kink = np.full(theta.shape, np.nan), np.zeros(theta.shape, dtype=bool)
        values.append(g)
        errors.append(err)
        kinked.append(kink)
        lower.append(np.full(theta.shape, np.nan))
        upper.append(np.full(theta.shape, np.nan))
        flat_theta, g_flat, err_flat, kink_flat = theta.reshape(-1), g.reshape(-1), err.reshape(-1), kink.reshape(-1)
        fixed = evaluator.fixed(i)
        if fixed is None:
            moved = np.arange(flat_theta.size)
        else:  # moving these changes nothing: every quotient is exactly 0
            absent = fixed.reshape(-1)
            zeros = np.zeros((int(absent.sum()), stencil.count), dtype=flat_theta.dtype)
            g_flat[absent], error = combine(stencil, flat_theta[absent], zeros, rounding)
            if error is not None:
                err_flat[absent] = error
            moved = np.flatnonzero(~absent)
        if subset is not None:
            moved = np.intersect1d(moved, subset[i])
        if budget < moved.size:
            moved = moved[: int(budget)]
        budget -= moved.size

        def finish(flat, E, changed, theta=flat_theta, g=g_flat, err=err_flat, kink=kink_flat, i=i):
            outside = ~np.isfinite(E)  # (Q, count): f raised or was not finite there (off its domain)
            left = np.any(outside, axis=1)
            if np.any(left):
                _outside(stencil, evaluator, i, flat[left], theta[flat[left]], E[left], outside[left], domain)
            with np.errstate(invalid="ignore", over="ignore"):
                if stencil.complex:
                    g[flat] = np.where(left, np.nan, combine(stencil, theta[flat], E, rounding)[0])
                    err[flat] = np.where(left, np.inf, 0.0)
                    return
                D = quotients(stencil, theta[flat], E)
                value, error = _extrapolate(stencil, D, steps(theta[flat], stencil), rounding)
                crossed = changed[:, 0] | changed[:, 1]  # the stencil θ ± h crosses a kink
                if finds_kinks:
                    crossed = crossed | jumped(stencil, theta[flat], E, float(evaluator.E0), rounding)
            crossed = crossed & ~left  # off the domain is not a kink: judged one-sided below, or not at all
            g[flat] = np.where(left, np.nan, np.where(crossed, D[0], value))
            err[flat] = np.where(left, np.inf, np.where(crossed, np.inf, error))
            kink[flat] = crossed

        def points_of(flat, theta=flat_theta):
            return points(stencil, theta[flat])

        jobs.append(Job(i, moved, stencil.count, points_of, finish))
    evaluator.run(jobs)
    if not real:
        if not domain:
            return Differentiated(values, None, None, None, None)
        return Differentiated(values, errors, None, None, None, domain)  # inf where a complex point left f's domain
    extra = dict(noisier=NOISE_SIGMAS * sigma / plain if plain else 0.0, float32=in_float32)
    for (i, k), where in list(domain.items()):  # rare: one element at a time
        value, error, side = _one_sided_in_domain(stencil, evaluator, i, k, where, rounding)
        values[i].reshape(-1)[k], errors[i].reshape(-1)[k] = value, error
        domain[(i, k)] = Outside(where.move, where.why, side)
    if evaluator.sees_kinks or finds_kinks:
        for i, theta in enumerate(evaluator.leaves):
            for k in np.flatnonzero(kinked[i].reshape(-1)):  # rare: one element at a time
                sides = one_sided(stencil, evaluator, i, k, rounding)
                kink, value, error, bracket = settled(*sides, evaluator.sees_kinks)
                kinked[i].reshape(-1)[k] = kink
                if kink:
                    lower[i].reshape(-1)[k], upper[i].reshape(-1)[k] = bracket
                else:  # smooth after all (then judged by its two sides' mean), or no smooth side at all (noise): unresolved
                    errors[i].reshape(-1)[k] = error
                    if np.isfinite(value):
                        values[i].reshape(-1)[k] = value
    return Differentiated(values, errors, kinked, lower, upper, domain, **extra)


def _probe_noise(evaluator: "Evaluator") -> tuple[float, bool]:
    """σ of f's rounding noise (``noise``) with the first, a middle and the last element (of the
    leaves concatenated) each moved to θ + jδ — the smallest of the three, since a probe at a
    singularity (√θ at 0) reads its curvature as noise — and whether f's values at every probe
    are float32 numbers; (0, False) where f is not finite at any probe."""
    where = [(i, k) for i, leaf in enumerate(evaluator.leaves) for k in range(leaf.size)]
    sigmas, float32 = [], []
    for i, k in dict.fromkeys([where[0], where[len(where) // 2], where[-1]] if where else []):
        theta = evaluator.leaves[i].reshape(-1)[k]
        delta = NOISE_STEP * max(1.0, abs(float(theta)))
        E = np.asarray([float(np.real(_at(evaluator, i, k, theta + j * delta)[0])) for j in range(NOISE_POINTS)])
        wide = np.asarray([float(np.real(_at(evaluator, i, k, theta + j * FLOAT32_STEP * max(1.0, abs(float(theta))))[0])) for j in (1, 2, 3)])
        if np.all(np.isfinite(E)):
            sigmas.append(float(noise(E[:, None])[0]))
            float32.append(np.ptp(E) == 0 and float32_valued(np.concatenate([E[:1], wide])))  # blind below float32's ulp, float32 above
    return (min(sigmas), all(float32)) if sigmas else (0.0, False)


# --- functions with a domain -----------------------------------------------------------------------


def _outside(stencil: Stencil, evaluator: "Evaluator", i: int, flat: np.ndarray, theta: np.ndarray, E: np.ndarray,
             outside: np.ndarray, domain: dict) -> None:
    """Record the elements whose stencil left f's domain (``outside``: which of their points):
    the first failing move, why (the exception the evaluator heard of, or the value), and
    which side stayed inside (``Outside.side``: +1 for every θ + h·s, −1 for every θ − h·s, 0 for neither)."""
    moves = points(stencil, theta) - theta[:, None]
    heard = getattr(evaluator, "failures", {})
    for q, k in enumerate(flat):
        j = int(np.flatnonzero(outside[q])[0])
        value = complex(E[q, j]) if stencil.complex else float(np.real(E[q, j]))
        why = heard.get((i, int(k))) or f"f = {value}"
        if stencil.complex:
            sides = 0
        else:
            plus, minus = not np.any(outside[q, 0::2]), not np.any(outside[q, 1::2])
            sides = 1 if plus else (-1 if minus else 0)
        domain[(i, int(k))] = Outside(complex(moves[q, j]).imag if stencil.complex else float(moves[q, j].real), why, sides)


LADDER = (1.0, 0.5, 0.25, 0.125)  # the one-sided steps s·2^−j of ``ladder``
LADDER_ROUNDING = (1 * 2 + 14 * 4 + 56 * 8 + 64 * 16) / 21  # ≈ 73: Σ|c_j|·2^{j+1} for R₃ = Σ c_j q_j (``ladder``)


def ladder(q: Sequence[np.ndarray], s, rounding) -> tuple[np.ndarray, np.ndarray]:
    """A one-sided derivative and its error from the quotients q_j = (E(θ ± s_j) − E(θ)) / (±s_j)
    at s_j = s·2^−j, j = 0…3 (``LADDER``): q_j = E′ + a₁s_j + a₂s_j² + a₃s_j³ + …, so
        R1_j = 2q_{j+1} − q_j = E′ + O(s²),  R2_j = (4R1_{j+1} − R1_j)/3 = E′ + O(s³),
        R₃ = (8R2₁ − R2₀)/7 = (−q₀ + 14q₁ − 56q₂ + 64q₃)/21 = E′ + O(s⁴).
    Error estimate: max(|R₃ − R2₁|, |R2₁ − R2₀|) (O(s³) terms bounding an O(s⁴) one) +
    ``LADDER_ROUNDING`` × ε|E|/s, the rounding of each q_j (2ε|E|/s_j) weighted by R₃'s
    coefficients.  The estimate holds only where the steps are within E's radius of convergence
    (the ladder is asymptotic): there the R1 differences shrink fourfold per halving; where the
    second is not at most half the first (beyond rounding) — √θ with θ ≪ s, a pole within the
    steps — the element is (nan, inf).  No step is halved to find a smooth piece: at steps far
    below h, rounding that ε|E| does not see (E's own cancellation, the quantisation of θ + s)
    would pass for smoothness."""
    q0, q1, q2, q3 = (np.asarray(v, dtype=np.float64) for v in q)
    noise = LADDER_ROUNDING * np.asarray(rounding, dtype=np.float64) / np.asarray(s, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        R1 = [2 * q1 - q0, 2 * q2 - q1, 2 * q3 - q2]
        R2_0, R2_1 = (4 * R1[1] - R1[0]) / 3, (4 * R1[2] - R1[1]) / 3
        R3 = (8 * R2_1 - R2_0) / 7
        error = np.maximum(np.abs(R3 - R2_1), np.abs(R2_1 - R2_0)) + noise
        asymptotic = np.abs(R1[2] - R1[1]) <= np.abs(R1[1] - R1[0]) / 2 + noise
    bad = ~(np.isfinite(R3) & np.isfinite(error) & asymptotic)
    return np.where(bad, np.nan, R3), np.where(bad, np.inf, error)


def _ladder_at(evaluator: "Evaluator", i: int, k: int, theta, s, direction: int, rounding: float) -> tuple[float, float]:
    """``ladder`` on one side of element k of leaf i, from ``evaluator`` (f's failures read as NaN)."""
    E0 = float(np.real(evaluator.E0))
    q = []
    for scale in LADDER:
        moved = theta + direction * s * scale
        q.append((float(np.real(_at(evaluator, i, k, moved)[0])) - E0) / float(moved - theta))
    value, error = ladder(q, float(s), max(rounding, float(np.finfo(np.asarray(theta).dtype).eps) * max(abs(E0), 1.0)))
    return float(value), float(error)


def _one_sided_in_domain(stencil: Stencil, evaluator: "Evaluator", i: int, k: int, where: "Outside", rounding: float) -> tuple[float, float, int]:
    """An element whose stencil left f's domain, by a one-sided difference on the side that
    stayed inside (``ladder`` at the stencil's own h, f's failures read as NaN, then at h/2, …
    down to h·2^−``DOMAIN_HALVINGS`` while its estimate shrinks — the domain's edge is within ~h,
    and an edge is often a singularity; the smallest estimate stands).  Where both sides left it at h,
    each side is tried so, and two sides that agree within their errors give their mean.
    ``(value, error, side)``; (nan, inf, 0) where no side could judge it."""
    theta = evaluator.leaves[i].reshape(-1)[k]
    h = steps(np.asarray([theta]), stencil)[0]
    sides = (where.side,) if where.side else (+1, -1)
    found = {}
    for side in sides:
        s, best = h, (float("nan"), float("inf"))
        for _ in range(DOMAIN_HALVINGS + 1):
            value, error = _ladder_at(evaluator, i, k, theta, s, side, rounding)
            if np.isfinite(value) and error < best[1]:
                best = (value, error)
            elif np.isfinite(best[0]):  # the estimate stopped shrinking: rounding (or the edge) from here on
                break
            s = s / 2
        if np.isfinite(best[0]):
            found[side] = best
    if len(found) == 1:
        (side, (value, error)), = found.items()
        return float(value), float(error), side
    if len(found) == 2:
        (left, left_error), (right, right_error) = found[-1], found[+1]
        if abs(left - right) <= left_error + right_error:
            return (left + right) / 2, abs(left - right) / 2 + max(left_error, right_error), 2
    return float("nan"), float("inf"), 0


# --- kinks -------------------------------------------------------------------------------------


def _clean_one_sided(evaluator: Evaluator, i: int, k: int, theta, h, E0, direction: int, rounding: float,
                     halvings: int = MAX_HALVINGS) -> tuple[float, float]:
    """The one-sided derivative on one side of θ, from a step short enough that
    no kink lies between θ and θ ± s, and its error estimate.  Where the kink
    pattern is seen, "no kink" is the pattern at s, s/2 and s/4 being the one
    found immediately beside θ on that side (which differs from θ's own only
    when θ sits exactly on a kink), and the derivative is q(s/2) ± |q(s) − q(s/2)|
    + rounding.  Where E is opaque, it is q(s), q(s/2), q(s/4) lying on one
    smooth piece (``_smooth``), and the derivative is extrapolated to s → 0 from
    them, 2q(s/4) − q(s/2) = E'± + O(s²), so that a smooth element flagged by
    ``jumped`` is seen to have equal sides (``settled``); where no step is
    short enough to be smooth (noise), (nan, inf).

    Halving matters when several kinks sit near θ (a maxout unit near a tie for
    several samples, a kink within the stencil but not at θ): a long step would
    average slopes across them, and the true derivative could fall outside such a bracket."""
    rounding = max(rounding, float(np.finfo(np.asarray(theta).dtype).eps) * max(abs(float(E0)), 1.0))
    sees = evaluator.sees_kinks
    p_beside = _at(evaluator, i, k, theta + direction * h * 2.0**-MAX_HALVINGS)[1] if sees else b""

    def quotient(step, E):
        return float(E - E0) / float((theta + direction * step) - theta)

    s = h
    for _ in range(halvings):
        (E_s, p_s), (E_half, p_half), (E_quarter, p_quarter) = (
            _at(evaluator, i, k, theta + direction * s),
            _at(evaluator, i, k, theta + direction * s / 2),
            _at(evaluator, i, k, theta + direction * s / 4),
        )
        q = quotient(s, E_s), quotient(s / 2, E_half), quotient(s / 4, E_quarter)
        if sees and p_s == p_half == p_quarter == p_beside:
            return q[1], abs(q[0] - q[1]) + 2 * rounding / float(s)
        if not sees and _smooth(*q, rounding / float(s)):
            extrapolated, coarser = 2 * q[2] - q[1], 2 * q[1] - q[0]
            return extrapolated, abs(extrapolated - coarser) + 20 * rounding / float(s)
        s = s / 2
    if not sees:  # no step short enough lies on one smooth piece: noise, not a kink
        return float("nan"), float("inf")
    return q[1], abs(q[0] - q[1]) + 2 * rounding / float(s)


def _smooth(q_s: float, q_half: float, q_quarter: float, rounding: float) -> bool:
    """One-sided quotients at s, s/2, s/4 on one smooth piece: q(s) = E' + a s + O(s²)
    makes q(s) − 3 q(s/2) + 2 q(s/4) = O(s²), against ~12 ε|E|/s of rounding."""
    return abs(q_s - 3 * q_half + 2 * q_quarter) <= KINK_MARGIN * rounding


def one_sided(stencil: Stencil, evaluator: Evaluator, i: int, k: int, rounding: float = 0.0) -> tuple[float, float, float, float]:
    """(left, its error, right, its error): the clean one-sided derivatives at
    element k of leaf i (``rounding``: ε × the size of E's terms, where known)."""
    theta = evaluator.leaves[i].reshape(-1)[k]
    h = steps(np.asarray([theta]), stencil)[0]
    right, right_error = _clean_one_sided(evaluator, i, k, theta, h, evaluator.E0, +1, rounding)
    left, left_error = _clean_one_sided(evaluator, i, k, theta, h, evaluator.E0, -1, rounding)
    return left, left_error, right, right_error


def settled(left, left_error, right, right_error, seen: bool) -> tuple[bool, float, float, tuple[float, float]]:
    """What an element flagged as crossing a kink turns out to be, from its one-sided
    derivatives: ``(kinked, value, error, (lower, upper))``.  A kink: the bracket
    [min, max] widened by the larger error.  Where kinks are found rather than seen,
    two sides equal within their errors are a smooth element (value their mean), and
    a side with no smooth step is noise (value nan, error inf: unresolved)."""
    slack = max(left_error, right_error)
    if not seen and not np.isfinite(slack):
        return False, float("nan"), float("inf"), (float("nan"), float("nan"))
    if not seen and abs(left - right) <= left_error + right_error:
        return False, (left + right) / 2, abs(left - right) / 2 + slack, (float("nan"), float("nan"))
    return True, float("nan"), float("inf"), (min(left, right) - slack, max(left, right) + slack)


# --- along a direction ---------------------------------------------------------------------------


def along(stencil: Stencil, E_at: Callable[[complex | float], complex | float], dtype=np.float64) -> tuple[float, float | None]:
    """The derivative of t ↦ E(θ + t v) at t = 0 by ``stencil``, and its error
    estimate, for a scalar E (``along_elements`` for one with several elements)."""
    result = along_elements(stencil, E_at, dtype=dtype)
    return float(result.values[0][0]), None if result.errors is None else float(result.errors[0][0])


def along_elements(
    stencil: Stencil, E_at: Callable[[Any], Any], *, dtype=np.float64, terms: np.ndarray | None = None, find_kinks: bool = False,
    quantum: float = 0.0,
) -> Differentiated:
    """The derivative of t ↦ E(θ + t v) at t = 0 for every element of E (one
    leaf, flattened): ``E_at(t)`` evaluates E — an array, or a scalar — with
    every leaf of θ moved by t times its direction, one evaluation per stencil
    point whatever the sizes of θ and E.  ``terms``: per element, the size of
    the terms E's rounding is set by, where known to exceed max(|E|, 1).
    ``find_kinks``: E is opaque; elements whose stencil crosses a kink
    (``jumped``) are flagged and bracketed by their one-sided derivatives along v.
    ``quantum``: max_i ε|θ_i|/|v_i| over the moved elements — θ + t v rounds each moved element
    to ε|θ_i|, so a step t moves f by t v only to a relative ``quantum``/t; the halved one-sided
    steps add |q|·4·quantum/s to their error (near a pole, where f′ is huge, that rounding is
    far above ε|E|/s, and a step of 1e-11 met its smoothness test with a 1e-5 relative error)."""
    t0 = np.zeros(1, dtype=dtype)
    raised: dict[float, str] = {}
    outputs: list[int] = []

    def at(t):
        """E_at(t) flattened, all NaN where f raises there (off its domain: ``safely``)."""
        value = safely(lambda: np.ravel(np.asarray(E_at(t))), lambda error: raised.setdefault(complex(t).imag if stencil.complex else float(t), failure(error)))
        if np.ndim(value) == 0:  # f raised: as many NaNs as f has outputs
            if not outputs:
                outputs.append(np.ravel(np.asarray(E_at(np.real(t0[0]) if not stencil.complex else t0[0] + 0j))).size)
            return np.full(outputs[0], np.nan, dtype=np.complex128 if stencil.complex else np.float64)
        outputs[:] = [value.size]
        return value

    moves = points(stencil, t0)[0]
    E = np.stack([at(p) for p in moves], axis=1)  # (elements, count)
    theta = np.zeros(E.shape[0], dtype=dtype)
    outside = ~np.isfinite(E)  # off f's domain: one-sided below, or not judged
    left_domain = np.any(outside, axis=1)
    domain = {}
    for k in np.flatnonzero(left_domain):
        j = int(np.flatnonzero(outside[k])[0])
        move = complex(moves[j]).imag if stencil.complex else float(np.real(moves[j]))
        domain[(0, int(k))] = Outside(move, raised.get(move) or f"f = {complex(E[k, j]) if stencil.complex else float(np.real(E[k, j]))}",
                                      0 if stencil.complex else (1 if not np.any(outside[k, 0::2]) else (-1 if not np.any(outside[k, 1::2]) else 0)))
    if stencil.complex:
        with np.errstate(invalid="ignore"):
            value = np.where(left_domain, np.nan, combine(stencil, theta, E, 0.0)[0])
        return Differentiated([value], [np.where(left_domain, np.inf, 0.0)] if domain else None, None, None, None, domain)
    E0 = np.ravel(np.asarray(E_at(t0[0]), dtype=np.float64))
    size = np.maximum(np.abs(E0), 1.0) if terms is None else np.maximum(np.maximum(np.abs(E0), 1.0), np.ravel(terms))
    rounding = plain = float(np.finfo(dtype).eps) * size
    sigma, in_float32 = np.zeros(E0.shape), False
    if find_kinks:  # an opaque f: its own rounding noise, measured along v (``noise``)
        probe = np.stack([at(j * NOISE_STEP) for j in range(NOISE_POINTS)]).astype(np.float64)
        wide = np.stack([at(j * FLOAT32_STEP) for j in (1, 2, 3)]).astype(np.float64)
        if np.all(np.isfinite(probe)):
            sigma = noise(probe)
            in_float32 = bool(np.all(np.ptp(probe, axis=0) == 0)) and float32_valued(np.concatenate([probe[:1], wide]))
            rounding = np.maximum(rounding, NOISE_SIGMAS * sigma)
            if in_float32:  # judged to float32's rounding (as ``differentiate``)
                rounding = np.maximum(rounding, FLOAT32_ROUNDING * size)
    with np.errstate(invalid="ignore", over="ignore"):
        value, error = combine(stencil, theta, E, rounding)
        kinked = jumped(stencil, theta, E, E0, rounding) if find_kinks else np.zeros(theta.shape, dtype=bool)
    kinked &= ~left_domain
    lower, upper = np.full(theta.shape, np.nan), np.full(theta.shape, np.nan)
    h = float(steps(t0, stencil)[0])
    if np.any(kinked):
        right, right_error = _one_sided_along(at, h, E0, rounding, +1, kinked, quantum)
        left, left_error = _one_sided_along(at, h, E0, rounding, -1, kinked, quantum)
        value, error = value.astype(np.float64), error.astype(np.float64)
        for k in np.flatnonzero(kinked):
            kinked[k], settled_value, error[k], (lower[k], upper[k]) = settled(left[k], left_error[k], right[k], right_error[k], False)
            value[k] = settled_value if np.isfinite(settled_value) else quotients(stencil, theta, E)[0][k]
    if domain:  # one-sided along v on the side that stayed inside f's domain (both tried where neither did)
        value, error = value.astype(np.float64), error.astype(np.float64)
        value[left_domain], error[left_domain] = np.nan, np.inf
        found = {}
        for side in (+1, -1):
            wanted = np.zeros(theta.shape, dtype=bool)
            for (_, k), where in domain.items():
                wanted[k] = where.side in (side, 0)
            if np.any(wanted):
                found[side] = _ladder_along(at, h, E0, rounding, side, wanted)
        for (_, k), where in list(domain.items()):
            sides = {side: (v[k], e[k]) for side, (v, e) in found.items() if where.side in (side, 0) and np.isfinite(v[k]) and np.isfinite(e[k])}
            if len(sides) == 1:
                (side, (value[k], error[k])), = sides.items()
                domain[(0, k)] = Outside(where.move, where.why, side)
            elif len(sides) == 2 and abs(sides[1][0] - sides[-1][0]) <= sides[1][1] + sides[-1][1]:
                value[k] = (sides[1][0] + sides[-1][0]) / 2
                error[k] = abs(sides[1][0] - sides[-1][0]) / 2 + max(sides[1][1], sides[-1][1])
                domain[(0, k)] = Outside(where.move, where.why, 2)
            else:
                domain[(0, k)] = Outside(where.move, where.why, 0)
    return Differentiated([value], [error], [kinked], [lower], [upper], domain, float(np.max(NOISE_SIGMAS * sigma / plain, initial=0.0)), in_float32)


def _ladder_along(E_at: Callable, h: float, E0: np.ndarray, rounding: np.ndarray, direction: int, wanted: np.ndarray):
    """``ladder`` along v on one side for the ``wanted`` elements (whose stencil left f's domain on
    the other side): at h, h/2, …, down to h·2^−``DOMAIN_HALVINGS`` while each element's estimate
    shrinks (the smallest stands, as ``_one_sided_in_domain``); (nan, inf) where none served."""
    value, error = np.full(E0.shape, np.nan), np.full(E0.shape, np.inf)
    remaining, s = wanted.copy(), h
    for _ in range(DOMAIN_HALVINGS + 1):
        with np.errstate(invalid="ignore", over="ignore"):  # inf − inf where f's domain ends within the ladder: NaN, not served
            q = [(np.ravel(np.asarray(E_at(direction * s * scale), dtype=np.float64)) - E0) / (direction * s * scale) for scale in LADDER]
        found, found_error = ladder(q, s, rounding)
        better = remaining & np.isfinite(found) & (found_error < error)
        stalled = remaining & np.isfinite(value) & ~better  # the estimate stopped shrinking: rounding (or the edge) from here on
        value[better], error[better] = found[better], found_error[better]
        remaining &= ~stalled
        if not np.any(remaining):
            break
        s = s / 2
    return value, error


def _one_sided_along(E_at: Callable, h: float, E0: np.ndarray, rounding: np.ndarray, direction: int, wanted: np.ndarray,
                     quantum: float = 0.0):
    """The one-sided derivative along v of each ``wanted`` element and its error:
    the step halved until q(s), q(s/2), q(s/4) lie on one smooth piece (``_smooth``),
    element by element (each evaluation gives every element)."""
    value, error = np.full(E0.shape, np.nan), np.full(E0.shape, np.inf)
    remaining, s = wanted.copy(), h
    for halving in range(MAX_HALVINGS):
        E = [np.ravel(np.asarray(E_at(direction * step), dtype=np.float64)) for step in (s, s / 2, s / 4)]
        with np.errstate(invalid="ignore", over="ignore"):  # an element infinite at a step (f's domain ends there): never smooth
            q = [(E_s - E0) / (direction * step) for E_s, step in zip(E, (s, s / 2, s / 4))]
            smooth = np.abs(q[0] - 3 * q[1] + 2 * q[2]) <= KINK_MARGIN * rounding / s
            extrapolated, coarser = 2 * q[2] - q[1], 2 * q[1] - q[0]  # as _clean_one_sided: E'± + O(s²)
            moved = 4 * quantum / s * np.maximum.reduce([np.abs(part) for part in q])  # θ + t v rounded (``along_elements``)
            spread = np.abs(extrapolated - coarser) + 20 * rounding / s + moved
        last = halving == MAX_HALVINGS - 1 or not np.any(remaining & ~smooth)
        done = remaining & smooth
        value[done], error[done] = extrapolated[done], spread[done]
        remaining &= ~done  # at the last halving, what is left never lay on one smooth piece: error stays inf
        if last:
            break
        s = s / 2
    return value, error
