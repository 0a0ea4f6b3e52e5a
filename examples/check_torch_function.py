"""Check a torch.autograd.Function's backward against numerical derivatives of its forward (never itself)."""

import torch

from backprop_reference import oracles


class ScaledTanh(torch.autograd.Function):
    """y = a · tanh(x / a)."""

    @staticmethod
    def forward(ctx, x, a):
        t = torch.tanh(x / a)
        ctx.save_for_backward(x, a, t)
        return a * t

    @staticmethod
    def backward(ctx, g):
        x, a, t = ctx.saved_tensors
        dx = g * (1 - t * t)
        da = g * (t - x / a * (1 - t * t))
        return dx, da.sum().reshape(a.shape)


x, a = torch.randn(3, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([2.0])  # float32: checked in float64
print(oracles.check_torch_function(ScaledTanh, x, a))


class ScaledTanhSlip(ScaledTanh):
    @staticmethod
    def backward(ctx, g):  # ∂y/∂a without the −x/a·(1 − t²) term
        x, a, t = ctx.saved_tensors
        return g * (1 - t * t), (g * t).sum().reshape(a.shape)


verdict = oracles.check_torch_function(ScaledTanhSlip, x, a)
print()
print(verdict.message().splitlines()[0], verdict.message().splitlines()[1], sep="\n")
assert not verdict.ok and verdict.worst.element.startswith("a[0]")
