"""What else a backward pass must satisfy (``oracles.checks.properties``): each property seen
failing on a deliberately broken backward — with the property, the argument and the
numbers named — while the values alone may agree, and holding on correct ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backprop_reference import oracles
from backprop_reference.testbed import derivatives as cases
from backprop_reference.testbed.layers import LAYERS

rng = np.random.default_rng(15)
X, W, B = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)


def affine_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def failing(verdict, name: str, *words: str) -> None:
    assert verdict.status == "WRONG" and name in verdict.failed_properties, verdict.message()
    line = next(p.line() for p in verdict.properties if p.name == name)
    assert all(word in line for word in words), line
    assert f"property {name}: FAILS" in verdict.message()


def test_the_correct_layer_holds_every_property():
    verdict = oracles.check_layer(affine_forward, affine_backward, X, W, B, batch={"x": 0})
    assert verdict.ok and [p.name for p in verdict.properties] == list(oracles.PROPERTIES), verdict.message()
    assert "properties that hold: repeatable, linear, untouched, dtypes, batch" in verdict.message()


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_catalogued_layer_holds_its_properties(name):
    layer = LAYERS[name]
    verdict = oracles.check_layer(layer.forward, layer.backward, *layer.inputs(0))
    assert verdict.ok and len(verdict.properties) == 4, verdict.message()


def test_run_to_run_noise_far_below_the_numerical_tolerance_is_not_repeatable():
    noise = np.random.default_rng()  # unseeded: atomicAdd-like order effects, ~1e-15 relative

    def noisy(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx * (1 + 1e-15 * noise.standard_normal(dx.shape)), dw, db

    verdict = oracles.check_layer(affine_forward, noisy, X, W, B)
    assert all(c.ok for c in verdict.comparisons)  # every oracle agrees: the noise is far below their tolerances
    failing(verdict, "repeatable", "two backward calls on the same inputs and cache differ at x[", "nondet_tol 0")
    assert oracles.check_layer(affine_forward, noisy, X, W, B, nondet_tol=1e-12).ok  # a tolerance for parallel reductions


def test_a_buffer_never_zeroed_accumulates_across_calls():
    buffer = {"dw": np.zeros_like(W)}

    def accumulating(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        buffer["dw"] += dw  # the gradient buffer is never zeroed
        return dx, buffer["dw"].copy(), db

    verdict = oracles.check_layer(affine_forward, accumulating, X, W, B)
    failing(verdict, "repeatable", "w[")


def test_a_backward_that_ignores_the_scale_of_dout_is_not_linear():
    def normalised(dout, cache):  # "dout only gives the direction": scale dropped
        return affine_backward(dout / np.linalg.norm(dout), cache)

    failing(oracles.check_layer(affine_forward, normalised, X, W, B), "linear", "does not scale with dout")


def test_weight_decay_folded_into_the_backward_is_not_linear():
    def decayed(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw + 1e-4 * cache[1], db  # backward(0) = 1e-4 w, not 0

    verdict = oracles.check_layer(affine_forward, decayed, X, W, B, properties=("linear",))
    assert not verdict.ok
    failing(verdict, "linear")


def test_a_backward_that_writes_into_dout_touches_it():
    def in_place(dout, cache):
        x, w = cache
        dx, dw, db = affine_backward(dout, cache)
        dout[0] = 0.0  # the caller's dout reused as scratch after use
        return dx, dw, db

    failing(oracles.check_layer(affine_forward, in_place, X, W, B, properties=("untouched",)), "untouched", "backward wrote into dout", "dout[0, 0]")


def test_a_backward_that_modifies_its_cache_touches_it():
    def scratches(dout, cache):
        grads = affine_backward(dout, cache)
        cache[0][:] = 0.0  # reuses the cached x as scratch
        return grads

    failing(oracles.check_layer(affine_forward, scratches, X, W, B, properties=("untouched",)), "untouched", "backward modified the cache", "cache[0]")


def test_a_forward_that_writes_into_its_argument_touches_it():
    def relu_forward(x):
        x[x < 0] = 0  # in place: the caller's x changes
        return x, x

    verdict = oracles.check_layer(relu_forward, lambda dout, x: dout * (x > 0), X.copy(), properties=("untouched",))
    failing(verdict, "untouched", "forward wrote into its argument x")


def test_float32_gradients_for_float64_inputs_have_the_wrong_dtype():
    def single(dout, cache):
        return tuple(g.astype(np.float32) for g in affine_backward(dout, cache))

    failing(oracles.check_layer(affine_forward, single, X, W, B), "dtypes", "the gradient of x is float32, but x is float64")


def test_samples_leaking_into_each_other_break_batch_consistency():
    def leaking(dout, cache):  # the batch mean of dout instead of each sample's
        x, w = cache
        shared = np.broadcast_to(dout.mean(axis=0), dout.shape)
        return shared @ w.T, x.T @ dout, dout.sum(axis=0)

    verdict = oracles.check_layer(affine_forward, leaking, X, W, B, batch={"x": 0})
    failing(verdict, "batch", "samples leak into each other", "x[")


def test_a_cotangent_that_makes_the_reference_vanish_is_named_and_another_drawn():
    layer = LAYERS["batchnorm"]
    x, gamma, beta = layer.inputs(0)
    dout = np.ones((x.shape[0], x.shape[1]))  # dx of a normalisation layer cancels to 0 under ones
    verdict = oracles.check_layer(layer.forward, layer.backward, x, gamma, beta, cotangent=dout)
    assert verdict.ok, verdict.message()
    assert "the oracles' gradient vanishes for x under cotangent 1" in verdict.note and "cotangent 2 was added" in verdict.note
    # and the slip in dx that ones hid is caught through the added cotangent
    wrong = oracles.check_layer(layer.forward, layer.buggy_backward, x, gamma, beta, cotangent=dout, properties=False)
    assert not wrong.ok and wrong.worst.element.endswith("@ cotangent 2") and wrong.worst.element.startswith("x["), wrong.message()


# --- custom rules -------------------------------------------------------------------------------------


class Reentrant(torch.autograd.Function):
    """x², whose backward counts its calls on ctx and scales by them: not reentrant."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.calls = 0
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        ctx.calls += 1
        return 2 * x * g * ctx.calls


