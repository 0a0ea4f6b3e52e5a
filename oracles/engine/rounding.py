"""How far two correct computations of a network's gradient may differ: a bound per element.

Two correct computations of ∂E/∂θ_k — a hand derivation and ``jax.grad``,
say — differ only by rounding, and rounding is set by the size of the terms
that were summed into θ_k, not by the size of the result.  This module
computes, for every gradient element k, a number B_k such that a computation
of ∂E/∂θ_k in a floating-point format with machine epsilon ε is, to first
order in ε, within ε·B_k of the exact value.  ``oracles.engine.tolerances`` turns
B_k into the element's tolerance.

The bound is a forward and a backward pass **on magnitudes** (absolute
values), beside the network's own; "Δx" below is x's error bound in units of
ε, and every product or elementwise function adds its own rounding:

    dot products      |fl(xᵀy) − xᵀy| ≤ γ_n |x|ᵀ|y|,  γ_n = nε/(1 − nε) ≈ nε   (Higham, Thm 3.1)

Forward (A⁰ = X exact, ΔA⁰ = 0; W̃ = W ⊙ M the masked weights):

    |Z|ˡ  = |A^{l-1}| |W̃ˡ|ᵀ + |bˡ|                       (the size of the terms of Zˡ)
    ΔZˡ   = (n_{l-1} + 1) |Z|ˡ + ΔA^{l-1} |W̃ˡ|ᵀ
    ΔAˡ   = |f′(Zˡ)| ΔZˡ + φ_f(Zˡ) + u |Aˡ|

Output (δᴸ = ∂E/∂Zᴸ = J_f(Zᴸ)ᵀ v / N, v = ∂J/∂o):

    |δ|ᴸ  = |J_f|ᵀ V / N,   V = |v(y, o)| + |v(0, o)| + |v(y, o) − v(0, o)|
            (V is the size of v's terms: |o| + |y| for o − y, |y|/o for −y/o)
    Δδᴸ   = |H| ΔZᴸ + φ_δ(Zᴸ) + u |δ|ᴸ

where H = ∂δᴸ/∂Zᴸ (central differences, per sample) carries the forward
error of Zᴸ into δᴸ.

Backward (t = W̃ᵀδ, maxout routing δ to each unit's winning piece):

    |t|ˡ  = |W̃^{l+1}|ᵀ |δ|^{l+1},   Δt = n_{l+1} |t| + |W̃^{l+1}|ᵀ Δδ^{l+1}
    |δ|ˡ  = |f′(Zˡ)| |t|
    Δδˡ   = |f′| Δt + Δf′ |t| + |f′| |t|
    Δf′   = max(|f′(Z ± ΔZ ε) − f′(Z)|/ε + φ_f′(Z),  |g(A ± ΔA ε) − g(A)|/ε + φ_g(A)) + u (|f′| + s_f)

g(a) being f′ written through the output (σ′ = a(1 − a), tanh′ = 1 − a²).
The perturbations are evaluated directly (no derivative of f′ is needed), so
a registered activation gets the same treatment, and a relu or ELU unit
whose forward error reaches its kink gets the jump of f′ in its bound.  A
maxout unit whose two best pieces are closer than their forward error is
not covered: the bound routes δ to the winning piece only (the kink policy
of ``oracles.checks`` covers exact ties only).

**The elementwise formulas' own errors** φ (u = ``ELEMENTWISE_ULPS``, a few
ulp, covers a library's exp or tanh): a formula can be accurate only to a
few ε *of its terms*, not of its result.  SiLU written ½ z (1 + tanh(z/2))
is −3.1e-15 at z = −37 but 1 + tanh(z/2) is 0, 1.1e-16 or 2.2e-16: an
error of ε |z|, i.e. 100 %; tanh′ = 1 − a² is 0 where a rounds to 1.  So φ
is measured where it matters, at this network's own Z: the registry's
formula (f, f′, g, and the output's δᴸ through v = ∂J/∂o, which is where
log loss divides by 1 − o) evaluated in float64 and in NumPy's extended
precision (``np.longdouble``, 64-bit significand on x86), φ = |difference|/ε.
Where NumPy has no extended type (it is float64 on some platforms), or a
registered function does not accept one, φ falls back to the pessimistic
u (1 + |Z|) (1 + |value|).  The other party's
formulas are not seen: a library may write f′ through the output too (torch's
ELU backward is a + 1, which is 0 where e^z = 1e-172), so every f′ is allowed
an absolute error of u s_f, s_f = max |f′| over z ∈ {−1, 0, 1}, the
activation's slope scale (1 for tanh, ¼ for σ); an elementwise output adds
u s_f V / N to Δδᴸ likewise (not where δᴸ = o − y exactly, sigmoid + log
loss: there the frameworks differentiate the fused loss, and V ~ 1/(1 − o)
would make the allowance larger than the gradient), and a softmax output (whose Jacobian entries
o_i (1[i = k] − o_k) are accurate to u of o_i (1[i = k] + o_k): diagonal
entries o(1 − o) are 0 where o rounds to 1) adds u (|o| V + |o| Σ_k |o_k| V_k) / N.

The bound is first order in ε and uses the worst case of every dot product
(γ_n, not the √n of random rounding), so it is pessimistic by a factor of
order √n on typical data; it is not a proof for an implementation that
computes something else first (a different formula with its own
cancellation), which is why a multiple of it is allowed
(``oracles.engine.tolerances.ROUNDING_MULTIPLE``).
"""

