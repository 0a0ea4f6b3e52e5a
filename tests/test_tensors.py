"""Derivatives where they live: torch tensors and jax arrays at every entry point, in
their own dtype and device, judged to their precision (``oracles.checks.tensors``,
``oracles.engine.precision``), and ``jax.custom_jvp`` rules."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jnp = jax.numpy
ml_dtypes = pytest.importorskip("ml_dtypes")

from backprop_reference import oracles  # noqa: E402

LOW = (torch.bfloat16, torch.float16, torch.float32)


def _seeded(*shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


X, W, B = _seeded(8, 5, seed=1), _seeded(5, 3, seed=2), _seeded(3, seed=3)


# --- a tanh layer, in torch float64: every entry point takes the tensors ---------------------------


def tanh_forward(x, w, b):
    acc = torch.promote_types(x.dtype, torch.float32)
    h = torch.tanh(x.to(acc) @ w.to(acc) + b.to(acc))
    return h.to(x.dtype), (x, w, h)


def tanh_backward(dout, cache, *, scale=1.0, averaged=False):
    x, w, h = cache
    dz = dout.to(h.dtype) * (1 - h * h)
    dw = x.to(h.dtype).T @ dz
    if averaged:
        dw = dw / x.shape[0]  # the slip: a batch-averaged dw for a summed loss
    return (dz @ w.to(h.dtype).T).to(x.dtype), (scale * dw).to(w.dtype), dz.sum(0).to(x.dtype)


def tanh_f(x, w, b):
    return tanh_forward(x, w, b)[0]


def tanh_vjp(c, x, w, b, **slip):
    return tanh_backward(c, tanh_forward(x, w, b)[1], **slip)


def tanh_loss(x, w, b):
    return torch.sum(tanh_f(x, w, b) ** 2)


def tanh_loss_grad(x, w, b, **slip):
    return tanh_vjp(2 * tanh_f(x, w, b), x, w, b, **slip)


SLIPS = {"a 1e-6 slip": dict(scale=1 + 1e-6), "a batch-averaged dw": dict(averaged=True)}


def test_torch_float64_tensors_a_correct_tanh_layer_passes_every_entry_point():
    args = (X, W, B)
    verdicts = {
        "check_gradient": oracles.check_gradient(tanh_loss, tanh_loss_grad, args, argnums=(0, 1, 2)),
        "check_vjp": oracles.check_vjp(tanh_f, tanh_vjp, *args),
        "check_layer": oracles.check_layer(tanh_forward, tanh_backward, *args),
    }
    for name, verdict in verdicts.items():
        assert verdict.ok, f"{name}: {verdict}"
        assert "torch" in verdict.oracles_ran and "richardson" in verdict.oracles_ran, name
        assert "ran on your float64 torch tensors on cpu" in verdict.note and "the check took" in verdict.note, name
    assert "properties that hold: repeatable, linear, untouched, dtypes" in str(verdicts["check_layer"])


@pytest.mark.parametrize("slip", list(SLIPS))
def test_torch_float64_tensors_a_slip_is_caught_at_every_entry_point(slip):
    args, wrong = (X, W, B), SLIPS[slip]
    assert not oracles.check_gradient(tanh_loss, lambda *a: tanh_loss_grad(*a, **wrong), args, argnums=(0, 1, 2)).ok
    assert not oracles.check_vjp(tanh_f, lambda c, *a: tanh_vjp(c, *a, **wrong), *args).ok
    verdict = oracles.check_layer(tanh_forward, lambda d, c: tanh_backward(d, c, **wrong), *args)
    assert verdict.status == "WRONG" and verdict.worst.element.startswith("w["), verdict


def test_the_users_tensors_are_neither_moved_nor_cast_nor_left_requiring_grad():
    x, w, b = X.to(torch.bfloat16), W.to(torch.bfloat16), B.to(torch.bfloat16)
    before = [t.clone() for t in (x, w, b)]
    oracles.check_layer(tanh_forward, tanh_backward, x, w, b)
    for t, was in zip((x, w, b), before):
        assert t.dtype == torch.bfloat16 and t.device.type == "cpu" and not t.requires_grad
        assert torch.equal(t, was)


def test_the_derivative_is_called_with_the_users_dtype_and_the_oracles_with_float64():
    seen = {"f": set(), "vjp": set()}

    def f(x):
        seen["f"].add(x.dtype)
        return torch.sin(x.float()).to(x.dtype)

    def vjp(c, x):
        seen["vjp"].add((x.dtype, c.dtype))
        return (c.float() * torch.cos(x.float())).to(x.dtype)

    verdict = oracles.check_vjp(f, vjp, X[0].to(torch.bfloat16))
    assert verdict.ok, verdict
    assert seen["vjp"] == {(torch.bfloat16, torch.bfloat16)}
    assert seen["f"] == {torch.float64, torch.bfloat16}  # the oracles' float64 copies; the framework's own bfloat16 run (never float32)


def test_x_float_inside_the_forward_computes_in_float64_for_the_truth():
    """Kernel code upcasts with ``x.float()``; on the oracles' float64 copies that cast keeps float64
    (``tensors.at_least_float64``), so the numerical oracles see float64 mathematics, not float32 steps."""
    def f(x):
        return (torch.sin(x.float()) * x.float()).to(x.dtype)

    def jvp(t, x):
        xf = x.float()
        return (t.float() * (torch.cos(xf) * xf + torch.sin(xf))).to(x.dtype)

    verdict = oracles.check_jvp(f, jvp, torch.linspace(-0.9, 1.1, 5).to(torch.bfloat16))
    assert verdict.ok and {"torch", "richardson", "central"} <= set(verdict.oracles_ran), verdict
    assert not any(c.kinks for c in verdict.comparisons), "float32 steps seen as kinks: the truth ran in float32"
    assert torch.float32 == torch.ones(1).float().dtype  # the mode is gone after the check


# --- low precision judged to its precision ---------------------------------------------------------


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_a_correct_low_precision_layer_passes_with_the_rule_and_its_ratio_stated(dtype):
    verdict = oracles.check_layer(tanh_forward, tanh_backward, X.to(dtype), W.to(dtype), B.to(dtype))
    assert verdict.ok, verdict
    name = str(dtype).removeprefix("torch.")
    text = str(verdict)
    assert f"low precision: your {name} w" in text and f"torch's own {name} autograd of the same forward" in text
    assert "ratio" in text and "allowed: k·theirs + floor" in text
    assert {p.rule for p in verdict.precision} == {"framework"} and all(p.ok for p in verdict.precision)


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_a_three_percent_dw_scale_in_low_precision_is_wrong(dtype):
    verdict = oracles.check_layer(tanh_forward, lambda d, c: tanh_backward(d, c, scale=1.03), X.to(dtype), W.to(dtype), B.to(dtype))
    assert verdict.status == "WRONG", verdict
    assert not all(p.ok for p in verdict.precision) and "EXCEEDS" in str(verdict)


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_torch_autograd_of_the_same_forward_passes_in_its_dtype(dtype):
    def autograd_backward(dout, cache):
        x, w, b = (t.detach().requires_grad_() for t in cache)
        out = tanh_f(x, w, b)
        return torch.autograd.grad(out, (x, w, b), dout)

    def forward(x, w, b):
        return tanh_f(x, w, b), (x, w, b)

    verdict = oracles.check_layer(forward, autograd_backward, X.to(dtype), W.to(dtype), B.to(dtype))
    assert verdict.ok, verdict


def test_k_is_the_multiple_of_the_frameworks_own_error():
    """A slip of a few roundings passes at a generous k and fails at k = 1: k decides, as stated."""
    x, w, b = (t.to(torch.bfloat16) for t in (X, W, B))
    slipped = lambda d, c: tanh_backward(d, c, scale=1.012)  # noqa: E731
    assert oracles.check_layer(tanh_forward, slipped, x, w, b, k=8.0, properties=False).ok
    strict = oracles.check_layer(tanh_forward, slipped, x, w, b, k=1.0, properties=False)
    assert not strict.ok and "1 × " in str(strict)


def test_atol_and_rtol_decide_where_given_and_are_printed():
    x, w, b = (t.to(torch.bfloat16) for t in (X, W, B))
    slipped = lambda d, c: tanh_backward(d, c, scale=1.03)  # noqa: E731
    loose = oracles.check_layer(tanh_forward, slipped, x, w, b, atol=0.5, rtol=0.1, properties=False)
    assert loose.ok and "your tolerance atol = 0.5, rtol = 0.1" in str(loose)
    tight = oracles.check_layer(tanh_forward, slipped, x, w, b, atol=1e-3, rtol=0.0, properties=False)
    assert not tight.ok and {p.rule for p in tight.precision} == {"explicit"}


def test_a_gradient_returned_in_another_dtype_fails_the_dtypes_property():
    def float32_grads(dout, cache):
        return tuple(g.float() for g in tanh_backward(dout, cache))

    verdict = oracles.check_layer(tanh_forward, float32_grads, *(t.to(torch.bfloat16) for t in (X, W, B)))
    assert verdict.failed_properties == ("dtypes",), verdict
    assert "is torch float32 on cpu, but x is torch bfloat16 on cpu" in str(verdict)


def test_numpy_bfloat16_and_float16_arrays_are_taken():
    x = np.linspace(-1.2, 0.9, 7)

    def f(x, xp):
        return xp.sum(xp.tanh(x) ** 2)

    def grad(x):
        h = np.tanh(x.astype(np.float32))
        return (2 * h * (1 - h ** 2)).astype(x.dtype)

    verdict = oracles.check_gradient(f, grad, x.astype(ml_dtypes.bfloat16))  # an xp f: torch runs it in bfloat16
    assert verdict.ok and verdict.precision[0].rule == "framework", verdict

    def plain(x):
        return np.sum(np.tanh(x.astype(np.float64)) ** 2)

    half = x.astype(np.float16)
    verdict = oracles.check_gradient(plain, grad, half)  # no framework runs a plain NumPy f: the rounding rule
    assert verdict.ok and verdict.precision[0].rule == "rounding" and "rounding rule" in str(verdict), verdict
    assert not oracles.check_gradient(plain, lambda x: (grad(x).astype(np.float32) * 1.03).astype(np.float16), half).ok


# --- jax arrays --------------------------------------------------------------------------------------


def test_jax_arrays_are_taken_in_their_dtype_and_judged_by_jax():
    Wj = jnp.asarray(np.random.default_rng(0).standard_normal((6, 4)), dtype=jnp.float32)

    def f(x):
        acc = jnp.promote_types(x.dtype, jnp.float32)
        return jnp.sum(jnp.tanh(x.astype(acc) @ Wj.astype(acc)) ** 2)

    def grad(x):
        acc = jnp.promote_types(x.dtype, jnp.float32)
        h = jnp.tanh(x.astype(acc) @ Wj.astype(acc))
        return ((2 * h * (1 - h ** 2)) @ Wj.astype(acc).T).astype(x.dtype)

    x = jnp.asarray(np.random.default_rng(1).standard_normal((5, 6)), dtype=jnp.bfloat16)
    x64_before = jax.config.jax_enable_x64
    verdict = oracles.check_gradient(f, grad, x)
    assert verdict.ok and "jax" in verdict.oracles_ran and verdict.precision[0].framework == "jax", verdict
    assert not oracles.check_gradient(f, lambda x: grad(x) * 1.03, x).ok
    assert jax.config.jax_enable_x64 == x64_before


# --- jax.custom_jvp rules ------------------------------------------------------------------------------


@jax.custom_jvp
def softplus(x):
    return jnp.logaddexp(x, 0.0)


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * jax.nn.sigmoid(x)


@jax.custom_jvp
def softplus_slipped(x):
    return jnp.logaddexp(x, 0.0)


@softplus_slipped.defjvp
def _softplus_slipped_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus_slipped(x), t * jax.nn.sigmoid(x) * (1 + 1e-7)


POINTS = jnp.asarray([-1.5, -0.3, 0.0, 0.4, 2.0], dtype=jnp.float32)


def test_jax_nn_relu_is_checked_directly_kink_included():
    verdict = oracles.check_custom_jvp(jax.nn.relu, POINTS)
    assert verdict.ok and verdict.oracles_ran == ("richardson", "central"), verdict
    assert any(c.kinks for c in verdict.comparisons)  # relu at 0: judged by its one-sided derivatives
    assert "would run the rule under test" in str(verdict)


def test_a_custom_jvp_softplus_passes_and_a_1e7_slip_in_its_rule_is_caught():
    assert oracles.check_custom_jvp(softplus, POINTS).ok
    verdict = oracles.check_custom_jvp(softplus_slipped, POINTS)
    assert verdict.status == "WRONG", verdict


def test_check_custom_jvp_refuses_what_is_not_a_custom_jvp():
    with pytest.raises(TypeError, match="fn must be a jax.custom_jvp function; got a jax.custom_vjp"):
        oracles.check_custom_jvp(jax.custom_vjp(lambda x: x), POINTS)


# --- the Taylor test, golden files ------------------------------------------------------------------


def test_taylor_test_takes_a_float64_tensor_and_refuses_a_low_precision_one():
    x = X[0].clone()
    assert oracles.taylor_test(lambda x: torch.sum(torch.sin(x)), lambda x: torch.cos(x), x).ok
    assert not oracles.taylor_test(lambda x: torch.sum(torch.sin(x)), lambda x: torch.cos(x) * (1 + 1e-4), x).ok
    with pytest.raises(ValueError, match="taylor_test needs a float64 x.*bfloat16.*check_gradient"):
        oracles.taylor_test(lambda x: torch.sum(torch.sin(x)), lambda x: torch.cos(x), x.to(torch.bfloat16))


# --- bad input: refused before any work ----------------------------------------------------------------


def _never(*_):
    raise AssertionError("called: the input should have been refused before any work")


BAD = [
    ("an integer tensor to differentiate", lambda: oracles.check_gradient(_never, _never, torch.arange(3)), TypeError,
     r"check_gradient has no floating argument to differentiate \(args\[0\] is torch int64 on cpu\); accepted: float64, float32"),
    ("a complex tensor", lambda: oracles.check_gradient(_never, _never, torch.ones(3, dtype=torch.complex64)), TypeError,
     r"argument args\[0\] of check_gradient is torch complex64: complex arrays are not checked here; accepted: float64, float32, float16 or bfloat16"),
    ("a float8 tensor", lambda: oracles.check_layer(_never, _never, torch.ones(3).to(torch.float8_e4m3fn)), TypeError,
     r"argument args\[0\] of check_layer is torch float8_e4m3fn, a dtype the oracles cannot run; accepted"),
    ("mixed dtypes", lambda: oracles.check_vjp(_never, _never, X.to(torch.bfloat16), W.to(torch.float16)), TypeError,
     r"differentiated arguments of check_vjp have different dtypes \(args\[0\] is bfloat16, args\[1\] is float16\): one precision rule"),
    ("a tensor that requires grad", lambda: oracles.check_vjp(_never, _never, X.clone().requires_grad_()), TypeError,
     r"args\[0\] of check_vjp is a torch tensor that requires grad.*owns the graph; pass args\[0\].detach\(\)"),
    ("torch and jax mixed", lambda: oracles.check_vjp(_never, _never, X, jnp.ones(3)), TypeError,
     r"the arguments of check_vjp mix frameworks \(args\[0\] is a torch array, args\[1\] is a jax array\)"),
    ("k below one", lambda: oracles.check_layer(_never, _never, X, k=0.5), ValueError, "k must be a finite number ≥ 1"),
    ("atol and rtol both zero", lambda: oracles.check_gradient(_never, _never, X, atol=0.0, rtol=0.0), ValueError,
     "atol and rtol are both 0"),
]


@pytest.mark.parametrize(("case", "call", "error", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_tensor_input_is_refused_before_any_work(case, call, error, words):
    with pytest.raises(error, match=words):
        call()


# --- custom torch rules in bfloat16 ------------------------------------------------------------------


class _Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


def test_a_bfloat16_torch_function_is_checked_in_float64_or_refused_unpromoted():
    x = X[0].to(torch.bfloat16)
    verdict = oracles.check_torch_function(_Tanh, x)
    assert verdict.ok and "x: bfloat16" in verdict.note, verdict
    with pytest.raises(TypeError, match="argument x of check_torch_function is bfloat16.*pass promote=True"):
        oracles.check_torch_function(_Tanh, x, promote=False)


# --- the product checks on tensors ---------------------------------------------------------------------


LINE = torch.linspace(-0.9, 1.1, 5, dtype=torch.float64)


def _sinx(x):
    return torch.sin(x) * x


def _dsinx(x):
    return torch.cos(x) * x + torch.sin(x)


def test_jvp_jacobian_and_hvp_take_torch_tensors_and_catch_a_1e6_slip():
    assert oracles.check_jvp(_sinx, lambda t, x: t * _dsinx(x), LINE).ok
    assert not oracles.check_jvp(_sinx, lambda t, x: t * _dsinx(x) * (1 + 1e-6), LINE).ok
    assert oracles.check_jacobian(_sinx, lambda x: torch.diag(_dsinx(x)), LINE).ok
    assert not oracles.check_jacobian(_sinx, lambda x: torch.diag(_dsinx(x) * (1 + 1e-6)), LINE).ok
    total = lambda x: torch.sum(_sinx(x))  # noqa: E731
    d2 = lambda x: 2 * torch.cos(x) - torch.sin(x) * x  # noqa: E731
    verdict = oracles.check_hvp(total, lambda v, x: v * d2(x), LINE)
    assert verdict.ok and "torch" in verdict.oracles_ran, verdict  # torch.func's own second derivative is the exact oracle
    assert not oracles.check_hvp(total, lambda v, x: v * d2(x) * (1 + 1e-6), LINE).ok


def test_a_given_cotangent_may_be_a_tensor():
    verdict = oracles.check_vjp(_sinx, lambda c, x: c * _dsinx(x), LINE, cotangent=torch.ones(5, dtype=torch.float64))
    assert verdict.ok and verdict.elements == 5, verdict


def test_an_object_layer_holding_tensors_is_checked():
    class Linear:
        def __init__(self):
            self.W = W.clone()

        def forward(self, x):
            self.x = x
            return x @ self.W

        def backward(self, dout):
            self.dW = self.x.T @ dout
            return dout @ self.W.T

    forward, backward = oracles.object_layer(Linear(), parameters=("W",))
    verdict = oracles.check_layer(forward, backward, X, W.clone())
    assert verdict.ok and "torch" in verdict.oracles_ran, verdict


def test_golden_files_take_float32_and_float64_tensors_and_refuse_lower(tmp_path):
    from backprop_reference.reference.mlp import MLP

    config = oracles.GoldenConfig("tiny", MLP((2, 3, 1), ("tanh", "identity"), "squared_error"), seed=0)
    mlp, params, X_, Y_ = oracles.golden_inputs(config)
    grads = oracles.gradients(mlp, params, X_, Y_, oracle="torch")
    as_tensors = [(torch.from_numpy(dW), torch.from_numpy(db)) for dW, db in grads]
    path = oracles.save_golden(tmp_path / "g.npz", config, as_tensors, implementation="torch")
    assert oracles.compare_golden(path, as_tensors).ok
    with pytest.raises(TypeError, match="grads holds a torch bfloat16 array; a golden file holds float32 or float64"):
        oracles.compare_golden(path, [(dW.to(torch.bfloat16), db) for dW, db in as_tensors])


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16], ids=str)
def test_a_backward_that_writes_into_dout_fails_untouched_in_any_dtype(dtype):
    def scribbling(dout, cache):
        grads = tanh_backward(dout, cache)
        dout.mul_(0)  # in place, after use
        return grads

    verdict = oracles.check_layer(tanh_forward, scribbling, *(t.to(dtype) for t in (X, W, B)))
    assert verdict.failed_properties == ("untouched",), verdict
    assert "backward wrote into dout" in str(verdict)


def test_a_forward_that_writes_into_its_tensor_argument_fails_untouched():
    def clamping(x, w, b):
        out, cache = tanh_forward(x, w, b)
        x.clamp_(min=0)  # in place: the caller's x would change
        return out, cache

    verdict = oracles.check_layer(clamping, tanh_backward, *(t.to(torch.bfloat16) for t in (X, W, B)), cotangents=1)
    assert "untouched" in verdict.failed_properties and "forward wrote into its argument x" in str(verdict), verdict


def test_jax_arrays_in_a_layer_and_a_vjp():
    def forward(x, w):
        h = jnp.tanh(x @ w)
        return h, (x, w, h)

    def backward(dout, cache, scale=1.0):
        x, w, h = cache
        dz = dout * (1 - h * h)
        return dz @ w.T, scale * (x.T @ dz)

    x = jnp.asarray(np.random.default_rng(0).standard_normal((6, 4)), dtype=jnp.float32)
    w = jnp.asarray(np.random.default_rng(1).standard_normal((4, 3)), dtype=jnp.float32)
    verdict = oracles.check_layer(forward, backward, x, w)
    assert verdict.ok and "jax" in verdict.oracles_ran and {p.rule for p in verdict.precision} == {"framework"}, verdict
    assert "ran on your float32 jax arrays on cpu" in verdict.note
    assert not oracles.check_layer(forward, lambda d, c: backward(d, c, scale=1.001), x, w).ok


def test_the_sampled_mode_is_refused_for_tensors():
    with pytest.raises(ValueError, match="mode='sampled' is not offered for torch tensors"):
        oracles.check_gradient(tanh_loss, tanh_loss_grad, (X, W, B), mode="sampled")
