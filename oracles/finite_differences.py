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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def _numerical(mlp: MLP, params: Params, X, Y, method: str) -> NumericalGradient:
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
            g = np.empty_like(array)
            err = np.zeros(array.shape)
            kinked = np.zeros(array.shape, dtype=bool)
            lower = np.full(array.shape, np.nan)
            upper = np.full(array.shape, np.nan)
            flat = array.reshape(-1)
            for k in range(flat.size):
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


def richardson_gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> Params:
    """Richardson-extrapolated gradient, same structure as ``params``."""
    return richardson(mlp, params, X, Y).gradients
