"""Any hand-written derivative: layers with an upstream gradient, vector–Jacobian and
Jacobian–vector products, full Jacobians, Hessian–vector products, second
derivatives of activations, torch.autograd.Function and jax.custom_vjp rules.

For each, the correct version passes and one realistic bug is caught with the
element named by its argument (``w[0, 2] @ cotangent 1``); kinks (relu's zeros,
max-pool's ties, abs at 0) are judged by their one-sided derivatives, not called
wrong; bad input is refused with the argument named."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from backprop_reference import oracles
from backprop_reference.oracles.checks.registration import RegistrationError
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.testbed import derivatives as cases
from backprop_reference.testbed.layers import LAYERS

rng = np.random.default_rng(14)
ELEMENT = re.compile(r"^(\w+)(\[[\d, ]+\])?( @ (cotangent|tangent|vector) \d+)?$")


def named_by(element: str, names) -> bool:
    """``element`` is ``name[i, j]`` (qualified by its probe) for one of the argument ``names``."""
    match = ELEMENT.match(element)
    return bool(match) and match.group(1) in names


# --- layers ----------------------------------------------------------------------------------


LAYER_ARGUMENTS = {
    "affine": ("x", "w", "b"), "relu": ("x",), "sigmoid": ("x",), "softmax_cross_entropy": ("x",),
    "batchnorm": ("x", "gamma", "beta"), "layernorm": ("x", "gamma", "beta"), "conv2d": ("x", "w", "b"),
    "max_pool": ("x",), "dropout": ("x",), "rnn_step": ("x", "prev_h", "Wx", "Wh", "b"), "rnn": ("x", "h0", "Wx", "Wh", "b"),
}


def test_every_layer_of_the_catalogue_is_covered():
    assert set(LAYERS) == set(LAYER_ARGUMENTS)


@pytest.mark.parametrize("name", list(LAYERS))
def test_a_correct_layer_passes(name):
    layer = LAYERS[name]
    verdict = oracles.check_layer(layer.forward, layer.backward, *layer.inputs(0))
    assert verdict.ok and verdict.status == "OK", verdict.message()
    assert verdict.oracles_ran == ("richardson", "central")  # a plain NumPy forward: the numerical oracles
    assert {name for name, _ in verdict.skipped} == {"jax", "torch", "complex_step"}


@pytest.mark.parametrize("name", list(LAYERS))
def test_a_layer_bug_is_caught_with_the_element_named(name):
    layer = LAYERS[name]
    verdict = oracles.check_layer(layer.forward, layer.buggy_backward, *layer.inputs(0))
    assert not verdict.ok and verdict.status == "WRONG", verdict.message()
    assert all(not c.ok for c in verdict.comparisons), verdict.message()
    assert named_by(verdict.worst.element, LAYER_ARGUMENTS[name]), verdict.worst.element
    assert f"worst: {verdict.worst.element}" in verdict.message()


@pytest.mark.parametrize(("name", "kinks"), [("relu", "zeros"), ("max_pool", "ties")])
def test_kinks_are_judged_by_one_sided_derivatives(name, kinks):
    layer = LAYERS[name]
    (x,) = layer.inputs(0)
    if name == "relu":
        assert np.sum(x == 0) >= 2
    verdict = oracles.check_layer(layer.forward, layer.backward, x)
    assert verdict.ok, verdict.message()
    assert all(c.kinks > 0 for c in verdict.comparisons), verdict.message()
    assert "not differentiable here, judged by their one-sided derivatives" in verdict.message()
    if name == "relu":  # the same element by plain central differences, with no kink rule: the stencil averages the sides
        dout = np.random.default_rng(0).standard_normal(x.shape)
        i = int(np.flatnonzero(x.reshape(-1) == 0)[0])
        moved = [x.reshape(-1).copy() for _ in range(2)]
        moved[0][i], moved[1][i] = 1e-6, -1e-6
        E = [np.sum(layer.forward(m.reshape(x.shape))[0] * dout) for m in moved]
        average = (E[0] - E[1]) / 2e-6
        assert abs(average - layer.backward(dout, layer.forward(x)[1]).reshape(-1)[i]) > 1e-3  # it would be called wrong


def test_the_complex_step_is_skipped_at_a_kink_for_that_reason():
    x = LAYERS["relu"].inputs(0)[0]
    verdict = oracles.check_vjp(lambda x, xp: xp.where(x > 0, x, 0 * x), lambda c, x: c * (x > 0), x)
    assert verdict.ok, verdict.message()
    why = dict(verdict.skipped)["complex_step"]
    assert "kink" in why and "not complex-safe" not in why
    assert {"jax", "torch"} <= set(verdict.oracles_ran)


def test_abs_at_zero_is_a_kink_not_an_error():
    x = np.array([0.0, 1.5, -2.0])
    for convention in (0.0, 1.0, -0.3):  # any value between the one-sided derivatives −1 and 1
        verdict = oracles.check_gradient(lambda x, xp: xp.sum(xp.abs(x)), lambda x: np.where(x == 0, convention, np.sign(x)), x)
        assert verdict.ok, verdict.message()
    wrong = oracles.check_gradient(lambda x, xp: xp.sum(xp.abs(x)), lambda x: np.where(x == 0, 1.5, np.sign(x)), x)
    assert not wrong.ok and wrong.worst.element == "x[0]", wrong.message()


def test_object_layers_run_on_a_fresh_copy_and_a_reset_random_state():
    class Dropout:  # draws its mask from NumPy's global random state, keeps a call count
        def __init__(self):
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            self.mask = (np.random.rand(*x.shape) < 0.5) / 0.5
            return x * self.mask

        def backward(self, dout):
            return dout * self.mask

    class Affine:  # parameters as attributes, their gradients left in dW, db
        def __init__(self, W, b):
            self.W, self.b = W, b

        def forward(self, x):
            self.x = x
            return x @ self.W + self.b

        def backward(self, dout):
            self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
            return dout @ self.W.T

    x = rng.standard_normal((4, 5))
    layer = Dropout()
    state = np.random.get_state()
    forward, backward = oracles.object_layer(layer, numpy_seed=3)
    assert oracles.check_layer(forward, backward, x).ok
    assert layer.calls == 0  # every call ran on a copy
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state()[1:2], state[1:2]))  # the caller's state restored
    unseeded = oracles.check_layer(*oracles.object_layer(layer), x)  # a new mask each call: not a function of x
    assert not unseeded.ok
    W, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    forward, backward = oracles.object_layer(Affine(W, b), parameters=("W", "b"))
    verdict = oracles.check_layer(forward, backward, x, W, b)
    assert verdict.ok and verdict.elements == 2 * (x.size + W.size + b.size), verdict.message()


# --- vector–Jacobian products -------------------------------------------------------------------


def attention(q, params, xp):
    """A pytree argument and a tuple output: (softmax(q Wᵀ) , tanh(q) · scale)."""
    e = xp.exp(q @ params["W"].T)
    return e / xp.sum(e, axis=-1, keepdims=True), xp.tanh(q) * params["scale"]


def attention_vjp(c, q, params, slip=False):
    (c1, c2), W = c, params["W"]
    z = q @ W.T
    a = np.exp(z - z.max(axis=-1, keepdims=True))
    a /= a.sum(axis=-1, keepdims=True)
    dz = a * (c1 - np.sum(c1 * a, axis=-1, keepdims=True))
    t = np.tanh(q)
    dq = dz @ W + c2 * params["scale"] * (1 - t * t)
    dW = dz.T @ q
    dscale = np.array(np.sum(c2 * t))
    if slip:
        dW = dz.T @ q * 0.999
    return dq, {"W": dW, "scale": dscale}


def test_check_vjp_takes_pytrees_and_names_elements_by_argument_and_key():
    q, params = rng.standard_normal((3, 4)), {"W": rng.standard_normal((5, 4)), "scale": np.array(1.3)}
    verdict = oracles.check_vjp(attention, attention_vjp, q, params)
    assert verdict.ok and verdict.oracles_ran == tuple(oracles.ORACLES), verdict.message()
    assert "2 cotangents drawn" in verdict.message()
    wrong = oracles.check_vjp(attention, lambda c, q, p: attention_vjp(c, q, p, slip=True), q, params)
    assert not wrong.ok and wrong.worst.element.startswith("params['W'][") and "@ cotangent" in wrong.worst.element, wrong.message()


def test_a_given_cotangent_is_used_and_a_backward_ignoring_it_is_caught():
    x = rng.standard_normal((3, 2))
    ones = np.ones((3, 2))
    assert oracles.check_vjp(lambda x, xp: xp.sin(x), lambda c, x: c * np.cos(x), x, cotangent=ones).ok
    forgets = oracles.check_vjp(lambda x, xp: xp.sin(x), lambda c, x: np.cos(x), x)  # drops dout: right only for ones
    assert not forgets.ok and forgets.worst.element.startswith("x[")
    at_ones = oracles.check_vjp(lambda x, xp: xp.sin(x), lambda c, x: np.cos(x), x, cotangent=ones, properties=False)
    assert at_ones.ok  # the values alone cannot tell at dout = ones …
    caught = oracles.check_vjp(lambda x, xp: xp.sin(x), lambda c, x: np.cos(x), x, cotangent=ones)
    assert caught.failed_properties == ("linear",) and "does not scale with dout" in caught.message()  # … linearity can


def test_the_header_names_the_oracle_that_disagrees_and_the_dispute_is_decided():
    # torch.var is unbiased by default, jnp.var and np.var are not: torch differentiates another function
    x = rng.standard_normal(5)
    verdict = oracles.check_gradient(lambda x, xp: xp.var(x), lambda x: 2 * (x - x.mean()) / x.size, x)
    assert verdict.ok and verdict.message().startswith("grad: OK against jax, torch, richardson, central; shown wrong by arbitration: torch at 5"), verdict.message()
    assert verdict.disputes and all(d.wrong == ("torch",) for d in verdict.disputes), verdict.message()
    assert "confirms jax" in verdict.message()
    wrong = oracles.check_gradient(lambda x, xp: xp.var(x), lambda x: 2 * (x - x.mean()) / (x.size - 1), x)
    assert wrong.status == "WRONG" and wrong.message().startswith("grad: WRONG against jax, torch, richardson, central; shown wrong by arbitration: torch at 5")
    assert [d.wrong for d in wrong.disputes] == [("torch",)] * x.size


def test_no_oracle_able_to_run_is_not_checked_not_wrong():
    verdict = oracles.check_gradient(lambda x: float(np.sum(x**2)), lambda x: 2 * x, np.ones(3), oracles=("jax",))
    assert verdict.status == "NOT CHECKED" and verdict.message().startswith("grad: NOT CHECKED: no oracle could run")


# --- Jacobian–vector products and Jacobians -------------------------------------------------


W = rng.standard_normal((3, 4))


def layer(x, w, xp):
    return xp.tanh(x @ w)


def layer_jvp(t, x, w):
    tx, tw = t
    y = np.tanh(x @ w)
    return (1 - y * y) * (tx @ w + x @ tw)


def test_check_jvp_correct_and_wrong():
    x = rng.standard_normal((5, 3))
    verdict = oracles.check_jvp(layer, layer_jvp, x, W)
    assert verdict.ok and verdict.oracles_ran == tuple(oracles.ORACLES), verdict.message()
    wrong = oracles.check_jvp(layer, lambda t, x, w: layer_jvp((t[0], 0 * t[1]), x, w), x, W)  # forgets the weights' tangent
    assert not wrong.ok and wrong.worst.element.startswith("out[") and "@ tangent" in wrong.worst.element, wrong.message()


def test_check_jacobian_correct_and_wrong():
    x = rng.standard_normal(3)

    def f(x, xp):
        return xp.tanh(x @ xp.asarray(W))

    def jacobian(x, slip=False):
        d = 1 - np.tanh(x @ W) ** 2
        J = (W * d).T  # (4, 3): ∂y_j/∂x_i = W_ij d_j
        if slip:
            J = J.copy()
            J[2, 1] += 1e-6
        return J

    verdict = oracles.check_jacobian(f, jacobian, x)
    assert verdict.ok and verdict.oracles_ran == tuple(oracles.ORACLES) and verdict.elements == 12, verdict.message()
    wrong = oracles.check_jacobian(f, lambda x: jacobian(x, slip=True), x)
    assert not wrong.ok and wrong.worst.element == "jacobian[2, 1]", wrong.message()


# --- second order ------------------------------------------------------------------------------


def test_check_hvp_correct_and_wrong():
    x = cases.hvp_point()
    verdict = oracles.check_hvp(cases.log_sum_exp, cases.log_sum_exp_hvp, x)
    assert verdict.ok and {"jax", "torch", "richardson", "central"} == set(verdict.oracles_ran), verdict.message()
    assert "complex_step" in dict(verdict.skipped)
    wrong = oracles.check_hvp(cases.log_sum_exp, cases.log_sum_exp_hvp_slip, x)
    assert not wrong.ok and wrong.worst.element.startswith("x[") and "@ vector" in wrong.worst.element, wrong.message()


def test_check_hvp_of_a_plain_f_by_second_differences():
    """A plain NumPy f (no xp): no framework differentiates it, so second differences judge, and the verdict says so;
    they agree with the xp form's verdict on a right product and catch the same slip."""
    x = cases.hvp_point()
    plain = lambda x: np.log(np.sum(np.exp(x)))  # noqa: E731 — log-sum-exp in plain NumPy
    verdict = oracles.check_hvp(plain, cases.log_sum_exp_hvp, x)
    assert verdict.ok and set(verdict.oracles_ran) == {"richardson", "central"}, verdict.message()
    assert {"jax", "torch", "complex_step"} <= set(dict(verdict.skipped)) and "second differences" in verdict.message()
    assert oracles.check_hvp(cases.log_sum_exp, cases.log_sum_exp_hvp, x).ok
    wrong = oracles.check_hvp(plain, cases.log_sum_exp_hvp_slip, x)
    assert not wrong.ok and wrong.worst.element.startswith("x[") and "@ vector" in wrong.worst.element, wrong.message()
    small = oracles.check_hvp(plain, lambda v, x: cases.log_sum_exp_hvp(v, x) * (1 + 1e-6), x)
    assert not small.ok, small.message()


