"""A catalogue of CS231n-style layers, each with a hand-written backward pass
and one realistic slip in it.

Where ``testbed.mutants`` breaks one equation of a textbook network, this
module is for checkers of single layers written the way the CS231n
assignments write them (plain NumPy, float64)::

    out, cache = layer.forward(*args)
    grads = layer.backward(dout, cache)

``grads`` is one array when the layer has one differentiated argument, else a
tuple in argument order, each the shape of its argument.  ``backward`` is the
correct derivation; ``buggy_backward`` is the same code with the one slip
described in ``bug``: every slip keeps the shapes (a shape error is caught by
any check) and changes the gradient on the layer's seeded inputs by far more
than 1e-3 relative.  Checkers compare against ``Σ out · dout``, the scalar
whose gradient ``backward(dout, cache)`` is.

Fixed, non-differentiated data (the labels of the loss, the dropout mask,
convolution and pooling settings) is not an argument: it is a deterministic
function of the argument's shape, so ``forward`` works at any shape and a
perturbed input sees the same labels and mask.

Kinks: relu and max pooling are not differentiable everywhere, and a checker
must be tested there too.  ``relu``'s seeded inputs hold exact zeros and
``max_pool``'s hold tied maxima inside pooling windows (``relu_input``,
``pool_input``; pass ``zeros=False`` / ``ties=False`` for points away from
the kinks).  The correct backward takes relu' (0) = 0 and routes a window's
gradient to its first maximum in row-major order, as CS231n's naive
``np.argmax`` code does; the slips in those two layers are wrong away from
the kinks as well, not merely another valid convention at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Array = np.ndarray
Grads = Array | tuple[Array, ...]

BN_EPS = 1e-5  # batchnorm / layernorm: var + eps under the square root
CONV_STRIDE, CONV_PAD = 1, 1  # conv2d: fixed conv_param, not differentiated
POOL_SIZE = 2  # max_pool: 2x2 windows, stride 2
DROPOUT_P = 0.5  # inverted dropout: keep with probability p, scale kept units by 1/p
_FIXED_SEED = 231  # labels and dropout masks: a function of the shape only


# --- fixed data ----------------------------------------------------------------------


def labels(N: int, C: int) -> Array:
    """The fixed integer labels of ``softmax_cross_entropy`` for scores of shape (N, C)."""
    return np.random.default_rng([_FIXED_SEED, N, C]).integers(0, C, size=N)


def dropout_mask(shape: tuple[int, ...]) -> Array:
    """The fixed keep mask of ``dropout`` (1.0 where kept, with probability p), for an input of ``shape``."""
    rng = np.random.default_rng([_FIXED_SEED, *shape])
    return (rng.random(shape) < DROPOUT_P).astype(np.float64)


# --- 1. affine -----------------------------------------------------------------------


def affine_forward(x: Array, w: Array, b: Array) -> tuple[Array, Any]:
    """out = x w + b, for x (N, D), w (D, M), b (M,)."""
    return x @ w + b, (x, w)


def affine_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """dx = dout wᵀ, dw = xᵀ dout, db = Σ_n dout[n]."""
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def affine_backward_buggy(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    x, w = cache
    N = x.shape[0]
    return dout @ w.T, x.T @ dout / N, dout.sum(axis=0)  # slip: dw averaged over the batch


# --- 2. relu -------------------------------------------------------------------------


def relu_forward(x: Array) -> tuple[Array, Any]:
    """out = max(x, 0)."""
    return np.maximum(x, 0.0), x


def relu_backward(dout: Array, cache: Any) -> Array:
    """dx = dout ⊙ [x > 0] (relu'(0) = 0)."""
    x = cache
    return dout * (x > 0)


def relu_backward_buggy(dout: Array, cache: Any) -> Array:
    x = cache
    return (x > 0).astype(x.dtype)  # slip: relu'(x) returned, the chain rule's dout forgotten


# --- 3. sigmoid ----------------------------------------------------------------------


def _sigmoid(x: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -x))  # no overflow warning for large |x|


def sigmoid_forward(x: Array) -> tuple[Array, Any]:
    """out = σ(x) = 1 / (1 + e^{−x})."""
    s = _sigmoid(x)
    return s, s


def sigmoid_backward(dout: Array, cache: Any) -> Array:
    """dx = dout ⊙ σ(x)(1 − σ(x))."""
    s = cache
    return dout * s * (1.0 - s)


