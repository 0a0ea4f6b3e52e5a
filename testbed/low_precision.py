"""A catalogue of hand-written torch backward passes in low precision, each
slip beside its correct twin: what a gradient checker for bfloat16 / float16
kernels is tried on.

Where ``testbed.layers`` holds NumPy float64 layers, this module holds the
slips a kernel author makes when a backward pass is written by hand for torch
tensors in a low dtype: a dropped term, a 3 % scale on one gradient, a missing
1/√d, an accumulation kept in the low dtype, a lost row sum.  Plain torch, no
imports from the rest of the project.

The convention is the CS231n layer convention, for torch tensors::

    out, cache = entry.forward(*args)       # args: one dtype (bfloat16, float16, float32 or float64)
    grads = entry.correct(dout, cache)      # or entry.slip(dout, cache)

``grads`` is a tuple of gradients, one per argument, in argument order (a
bare tensor when there is one argument), each in its argument's dtype and
shape.  ``forward`` and both backwards never write into their arguments or
into ``dout``.

The promote_types rule.  ``forward`` computes in ``acc =
torch.promote_types(x.dtype, torch.float32)`` — float32 inside for the low
dtypes, float64 when given float64 — and returns ``out`` in the input dtype.
It upcasts with ``x.to(acc)``, never ``x.float()``: a checker evaluates the
very same ``forward`` on float64 tensors to get the exact truth, and
``x.float()`` would silently round that truth to float32.  The correct
backward likewise computes in ``acc`` and rounds each gradient once, to its
argument's dtype, at the end.

``forward`` is plain differentiable torch (no ``requires_grad``, no
``torch.autograd`` inside): it accepts tensors that require grad, so
``torch.autograd`` of the same forward, in the same dtype, is a comparison for
the hand-written backward, and ``torch.autograd.gradcheck`` applies to it in
float64.  The backwards are hand-derived and do not use autograd.

``SLIPS`` maps each entry's name to its ``Slip``; ``Slip.inputs(dtype,
seed=0)`` draws its seeded, realistic inputs as a tuple (values of order one,
a few hundred elements, so a float64 numerical check of every element is
cheap; ``low_accumulation`` needs a long batch: 2048 rows, 2112 elements).

``Slip.dtypes`` lists the dtypes where the slip computes something other than
its twin.  Only ``low_accumulation`` narrows it, to bfloat16 and float16: its
slip accumulates dw micro-batch by micro-batch in a buffer of the input dtype,
which for float32 (or float64) input is already the twin's precision — the two
then differ at most in summation order (bitwise equal where the matmul sums
row by row, as CPU torch does at these shapes).

The yardstick the catalogue is tuned to: with a random ``dout`` (drawn in
float64 and rounded to the dtype), each gradient's error against the float64
truth (torch.autograd of ``forward`` on float64 inputs) is compared with
``2·err_autograd + 2u·max|truth|``, ``err_autograd`` being the error of
torch.autograd of the same ``forward`` in the same dtype and ``u`` the dtype's
unit roundoff (2⁻⁸ bfloat16, 2⁻¹¹ float16, 2⁻²⁴ float32).  For seeds 0–99 every
correct twin stays within that allowance in every dtype of ``DTYPES`` (at most
0.25 of it in bfloat16/float16, 0.72 in float32), and every slip exceeds it in
some gradient in each dtype of its ``dtypes``.  The thinnest margin is
``weight_scale`` in bfloat16 (about 1.9–2.1× the allowance): a 3 % error
against an allowance of at most 4u ≈ 1.6 % cannot be caught by much more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

Tensor = torch.Tensor
Grads = Tensor | tuple[Tensor, ...]

DTYPES = ("bfloat16", "float16", "float32")

LN_EPS = 1e-5  # layer_norm: var + eps under the square root
WEIGHT_SLIP_SCALE = 1.03  # weight_scale: the slip's dw is 3 % too large
ACC_ROWS, ACC_IN, ACC_OUT = 2048, 1, 64  # low_accumulation: x (N, D) @ w (D, M)
ACC_CHUNKS = 2048  # low_accumulation: the slip's micro-batches, here of one row each


def _acc(dtype: torch.dtype) -> torch.dtype:
    """The dtype computed in: float32 for the low dtypes, float64 for float64."""
    return torch.promote_types(dtype, torch.float32)


def _dtype(dtype: str | torch.dtype) -> torch.dtype:
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def _randn(gen: torch.Generator, *shape: int, scale: float = 1.0, shift: float = 0.0) -> Tensor:
    """float64 normal draws, so the values do not depend on the requested dtype's RNG path."""
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale + shift


# --- layer_norm: forward(x, w, b) over the last axis ------------------------------------------


def layer_norm_forward(x: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, Any]:
    acc = _acc(x.dtype)
    xa, wa, ba = x.to(acc), w.to(acc), b.to(acc)
    mu = xa.mean(dim=-1, keepdim=True)
    xc = xa - mu
    var = (xc * xc).mean(dim=-1, keepdim=True)
    rstd = torch.rsqrt(var + LN_EPS)
    xhat = xc * rstd
    out = xhat * wa + ba
    return out.to(x.dtype), (xhat, rstd, wa, x.dtype, w.dtype, b.dtype)