from __future__ import annotations

import numpy as np

from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import effective_weights, per_sample_loss
from backprop_reference.reference.shortcuts import O_MINUS_Y

EPS = float(np.finfo(np.float64).eps)
ELEMENTWISE_ULPS = 4.0  # a library's elementwise function (exp, tanh, log1p) is correct to a few ulp
EXTENDED = np.longdouble if np.finfo(np.longdouble).eps < EPS / 100 else None  # 80-bit on x86; None where it is float64


def _formula_error(function, *args: np.ndarray) -> np.ndarray:
    """φ: |function(args) in float64 − function(args) in extended precision| / ε,
    the formula's own rounding at these arguments (finite; pessimistic without
    an extended type)."""
    value = np.asarray(function(*args), dtype=np.float64)
    exact = None
    if EXTENDED is not None:
        try:  # a registered function may not support np.longdouble (scipy.special.erf does not)
            exact = np.asarray(function(*(np.asarray(a, dtype=EXTENDED) for a in args)), dtype=EXTENDED)
        except (TypeError, ValueError):
            exact = None
    if exact is None:
        size = 1.0 + np.max([np.abs(a) for a in args if np.shape(a) == np.shape(args[0])], axis=0)
        return ELEMENTWISE_ULPS * size * (1.0 + np.abs(value))
    error = np.abs(value.astype(EXTENDED) - exact).astype(np.float64) / EPS
    return np.where(np.isfinite(error), error, 0.0)


