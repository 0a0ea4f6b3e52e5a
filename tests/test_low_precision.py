"""The catalogue of low-precision slips (``testbed.low_precision``): in bfloat16, float16
and float32 torch code, every slip is WRONG, and its correct twin — and torch's own
autograd of the same forward — OK, judged by the framework rule (``oracles.engine.precision``)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from backprop_reference import oracles  # noqa: E402
from backprop_reference.testbed.low_precision import DTYPES, SLIPS  # noqa: E402

CASES = [(name, dtype) for name in SLIPS for dtype in DTYPES]
ORACLES = ("torch", "central")  # two independent methods: torch.autograd and central differences of the forward, in float64


def _inputs(slip, dtype):
    inputs = slip.inputs(dtype, seed=0)
    return inputs if isinstance(inputs, tuple) else (inputs,)


def _check(slip, backward, dtype):
    return oracles.check_layer(slip.forward, backward, *_inputs(slip, dtype), cotangents=1, properties=False, oracles=ORACLES)


def _autograd(slip):
    def backward(dout, cache):
        inputs = [t.detach().requires_grad_() for t in cache]
        out, _ = slip.forward(*inputs)
        return torch.autograd.grad(out, inputs, dout)

    def forward(*args):
        return slip.forward(*args)[0], args

    return forward, backward


@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_the_correct_twin_passes(name, dtype):
    verdict = _check(SLIPS[name], SLIPS[name].correct, dtype)
    assert verdict.ok, verdict
    assert {p.rule for p in verdict.precision} == {"framework"}


@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_torch_autograd_of_the_same_forward_passes(name, dtype):
    forward, backward = _autograd(SLIPS[name])
    verdict = oracles.check_layer(forward, backward, *_inputs(SLIPS[name], dtype), cotangents=1, properties=False, oracles=ORACLES)
    assert verdict.ok, verdict


@pytest.mark.parametrize(("name", "dtype"), [(n, d) for n, d in CASES if d in SLIPS[n].dtypes])
def test_every_slip_is_wrong(name, dtype):
    verdict = _check(SLIPS[name], SLIPS[name].slip, dtype)
    assert verdict.status == "WRONG", verdict
    assert "EXCEEDS" in str(verdict), verdict


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_three_percent_dw_scale_in_the_layer_norm_is_wrong(dtype):
    """The layer norm computes in float32 inside and returns its input dtype; a 3 % scale on dw is caught in every dtype."""
    entry = SLIPS["layer_norm"]

    def scaled(dout, cache):
        dx, dw, db = entry.correct(dout, cache)
        return dx, (dw.float() * 1.03).to(dw.dtype), db

    verdict = _check(entry, scaled, dtype)
    assert verdict.status == "WRONG" and "your " + dtype + " w" in str(verdict), verdict
    assert any(p.name.startswith("w") and not p.ok for p in verdict.precision), verdict
