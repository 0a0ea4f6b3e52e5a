"""Numerical oracles: central differences and Richardson extrapolation of the
canonical objective ``reference.loss``, with per-element error estimates and
kink detection.

Central differences
    D(h) = (E(θ + h) − E(θ − h)) / (2h),   h = ε^{1/3} · max(1, |θ|)
  ε^{1/3} balances the O(h²) truncation error against the O(ε/h) rounding
  error, giving ~ε^{2/3} (≈ 4e-11 in float64) when E''' is of order one.  The
  denominator is the representable step (θ + h) − (θ − h), not 2h.
  Error estimate: |D(2h) − D(h)| + ε·max(|E|, 1)/h.  For smooth E the
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

Kinks
  If some relu/leaky_relu pre-activation changes sign, or some maxout unit
  changes its winning piece, between θ − h and θ + h, the stencil straddles a
  point where E is not differentiable: the element is flagged ``kinked`` and
  its one-sided difference quotients (E(θ+h) − E(θ))/h and (E(θ) − E(θ−h))/h
  are returned as the bracket a correct derivative must lie in.  Each side's
  step is halved until no kink lies between θ and θ ± s (so each quotient
  measures one smooth piece, even with several kinks near θ), and the bracket
  is widened by the quotients' own error (q(s) against q(s/2), plus rounding).

Evaluation
  Every E(θ ± h·s) is evaluated in batches (``oracles.perturbation_batches``):
  the unperturbed forward pass is reused below the moved element's layer and
  many moved elements share one pass above it, with the same activations and
  loss as ``reference.loss``; a moved element shifts its pre-activation column
  by the representable step (θ ± h·s) − θ, the denominator stays
  (θ + h·s) − (θ − h·s).  A masked weight changes nothing, so its quotients are
  exactly 0 without an evaluation.  The kink test compares, per stencil point,
  the kink pattern of the layers at and above the moved one with the
  unperturbed pattern.  Only the (rare) kinked elements get their bracket one
  element at a time with full forward passes.  ``central_plain_loop`` and
  ``richardson_plain_loop`` keep the one-element-at-a-time evaluation of
  everything, as the cross-check of the batches and the benchmark's "before".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracles import perturbation_batches as batches
from reference.network import MLP, Params, _forward, objective_from


RICHARDSON_ROUNDING = (64 * 4 + 20 * 2 + 1) / 45  # ≈ 6.6, see the module docstring


@dataclass(frozen=True)
class NumericalGradient:
    """A numerical oracle's answer, element by element, each shaped like ``params``."""

    gradients: Params
    errors: Params  # estimated absolute error of each element
    kinked: Params  # bool: the stencil crosses a kink
    lower: Params  # one-sided difference quotients where kinked (NaN elsewhere)
    upper: Params


def central_step(theta: float, dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps ** (1.0 / 3.0) * max(1.0, abs(theta)))


def richardson_step(theta: float, dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps ** (1.0 / 5.0) * max(1.0, abs(theta)))


def _kink_pattern(mlp: MLP, zs: list[np.ndarray]) -> bytes:
    """Which side of every kink each unit is on (and each maxout's winner)."""
    parts = []
    for l, z in enumerate(zs, start=1):
        activation = mlp.activation(l)
        for kink in activation.kinks:
            parts.append(np.packbits(z > kink).tobytes())
        if activation.pieces:
            parts.append(np.argmax(z, axis=-1).astype(np.int8).tobytes())
    return b"".join(parts)


class _Probe:
    """Evaluates E (and the kink pattern) with one parameter element moved."""

    def __init__(self, mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray):
        self.mlp, self.X, self.Y = mlp, X, Y
        self.work = [[W.copy(), None if b is None else b.copy()] for W, b in params]
        self.has_kinks = any(a.kinks or a.pieces for a in (mlp.activation(l) for l in range(1, mlp.depth + 1)))

    def evaluate(self) -> tuple[float, bytes]:
        zs, activations = _forward(self.mlp, self.work, self.X)
        E = objective_from(self.mlp, zs, activations, self.Y)
        return E, (_kink_pattern(self.mlp, zs) if self.has_kinks else b"")

    def at(self, flat: np.ndarray, k: int, value) -> tuple[float, bytes]:
        saved = flat[k]
        flat[k] = value
        result = self.evaluate()
        flat[k] = saved
        return result


