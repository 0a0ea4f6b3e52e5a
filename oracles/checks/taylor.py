"""The Taylor remainder test: is g the gradient of f at x, judged by how fast
the first-order remainder falls — no tolerance, no second oracle.

For a direction v and a step h, with Δ = (x + h v) − x the step actually
taken (``Δ ≈ h v``; see "Rounding" below),

    r(h) = | f(x + Δ) − f(x) − Δᵀg |.

Taylor's theorem gives, if g = ∇f(x),

    r(h) = ½ h² |vᵀ ∇²f(x) v| + O(h³)          (order 2),

and, if g = ∇f(x) + e with vᵀe ≠ 0,

    r(h) = h |vᵀe| + O(h²)                       (order 1).

The order p is the least-squares slope of log r against log h over a range of
steps; a right gradient gives p = 2, a wrong one p = 1 once h is small enough
that h |vᵀe| outweighs ½ h² |vᵀ∇²f v| — however small e is.  The test is
scale-free (multiplying f, x or v by a constant moves the line, not its slope)
and independent of every tolerance in ``oracles.engine.tolerances``; the one number
it judges with is the slope itself: ``ok`` when |p − 2| ≤ 0.1.

The ladder of steps
-------------------
h_k = h_0 / 2^k, k = 0, 1, …, starting from h_0 = ‖x‖ / ‖v‖ (1 / ‖v‖ when
x = 0): the first step moves x by its own size, so the first points lie where
higher-order terms matter, and the ladder walks down from there through the
Taylor regime into rounding, to the first step that the floats around x can
no longer resolve: where Δ = fl(x + h v) − x differs from h v by more than
0.1 % of ‖h v‖ (h ‖v‖ ≈ 1e-13 ‖x‖, about 45 steps), or ``max_steps`` steps.

Rounding
--------
Using the step actually taken, Δ, instead of h v removes the rounding of
x + h v itself (an error of order ε |x| |g| = 2.2e-16 |x| |g| that would
otherwise enter r at every h).  What remains is rounding in f, in Δᵀg and in
g, so a step is *clean* — its remainder is Taylor, not rounding — when r(h)
exceeds both of

    SAFETY · ε · ( |f(x)| + |f(x + Δ)| + Σ_i |Δ_i g_i| + G Σ_i |Δ_i| ),   SAFETY = 1000,
    NOISE_SAFETY · N,                                                      NOISE_SAFETY = 100.

The first is the estimate from magnitudes: each evaluation of f is exact to a
few ε of its size, the inner product Δᵀg to ε of the size of its terms, and a
computed gradient only to ε times G, the size of the terms its own
computation summed, which may far exceed |g| where they cancel (a network's
backward pass sums terms of the size of its loss and inputs, order one:
``oracles.engine.tolerances``' floor), so that an exact-to-rounding g still carries
an error of order ε G per element, seen as h |vᵀe| in r.  ``taylor_test``
takes G = ``gradient_scale`` = 0 by default, ``taylor_network`` G = 1.  The
factor 1000 covers the few-ε-per-operation growth of rounding through a
forward pass and leaves the clean remainders within 0.1 % of their exact
values, so rounding moves the fitted slope by far less than the 0.1 it is
judged by.

The second is measured: N is the largest r(h) over the last 4 steps Δ still
resolves, where every Taylor term is ~1e-13 of its size at h_0 and r is the
rounding of f alone.  It catches what magnitudes cannot see: an f that sums
terms much larger than itself (Σ tanh(x_i) at a symmetric x is 0, its
rounding ε times Σ|tanh(x_i)|).  (When the ladder ends at ``max_steps``
before losing resolution — x = 0, where Δ = h v exactly — nothing is measured.)

The fitted range
----------------
Above the clean steps' range lie the higher-order terms (r bends away from a
straight line as h grows: O(h³) for a right g, O(h²) for a wrong one); below
it, rounding.  The order is the slope near h → 0, so the fit takes the
*smallest* clean steps: the last ``fit_points`` (default 8, a factor 2⁷ = 128
in h) of the last run of consecutive clean steps.  A run, not every clean
step: r(h) may cross zero where two terms of opposite sign cancel (r = |a h +
b h²| vanishes at h = −a/b), which shows as an isolated dip above the
asymptotic range; the last run lies below any such dip.  A step that moves x
by more than 1/32 of its own size, h ‖v‖ > ‖x‖ / 32 (‖x‖ taken as 1 when
x = 0), is never fitted however clean: that is the nonlinear regime the ladder
starts in by design, where r may fall like h over a range for reasons that
have nothing to do with g (a saturated unit waking up).

When there is no order to report
--------------------------------
If no step below the nonlinear regime is clean — r(h) is at rounding level,
as when f is linear along v (zero curvature: r is exactly 0 up to rounding)
and vᵀg is its slope, or so nearly flat that its curvature never shows above
rounding — the order is ``None`` with that reason, not a number fitted to
rounding noise; another direction may see curvature.  So too when fewer than
3 consecutive steps are clean.

Detection limit
---------------
"However small e is" holds in exact arithmetic.  In floats, order 1 shows
only over steps where h |vᵀe| both outweighs ½ h² |a| (a = vᵀ∇²f v), that is
h < 2 |vᵀe| / |a|, and exceeds the floor F, h > F / |vᵀe|; for the 8 fitted
steps (a factor 128 in h) to lie there with room to spare needs
|vᵀe| ≳ √(500 |a| F), a relative error of about 3e-5 on the test networks
with F ≈ 2000 ε |f|.  Measured on them (``tests/test_taylor.py``): a gradient
1e-3 or 1e-4 too large gives order 1.00 ± 0.01, 3e-5 gives 0.8 – 1.1, 1e-5
gives 1.0 – 1.4, 1e-6 gives 1.1 – 2.1 — so a slip in a derivation (an error
of the gradient's own size somewhere) is far above the limit, while a float32
gradient's rounding (1e-7) is below it.  The elementwise oracles
(``oracles.checks``) resolve much smaller errors; this test needs none of
their tolerances.

A direction sees only the component vᵀe of an error e: the default direction
is a seeded standard Gaussian over every element, for which vᵀe ~ N(0, ‖e‖²),
so any error is seen with probability one.
"""