class WritesGradOutput(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.mul_(2 * x)  # in place into grad_output


def test_a_torch_function_must_be_reentrant_and_leave_grad_output_alone():
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    failing(oracles.check_torch_function(Reentrant, x), "repeatable", "Reentrant.backward")
    failing(oracles.check_torch_function(WritesGradOutput, x, properties=("untouched",)), "untouched", "wrote into grad_output")
    right, _ = cases.torch_functions()
    assert oracles.check_torch_function(right, *cases.torch_function_inputs()).properties_hold


def test_a_custom_vjp_holds_its_properties():
    (right, _), (x, w) = cases.custom_vjps(), cases.custom_vjp_inputs()
    verdict = oracles.check_custom_vjp(right, x, w, batch={"x": 0})
    assert verdict.ok and "batch" in [p.name for p in verdict.properties], verdict.message()


# --- options --------------------------------------------------------------------------------------


BAD = [
    ("properties a string", dict(properties="linear"), TypeError, "properties must be True, False or a sequence of names"),
    ("unknown property", dict(properties=("linear", "pure")), ValueError, "unknown property 'pure' in properties; known: repeatable"),
    ("nondet_tol negative", dict(nondet_tol=-1e-9), ValueError, r"nondet_tol must be a number in \[0, 1\)"),
    ("batch of a non-argument", dict(batch={"y": 0}), ValueError, "batch names 'y', which is not an argument; the arguments are x, w, b"),
    ("batch axis out of range", dict(batch={"x": 2}), ValueError, "batch: the axis of x must be an int within its 2 dimensions"),
    ("batch without its property", dict(batch={"x": 0}, properties=("linear",)), ValueError, "batch= declares the batch axes for the batch property"),
]


@pytest.mark.parametrize(("options", "error", "match"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_options_are_refused_before_any_work(options, error, match):
    refused_before_the_backward(affine_forward, options, error, match)


def refused_before_the_backward(forward, options: dict, error: type, match: str) -> None:
    """``check_layer`` with ``options`` raises ``error`` before the backward pass is ever called."""
    calls = []

    def counted(dout, cache):
        calls.append(1)
        return affine_backward(dout, cache)

    with pytest.raises(error, match=match):
        oracles.check_layer(forward, counted, X, W, B, **options)
    assert not calls


def test_running_statistics_in_a_settings_dict_are_no_false_alarm():
    def batchnorm_forward(x, gamma, beta, bn_param):  # CS231n's: updates bn_param's running mean by design
        mu, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = 0.9 * bn_param["running_mean"] + 0.1 * mu
        xhat = (x - mu) / np.sqrt(var + 1e-5)
        return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + 1e-5))

    def batchnorm_backward(dout, cache):
        xhat, gamma, std = cache
        dxhat = dout * gamma
        return (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std, (dout * xhat).sum(axis=0), dout.sum(axis=0)

    bn_param = {"mode": "train", "running_mean": np.zeros(3)}
    verdict = oracles.check_layer(batchnorm_forward, batchnorm_backward, X, np.ones(3), np.zeros(3), bn_param)
    assert verdict.ok and "untouched" in [p.name for p in verdict.properties], verdict.message()
    assert np.array_equal(bn_param["running_mean"], np.zeros(3))  # the caller's dict: a fresh copy went to every call


# --- what a new user's trial found ---------------------------------------------------------------


class PreallocatedAffine:
    """An object layer whose gradient buffers exist from the start and are filled with out=: correct."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.dW, self.db = np.zeros_like(W), np.zeros_like(b)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        np.matmul(self.x.T, dout, out=self.dW)
        self.db[...] = dout.sum(axis=0)
        return dout @ self.W.T


def test_gradient_buffers_filled_in_place_are_outputs_not_writes_into_the_cache():
    forward, backward = oracles.object_layer(PreallocatedAffine(W, B), parameters=("W", "b"))
    verdict = oracles.check_layer(forward, backward, X, W, B)
    assert verdict.ok and "untouched" in [p.name for p in verdict.properties], verdict.message()


def test_a_buffer_returned_by_reference_and_never_zeroed_is_not_repeatable():
    buffer = np.zeros_like(W)

    def aliasing(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        np.add(buffer, dw, out=buffer)
        return dx, buffer, db  # the same array every call

    failing(oracles.check_layer(affine_forward, aliasing, X, W, B, properties=("repeatable",)), "repeatable", "w[")


def test_nondet_tol_also_widens_linearity():
    noise = np.random.default_rng()

    def noisy(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx * (1 + 3e-12 * noise.standard_normal(dx.shape)), dw, db

    assert oracles.check_layer(affine_forward, noisy, X, W, B, nondet_tol=1e-10).ok


def test_a_float32_gradient_fails_dtypes_and_only_dtypes():
    def single_dw(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw.astype(np.float32), db

    verdict = oracles.check_layer(affine_forward, single_dw, X, W, B)
    assert verdict.failed_properties == ("dtypes",), verdict.message()
    assert "float32 gradients for float64 inputs" in verdict.note


def test_a_backward_that_consumes_its_cache_says_so():
    def consuming(dout, cache):
        x, w = cache.pop("x"), cache["w"]
        return dout @ w.T, x.T @ dout, dout.sum(axis=0)

    verdict = oracles.check_layer(lambda x, w, b: (x @ w + b, {"x": x, "w": w}), consuming, X, W, B, properties=("repeatable",))
    failing(verdict, "repeatable", "a second backward call on the same cache raised KeyError", "cannot be called twice")


@pytest.mark.parametrize(("forward", "options", "match"), [
    (affine_forward, dict(properties=("batch",)), 'properties= names "batch", which needs batch='),
    (lambda x, w, b: (np.sum(x @ w + b), (x, w)), dict(batch={"x": 0}), r"batch: every output must be batched along its first axis, with the batch size 4 .* out has shape \(\)"),
    (affine_forward, dict(batch={"x": -1}), r"batch size 3 of the declared arguments; out has shape \(4, 2\)"),
])
def test_batch_declarations_that_cannot_hold_are_refused_before_the_backward(forward, options, match):
    refused_before_the_backward(forward, options, ValueError, match)