@pytest.fixture
def registries():
    saved = dict(ACTIVATIONS)
    yield
    ACTIVATIONS.clear()
    ACTIVATIONS.update(saved)


def test_a_second_derivative_is_checked_on_registration(registries):
    entry = oracles.register_activation("softsign_2", cases.softsign, cases.d_softsign, d2f=cases.d2_softsign, kinks=(0.0,))
    assert entry.xp_d2f is not None
    with pytest.raises(RegistrationError, match=r"activation 'softsign_3': d2f disagrees with the oracles at z = .*\n.*d2f: WRONG"):
        oracles.register_activation("softsign_3", cases.softsign, cases.d_softsign, d2f=cases.d2_softsign_slip, kinks=(0.0,))
    assert "softsign_3" not in ACTIVATIONS


# --- custom rules ---------------------------------------------------------------------------------


ScaledSoftplus, ScaledSoftplusSlip = cases.torch_functions()


def test_a_torch_function_is_judged_against_its_own_forward_never_itself():
    x, beta = cases.torch_function_inputs()
    verdict = oracles.check_torch_function(ScaledSoftplus, x, beta)
    assert verdict.ok and verdict.oracles_ran == ("richardson", "central"), verdict.message()
    assert "rule under test" in dict(verdict.skipped)["torch"]
    assert "promoted to float64" in verdict.message()
    half = oracles.check_torch_function(ScaledSoftplus, x.half(), beta.half())  # float16 kernels' inputs: checked in float64
    assert half.ok and "x: float16" in half.note, half.message()
    wrong = oracles.check_torch_function(ScaledSoftplusSlip, x, beta)
    assert not wrong.ok and wrong.worst.element.startswith("beta[0]"), wrong.message()
    # the tempting shortcut: f calls the Function under torch, so torch.autograd runs the slip too
    shortcut = oracles.check_gradient(
        lambda x, b, xp: ScaledSoftplusSlip.apply(x, b).sum() if xp is torch else xp.sum(xp.log1p(xp.exp(b * x)) / b),
        lambda x, b: (1 / (1 + np.exp(-b * x)), np.array([np.sum(x / (1 + np.exp(-b * x)) / b)])),
        (x.double().numpy(), beta.double().numpy()), argnums=(0, 1), oracles=("torch",),
    )
    assert shortcut.ok  # circular: the slip passes its own backward