from __future__ import annotations

import functools
import numbers
import os
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.checks.files import write_bytes_atomic
from backprop_reference.oracles.methods.numerical.evaluators import network_fixed
from backprop_reference.oracles.checks import tensors
from backprop_reference.oracles.checks.options import Options
from backprop_reference.oracles.engine.problems import check_callable, scalar, takes_xp
from backprop_reference.oracles.engine.tolerances import TOLERANCES
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import _loss
from backprop_reference.reference.validation import check_array, check_grads, check_network_inputs

Arrays = Sequence[np.ndarray]  # one array per leaf of x, in leaf order

EPS = float(np.finfo(np.float64).eps)

# A remainder above SAFETY · ε · (|f(x)| + |f(x + Δ)| + Σ|Δ_i g_i| + G Σ|Δ_i|) is Taylor, not rounding (module docstring).
SAFETY = 1e3
# A step whose Δ = fl(x + h v) − x is further than this from h v (relative to ‖h v‖) is not a step h.
RESOLUTION = 1e-3
# Steps with h ‖v‖ > NONLINEAR · ‖x‖ are the nonlinear regime the ladder starts in: never fitted.
NONLINEAR = 2.0**-5
# G for a network's gradient: its backward pass sums terms of order one (the tolerance table's floor).
NETWORK_GRADIENT_SCALE = TOLERANCES[("float64", "analytic")].floor
# ok when the fitted order is 2 within this.  A right gradient's slope is 2 up to
# the bend of the higher-order terms over the fitted steps: within 0.09 on every
# report network with no unit near a kink (1066 notation × network runs, most
# within 0.001); a wrong one's is 1 — 0.9 from the edge of this band.
ORDER_TOLERANCE = 0.1
FIT_POINTS = 8  # the smallest clean steps fitted: a factor 2⁷ in h
MIN_FIT_POINTS = 3  # fewer: no order is reported
# The rounding noise of f, measured as the largest r over the last NOISE_STEPS steps that Δ resolves
# (h ‖v‖ ≈ 1e-13 ‖x‖: every Taylor term is negligible there), times NOISE_SAFETY, is also a floor.
NOISE_STEPS = 4
NOISE_SAFETY = 100.0
MAX_STEPS = 60  # h_0 / 2^59 ≈ 1.7e-18 h_0: below every clean step of a float64 f