def _central_difference(probe: _Probe, flat, k, theta, h):
    plus, minus = theta + h, theta - h
    E_plus, p_plus = probe.at(flat, k, plus)
    E_minus, p_minus = probe.at(flat, k, minus)
    return (E_plus - E_minus) / (plus - minus), E_plus, E_minus, p_plus, p_minus


MAX_HALVINGS = 24  # h·2^-24 ≈ 6e-8·h: far below any kink spacing that matters


def _clean_one_sided(probe: _Probe, flat, k, theta, h, E0, direction: int) -> tuple[float, float]:
    """The one-sided derivative on one side of θ, from a step short enough that
    no kink lies between θ and θ ± s (the kink pattern at s, s/2 and s/4 is the
    one found immediately beside θ on that side, which differs from θ's own
    only when θ sits exactly on a kink), and its error estimate
    |q(s) − q(s/2)| + rounding.

    Halving matters when several kinks sit near θ (a maxout unit near a tie for
    several samples): a long step would average slopes across them, and the
    true derivative could fall outside such a bracket."""
    eps = float(np.finfo(flat.dtype).eps)
    _, p_beside = probe.at(flat, k, theta + direction * h * 2.0**-MAX_HALVINGS)
    s = h
    for _ in range(MAX_HALVINGS):
        (E_s, p_s), (E_half, p_half), (_, p_quarter) = (
            probe.at(flat, k, theta + direction * s),
            probe.at(flat, k, theta + direction * s / 2),
            probe.at(flat, k, theta + direction * s / 4),
        )
        if p_s == p_half == p_quarter == p_beside:
            break
        s = s / 2
    q_s = float(E_s - E0) / float((theta + direction * s) - theta)
    q_half = float(E_half - E0) / float((theta + direction * s / 2) - theta)
    return q_half, abs(q_s - q_half) + 2 * eps * max(abs(float(E0)), 1.0) / float(s)


def _one_sided_bracket(probe: _Probe, flat, k, theta, h, E0) -> tuple[float, float]:
    """[min, max] of the clean left and right derivatives, widened by their error."""
    right, right_error = _clean_one_sided(probe, flat, k, theta, h, E0, +1)
    left, left_error = _clean_one_sided(probe, flat, k, theta, h, E0, -1)
    slack = max(right_error, left_error)
    return min(left, right) - slack, max(left, right) + slack


def _steps(theta: np.ndarray, method: str) -> np.ndarray:
    """``central_step``/``richardson_step`` for an array of θ, rounded the same way
    (c · max(1, |θ|) in θ's dtype, c = ε^{1/3} or ε^{1/5})."""
    dtype = theta.dtype
    c = dtype.type(np.finfo(dtype).eps ** (1.0 / 3.0 if method == "central" else 1.0 / 5.0))
    magnitude = np.abs(theta)
    return np.where(magnitude > 1, magnitude * c, c).astype(dtype)


# Each difference quotient D(h·s) uses the stencil θ ± h·s (s a power of two: exact).
STENCIL_SCALES = {"central": (1.0, 2.0), "richardson": (1.0, 0.5, 0.25)}


def _combine(method: str, D: list[np.ndarray], h: np.ndarray, rounding: float) -> tuple[np.ndarray, np.ndarray]:
    """The gradient and its error estimate from the difference quotients (module docstring)."""
    if method == "central":
        D_h, D_wide = D
        return D_h, np.abs(D_wide.astype(np.float64) - D_h.astype(np.float64)) + rounding / h.astype(np.float64)
    D_h, D_2, D_4 = D
    R1_h = (4 * D_2 - D_h) / 3
    R1_h2 = (4 * D_4 - D_2) / 3
    R2 = (16 * R1_h2 - R1_h) / 15
    return R2, np.abs(R2.astype(np.float64) - R1_h2.astype(np.float64)) + RICHARDSON_ROUNDING * rounding / h.astype(np.float64)