def sigmoid_backward_buggy(dout: Array, cache: Any) -> Array:
    s = cache
    return dout * s  # slip: the factor (1 − σ) dropped


# --- 4. softmax_cross_entropy ----------------------------------------------------------


def softmax_cross_entropy_forward(x: Array) -> tuple[Array, Any]:
    """out = L = −(1/N) Σ_n log softmax(x[n])_{y_n}, a 0-d array, for scores
    x (N, C) and the fixed labels ``y = labels(N, C)``."""
    N, C = x.shape
    y = labels(N, C)
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(N), y].mean()
    return np.asarray(loss), (np.exp(log_p), y)


def softmax_cross_entropy_backward(dout: Array, cache: Any) -> Array:
    """dx = dout · (softmax(x) − onehot(y)) / N."""
    p, y = cache
    N = p.shape[0]
    dx = p.copy()
    dx[np.arange(N), y] -= 1.0
    return np.asarray(dout) * dx / N


def softmax_cross_entropy_backward_buggy(dout: Array, cache: Any) -> Array:
    p, y = cache
    N = p.shape[0]
    dx = p.copy()
    dx[np.arange(N), y] -= 1.0
    return np.asarray(dout) * dx  # slip: the 1/N of the mean loss forgotten


# --- 5. batchnorm (training mode) ------------------------------------------------------


def batchnorm_forward(x: Array, gamma: Array, beta: Array) -> tuple[Array, Any]:
    """Over the batch axis: μ = mean_n x, σ² = mean_n (x − μ)² (biased),
    x̂ = (x − μ) / √(σ² + ε), out = γ x̂ + β; x (N, D), γ and β (D,)."""
    mu = x.mean(axis=0)
    std = np.sqrt(x.var(axis=0) + BN_EPS)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def batchnorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """dx̂ = dout ⊙ γ; dx = (dx̂ − mean_n dx̂ − x̂ ⊙ mean_n(dx̂ ⊙ x̂)) / √(σ² + ε);
    dγ = Σ_n dout ⊙ x̂; dβ = Σ_n dout."""
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def batchnorm_backward_buggy(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0)) / std  # slip: the path through σ² (− x̂ ⊙ mean(dx̂ ⊙ x̂)) dropped
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


# --- 6. layernorm --------------------------------------------------------------------