@dataclass(frozen=True, eq=False)
class TaylorResult:
    """The remainders along a ladder of steps and the order fitted to them.

    ``steps`` h_k (descending), ``remainders`` r(h_k) (NaN where f was not
    finite), ``floors`` the rounding floor of each (a remainder at or below it
    is rounding), ``fitted`` the steps the order was fitted over; ``order`` is
    ``None`` when no range of clean steps exists, and ``reason`` says why."""

    order: float | None
    steps: np.ndarray
    remainders: np.ndarray
    floors: np.ndarray
    fitted: np.ndarray  # bool, one per step
    direction: str  # how v was chosen, e.g. "standard Gaussian, seed 0"
    reason: str = ""  # why order is None; empty otherwise

    @property
    def ok(self) -> bool:
        """Whether the order is 2 ± ``ORDER_TOLERANCE``: the claimed gradient is right along v."""
        return self.order is not None and abs(self.order - 2.0) <= ORDER_TOLERANCE

    @property
    def fitted_range(self) -> tuple[float, float] | None:
        """The smallest and largest fitted step, or ``None`` without a fit."""
        if not self.fitted.any():
            return None
        chosen = self.steps[self.fitted]
        return float(chosen.min()), float(chosen.max())

    def message(self) -> str:
        """One line: the order, where it was fitted, along which v, and what it means."""
        if self.order is None:
            return f"Taylor test, v {self.direction}: no order — {self.reason}"
        low, high = self.fitted_range  # type: ignore[misc]
        fit = f"Taylor order {self.order:.2f} over {int(self.fitted.sum())} steps h = {low:.1e} … {high:.1e}, v {self.direction}"
        if self.ok:
            return f"{fit}: consistent with a right gradient (2 ± {ORDER_TOLERANCE})"
        if self.order <= 1.0 + ORDER_TOLERANCE:
            return f"{fit}: the gradient is WRONG — r(h) ∝ h, so vᵀg misses the slope of f along v (a right gradient gives 2)"
        return (
            f"{fit}: not 2 ± {ORDER_TOLERANCE} — near 3 the curvature of f along v vanishes (try another seed); "
            "elsewhere f is not smooth over the fitted steps (a kink) or they have not reached the asymptotic regime"
        )

    def __str__(self) -> str:
        return self.message()

    def plot(self, path: str | os.PathLike) -> Path:
        """Write a log-log PNG of r(h) to ``path`` (atomically): the remainders,
        the fitted range highlighted, the rounding floor and reference slopes
        ∝ h and ∝ h².  Returns the path."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__} {path!r:.60}")
        target = Path(path)
        if target.suffix.lower() != ".png":
            raise ValueError(f"path must name a .png file; got {str(target)!r}")
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazily: `import oracles` loads no plotting
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6.4, 4.4))
        FigureCanvasAgg(figure)  # Agg canvas, object-oriented API: no pyplot, no backend switched
        axes = figure.add_subplot()
        plot_remainders(axes, [("r(h)", self)], floors=True)
        axes.set_title(f"Taylor remainder: {'order ' + format(self.order, '.2f') if self.order is not None else 'no order'}")
        figure.tight_layout()
        buffer = BytesIO()
        figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        write_bytes_atomic(target, buffer.getvalue())
        return target


def plot_remainders(axes: Any, curves: Sequence[tuple[str, TaylorResult]], *, floors: bool = False) -> None:
    """Draw each ``(label, result)``'s r(h) on matplotlib ``axes`` (log-log):
    every step as a thin line with hollow markers, the fitted steps filled,
    thick and shaded, and dashed reference slopes ∝ h and ∝ h² through the
    middle of the first fitted range; ``floors`` adds each curve's rounding
    floor, dotted.  Zero remainders have no place on a log axis and are left out."""
    markers = "osD^v<>p"
    anchor, shown_values = None, []
    for i, (label, result) in enumerate(curves):
        shown = np.isfinite(result.remainders) & (result.remainders > 0)
        colour, marker = f"C{i % 10}", markers[i % len(markers)]
        order = "no order" if result.order is None else f"order {result.order:.2f}"
        axes.plot(result.steps[shown], result.remainders[shown], color=colour, marker=marker, markersize=3,
                  linewidth=0.8, markerfacecolor="none", label=f"{label}: {order}")
        shown_values.append(result.remainders[shown])
        fit = result.fitted & shown
        if fit.any():
            h, r = result.steps[fit], result.remainders[fit]
            axes.plot(h, r, color=colour, marker=marker, markersize=5, linewidth=2.5)
            axes.axvspan(h.min(), h.max(), color=colour, alpha=0.08, linewidth=0)
            if anchor is None:
                anchor = (h.min(), h.max(), float(np.exp(np.mean(np.log(h)))), float(np.exp(np.mean(np.log(r)))))
        if floors:
            finite = np.isfinite(result.floors) & (result.floors > 0)
            axes.plot(result.steps[finite], result.floors[finite], color=colour, linestyle=":", linewidth=1, label=f"{label}: rounding floor")
            shown_values.append(result.floors[finite])
    if anchor is not None:  # over the fitted range and 4 halvings either side
        low, high, h_m, r_m = anchor
        span = np.geomspace(low / 16, high * 16, 50)
        axes.plot(span, r_m * (span / h_m), color="grey", linestyle="--", linewidth=1, label="∝ h (a wrong gradient)")
        axes.plot(span, r_m * (span / h_m) ** 2, color="black", linestyle="--", linewidth=1, label="∝ h² (a right gradient)")
    values = np.concatenate(shown_values) if shown_values else np.array([])
    axes.set_xscale("log")
    axes.set_yscale("log")
    if values.size:  # the data decide the vertical range, not the reference lines
        axes.set_ylim(values.min() / 4, values.max() * 4)
    axes.set_xlabel("step h")
    axes.set_ylabel("remainder r(h) = |f(x + hv) − f(x) − h vᵀg|")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7)


# --- inputs -------------------------------------------------------------------------------------


def _check_point(x: Any) -> list[tuple[str, np.ndarray]]:
    """(path, leaf) for every array leaf of ``x``: float64 and finite."""
    found = []
    for path, leaf in trees.leaves(x, "x"):
        if leaf is None:
            continue
        if not isinstance(leaf, np.ndarray) or leaf.dtype != np.float64:
            what = f"dtype {leaf.dtype}" if isinstance(leaf, np.ndarray) else type(leaf).__name__
            raise TypeError(f"x leaf {path} must be a float64 numpy.ndarray (convert with np.asarray(..., dtype=np.float64)); got {what}")
        check_array(leaf, f"x leaf {path}", None, symbol=path)
        found.append((path, leaf))
    if not found:
        raise ValueError(f"x must hold at least one float64 array; got {type(x).__name__} with none")
    return found


def _matching(x: Any, tree: Any, name: str) -> list[np.ndarray]:
    """``tree``'s leaves, shaped like x's array leaves and finite, as float64."""
    leaves = []
    for path, argument, leaf in trees.matched(x, tree, "x", name):
        if isinstance(leaf, np.floating):
            leaf = np.asarray(leaf)
        check_array(leaf, f"{name} at {path}", argument.shape, symbol=path)
        leaves.append(leaf.astype(np.float64, copy=False))
    return leaves


def _check_count(value: Any, name: str, smallest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < smallest:
        raise ValueError(f"{name} must be an integer ≥ {smallest}; got {value!r}")
    return int(value)


def gaussian_direction(leaves: Sequence[np.ndarray], seed: int) -> list[np.ndarray]:
    """A standard Gaussian direction, one array per leaf in order, from ``seed`` (validated by the caller's ``Options``)."""
    rng = np.random.default_rng(int(seed))
    return [np.asarray(rng.standard_normal(leaf.shape)) for leaf in leaves]


# --- the test -----------------------------------------------------------------------------------


def _rebuild(x: Any, paths: Sequence[str], arrays: Sequence[np.ndarray]) -> Any:
    """x's structure with its array leaves replaced by ``arrays`` (in leaf order)."""
    by_path = dict(zip(paths, arrays, strict=True))
    return trees.map_leaves(x, lambda path, _: by_path[path], "x")


def _remainder(
    f: Callable, fx: float, x: Any, paths: Sequence[str], point: Arrays, g: Arrays, v: Arrays, h: float, gradient_scale: float
) -> tuple[float, float, bool]:
    """r(h) = |f(x + Δ) − f(x) − Δᵀg| with Δ = fl(x + h v) − x; the rounding
    floor estimated from the magnitudes; whether Δ resolves h v.  NaN where
    f(x + Δ) is not finite."""
    moved = [a + h * d for a, d in zip(point, v)]
    delta = [m - a for m, a in zip(moved, point)]  # the step actually taken: no rounding of x + hv in r
    miss = float(np.sqrt(sum(np.sum((d - h * w) ** 2) for d, w in zip(delta, v))))
    resolved = miss <= RESOLUTION * h * float(np.sqrt(sum(np.sum(w * w) for w in v)))
    terms = [d * gi for d, gi in zip(delta, g)]
    fh = scalar(f(_rebuild(x, paths, moved)), "f")
    if not np.isfinite(fh):
        return float("nan"), float("nan"), resolved
    magnitudes = abs(fx) + abs(fh) + float(sum(np.sum(np.abs(t)) for t in terms)) + gradient_scale * float(sum(np.sum(np.abs(d)) for d in delta))
    return abs(fh - fx - float(sum(np.sum(t) for t in terms))), SAFETY * EPS * magnitudes, resolved


def _fitted(clean: np.ndarray, fit_points: int) -> np.ndarray:
    """The last ``fit_points`` steps of the last run of at least MIN_FIT_POINTS consecutive clean steps."""
    fitted = np.zeros(clean.shape, dtype=bool)
    end = len(clean)
    while end > 0:
        while end > 0 and not clean[end - 1]:
            end -= 1
        start = end
        while start > 0 and clean[start - 1]:
            start -= 1
        if end - start >= MIN_FIT_POINTS:
            fitted[max(start, end - fit_points):end] = True
            return fitted
        end = start
    return fitted


@dataclass(frozen=True)
class _Ladder:
    """The validated options: where the ladder starts, how long it runs, how
    many steps the fit takes, and the gradient's own rounding scale G."""

    first_step: float | None
    max_steps: int
    fit_points: int
    gradient_scale: float


def _options(first_step: Any, max_steps: Any, fit_points: Any, gradient_scale: Any) -> _Ladder:
    if first_step is not None and (
        isinstance(first_step, bool) or not isinstance(first_step, numbers.Real) or not np.isfinite(first_step) or first_step <= 0
    ):
        raise ValueError(f"first_step must be a positive finite number or None (‖x‖ / ‖v‖); got {first_step!r}")
    if isinstance(gradient_scale, bool) or not isinstance(gradient_scale, numbers.Real) or not np.isfinite(gradient_scale) or gradient_scale < 0:
        raise ValueError(f"gradient_scale must be a finite number ≥ 0 (the size of the terms grad's computation sums); got {gradient_scale!r}")
    return _Ladder(
        None if first_step is None else float(first_step),
        _check_count(max_steps, "max_steps", MIN_FIT_POINTS),
        _check_count(fit_points, "fit_points", MIN_FIT_POINTS),
        float(gradient_scale),
    )


def _ladder(
    f: Callable, fx: float, x: Any, paths: Sequence[str], point: Arrays, g: Arrays, v: Arrays, h0: float, options: _Ladder
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps h_0 / 2^k down to the first that Δ no longer resolves (or
    ``max_steps``), their remainders, and their rounding floors: the larger of
    the magnitude estimate and NOISE_SAFETY times the noise measured at the
    last NOISE_STEPS resolved steps (infinite where Δ does not resolve h v)."""
    steps, remainders, floors, resolved = [], [], [], []
    for k in range(options.max_steps):
        h = h0 * 0.5**k
        r, floor, fine = _remainder(f, fx, x, paths, point, g, v, h, options.gradient_scale)
        steps.append(h)
        remainders.append(r)
        floors.append(floor if fine else np.inf)
        resolved.append(fine)
        if not fine:
            break
    remainders_, floors_ = np.array(remainders), np.array(floors)
    if not resolved[-1]:  # the ladder reached the spacing of the floats around x: measure the noise there
        tail = remainders_[np.flatnonzero(resolved)[-NOISE_STEPS:]]
        tail = tail[np.isfinite(tail)]
        if tail.size:
            floors_ = np.maximum(floors_, NOISE_SAFETY * float(tail.max()))
    return np.array(steps), remainders_, floors_


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _no_order(clean: np.ndarray, small: np.ndarray, steps: np.ndarray) -> str:
    """Why no order was fitted."""
    if not (clean & small).any():
        if clean.any():
            return (
                f"the remainder is above rounding only where a step moves x by more than 1/{round(1 / NONLINEAR)} of its size "
                "(the nonlinear regime) and at rounding level below: f is too nearly flat along v for its curvature "
                "to show above rounding, so the gradient's order cannot be seen along this direction"
            )
        return (
            f"remainder at rounding level at every one of {len(steps)} steps: f is linear along v (or too nearly flat "
            "for its curvature to show above rounding) and vᵀg is its slope, so the gradient's order cannot be seen "
            "along this direction"
        )
    return f"only {int((clean & small).sum())} step(s) above the rounding floor, never {MIN_FIT_POINTS} in a row: too few to fit an order"


def _run(f: Callable, x: Any, paths: Sequence[str], point: Arrays, g: Arrays, v: Arrays, description: str, options: _Ladder) -> TaylorResult:
    """The ladder, the clean steps, the fit: the result."""
    if not any(np.any(d) for d in v):
        raise ValueError("direction must not be zero: r(h) would be 0 at every step")
    fx = scalar(f(_rebuild(x, paths, [a.copy() for a in point])), "f")
    if not np.isfinite(fx):
        raise ValueError(f"f must be finite at x; got f(x) = {fx}")
    norm_x = float(np.sqrt(sum(np.sum(a * a) for a in point)))
    norm_v = float(np.sqrt(sum(np.sum(d * d) for d in v)))
    h_scale = (norm_x if norm_x > 0 else 1.0) / norm_v  # the step that moves x by its own size
    h0 = options.first_step if options.first_step is not None else h_scale
    steps, remainders, floors = _ladder(f, fx, x, paths, point, g, v, h0, options)
    with np.errstate(invalid="ignore"):  # NaN where f was not finite: not clean
        clean = np.isfinite(remainders) & (remainders > floors)
    small = steps <= NONLINEAR * h_scale
    fitted = _fitted(clean & small, options.fit_points)
    order, reason = None, ""
    if fitted.any():
        order = float(np.polyfit(np.log(steps[fitted]), np.log(remainders[fitted]), 1)[0])
    else:
        reason = _no_order(clean, small, steps)
    return TaylorResult(order, _frozen(steps), _frozen(remainders), _frozen(floors), _frozen(fitted), description, reason)


def taylor_test(
    f: Callable[[Any], Any],
    grad: Any,
    x: Any,
    *,
    direction: Any = None,
    seed: int = 0,
    first_step: float | None = None,
    max_steps: int = MAX_STEPS,
    fit_points: int = FIT_POINTS,
    gradient_scale: float = 0.0,
) -> TaylorResult:
    """The Taylor remainder test of ``grad`` as the gradient of ``f`` at ``x``:
    r(h) = |f(x + h v) − f(x) − h vᵀg| on h = h_0 / 2^k, and the order p of
    r ∝ h^p fitted over the smallest steps above rounding (module docstring).

    ``f(x)`` — or ``f(x, xp)`` written against the array namespace, run with
    ``xp = numpy`` — returns a real scalar; ``x`` is a float64 array or a pytree of
    them (lists, tuples, dicts; ``None`` leaves allowed); ``grad`` is a
    callable ``grad(x)`` (or ``grad(x, xp)``) or the gradient itself, shaped like ``x``;
    ``direction`` v shaped like ``x`` (default: standard Gaussian from
    ``seed``); ``first_step`` h_0 (default ‖x‖ / ‖v‖); at most ``max_steps``
    steps; the order is fitted over the smallest ``fit_points`` clean ones;
    ``gradient_scale`` G, the size of the terms grad's own computation sums,
    for its rounding in the floor (0: none assumed).  Errors below the
    detection limit in the module docstring — a float32 gradient's rounding,
    1e-7 relative, among them — read as order 2."""
    seed = Options(seed=seed).seed
    check_callable(f, "f")
    native = tensors.intake((x,), ["x"], "taylor_test", argnums=0)
    if native is not None:  # a torch tensor or jax array: f and grad run on it, the remainders in float64
        dtype = native.dtype((0,))
        if dtype != "float64":
            raise ValueError(
                f"taylor_test needs a float64 x to see the order of the remainder; x is {dtype}, whose rounding hides it at "
                f"every step: use check_gradient, which judges a {dtype} gradient to its precision"
            )
        f, x = native.forms(f).numpy, native.arrays[0]
        grad = native.calling(grad) if callable(grad) else native.read_value(grad)
        direction = None if direction is None else native.read_value(direction)
    f = functools.partial(f, xp=np) if takes_xp(f) else f  # f(x, xp) is run with xp = numpy, like a plain f(x)
    if callable(grad) and takes_xp(grad):
        grad = functools.partial(grad, xp=np)
    located = _check_point(x)
    paths, point = [p for p, _ in located], [a for _, a in located]
    options = _options(first_step, max_steps, fit_points, gradient_scale)
    g = _matching(x, grad(_rebuild(x, paths, [a.copy() for a in point])) if callable(grad) else grad, "grad")
    if direction is None:
        v, description = gaussian_direction(point, seed), f"standard Gaussian (seed {seed})"
    else:
        v, description = _matching(x, direction, "direction"), "given"
    return _run(f, x, paths, point, g, v, description, options)


def taylor_network(
    mlp: MLP,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    grads: Params,
    *,
    direction: Params | None = None,
    seed: int = 0,
    first_step: float | None = None,
    max_steps: int = MAX_STEPS,
    fit_points: int = FIT_POINTS,
) -> TaylorResult:
    """``taylor_test`` of ``grads`` as ∂E/∂(W^l, b^l) of the canonical
    objective E(params) = mean over the batch of J(y, o)
    (``reference.network.loss``), at x = ``params`` (float64), with
    G = ``NETWORK_GRADIENT_SCALE``.  The default direction is standard
    Gaussian from ``seed`` over every parameter except the absent connections
    of masked layers, which it holds at 0 as the parameters must be."""
    seed = Options(seed=seed).seed
    dtype = check_network_inputs(mlp, params, X, Y)
    if dtype != np.float64:
        raise TypeError(f"params must be float64 for the Taylor test (its rounding floor is float64's); got {dtype}")
    check_grads(mlp, grads, dtype, finite=True)
    options = _options(first_step, max_steps, fit_points, NETWORK_GRADIENT_SCALE)
    layout = trees.network_layout(params)
    point = layout.flatten(params)
    paths = [p for p, leaf in trees.leaves(params, "x") if leaf is not None]
    g = layout.flatten(grads)
    if direction is None:
        fixed = network_fixed(mlp, params)
        v = [d if absent is None else d * ~absent for d, absent in zip(gaussian_direction(point, seed), fixed)]
        description = f"standard Gaussian (seed {seed}), absent connections held at 0"
    else:
        v, description = _matching(params, direction, "direction"), "given"
    objective = lambda moved: _loss(mlp, moved, X, Y)  # noqa: E731  E without re-validating the parameters at every step
    return _run(objective, params, paths, point, g, v, description, options)