def _canonical_per_sample(mlp: MLP):
    """J per sample from Z^L, as ``objective_from`` evaluates it (fused where registered)."""
    loss_fn = mlp.loss_fn
    fused = loss_fn.from_logits.get(mlp.activations[-1])
    if fused is not None:
        return fused
    f = mlp.output_activation.f
    return lambda Y, z: loss_fn.J(Y, f(z))


def _numerical(mlp: MLP, params: Params, X, Y, method: str) -> NumericalGradient:
    """Every element's difference quotients from batched evaluations
    (``oracles.perturbation_batches``); elements whose stencil crosses a kink
    then get their one-sided bracket one at a time."""
    dtype = params[0][0].dtype
    objective = batches.Objective(
        mlp, params, X, Y, dtype=dtype, activation=lambda l: mlp.activation(l).f,
        per_sample=_canonical_per_sample(mlp), kinks=True,
    )
    E0 = objective_from(mlp, objective.zs, objective.acts, Y)  # the unperturbed point
    rounding = float(np.finfo(dtype).eps) * max(abs(float(E0)), 1.0)
    scales = STENCIL_SCALES[method]
    out = {name: [] for name in ("gradients", "errors", "kinked", "lower", "upper")}
    jobs, flats = [], []
    for l, pair in enumerate(params, start=1):
        layer = {name: [] for name in out}
        for which, array in enumerate(pair):
            if array is None:  # layer without bias
                for name in layer:
                    layer[name].append(None)
                continue
            results = (
                np.zeros_like(array), np.empty(array.shape), np.zeros(array.shape, dtype=bool),
                np.full(array.shape, np.nan), np.full(array.shape, np.nan),
            )
            for name, value in zip(out, results):
                layer[name].append(value)
            values = array.reshape(-1)
            g, err, kinked, lower, upper = (r.reshape(-1) for r in results)  # views: writes land in results
            mask = mlp.mask(l) if which == 0 else None
            if mask is None:
                moved = np.arange(values.size)
            else:  # a masked weight changes nothing: every D is exactly 0, its error the rounding term
                absent = mask.reshape(-1) == 0
                zeros = [np.zeros(int(absent.sum()), dtype)] * len(scales)
                _, err[absent] = _combine(method, zeros, _steps(values[absent], method), rounding)
                moved = np.flatnonzero(~absent)

            def stencil(flat, values=values):
                theta = values[flat]
                h = _steps(theta, method)
                shifts = []
                for s in scales:  # the representable moves (θ ± h·s) − θ
                    shifts += [(theta + h * s) - theta, (theta - h * s) - theta]
                return np.stack(shifts, axis=1)

            def finish(flat, E, changed, values=values, g=g, err=err, kinked=kinked):
                theta = values[flat]
                h = _steps(theta, method)
                D = [(E[:, 2 * n] - E[:, 2 * n + 1]) / ((theta + h * s) - (theta - h * s)) for n, s in enumerate(scales)]
                crossed = changed[:, 0] | changed[:, 1]  # the stencil θ ± h crosses a kink
                value, error = _combine(method, D, h, rounding)
                g[flat] = np.where(crossed, D[0], value)
                err[flat] = np.where(crossed, np.inf, error)
                kinked[flat] = crossed

            jobs.append(batches.Job(l, which, moved, 2 * len(scales), stencil, finish))
            flats.append((l - 1, which, values, kinked, lower, upper))
        for name in out:
            out[name].append(tuple(layer[name]))
    objective.run(jobs)
    probe = None
    step = central_step if method == "central" else richardson_step
    for layer_index, which, values, kinked, lower, upper in flats:
        for k in np.flatnonzero(kinked):  # rare: one element at a time, full forward passes
            probe = probe or _Probe(mlp, params, X, Y)
            theta = values[k]
            h = dtype.type(step(float(theta), dtype))
            lower[k], upper[k] = _one_sided_bracket(probe, probe.work[layer_index][which].reshape(-1), k, theta, h, E0)
    return NumericalGradient(**out)