def network_terms(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> list[np.ndarray]:
    """B_k for every element of ∂E/∂(W^1, b^1, …, W^L, b^L), one float64 array
    per present leaf in ``trees.network_layout`` order (``W^l`` then ``b^l``):
    a computation in a format with machine epsilon ε is within ε·B_k of the
    exact gradient (the derivation: this module's docstring)."""
    params = [(np.asarray(W, np.float64), None if b is None else np.asarray(b, np.float64)) for W, b in params]
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    with np.errstate(all="ignore"):  # saturated units: inf/nan terms are replaced below, never raised
        forward = _forward_magnitudes(mlp, params, X)
        delta, d_delta = _output_delta(mlp, forward[-1], Y)
        bounds: list[list[np.ndarray]] = []
        for l in range(mlp.depth, 0, -1):
            bounds.append(_leaf_bounds(mlp, l, params[l - 1], forward[l - 1], delta, d_delta))
            if l > 1:
                delta, d_delta = _hidden_delta(mlp, l, params[l - 1][0], forward[l - 2], delta, d_delta)
    return [leaf for layer in reversed(bounds) for leaf in layer]


def objective_terms(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray) -> float:
    """A bound, in units of ε, on the rounding of the objective E itself: the
    forward error of Zᴸ carried into E (Σ |∂E/∂Zᴸ| ΔZᴸ) plus the loss's own
    few ulp of its terms, taken as |J_n| + Σ_k (1 + |y_nk|) |z_nk| per sample
    (the terms of softplus(z) − yz and of log-sum-exp(z) − yᵀz).  The
    numerical oracles' error estimates use it where it exceeds max(|E|, 1)."""
    params = [(np.asarray(W, np.float64), None if b is None else np.asarray(b, np.float64)) for W, b in params]
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    N = X.shape[0]
    rows = max(1, OBJECTIVE_CHUNK_BYTES // (8 * 16 * max(mlp.sizes) * mlp.pieces))  # per-sample: a few samples at a time
    total = 0.0
    with np.errstate(all="ignore"):
        for start in range(0, N, rows):
            x, y = X[start : start + rows], Y[start : start + rows]
            out = _forward_magnitudes(mlp, params, x)[-1]
            delta, _ = _output_delta(mlp, out, y)  # carries 1/len(x): rescaled to the whole batch's 1/N
            z = out.z if out.z.ndim == 2 else np.max(out.z, axis=-1)
            J = np.abs(per_sample_loss(mlp)(y, out.z))
            own = ELEMENTWISE_ULPS * np.sum(J + np.sum((1.0 + np.abs(y)) * np.abs(z), axis=-1))
            total += (float(np.sum(delta * out.dZ)) * len(x) + float(own)) / N
    return total if np.isfinite(total) else 0.0


OBJECTIVE_CHUNK_BYTES = 2**20  # the magnitude pass of objective_terms works on this much per array


class _Layer:
    """One layer's forward quantities: z, a = f(z), |Z|, ΔZ, ΔA, f′(z), Δf′ (elementwise)."""

    def __init__(self, z, a, Zm, dZ, dA, fp, dfp, A_in, Am_in, dA_in):
        self.z, self.a, self.Zm, self.dZ, self.dA, self.fp, self.dfp = z, a, Zm, dZ, dA, fp, dfp
        self.A_in, self.Am_in, self.dA_in = A_in, Am_in, dA_in


def _contract(mlp: MLP, l: int, W: np.ndarray, A: np.ndarray) -> np.ndarray:
    return np.einsum("ipj,nj->nip", W, A) if mlp.is_maxout(l) else A @ W.T


def _forward_magnitudes(mlp: MLP, params: Params, X: np.ndarray) -> list[_Layer]:
    A, Am, dA = X, np.abs(X), np.zeros_like(X)
    layers = []
    for l, (W, b) in enumerate(params, start=1):
        Wt = effective_weights(mlp, l, W)
        Wm = np.abs(Wt)
        z = _contract(mlp, l, Wt, A) + (0.0 if b is None else b)
        Zm = _contract(mlp, l, Wm, Am) + (0.0 if b is None else np.abs(b))
        dZ = (mlp.sizes[l - 1] + 1) * Zm + _contract(mlp, l, Wm, dA)
        activation = mlp.activation(l)
        a = activation.f(z)
        fp = dfp = None
        if activation.pieces:  # maxout: a = the winning piece, exact
            winner = activation.df(z)
            dA_out = np.sum(winner * dZ, axis=-1)
        elif activation.elementwise:
            fp = activation.df(z)
            dA_out = np.abs(fp) * dZ + _formula_error(activation.f, z) + ELEMENTWISE_ULPS * np.abs(a)
            dfp = _derivative_error(activation, z, a, dZ, dA_out, fp)
        else:  # couples its units (softmax): only at the output, handled there
            dA_out = None
        layers.append(_Layer(z, a, Zm, dZ, dA_out, fp, dfp, A, Am, dA))
        A, Am, dA = a, np.abs(a), dA_out
    return layers


def _moved(function, x: np.ndarray, by: np.ndarray) -> np.ndarray:
    """max(|function(x + by) − function(x)|, |function(x − by) − function(x)|), finite."""
    here = function(x)
    change = np.maximum(np.abs(function(x + by) - here), np.abs(function(x - by) - here))
    return np.where(np.isfinite(change), change, 0.0)


def _derivative_error(activation, z, a, dZ, dA, fp) -> np.ndarray:
    """Δf′ in units of ε: f′ moved by Z's forward error plus its formula's own
    error, or (written through the output, g(a)) the same for A, whichever is
    larger, plus a few ulp."""
    through_z = _moved(activation.df, z, dZ * EPS) / EPS + _formula_error(activation.df, z)
    through_a = 0.0
    if activation.xp_df_from_output is not None:
        g = activation.xp_df_from_output
        through_a = _moved(lambda out: g(out, np), a, dA * EPS) / EPS + _formula_error(lambda out: g(out, np), a)
        if EXTENDED is not None:  # g at the rounded a against f′ at the exact one
            try:
                exact_a = activation.f(np.asarray(z, dtype=EXTENDED))
                moved = np.abs(np.asarray(g(a, np), dtype=EXTENDED) - g(exact_a, np)).astype(np.float64) / EPS
            except (TypeError, ValueError):  # no extended form: the pessimistic φ above stands
                moved = np.zeros_like(a)
            through_a = through_a + np.where(np.isfinite(moved), moved, 0.0)
    return np.maximum(through_z, through_a) + ELEMENTWISE_ULPS * (np.abs(fp) + slope_scale(activation))


def slope_scale(activation) -> float:
    """s_f: the largest |f′| at z = −1, 0, 1 (the size of an elementwise derivative's terms)."""
    return float(np.max(np.abs(activation.df(np.array([-1.0, 0.0, 1.0])))))


def _output_delta(mlp: MLP, layer: _Layer, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|δ|ᴸ and Δδᴸ (units of ε), shaped like Zᴸ."""
    activation, dJ_do = mlp.output_activation, mlp.loss_fn.dJ_do
    z, o, N = layer.z, layer.a, layer.z.shape[0]
    v = dJ_do(Y, o)
    v0 = dJ_do(np.zeros_like(Y), o)
    V = np.abs(v) + np.abs(v0) + np.abs(v - v0)
    if activation.pieces:  # a maxout output: δ = v / N at each unit's winning piece; o = that piece, exact
        winner = activation.df(z)
        dV = _moved(lambda out: dJ_do(Y, out), o, layer.dA * EPS) / EPS + _formula_error(dJ_do, Y, o)
        magnitude = winner * V[..., None] / N
        error = winner * dV[..., None] / N + ELEMENTWISE_ULPS * magnitude
        return _finite(magnitude, o, Y, N, winner), _finite(error, o, Y, N, winner)
    if activation.elementwise:
        magnitude = np.abs(activation.df(z)) * V / N
    else:  # |J_f|ᵀ V without forming |J_f| where it is softmax's o_i |1[i = k] − o_k|
        magnitude = np.abs(_vjp(activation, z, V, absolute=True)) / N
    phi = _formula_error(lambda zz, yy: _delta(mlp, zz, yy), z, Y) / N  # f′ or J_f, v, and o's own rounding
    error = _forward_error_into_delta(mlp, z, Y, layer.dZ) + phi + ELEMENTWISE_ULPS * magnitude
    # Where δ = o − y exactly (sigmoid + log loss) the frameworks differentiate the fused loss,
    # and V (~1/(1 − o)) multiplies nothing: no allowance for the other party's formula.
    fused = O_MINUS_Y.applies_to_every_target(activation.name, mlp.loss)
    if activation.elementwise and not fused:  # the other party's f′ may be accurate only to u s_f
        error = error + ELEMENTWISE_ULPS * slope_scale(activation) * V / N
    elif not activation.elementwise:  # J's entries o_i (1[i = k] − o_k) are accurate only to u of their terms o_i (1[i = k] + o_k)
        om = np.abs(o)
        error = error + ELEMENTWISE_ULPS * (om * V + om * np.sum(om * V, axis=-1, keepdims=True)) / N
    return _finite(magnitude, o, Y, N), _finite(error, o, Y, N)


def _finite(values: np.ndarray, o: np.ndarray, Y: np.ndarray, N: int, winner: np.ndarray | None = None) -> np.ndarray:
    """Where an output rounded to 0 or 1 makes v infinite (log loss at σ(z) = 1.0),
    the terms are those of the o − y every finite derivation uses there."""
    fallback = (np.abs(o) + np.abs(Y)) / N
    if winner is not None:
        fallback = winner * fallback[..., None]
    return np.where(np.isfinite(values), values, fallback)


def _vjp(activation, z: np.ndarray, v: np.ndarray, absolute: bool = False) -> np.ndarray:
    """J_f(z)ᵀ v per sample (|J_f|ᵀ v with ``absolute``) for an activation that couples its units."""
    if activation.xp_vjp_from_output is not None and activation.name == "softmax":
        o = activation.f(z)
        if absolute:  # |o_i (1[i = k] − o_k)| = o_i (1 − o_i) on the diagonal, o_i o_k off it
            return o * (1.0 - o) * v + o * (np.sum(o * v, axis=-1, keepdims=True) - o * v)
        return activation.xp_vjp_from_output(o, v, np)
    J = activation.jacobian(z)
    return np.einsum("nki,nk->ni", np.abs(J) if absolute else J, v)


def _delta(mlp: MLP, z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """δᴸ = J_f(z)ᵀ ∂J/∂o per sample (without the 1/N)."""
    activation = mlp.output_activation
    v = mlp.loss_fn.dJ_do(Y, activation.f(z))
    return activation.df(z) * v if activation.elementwise else _vjp(activation, z, v)


def _forward_error_into_delta(mlp: MLP, z: np.ndarray, Y: np.ndarray, dZ: np.ndarray) -> np.ndarray:
    """|H| ΔZᴸ / N, H = ∂δᴸ/∂Zᴸ per sample by central differences: for an
    elementwise output H is diagonal (one difference moves every unit at
    once); otherwise one column of H per output unit."""
    N, n = z.shape
    h = 1e-5 * (1.0 + np.abs(z))
    if mlp.output_activation.elementwise:
        H = (_delta(mlp, z + h, Y) - _delta(mlp, z - h, Y)) / (2 * h)
        return np.where(np.isfinite(H), np.abs(H), 0.0) * dZ / N
    total = np.zeros_like(z)
    for j in range(n):
        up, down = z.copy(), z.copy()
        up[:, j] += h[:, j]
        down[:, j] -= h[:, j]
        column = (_delta(mlp, up, Y) - _delta(mlp, down, Y)) / (2 * h[:, j : j + 1])
        total += np.where(np.isfinite(column), np.abs(column), 0.0) * dZ[:, j : j + 1]
    return total / N


def _hidden_delta(mlp: MLP, l: int, W: np.ndarray, below: _Layer, delta: np.ndarray, d_delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|δ|^{l-1} and Δδ^{l-1} from layer l's: through W̃ˡ, then f′ of layer l − 1."""
    Wm = np.abs(effective_weights(mlp, l, W))
    if mlp.is_maxout(l):
        t = np.einsum("nip,ipj->nj", delta, Wm)
        dt = mlp.sizes[l] * mlp.pieces * t + np.einsum("nip,ipj->nj", d_delta, Wm)
    else:
        t = delta @ Wm
        dt = mlp.sizes[l] * t + d_delta @ Wm
    activation = mlp.activation(l - 1)
    if activation.pieces:  # route to the winning piece of each unit: f′ = 1 there, exactly
        winner = activation.df(below.z)
        return winner * t[..., None], winner * dt[..., None]
    fp = np.abs(below.fp)
    return fp * t, fp * dt + below.dfp * t + fp * t


def _leaf_bounds(mlp: MLP, l: int, param: tuple, layer: _Layer, delta: np.ndarray, d_delta: np.ndarray) -> list[np.ndarray]:
    """B for ∂E/∂W^l and (when present) ∂E/∂b^l."""
    W, b = param
    N = delta.shape[0]
    Am, dA = layer.Am_in, layer.dA_in
    if mlp.is_maxout(l):
        B_W = np.einsum("nip,nj->ipj", (N + 1) * delta + d_delta, Am) + np.einsum("nip,nj->ipj", delta, dA)
    else:
        B_W = ((N + 1) * delta + d_delta).T @ Am + delta.T @ dA
    mask = mlp.mask(l)
    if mask is not None:
        B_W = B_W * mask  # an absent connection's gradient is exactly 0
    bounds = [B_W]
    if b is not None:
        if b.shape == (1,):  # shared: summed over the batch and the layer's units
            count = delta.size
            bounds.append(np.array([(count + 1) * np.sum(delta) + np.sum(d_delta)]))
        else:
            bounds.append((N + 1) * np.sum(delta, axis=0) + np.sum(d_delta, axis=0))
    return bounds
