"""The checks on a CUDA GPU: the user's tensors stay on the device for their forward and
backward, the oracles run on float64 copies there (torch) and on the CPU (the numerical
oracles' float64 evaluations of f also run on the device).  Skipped, saying why, where torch
sees no GPU; the same checks run on the CPU in tests/test_tensors.py."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from backprop_reference import oracles  # noqa: E402

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA GPU: torch.cuda.is_available() is False on this machine (torch "
    f"{torch.__version__}, CUDA build {torch.version.cuda or 'none'}); the same checks run on the CPU in tests/test_tensors.py",
)


def forward(x, w):
    acc = torch.promote_types(x.dtype, torch.float32)
    h = torch.tanh(x.to(acc) @ w.to(acc))
    return h.to(x.dtype), (x, w, h)


def backward(dout, cache, scale=1.0):
    x, w, h = cache
    assert dout.is_cuda and x.is_cuda, "the user's backward must run on the device"
    dz = dout.to(h.dtype) * (1 - h * h)
    return (dz @ w.to(h.dtype).T).to(x.dtype), (scale * (x.to(h.dtype).T @ dz)).to(w.dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16, torch.float16], ids=str)
def test_a_layer_on_cuda_is_checked_where_it_runs(dtype):
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(16, 8, device="cuda", generator=g, dtype=torch.float64).to(dtype)
    w = torch.randn(8, 4, device="cuda", generator=g, dtype=torch.float64).to(dtype)
    verdict = oracles.check_layer(forward, backward, x, w)
    assert verdict.ok, verdict
    assert "on cuda:0" in verdict.note and "the check took" in verdict.note
    assert x.is_cuda and x.dtype == dtype
    assert not oracles.check_layer(forward, lambda d, c: backward(d, c, scale=1.03), x, w).ok


def test_a_gradient_returned_on_the_cpu_fails_the_dtypes_property():
    x = torch.randn(4, 3, device="cuda", dtype=torch.float64)
    w = torch.randn(3, 2, device="cuda", dtype=torch.float64)
    verdict = oracles.check_layer(forward, lambda d, c: tuple(t.cpu() for t in backward(d, c)), x, w)
    assert "dtypes" in verdict.failed_properties and "on cpu, but x is torch float64 on cuda:0" in str(verdict)


class _Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        assert x.is_cuda, "the Function runs where its tensors are"
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * g * x ** 2


def test_a_cuda_only_function_is_checked_on_cuda():
    verdict = oracles.check_torch_function(_Cube, torch.linspace(-1, 1, 6, device="cuda"))
    assert verdict.ok and "ran on cuda:0" in verdict.note, verdict