def _numerical_plain_loop(mlp: MLP, params: Params, X, Y, method: str, limit: int | None) -> NumericalGradient:
    """One element at a time, each evaluation a full forward pass: the cross-check
    of the batched evaluation, and the "before" figure of the benchmark.  With
    ``limit``, only the first ``limit`` elements (in parameter order) are
    evaluated; the others are left NaN (for timing a sample)."""
    budget = np.inf if limit is None else limit
    probe = _Probe(mlp, params, X, Y)
    E0, p0 = probe.evaluate()  # the unperturbed point, shared by every element
    rounding_scale = max(abs(float(E0)), 1.0)
    step = central_step if method == "central" else richardson_step
    out = {name: [] for name in ("gradients", "errors", "kinked", "lower", "upper")}
    for pair in probe.work:
        layer = {name: [] for name in out}
        for array in pair:
            if array is None:  # layer without bias
                for name in layer:
                    layer[name].append(None)
                continue
            dtype = array.dtype
            eps = float(np.finfo(dtype).eps)
            g = np.full(array.shape, np.nan, dtype=dtype)
            err = np.full(array.shape, np.nan)
            kinked = np.zeros(array.shape, dtype=bool)
            lower = np.full(array.shape, np.nan)
            upper = np.full(array.shape, np.nan)
            flat = array.reshape(-1)
            for k in range(flat.size):
                if budget <= 0:
                    break
                budget -= 1
                theta = flat[k]
                h = dtype.type(step(float(theta), dtype))
                D, E_plus, E_minus, p_plus, p_minus = _central_difference(probe, flat, k, theta, h)
                index = np.unravel_index(k, array.shape)
                rounding = eps * rounding_scale
                if not (p_plus == p0 == p_minus):  # the stencil crosses a kink
                    kinked[index] = True
                    lower[index], upper[index] = _one_sided_bracket(probe, flat, k, theta, h, E0)
                    g[index] = D
                    err[index] = np.inf
                    continue
                if method == "central":
                    D_wide = _central_difference(probe, flat, k, theta, 2 * h)[0]
                    g[index] = D
                    err[index] = abs(float(D_wide) - float(D)) + rounding / float(h)
                else:
                    D2 = _central_difference(probe, flat, k, theta, h / 2)[0]
                    D4 = _central_difference(probe, flat, k, theta, h / 4)[0]
                    R1_h = (4 * D2 - D) / 3
                    R1_h2 = (4 * D4 - D2) / 3
                    R2 = (16 * R1_h2 - R1_h) / 15
                    g[index] = R2
                    err[index] = abs(float(R2) - float(R1_h2)) + RICHARDSON_ROUNDING * rounding / float(h)
            for name, value in zip(out, (g, err, kinked, lower, upper)):
                layer[name].append(value)
        for name in out:
            out[name].append(tuple(layer[name]))
    return NumericalGradient(**out)


def central(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> NumericalGradient:
    """Central differences with error estimates and kink flags."""
    return _numerical(mlp, params, X, Y, "central")


def richardson(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> NumericalGradient:
    """Richardson-extrapolated central differences with error estimates and kink flags."""
    return _numerical(mlp, params, X, Y, "richardson")


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> Params:
    """Central-difference gradient, same structure as ``params``."""
    return central(mlp, params, X, Y).gradients


def central_plain_loop(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, *, limit: int | None = None) -> NumericalGradient:
    """``central`` evaluated one element at a time (the pre-batching loop), for
    cross-checks and timings."""
    return _numerical_plain_loop(mlp, params, X, Y, "central", limit)


def richardson_plain_loop(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, *, limit: int | None = None) -> NumericalGradient:
    """``richardson`` evaluated one element at a time (the pre-batching loop)."""
    return _numerical_plain_loop(mlp, params, X, Y, "richardson", limit)


def richardson_gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> Params:
    """Richardson-extrapolated gradient, same structure as ``params``."""
    return richardson(mlp, params, X, Y).gradients