def test_a_custom_vjp_is_judged_against_its_primal_and_leaves_x64_alone():
    (right, slip), (x, w) = cases.custom_vjps(), cases.custom_vjp_inputs()
    before = jax.config.jax_enable_x64
    verdict = oracles.check_custom_vjp(right, x, w)
    assert verdict.ok and verdict.oracles_ran == ("richardson", "central"), verdict.message()
    wrong = oracles.check_custom_vjp(slip, x, w)
    assert not wrong.ok and named_by(wrong.worst.element, ("x", "w")), wrong.message()
    assert jax.config.jax_enable_x64 == before


# --- bad input -------------------------------------------------------------------------------------


def sin(x, xp):
    return xp.sin(x)


def cos_vjp(c, x):
    return c * np.cos(x)


X = np.linspace(-1, 1, 6).reshape(2, 3)


class _Affine:
    W = np.ones((3, 2))

    def forward(self, x):
        self.x = x
        return x @ self.W

    def backward(self, dout):
        self.dW = self.x.T @ dout
        return dout @ self.W.T


class _TooFew(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def backward(ctx, g):
        return (g,)

BAD = [
    ("f returns a list of floats", lambda: oracles.check_vjp(lambda x: [1.0, 2.0], cos_vjp, X), TypeError, r"f must return a numpy.ndarray .* got float at out\[0\]"),
    ("f returns ints", lambda: oracles.check_vjp(lambda x: np.ones(3, int), cos_vjp, X), TypeError, "f must return floating arrays; got dtype int64"),
    ("f not finite", lambda: oracles.check_vjp(lambda x: np.where(x < 0, np.inf, x), cos_vjp, X), ValueError, r"f returned non-finite values at out \(first at index \(0, 0\)\)"),
    ("vjp wrong shape", lambda: oracles.check_vjp(sin, lambda c, x: c.T, X), ValueError, re.escape("vjp's result at x has shape (3, 2), but the argument x has shape (2, 3)")),
    ("vjp too few", lambda: oracles.check_vjp(layer, lambda c, x, w: c @ w.T, X, W), ValueError, "vjp must return a tuple of 2 gradients, for x, w; got ndarray"),
    ("vjp a list", lambda: oracles.check_vjp(sin, lambda c, x: c.tolist(), X), TypeError, "vjp's result at x must be a numpy.ndarray; got list"),
    ("integer input", lambda: oracles.check_vjp(sin, cos_vjp, np.arange(3)), TypeError, r"no argument to differentiate: .* x: ndarray of dtype int64"),
    ("integer input chosen", lambda: oracles.check_vjp(sin, cos_vjp, np.arange(3), argnums=0), TypeError, "argument x must be float32 or float64 to be differentiated; got dtype int64"),
    ("no arguments", lambda: oracles.check_vjp(sin, cos_vjp), ValueError, "check_vjp needs the arguments of f"),
    ("cotangent wrong shape", lambda: oracles.check_vjp(sin, cos_vjp, X, cotangent=np.ones(3)), ValueError, re.escape("cotangent at out has shape (3,), but must have shape (2, 3)")),
    ("cotangents zero", lambda: oracles.check_vjp(sin, cos_vjp, X, cotangents=0), ValueError, "cotangents must be a positive integer"),
    ("vjp not callable", lambda: oracles.check_vjp(sin, None, X), TypeError, "vjp must be callable"),
    ("forward not a pair", lambda: oracles.check_layer(lambda x: x * 2, lambda d, c: d, X), TypeError, r"forward must return \(out, cache\); got ndarray"),
    ("jvp wrong shape", lambda: oracles.check_jvp(sin, lambda t, x: t.ravel(), X), ValueError, re.escape("jvp's result at out has shape (6,), but f's output out has shape (2, 3)")),
    ("jacobian of a pytree", lambda: oracles.check_jacobian(lambda x, xp: (x, x), lambda x: None, X), TypeError, "check_jacobian needs f to return one array"),
    ("jacobian wrong shape", lambda: oracles.check_jacobian(sin, lambda x: np.eye(6), X), ValueError, re.escape("jacobian must return ∂f/∂x of shape f's output (2, 3) + x (2, 3) = (2, 3, 2, 3); got shape (6, 6)")),
    ("hvp of a vector f", lambda: oracles.check_hvp(sin, lambda v, x: v, X), ValueError, re.escape("f must return a scalar; got shape (2, 3)")),
    ("backward too few", lambda: oracles.check_layer(lambda x, w: (x @ w, (x, w)), lambda d, c: d @ c[1].T, X, np.ones((3, 4))), ValueError, "backward must return a tuple of 2 gradients, for x, w; .* argnums="),
    ("object layer without its parameters", lambda: oracles.check_layer(*oracles.object_layer(_Affine(), parameters=("W",)), X), TypeError, r"this layer's forward takes x and its parameters \(W\)"),
    ("object layer gradient elsewhere", lambda: oracles.check_layer(*oracles.object_layer(_Affine(), parameters=("W",), gradients=("grad_W",)), X, np.ones((3, 2))), ValueError, "layer.backward left no attribute 'grad_W'"),
    ("Function backward too few", lambda: oracles.check_torch_function(_TooFew, torch.ones(2), torch.ones(2)), ValueError, "_TooFew.backward failed under torch.autograd"),
    ("not a torch Function", lambda: oracles.check_torch_function(torch.sin, torch.ones(2)), TypeError, "function must be a torch.autograd.Function subclass"),
    ("float16 unpromoted", lambda: oracles.check_torch_function(ScaledSoftplus, torch.ones(2, dtype=torch.float16), torch.ones(1), promote=False), TypeError, "float16, which has no tolerance"),
    ("not a custom_vjp", lambda: oracles.check_custom_vjp(jnp.sin, X), TypeError, "fn must be a jax.custom_vjp function"),
    ("object without backward", lambda: oracles.object_layer(object()), TypeError, "layer must have a method 'forward'"),
]


@pytest.mark.parametrize(("call", "error", "match"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_input_is_refused_with_the_argument_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- what a new user's trial found ---------------------------------------------------------------


def test_a_forward_that_writes_into_its_input_cannot_move_the_point():
    def relu_forward(x):  # the classic in-place slip: out aliases x
        out = x
        out[out < 0] = 0
        return out, x

    x = rng.standard_normal((3, 4))
    verdict = oracles.check_layer(relu_forward, lambda dout, x: dout * (x >= 0), x)  # x zeroed by forward: dout passes everywhere
    assert verdict.status == "WRONG" and verdict.worst.element.startswith("x["), verdict.message()
    assert np.any(x < 0)  # the caller's x untouched


def test_a_smooth_function_with_sharp_curvature_is_not_a_kink():
    # Charbonnier loss: smooth everywhere, curvature 1e3 at |x| ~ 1e-3 — the stencil sees a jump, the sides settle it
    x = np.linspace(-2e-3, 2e-3, 12)
    f, g = (lambda x, xp: xp.sum(xp.sqrt(x**2 + 1e-6))), (lambda x: x / np.sqrt(x**2 + 1e-6))
    verdict = oracles.check_gradient(f, g, x)
    assert verdict.ok and verdict.oracles_ran == tuple(oracles.ORACLES) and all(c.kinks == 0 for c in verdict.comparisons), verdict.message()
    off = oracles.check_gradient(f, lambda x: g(x) * np.where(np.arange(12) == 3, 1 + 1e-9, 1.0), x)
    assert not off.ok and off.worst.element == "x[3]", off.message()


def test_a_forward_that_draws_anew_each_call_is_not_judged_and_says_why():
    class Dropout:
        def forward(self, x):
            self.mask = np.random.rand(*x.shape) < 0.5
            return x * self.mask

        def backward(self, dout):
            return dout * self.mask

    verdict = oracles.check_layer(*oracles.object_layer(Dropout()), rng.standard_normal((3, 4)))
    assert not verdict.ok and verdict.status == "NOT JUDGED", verdict.message()
    assert verdict.message().startswith("backward: NOT JUDGED: no oracle that ran could resolve any element")
    assert "forward returned different values for the same inputs" in verdict.message()


def test_checks_leave_the_callers_numpy_random_state_alone():
    import subprocess
    import sys

    script = (
        "import numpy as np, oracles\n"
        "np.random.seed(0); before = np.random.get_state()[1].copy()\n"
        "oracles.check_vjp(lambda x, xp: xp.sin(x), lambda c, x: c * np.cos(x), np.ones(3))\n"  # the first check imports JAX
        "assert (np.random.get_state()[1] == before).all(), 'the random state moved'\n"
        "print('kept')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "kept" in done.stdout, done.stderr


def test_custom_rules_take_pytrees_and_tensors():
    @jax.custom_vjp
    def scaled(p, x):
        return {"y": jnp.tanh(p["w"] * x), "z": p["b"] * x}

    def fwd(p, x):
        return scaled(p, x), (p, x)

    def bwd(residuals, g):
        p, x = residuals
        d = g["y"] * (1 - jnp.tanh(p["w"] * x) ** 2)
        return {"w": jnp.sum(d * x), "b": jnp.sum(g["z"] * x)}, d * p["w"] + g["z"] * p["b"]

    scaled.defvjp(fwd, bwd)
    p, x = {"w": np.array(0.7), "b": np.array(-1.2)}, rng.standard_normal(4)
    verdict = oracles.check_custom_vjp(scaled, p, x)
    assert verdict.ok, verdict.message()
    x_t, beta = cases.torch_function_inputs()
    given = torch.ones(4, 3)  # a tensor cotangent, as a torch user has it
    assert oracles.check_torch_function(ScaledSoftplus, x_t, beta, cotangent=given).ok


# --- ties: elements of one kink judged together ---------------------------------------------------


def _route_at_ties(x, dout, share):
    """Max-pool 2×2 backward that gives each tied element ``share`` × dout (1: every tie gets it all)."""
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for i in range(0, H, 2):
        for j in range(0, W, 2):
            window = x[:, :, i:i + 2, j:j + 2]
            winners = window == window.max(axis=(2, 3), keepdims=True)
            tied = winners.sum(axis=(2, 3), keepdims=True) > 1
            first = np.zeros_like(winners)
            flat = winners.reshape(N, C, 4)
            first.reshape(N, C, 4)[np.arange(N)[:, None], np.arange(C)[None, :], flat.argmax(axis=-1)] = True
            routed = np.where(tied, winners * share, first)
            dx[:, :, i:i + 2, j:j + 2] = routed * dout[:, :, i // 2:i // 2 + 1, j // 2:j // 2 + 1]
    return dx


@pytest.mark.parametrize(("share", "ok"), [(0.5, True), (1.0, False), (0.0, False)], ids=["split evenly", "every tie gets it", "no tie gets it"])
def test_tied_max_pool_elements_are_judged_together(share, ok):
    layer = LAYERS["max_pool"]
    (x,) = layer.inputs(0)
    verdict = oracles.check_layer(layer.forward, lambda dout, cache: _route_at_ties(cache, dout, share), x, properties=False)
    assert verdict.ok == ok, verdict.message()
    if ok:
        assert "tie(s) among kinked elements, each judged as a whole too" in verdict.note
    else:
        assert "tie(s) broken: along x[" in verdict.note and verdict.worst.element.startswith("x["), verdict.message()


def test_a_tie_in_a_max_couples_its_elements_and_independent_zeros_do_not():
    f = lambda x, xp: xp.max(x)
    for gradient, ok in (((0.5, 0.5), True), ((1.0, 0.0), True), ((0.3, 0.7), True), ((1.0, 1.0), False), ((0.0, 0.0), False)):
        assert oracles.check_gradient(f, lambda x, g=gradient: np.array(g), np.array([1.0, 1.0])).ok == ok, gradient
    relu = LAYERS["relu"]
    (x,) = relu.inputs(0)
    verdict = oracles.check_layer(relu.forward, relu.backward, x, cotangent=np.ones_like(x))  # equal brackets [0, 1], separate kinks
    assert verdict.ok and "tie" not in verdict.note, verdict.message()
    # clip at −1 (convex) and at 1 (concave): equal brackets [0, 1], smooth along both together, yet two kinks — any convention passes
    clip = lambda x, xp: xp.sum(xp.clip(x, -1.0, 1.0))
    for convention in ((0.0, 0.0, 1.0), (1.0, 1.0, 1.0), (0.0, 1.0, 1.0)):
        verdict = oracles.check_gradient(clip, lambda x, g=convention: np.array(g), np.array([-1.0, 1.0, 0.3]))
        assert verdict.ok, verdict.message()


def test_a_plain_numpy_layer_is_checked_without_loading_jax_or_torch():
    import subprocess
    import sys

    script = (
        "import sys, oracles\n"
        "from backprop_reference.testbed.layers import LAYERS\n"
        "layer = LAYERS['affine']\n"
        "verdict = oracles.check_layer(layer.forward, layer.backward, *layer.inputs(0))\n"
        "assert verdict.ok and {'jax', 'torch'} <= {name for name, _ in verdict.skipped}, verdict.message()\n"
        "print(sorted(m for m in ('jax', 'torch') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