def _layer_norm_grads(dout: Tensor, cache: Any, mean_term: bool) -> tuple[Tensor, Tensor, Tensor]:
    xhat, rstd, wa, xdt, wdt, bdt = cache
    d = dout.to(xhat.dtype)
    dxhat = d * wa
    inner = dxhat - xhat * (dxhat * xhat).mean(dim=-1, keepdim=True)
    if mean_term:
        inner = inner - dxhat.mean(dim=-1, keepdim=True)
    dx = rstd * inner
    dw = (d * xhat).sum(dim=0)
    db = d.sum(dim=0)
    return dx.to(xdt), dw.to(wdt), db.to(bdt)


def layer_norm_correct(dout: Tensor, cache: Any) -> tuple[Tensor, Tensor, Tensor]:
    return _layer_norm_grads(dout, cache, mean_term=True)


def layer_norm_slip(dout: Tensor, cache: Any) -> tuple[Tensor, Tensor, Tensor]:
    """dx = rstd·(dxhat − xhat·mean(dxhat·xhat)): the −mean(dxhat) term is gone."""
    return _layer_norm_grads(dout, cache, mean_term=False)


def layer_norm_inputs(dtype: str | torch.dtype, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """x (8, 16) with per-row offsets and scales, w near one, b small."""
    dt = _dtype(dtype)
    gen = torch.Generator().manual_seed(1000 + seed)
    N, D = 8, 16
    x = _randn(gen, N, D) * (0.5 + torch.rand(N, 1, generator=gen, dtype=torch.float64)) + _randn(gen, N, 1, scale=0.5)
    w = _randn(gen, D, scale=0.3, shift=1.0)
    b = _randn(gen, D, scale=0.2)
    return x.to(dt), w.to(dt), b.to(dt)


# --- weight_scale: forward(x, w) = x @ w ------------------------------------------------------


def linear_forward(x: Tensor, w: Tensor) -> tuple[Tensor, Any]:
    acc = _acc(x.dtype)
    xa, wa = x.to(acc), w.to(acc)
    return (xa @ wa).to(x.dtype), (xa, wa, x.dtype, w.dtype)


def _linear_grads(dout: Tensor, cache: Any, dw_scale: float) -> tuple[Tensor, Tensor]:
    xa, wa, xdt, wdt = cache
    d = dout.to(xa.dtype)
    dx = d @ wa.T
    dw = xa.T @ d
    if dw_scale != 1.0:
        dw = dw * dw_scale
    return dx.to(xdt), dw.to(wdt)


def weight_scale_correct(dout: Tensor, cache: Any) -> tuple[Tensor, Tensor]:
    return _linear_grads(dout, cache, 1.0)


def weight_scale_slip(dout: Tensor, cache: Any) -> tuple[Tensor, Tensor]:
    """dw = 1.03 · xᵀ dout: a stray 3 % scale on the weight gradient."""
    return _linear_grads(dout, cache, WEIGHT_SLIP_SCALE)


def weight_scale_inputs(dtype: str | torch.dtype, seed: int = 0) -> tuple[Tensor, Tensor]:
    """x (16, 12), w (12, 8) at the 1/√fan_in scale."""
    dt = _dtype(dtype)
    gen = torch.Generator().manual_seed(2000 + seed)
    x = _randn(gen, 16, 12)
    w = _randn(gen, 12, 8, scale=12 ** -0.5)
    return x.to(dt), w.to(dt)


# --- attention_scores: forward(q, k, v) = softmax(q kᵀ / √d) v --------------------------------


def attention_forward(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Any]:
    acc = _acc(q.dtype)
    qa, ka, va = q.to(acc), k.to(acc), v.to(acc)
    scale = qa.shape[-1] ** -0.5
    s = (qa @ ka.T) * scale
    p = torch.softmax(s, dim=-1)
    out = p @ va
    return out.to(q.dtype), (qa, ka, va, p, scale, q.dtype, k.dtype, v.dtype)


def _attention_grads(dout: Tensor, cache: Any, score_scale: bool) -> tuple[Tensor, Tensor, Tensor]:
    qa, ka, va, p, scale, qdt, kdt, vdt = cache
    d = dout.to(qa.dtype)
    dv = p.T @ d
    dp = d @ va.T
    ds = p * (dp - (p * dp).sum(dim=-1, keepdim=True))
    if score_scale:
        ds = ds * scale
    dq = ds @ ka
    dk = ds.T @ qa
    return dq.to(qdt), dk.to(kdt), dv.to(vdt)


def attention_correct(dout: Tensor, cache: Any) -> tuple[Tensor, Tensor, Tensor]:
    return _attention_grads(dout, cache, score_scale=True)


def attention_slip(dout: Tensor, cache: Any) -> tuple[Tensor, Tensor, Tensor]:
    """dq = dS k, dk = dSᵀ q: the 1/√d of the scores is missing from the score backward."""
    return _attention_grads(dout, cache, score_scale=False)


def attention_inputs(dtype: str | torch.dtype, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """q, k, v (8, 8): one head of 8 tokens, scores of order one."""
    dt = _dtype(dtype)
    gen = torch.Generator().manual_seed(3000 + seed)
    T, d = 8, 8
    return tuple(_randn(gen, T, d).to(dt) for _ in range(3))  # type: ignore[return-value]


# --- low_accumulation: forward(x, w) = x @ w, dw accumulated over micro-batches ---------------


def low_accumulation_correct(dout: Tensor, cache: Any) -> tuple[Tensor, Tensor]:
    xa, wa, xdt, wdt = cache
    d = dout.to(xa.dtype)
    dx = d @ wa.T
    dw = xa.T @ d  # the whole batch accumulated in acc (float32 at the least), rounded once
    return dx.to(xdt), dw.to(wdt)


def low_accumulation_slip(dout: Tensor, cache: Any) -> tuple[Tensor, Tensor]:
    """dw = Σ over micro-batches of chunkᵀ dout_chunk, each partial (computed in acc)
    added into a buffer of the input dtype and so rounded to it after every micro-batch."""
    xa, wa, xdt, wdt = cache
    d = dout.to(xa.dtype)
    dx = d @ wa.T
    buf = torch.zeros(wa.shape, dtype=wdt)  # the slip: the input dtype, not acc
    for xc, dc in zip(xa.chunk(ACC_CHUNKS, dim=0), d.chunk(ACC_CHUNKS, dim=0)):
        buf = (buf.to(xa.dtype) + xc.T @ dc).to(wdt)
    return dx.to(xdt), buf


def low_accumulation_inputs(dtype: str | torch.dtype, seed: int = 0) -> tuple[Tensor, Tensor]:
    """x (2048, 1) non-negative (a post-ReLU feature over a batch of 2048), w (1, 64)."""
    dt = _dtype(dtype)
    gen = torch.Generator().manual_seed(4000 + seed)
    x = _randn(gen, ACC_ROWS, ACC_IN).abs()
    w = _randn(gen, ACC_IN, ACC_OUT, scale=ACC_IN ** -0.5)
    return x.to(dt), w.to(dt)


# --- softmax: forward(x) = softmax over the last axis -----------------------------------------


def softmax_forward(x: Tensor) -> tuple[Tensor, Any]:
    acc = _acc(x.dtype)
    y = torch.softmax(x.to(acc), dim=-1)
    return y.to(x.dtype), (y, x.dtype)


def softmax_correct(dout: Tensor, cache: Any) -> Tensor:
    y, xdt = cache
    d = dout.to(y.dtype)
    return (y * (d - (y * d).sum(dim=-1, keepdim=True))).to(xdt)


def softmax_slip(dout: Tensor, cache: Any) -> Tensor:
    """dx = y · dout: the −Σ y·dout row-sum term is lost."""
    y, xdt = cache
    return (y * dout.to(y.dtype)).to(xdt)


def softmax_inputs(dtype: str | torch.dtype, seed: int = 0) -> tuple[Tensor]:
    """(x,): x (8, 16), standard normal logits."""
    dt = _dtype(dtype)
    gen = torch.Generator().manual_seed(5000 + seed)
    return (_randn(gen, 8, 16).to(dt),)


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Slip:
    """One forward, its correct backward and its slip (see the module docstring)."""

    name: str
    what: str  # the slip, in one line
    forward: Callable[..., tuple[Tensor, Any]]
    correct: Callable[[Tensor, Any], Grads]
    slip: Callable[[Tensor, Any], Grads]
    inputs: Callable[..., Any]  # inputs(dtype, seed=0) -> tuple of tensors
    dtypes: tuple[str, ...] = DTYPES  # where the slip differs from its twin


SLIPS: dict[str, Slip] = {
    s.name: s
    for s in (
        Slip(
            "layer_norm",
            "layer norm's dx drops the −mean(dxhat) term",
            layer_norm_forward,
            layer_norm_correct,
            layer_norm_slip,
            layer_norm_inputs,
        ),
        Slip(
            "weight_scale",
            "linear layer's dw is scaled by 1.03 (a 3 % error on the weight gradient)",
            linear_forward,
            weight_scale_correct,
            weight_scale_slip,
            weight_scale_inputs,
        ),
        Slip(
            "attention_scores",
            "attention's score backward misses the 1/√d factor in dq and dk",
            attention_forward,
            attention_correct,
            attention_slip,
            attention_inputs,
        ),
        Slip(
            "low_accumulation",
            "dw of x @ w accumulates its per-micro-batch partial sums in a buffer of the input dtype, not float32",
            linear_forward,
            low_accumulation_correct,
            low_accumulation_slip,
            low_accumulation_inputs,
            dtypes=("bfloat16", "float16"),
        ),
        Slip(
            "softmax",
            "softmax's backward loses the row-sum term: dx = y·dout",
            softmax_forward,
            softmax_correct,
            softmax_slip,
            softmax_inputs,
        ),
    )
}