def layernorm_forward(x: Array, gamma: Array, beta: Array) -> tuple[Array, Any]:
    """Batchnorm over the feature (last) axis instead: μ, σ² per sample,
    x̂ = (x − μ) / √(σ² + ε), out = γ x̂ + β; x (N, D), γ and β (D,)."""
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + BN_EPS)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def layernorm_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """dx̂ = dout ⊙ γ; dx = (dx̂ − mean_d dx̂ − x̂ ⊙ mean_d(dx̂ ⊙ x̂)) / √(σ² + ε),
    the means over the features; dγ = Σ_n dout ⊙ x̂; dβ = Σ_n dout."""
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_backward_buggy(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    xhat, gamma, std = cache
    dxhat = dout * gamma
    # slip: batchnorm's backward copied, the means of dx taken over the batch axis
    dx = (dxhat - dxhat.mean(axis=0, keepdims=True) - xhat * (dxhat * xhat).mean(axis=0, keepdims=True)) / std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


# --- 7. conv2d (naive) -----------------------------------------------------------------


def conv2d_forward(x: Array, w: Array, b: Array) -> tuple[Array, Any]:
    """out[n, f, i, j] = Σ_{c, k, l} x_pad[n, c, i·s + k, j·s + l] w[f, c, k, l] + b[f],
    x (N, C, H, W), w (F, C, HH, WW), b (F,); x_pad is x zero-padded by
    ``CONV_PAD`` on each side, s = ``CONV_STRIDE``."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    s, p = CONV_STRIDE, CONV_PAD
    H_out = 1 + (H + 2 * p - HH) // s
    W_out = 1 + (W + 2 * p - WW) // s
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * s : i * s + HH, j * s : j * s + WW]  # (N, C, HH, WW)
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w)


def _conv2d_grads(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """dx_pad[n, c, i·s + k, j·s + l] += Σ_f dout[n, f, i, j] w[f, c, k, l];
    dw[f, c, k, l] = Σ_{n, i, j} dout[n, f, i, j] x_pad[n, c, i·s + k, j·s + l];
    db[f] = Σ_{n, i, j} dout[n, f, i, j].  Returns the padded dx."""
    x, w = cache
    F, _, HH, WW = w.shape
    s, p = CONV_STRIDE, CONV_PAD
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * s : i * s + HH, j * s : j * s + WW]
            d = dout[:, :, i, j]  # (N, F)
            dx_pad[:, :, i * s : i * s + HH, j * s : j * s + WW] += np.tensordot(d, w, axes=([1], [0]))
            dw += np.tensordot(d, window, axes=([0], [0]))
    return dx_pad, dw, dout.sum(axis=(0, 2, 3))


def conv2d_backward(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    """The gradients of ``_conv2d_grads``, dx cropped from the padded one:
    dx = dx_pad[:, :, p:p+H, p:p+W]."""
    x, _ = cache
    H, W = x.shape[2:]
    dx_pad, dw, db = _conv2d_grads(dout, cache)
    p = CONV_PAD
    return dx_pad[:, :, p : p + H, p : p + W], dw, db


def conv2d_backward_buggy(dout: Array, cache: Any) -> tuple[Array, Array, Array]:
    x, _ = cache
    H, W = x.shape[2:]
    dx_pad, dw, db = _conv2d_grads(dout, cache)
    return dx_pad[:, :, :H, :W], dw, db  # slip: the padding's offset p left out of the crop


# --- 8. max_pool ---------------------------------------------------------------------


def max_pool_forward(x: Array) -> tuple[Array, Any]:
    """out[n, c, i, j] = max of x[n, c] over the 2x2 window (2i.., 2j..), stride 2;
    x (N, C, H, W) with H and W even."""
    N, C, H, W = x.shape
    k = POOL_SIZE
    out = x.reshape(N, C, H // k, k, W // k, k).max(axis=(3, 5))
    return out, x


def _max_pool_route(dout: Array, x: Array, transposed: bool) -> Array:
    N, C, H, W = x.shape
    k = POOL_SIZE
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H // k):
                for j in range(W // k):
                    window = x[n, c, i * k : (i + 1) * k, j * k : (j + 1) * k]
                    r, q = divmod(int(np.argmax(window)), k)  # the first maximum, row-major
                    if transposed:
                        r, q = q, r  # slip: row and column of the flat argmax swapped
                    dx[n, c, i * k + r, j * k + q] += dout[n, c, i, j]
    return dx


def max_pool_backward(dout: Array, cache: Any) -> Array:
    """dx is zero but at each window's first maximum (row-major ``np.argmax``),
    which receives that window's dout."""
    return _max_pool_route(dout, cache, transposed=False)


def max_pool_backward_buggy(dout: Array, cache: Any) -> Array:
    return _max_pool_route(dout, cache, transposed=True)


# --- 9. dropout ----------------------------------------------------------------------


def dropout_forward(x: Array) -> tuple[Array, Any]:
    """Inverted dropout with the fixed mask m = ``dropout_mask(x.shape)``: out = x ⊙ m / p."""
    mask = dropout_mask(x.shape)
    return x * mask / DROPOUT_P, mask


def dropout_backward(dout: Array, cache: Any) -> Array:
    """dx = dout ⊙ m / p."""
    mask = cache
    return dout * mask / DROPOUT_P


def dropout_backward_buggy(dout: Array, cache: Any) -> Array:
    mask = cache
    return dout * mask  # slip: the 1/p scaling of inverted dropout forgotten


# --- 10. rnn_step --------------------------------------------------------------------


def rnn_step_forward(x: Array, prev_h: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Any]:
    """next_h = tanh(x Wx + prev_h Wh + b); x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,)."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def _rnn_step_grads(dnext_h: Array, cache: Any, dtanh: Callable[[Array], Array]) -> tuple[Array, ...]:
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * dtanh(next_h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def _dtanh(h: Array) -> Array:
    return 1.0 - h**2


def _dtanh_buggy(h: Array) -> Array:
    return 1.0 - h  # slip: tanh' = 1 − tanh² written 1 − tanh


def rnn_step_backward(dnext_h: Array, cache: Any) -> tuple[Array, ...]:
    """da = dnext_h ⊙ (1 − next_h²); dx = da Wxᵀ, dprev_h = da Whᵀ, dWx = xᵀ da,
    dWh = prev_hᵀ da, db = Σ_n da."""
    return _rnn_step_grads(dnext_h, cache, _dtanh)


def rnn_step_backward_buggy(dnext_h: Array, cache: Any) -> tuple[Array, ...]:
    return _rnn_step_grads(dnext_h, cache, _dtanh_buggy)


# --- 11. rnn (unrolled) ----------------------------------------------------------------


def rnn_forward(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Any]:
    """h[:, t] = tanh(x[:, t] Wx + h[:, t−1] Wh + b), h[:, −1] = h0; x (N, T, D),
    h0 (N, H); out = h (N, T, H), every hidden state."""
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    steps = []
    prev_h = h0
    for t in range(T):
        prev_h, step = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        steps.append(step)
    return h, (x.shape, steps)


def _rnn_grads(dh: Array, cache: Any, carry: bool) -> tuple[Array, ...]:
    x_shape, steps = cache
    N, T, _ = x_shape
    _, _, Wx, Wh, _ = steps[0]
    dx = np.zeros(x_shape)
    dprev_h = np.zeros((N, Wh.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    for t in reversed(range(T)):
        dnext_h = dh[:, t] + dprev_h if carry else dh[:, t]  # slip when not carried: the gradient from step t+1 lost
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, steps[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def rnn_backward(dh: Array, cache: Any) -> tuple[Array, ...]:
    """Backpropagation through time: at step t the upstream gradient is
    dh[:, t] + dprev_h from step t+1; the weight gradients sum over steps and
    dh0 is the dprev_h of step 0."""
    return _rnn_grads(dh, cache, carry=True)


def rnn_backward_buggy(dh: Array, cache: Any) -> tuple[Array, ...]:
    return _rnn_grads(dh, cache, carry=False)


# --- seeded inputs ---------------------------------------------------------------------


def relu_input(seed: int, zeros: bool = True, shape: tuple[int, ...] = (4, 5)) -> Array:
    """Standard normal x of ``shape``; with ``zeros``, about a quarter of the
    entries (at least two) set to exactly 0.0, relu's kink."""
    rng = np.random.default_rng([seed, 2])
    x = rng.standard_normal(shape)
    if zeros:
        flat = x.reshape(-1)
        count = max(2, flat.size // 4)
        flat[rng.choice(flat.size, size=count, replace=False)] = 0.0
    return x


def pool_input(seed: int, ties: bool = True, shape: tuple[int, ...] = (2, 3, 4, 4)) -> Array:
    """Standard normal x of ``shape`` for 2x2 pooling; with ``ties``, about half
    of the windows (at least two) get a second entry equal to their maximum,
    the first and second copies in every order across windows."""
    rng = np.random.default_rng([seed, 8])
    x = rng.standard_normal(shape)
    if ties:
        N, C, H, W = shape
        k = POOL_SIZE
        windows = x.reshape(N, C, H // k, k, W // k, k).transpose(0, 1, 2, 4, 3, 5).reshape(-1, k * k)
        chosen = rng.choice(len(windows), size=max(2, len(windows) // 2), replace=False)
        for w in chosen:
            top = int(np.argmax(windows[w]))
            other = int(rng.choice([i for i in range(k * k) if i != top]))
            windows[w, other] = windows[w, top]
        x = windows.reshape(N, C, H // k, W // k, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(shape)
    return x


def _affine_inputs(seed: int) -> tuple[Array, ...]:
    rng = np.random.default_rng([seed, 1])
    return rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)


def _relu_inputs(seed: int) -> tuple[Array, ...]:
    return (relu_input(seed),)


def _sigmoid_inputs(seed: int) -> tuple[Array, ...]:
    return (2.0 * np.random.default_rng([seed, 3]).standard_normal((4, 5)),)


def _softmax_cross_entropy_inputs(seed: int) -> tuple[Array, ...]:
    return (np.random.default_rng([seed, 4]).standard_normal((4, 5)),)


def _norm_inputs(seed: int, stream: int) -> tuple[Array, ...]:
    rng = np.random.default_rng([seed, stream])
    x = 2.0 * rng.standard_normal((4, 5)) + 1.0
    return x, 1.0 + 0.5 * rng.standard_normal(5), rng.standard_normal(5)


def _conv2d_inputs(seed: int) -> tuple[Array, ...]:
    rng = np.random.default_rng([seed, 7])
    return rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)


def _max_pool_inputs(seed: int) -> tuple[Array, ...]:
    return (pool_input(seed),)


def _dropout_inputs(seed: int) -> tuple[Array, ...]:
    return (np.random.default_rng([seed, 9]).standard_normal((4, 5)),)


def _rnn_weights(rng: np.random.Generator, D: int, H: int) -> tuple[Array, ...]:
    # scaled so that tanh is in its curved range but not saturated
    return 0.4 * rng.standard_normal((D, H)), 0.4 * rng.standard_normal((H, H)), 0.2 * rng.standard_normal(H)


def _rnn_step_inputs(seed: int) -> tuple[Array, ...]:
    rng = np.random.default_rng([seed, 10])
    return (rng.standard_normal((3, 4)), rng.standard_normal((3, 5)), *_rnn_weights(rng, 4, 5))


def _rnn_inputs(seed: int) -> tuple[Array, ...]:
    rng = np.random.default_rng([seed, 11])
    return (rng.standard_normal((3, 4, 4)), rng.standard_normal((3, 5)), *_rnn_weights(rng, 4, 5))


# --- the catalogue -------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One layer: ``forward(*args) -> (out, cache)``, the correct
    ``backward(dout, cache)`` and ``buggy_backward`` with the slip ``bug``;
    ``inputs(seed)`` the seeded arguments (float64, small), ``args`` their names."""

    name: str
    forward: Callable[..., tuple[Array, Any]]
    backward: Callable[[Array, Any], Grads]
    buggy_backward: Callable[[Array, Any], Grads]
    bug: str
    inputs: Callable[[int], tuple[Array, ...]]
    args: tuple[str, ...] = ()


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "affine", affine_forward, affine_backward, affine_backward_buggy,
            "dw = xᵀ dout / N: the weight gradient averaged over the batch",
            _affine_inputs, ("x", "w", "b"),
        ),
        Layer(
            "relu", relu_forward, relu_backward, relu_backward_buggy,
            "dx = [x > 0]: relu' returned, the upstream dout not multiplied in",
            _relu_inputs, ("x",),
        ),
        Layer(
            "sigmoid", sigmoid_forward, sigmoid_backward, sigmoid_backward_buggy,
            "dx = dout ⊙ σ: the factor (1 − σ) of σ' = σ(1 − σ) dropped",
            _sigmoid_inputs, ("x",),
        ),
        Layer(
            "softmax_cross_entropy", softmax_cross_entropy_forward,
            softmax_cross_entropy_backward, softmax_cross_entropy_backward_buggy,
            "dx = dout (softmax − onehot): the 1/N of the mean loss forgotten",
            _softmax_cross_entropy_inputs, ("x",),
        ),
        Layer(
            "batchnorm", batchnorm_forward, batchnorm_backward, batchnorm_backward_buggy,
            "dx = (dx̂ − mean dx̂) / σ: the path through the variance, − x̂ mean(dx̂ x̂), dropped",
            lambda seed: _norm_inputs(seed, 5), ("x", "gamma", "beta"),
        ),
        Layer(
            "layernorm", layernorm_forward, layernorm_backward, layernorm_backward_buggy,
            "dx with batchnorm's means over the batch axis instead of the feature axis",
            lambda seed: _norm_inputs(seed, 6), ("x", "gamma", "beta"),
        ),
        Layer(
            "conv2d", conv2d_forward, conv2d_backward, conv2d_backward_buggy,
            "dx = dx_pad[:, :, :H, :W]: the padded gradient cropped without the offset pad",
            _conv2d_inputs, ("x", "w", "b"),
        ),
        Layer(
            "max_pool", max_pool_forward, max_pool_backward, max_pool_backward_buggy,
            "dout routed to the argmax with its row and column swapped (the transposed cell of the window)",
            _max_pool_inputs, ("x",),
        ),
        Layer(
            "dropout", dropout_forward, dropout_backward, dropout_backward_buggy,
            "dx = dout ⊙ mask: the 1/p scaling of inverted dropout forgotten",
            _dropout_inputs, ("x",),
        ),
        Layer(
            "rnn_step", rnn_step_forward, rnn_step_backward, rnn_step_backward_buggy,
            "tanh' written 1 − next_h instead of 1 − next_h²",
            _rnn_step_inputs, ("x", "prev_h", "Wx", "Wh", "b"),
        ),
        Layer(
            "rnn", rnn_forward, rnn_backward, rnn_backward_buggy,
            "the gradient dprev_h from step t+1 not added to dh[:, t] (no carry through time)",
            _rnn_inputs, ("x", "h0", "Wx", "Wh", "b"),
        ),
    )
}
