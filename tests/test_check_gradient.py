"""``check_gradient``: any hand-written gradient, judged by every oracle that can run on it."""

import dataclasses
import re
import warnings

import numpy as np
import pytest

from backprop_reference.oracles import Verdict, assert_gradient, check_gradient
from backprop_reference.oracles.engine.tolerances import tolerance_for
from backprop_reference.oracles.methods.registry import ORACLES

ALL = tuple(ORACLES)  # jax, torch, complex_step, richardson, central
NUMERICAL = ("richardson", "central")
rng = np.random.default_rng(7)


# ---------------------------------------------------------------- functions with their hand-written gradients


def sum_tanh_squared(x, xp):
    return xp.sum(xp.tanh(x) ** 2)


def grad_sum_tanh_squared(x, xp):
    t = xp.tanh(x)
    return 2 * t * (1 - t**2)  # d tanh²/dx = 2 tanh · (1 − tanh²)


def softplus_sum(x, xp):
    return xp.sum(xp.log1p(xp.exp(x)))  # complex-safe for moderate x


def grad_softplus_sum(x):
    return 1 / (1 + np.exp(-x))  # σ(x); plain NumPy: grad need not take xp


def mlp_loss(params, X, Y, xp):
    """Mean squared error of a tanh → identity network; params = [(W^1, b^1), (W^2, b^2)]."""
    (W1, b1), (W2, b2) = params
    A1 = xp.tanh(X @ W1.T + b1)
    O = A1 @ W2.T + b2
    return xp.sum((O - Y) ** 2) / (2 * X.shape[0])


def grad_mlp_loss(params, X, Y):
    (W1, b1), (W2, b2) = params
    A1 = np.tanh(X @ W1.T + b1)
    delta2 = (A1 @ W2.T + b2 - Y) / X.shape[0]  # δ^2 = ∂E/∂z^2, batch mean
    delta1 = (delta2 @ W2) * (1 - A1**2)  # δ^1 = (δ^2 W^2) ⊙ tanh'(z^1)
    return [(delta1.T @ X, delta1.sum(axis=0)), (delta2.T @ A1, delta2.sum(axis=0))]


def bilinear(A, B, xp):
    return xp.sum(xp.tanh(A @ B))


def grad_bilinear(A, B):
    S = 1 - np.tanh(A @ B) ** 2
    return S @ B.T, A.T @ S


def dict_affine(p, v, xp):
    return xp.sum(xp.sin(p["W"] @ v + p["b"]))


def grad_dict_affine(p, v):
    c = np.cos(p["W"] @ v + p["b"])
    return {"W": np.outer(c, v), "b": c}


def cube(x, xp):
    return x**3  # a 0-d argument gives a 0-d result


def grad_cube(x, xp):
    return 3 * x**2


def mlp_args(dtype=np.float64):
    params = [
        (rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(4).astype(dtype)),
        (rng.standard_normal((2, 4)).astype(dtype), rng.standard_normal(2).astype(dtype)),
    ]
    X = rng.standard_normal((5, 3)).astype(dtype)
    Y = rng.standard_normal((5, 2)).astype(dtype)
    return params, X, Y


CORRECT = [
    ("sum tanh²", sum_tanh_squared, grad_sum_tanh_squared, lambda: rng.standard_normal((3, 4)), {}),
    ("softplus", softplus_sum, grad_softplus_sum, lambda: rng.standard_normal(6), {}),
    ("mlp (W, b) pairs", mlp_loss, grad_mlp_loss, mlp_args, {}),
    ("two arguments", bilinear, grad_bilinear, lambda: (rng.standard_normal((3, 2)), rng.standard_normal((2, 4))), {"argnums": (0, 1)}),
    ("dict pytree", dict_affine, grad_dict_affine, lambda: ({"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(3)}, rng.standard_normal(2)), {}),
    ("0-d argument", cube, grad_cube, lambda: np.array(0.7), {}),
]


def element_name(root, index):
    return f"{root}[{', '.join(str(int(i)) for i in index)}]"


# ---------------------------------------------------------------- (a) correct gradients pass every oracle


@pytest.mark.parametrize(("f", "grad", "make_x", "options"), [c[1:] for c in CORRECT], ids=[c[0] for c in CORRECT])
def test_correct_xp_gradient_passes_all_five_oracles(f, grad, make_x, options):
    verdict = check_gradient(f, grad, make_x(), **options)
    assert isinstance(verdict, Verdict)
    assert verdict.ok, verdict.message()
    assert verdict.oracles_ran == ALL and verdict.skipped == ()
    for c in verdict.comparisons:
        assert c.dtype == "float64"
        assert c.tolerance == tolerance_for(np.float64, c.oracle)
        assert c.error <= c.tolerance.limit and c.unresolved == 0
    assert verdict.message().startswith("grad: OK against jax, torch, complex_step, richardson, central")


def test_assert_gradient_returns_the_verdict_when_right():
    verdict = assert_gradient(sum_tanh_squared, grad_sum_tanh_squared, rng.standard_normal(5), oracles=("jax",))
    assert verdict.ok and verdict.oracles_ran == ("jax",)


def test_every_oracle_runs_in_float64_and_complex128():
    seen = []

    def f(x, xp):
        seen.append(str(x.dtype))
        return xp.sum(x**2)

    x = rng.standard_normal(3).astype(np.float32)
    verdict = check_gradient(f, lambda x: (2 * x).astype(np.float32), x)
    assert verdict.ok, verdict.message()
    assert seen[0] == "float32"  # the one check that f returns a scalar, on x itself
    # every oracle in float64 (complex128); torch once more on float32 copies: the rounding evidence (oracles.checks.rounding_terms)
    assert set(seen[1:]) == {"float64", "torch.float64", "complex128", "torch.float32"}


def test_verdict_is_frozen_and_prints_its_message():
    verdict = check_gradient(sum_tanh_squared, grad_sum_tanh_squared, rng.standard_normal(3), oracles=("torch",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.ok = False
    assert str(verdict) == verdict.message()


# ---------------------------------------------------------------- (b) plain NumPy functions: numerical oracles only


def plain_sum_tanh_squared(x):
    return np.sum(np.tanh(x) ** 2)


def test_plain_numpy_function_gets_the_numerical_oracles_only():
    verdict = check_gradient(plain_sum_tanh_squared, lambda x: grad_sum_tanh_squared(x, np), rng.standard_normal((2, 3)))
    assert verdict.ok, verdict.message()
    assert verdict.oracles_ran == NUMERICAL
    assert tuple(name for name, _ in verdict.skipped) == ("jax", "torch", "complex_step")
    for name, why in verdict.skipped:
        assert "f takes no xp argument" in why
        assert f"{name} skipped: f takes no xp argument" in verdict.message()
    assert "cannot be traced" in dict(verdict.skipped)["jax"]


def test_a_subset_of_oracles_runs_only_those():
    verdict = check_gradient(sum_tanh_squared, grad_sum_tanh_squared, rng.standard_normal(4), oracles=["central", "torch"])
    assert verdict.ok and verdict.oracles_ran == ("torch", "central") and verdict.skipped == ()


# ---------------------------------------------------------------- complex step on a function that is not complex-safe


def cast_to_float64(x):
    # NumPy arrays only (torch.asarray would warn about requires_grad): on complex input
    # this warns "Casting complex values to real discards the imaginary part".
    return x.astype(np.float64) if isinstance(x, np.ndarray) else x


NOT_COMPLEX_SAFE = [
    # x·|x|: np.abs of a complex number is its modulus, so Im f(x + ih)/h is off by a factor 2
    ("abs", lambda x, xp: xp.sum(x * xp.abs(x)), lambda x: 2 * np.abs(x), "not complex-safe"),
    # |x|³ is real for complex input: the imaginary part is dropped
    ("real result", lambda x, xp: xp.sum(xp.abs(x) ** 3), lambda x: 3 * x * np.abs(x), "dropped the imaginary part"),
    # np.logaddexp has no complex loop
    ("raises", lambda x, xp: xp.sum(xp.logaddexp(x, xp.zeros_like(x))), lambda x: 1 / (1 + np.exp(-x)), "raised on complex128"),
    # a cast to float64 discards the imaginary part with a ComplexWarning, which must not escape
    ("cast warns", lambda x, xp: xp.sum(cast_to_float64(x) ** 2), lambda x: 2 * x, "ComplexWarning"),
]


@pytest.mark.parametrize(("f", "grad", "match"), [c[1:] for c in NOT_COMPLEX_SAFE], ids=[c[0] for c in NOT_COMPLEX_SAFE])
def test_complex_unsafe_function_skips_complex_step_with_reason(f, grad, match):
    r = rng.standard_normal(5)
    x = r + 0.5 * np.sign(r)  # |x| > 0.5: away from the kink of |x|
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        verdict = check_gradient(f, grad, x)
    assert not caught, [str(w.message) for w in caught]
    assert verdict.ok, verdict.message()
    assert verdict.oracles_ran == ("jax", "torch", "richardson", "central")
    assert [name for name, _ in verdict.skipped] == ["complex_step"]
    assert match in verdict.skipped[0][1]


# ---------------------------------------------------------------- (c) wrong gradients fail, worst element named


def test_one_percent_error_in_the_largest_entry_in_float32_is_caught():
    params, X, Y = mlp_args(np.float32)
    grads = [tuple(g.astype(np.float32) for g in pair) for pair in grad_mlp_loss(params, X, Y)]
    layer, which, index = max(
        ((l, j, np.unravel_index(np.argmax(np.abs(g)), g.shape)) for l, pair in enumerate(grads) for j, g in enumerate(pair)),
        key=lambda t: abs(grads[t[0]][t[1]][t[2]]),
    )
    grads[layer][which][index] *= np.float32(1.01)
    verdict = check_gradient(mlp_loss, lambda *_: grads, (params, X, Y))
    assert not verdict.ok
    assert verdict.oracles_ran == ALL
    expected = element_name(f"params[{layer}][{which}]", index)
    for c in verdict.comparisons:
        assert not c.ok and c.element == expected, c.message()
        assert c.tolerance == tolerance_for(np.float32, c.oracle)
    assert f"worst: {expected}" in verdict.message()
    with pytest.raises(AssertionError, match=re.escape(expected)):
        assert_gradient(mlp_loss, lambda *_: grads, (params, X, Y))


def test_one_percent_error_that_jax_check_grads_misses_is_caught():
    # check_grads judges float32 with rtol = atol = 2e-3 on random projections, so at a gradient
    # scale of 0.04 a 1 % error (4e-4) passes it; the normalised error 4e-4 > 1e-4 does not pass here.
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    x = rng.standard_normal(6).astype(np.float32)
    true = 0.05 * grad_sum_tanh_squared(x, np)
    k = int(np.argmax(np.abs(true)))
    wrong = true.copy()
    wrong[k] *= np.float32(1.01)

    @jax.custom_vjp
    def f(x):
        return 0.05 * sum_tanh_squared(x, jnp)

    f.defvjp(lambda x: (f(x), None), lambda _, g: (g * jnp.asarray(wrong),))
    check_grads(f, (jnp.asarray(x),), order=1, modes=["rev"])  # passes: the error goes unnoticed

    verdict = check_gradient(lambda x, xp: 0.05 * sum_tanh_squared(x, xp), lambda x: wrong, x)
    assert not verdict.ok and verdict.worst.element == f"x[{k}]", verdict.message()
    assert all(c.tolerance == tolerance_for(np.float32, c.oracle) for c in verdict.comparisons)


def test_a_missing_factor_two_is_caught_at_the_largest_gradient():
    x = rng.standard_normal((3, 4))
    true = grad_sum_tanh_squared(x, np)
    expected = element_name("x", np.unravel_index(np.argmax(np.abs(true)), true.shape))
    verdict = check_gradient(sum_tanh_squared, lambda x: true / 2, x)
    assert not verdict.ok
    assert all(not c.ok and c.element == expected for c in verdict.comparisons), verdict.message()
    assert all(c.desired == pytest.approx(2 * c.actual) for c in verdict.comparisons)


def test_a_sign_slip_in_one_leaf_is_named():
    params, X, Y = mlp_args()
    (dW1, db1), (dW2, db2) = grad_mlp_loss(params, X, Y)
    wrong = [(dW1, db1), (dW2, -db2)]
    k = int(np.argmax(np.abs(db2)))
    verdict = check_gradient(mlp_loss, lambda *_: wrong, (params, X, Y))
    assert not verdict.ok
    for c in verdict.comparisons:
        assert not c.ok and c.element == f"params[1][1][{k}]", c.message()
        assert c.actual == pytest.approx(-c.desired)


def test_a_wrong_second_argument_is_named_with_its_argument():
    A, B = rng.standard_normal((3, 2)), rng.standard_normal((2, 4))
    dA, dB = grad_bilinear(A, B)
    verdict = check_gradient(bilinear, lambda A, B: (dA, dB.T.reshape(dB.shape)), (A, B), argnums=(0, 1))
    assert not verdict.ok
    assert all(c.element.startswith("B[") for c in verdict.comparisons), verdict.message()


def test_a_wrong_dict_leaf_is_named_by_its_key():
    p, v = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(3)}, rng.standard_normal(2)
    g = grad_dict_affine(p, v)
    wrong = {"W": g["W"], "b": np.zeros(3)}
    verdict = check_gradient(dict_affine, lambda *_: wrong, (p, v))
    assert not verdict.ok
    assert all(c.element.startswith("p['b'][") for c in verdict.comparisons), verdict.message()


@pytest.mark.parametrize("oracle", ALL)
def test_each_oracle_alone_catches_the_wrong_gradient(oracle):
    x = rng.standard_normal(4)
    verdict = check_gradient(sum_tanh_squared, lambda x: grad_sum_tanh_squared(x, np) * 0.999, x, oracles=(oracle,))
    assert not verdict.ok and verdict.oracles_ran == (oracle,)
    assert verdict.comparisons[0].error > tolerance_for(np.float64, oracle).limit


def test_a_non_finite_gradient_fails_with_the_element_named():
    x = rng.standard_normal((2, 3))

    def grad(x):
        g = grad_sum_tanh_squared(x, np)
        g[1, 2] = np.nan
        return g

    verdict = check_gradient(sum_tanh_squared, grad, x)
    assert not verdict.ok
    assert all(c.element == "x[1, 2]" and c.error == np.inf for c in verdict.comparisons), verdict.message()


def test_an_element_no_oracle_resolves_fails_the_verdict():
    # sign(x)|x|^1.5 has no third derivative at 0: D(h) = √h there, so D(2h) − D(h) ≈ 1e-3 and
    # both numerical oracles call x[0] unresolved; with no exact oracle, nobody judges it.
    def f(x):
        return np.sum(np.abs(x) ** 1.5 * np.sign(x))

    x = np.array([0.0, 1.0])
    verdict = check_gradient(f, lambda x: 1.5 * np.abs(x) ** 0.5, x)
    assert verdict.oracles_ran == NUMERICAL
    assert not verdict.ok and verdict.unjudged == ("x[0]",), verdict.message()
    assert all(c.ok and c.unresolved == 1 for c in verdict.comparisons)
    assert "not judged: x[0]" in verdict.message()


# ---------------------------------------------------------------- (d) bad input


def good_f(x, xp):
    return xp.sum(x**2)


def good_grad(x):
    return 2 * x


X3 = np.ones(3)

BAD_INPUT = [
    ("f not callable", dict(f=3.0, grad=good_grad, x=X3), TypeError, "f must be callable"),
    ("grad not callable", dict(f=good_f, grad="2x", x=X3), TypeError, "grad must be callable"),
    ("x a list of floats", dict(f=good_f, grad=good_grad, x=[1.0, 2.0]), TypeError, r"argument x\[0\] must be a float32 or float64"),
    ("x an int array", dict(f=good_f, grad=good_grad, x=np.arange(3)), TypeError, "argument x must be float32 or float64.*int64"),
    ("x a complex64 array", dict(f=good_f, grad=good_grad, x=np.ones(3, np.complex64)), TypeError, "argument x must be float32 or float64.*complex64"),
    ("pytree leaf a tensor-like", dict(f=good_f, grad=good_grad, x=([np.ones(2), "W"],)), TypeError, r"argument x\[1\] must be"),
    ("x with a nan", dict(f=good_f, grad=good_grad, x=np.array([1.0, np.nan, 2.0])), ValueError, r"argument x must be finite; x\[1\] = "),
    ("pytree leaf with an inf", dict(f=mlp_loss, grad=grad_mlp_loss, x=([(np.ones((1, 1)), np.array([np.inf]))], np.ones((1, 1)), np.ones((1, 1)))), ValueError, r"params\[0\]\[1\] must be finite; params\[0\]\[1\]\[0\]"),
    ("empty argument tuple", dict(f=good_f, grad=good_grad, x=()), ValueError, "x must hold at least one argument"),
    ("f returns a vector", dict(f=lambda x, xp: x**2, grad=good_grad, x=X3), ValueError, re.escape("f must return a scalar; got shape (3,)")),
    ("grad wrong shape", dict(f=good_f, grad=lambda x: np.ones(4), x=X3), ValueError, re.escape("grad's result at x has shape (4,), but the argument x has shape (3,)")),
    ("grad transposed", dict(f=lambda A, xp: xp.sum(A**2), grad=lambda A: (2 * A).T, x=np.ones((2, 3))), ValueError, re.escape("has shape (3, 2), but the argument A has shape (2, 3)")),
    ("grad a list", dict(f=good_f, grad=lambda x: [2.0, 2.0, 2.0], x=X3), TypeError, "grad's result at x must be a numpy.ndarray; got list"),
    ("grad int dtype", dict(f=good_f, grad=lambda x: np.ones(3, int), x=X3), TypeError, "grad's result at x must be float32 or float64"),
    ("grad pairs miscounted", dict(f=mlp_loss, grad=lambda *a: grad_mlp_loss(*a)[:1], x=mlp_args()), ValueError, r"grad's result at params: expected a list of length 2; got list of length 1"),
    ("grad missing bias", dict(f=mlp_loss, grad=lambda *a: [(g[0], None) for g in grad_mlp_loss(*a)], x=mlp_args()), ValueError, r"grad's result at params\[0\]\[1\]: got None where the argument has shape \(4,\)"),
    ("grad dict keys", dict(f=dict_affine, grad=lambda p, v: {"W": p["W"]}, x=({"W": np.ones((3, 2)), "b": np.ones(3)}, np.ones(2))), ValueError, r"grad's result at p: expected a dict with keys"),
    ("grad not a tuple for argnums tuple", dict(f=bilinear, grad=lambda A, B: grad_bilinear(A, B)[0], x=(np.ones((2, 2)), np.ones((2, 2))), argnums=(0, 1)), ValueError, r"grad must return a tuple of 2 gradients, for A, B"),
    ("argnums out of range", dict(f=good_f, grad=good_grad, x=X3, argnums=1), ValueError, "argnums=1 is out of range: there are 1 argument"),
    ("argnums tuple out of range", dict(f=bilinear, grad=grad_bilinear, x=(np.ones((2, 2)), np.ones((2, 2))), argnums=(0, 2)), ValueError, r"argnums=\(0, 2\) is out of range"),
    ("argnums repeated", dict(f=bilinear, grad=grad_bilinear, x=(np.ones((2, 2)), np.ones((2, 2))), argnums=(0, -2)), ValueError, "names an argument twice"),
    ("argnums a float", dict(f=good_f, grad=good_grad, x=X3, argnums=0.0), TypeError, "argnums must be an int or a tuple of ints"),
    ("argnums empty", dict(f=good_f, grad=good_grad, x=X3, argnums=()), ValueError, "argnums must name at least one argument"),
    ("unknown oracle", dict(f=good_f, grad=good_grad, x=X3, oracles=("jax", "autograd")), ValueError, "unknown oracle 'autograd' in oracles; known: jax, torch"),
    ("oracles a string", dict(f=good_f, grad=good_grad, x=X3, oracles="jax"), TypeError, "oracles must be None or a sequence of names"),
    ("oracles empty", dict(f=good_f, grad=good_grad, x=X3, oracles=()), ValueError, "oracles must name at least one"),
    ("oracles repeated", dict(f=good_f, grad=good_grad, x=X3, oracles=("jax", "jax")), ValueError, "oracles names an oracle twice"),
    ("implementation not a name", dict(f=good_f, grad=good_grad, x=X3, implementation=1), TypeError, "implementation must be a name"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_check_gradient_rejects(kwargs, error, match):
    kwargs = dict(kwargs)
    f, grad, x = kwargs.pop("f"), kwargs.pop("grad"), kwargs.pop("x")
    with pytest.raises(error, match=match):
        check_gradient(f, grad, x, **kwargs)


def test_argnums_in_any_order_give_gradients_in_that_order():
    A, B = rng.standard_normal((3, 2)), rng.standard_normal((2, 4))
    dA, dB = grad_bilinear(A, B)
    verdict = check_gradient(bilinear, lambda A, B: (dB, dA), (A, B), argnums=(1, 0))
    assert verdict.ok and verdict.oracles_ran == ALL, verdict.message()
    wrong = check_gradient(bilinear, lambda A, B: (dB * 1.01, dA), (A, B), argnums=(1, 0))
    assert not wrong.ok and all(c.element.startswith("B[") for c in wrong.comparisons), wrong.message()


def test_dict_keys_in_any_order_are_matched_by_name():
    p, v = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(3)}, rng.standard_normal(2)
    reordered = {"b": p["b"], "W": p["W"]}  # not sorted: a framework that sorts keys must not pair them wrongly
    verdict = check_gradient(dict_affine, grad_dict_affine, (reordered, v))
    assert verdict.ok and verdict.oracles_ran == ALL, verdict.message()


def test_integer_data_may_ride_along_undifferentiated():
    labels = np.array([0, 2, 1])

    def f(Z, y, xp):
        return xp.sum(Z[xp.arange(3), y] ** 2)

    def grad(Z, y):
        g = np.zeros_like(Z)
        g[np.arange(3), y] = 2 * Z[np.arange(3), y]
        return g

    verdict = check_gradient(f, grad, (rng.standard_normal((3, 3)), labels))
    assert verdict.ok and verdict.oracles_ran == ALL, verdict.message()


# ---------------------------------------------------------------- (e) float32 against float64 oracles


def test_float32_gradient_is_judged_against_float64_oracles_with_float32_tolerances():
    params, X, Y = mlp_args(np.float32)
    grads = [tuple(g.astype(np.float32) for g in pair) for pair in grad_mlp_loss(params, X, Y)]
    assert all(g.dtype == np.float32 for pair in grads for g in pair)
    verdict = check_gradient(mlp_loss, lambda *_: grads, (params, X, Y))
    assert verdict.ok, verdict.message()
    assert verdict.oracles_ran == ALL
    for c in verdict.comparisons:
        assert c.dtype == "float32" and c.tolerance == tolerance_for(np.float32, c.oracle)
    assert "float64 copies" in verdict.note and "float32 tolerances" in verdict.note
    assert "note: float32 inputs evaluated by every oracle on float64 copies" in verdict.message()


def test_float32_rounding_error_passes_but_is_visible():
    x = rng.standard_normal(50).astype(np.float32)
    g32 = grad_sum_tanh_squared(x, np)  # computed in float32 throughout
    assert g32.dtype == np.float32
    verdict = check_gradient(sum_tanh_squared, grad_sum_tanh_squared, x, oracles=("jax",))
    c = verdict.comparisons[0]
    assert verdict.ok and 0 < c.error <= tolerance_for(np.float32, "jax").limit
    assert c.error > tolerance_for(np.float64, "jax").limit  # float32 rounding, which float64 limits would reject


def test_torch_is_skipped_where_f_turns_a_tensor_into_a_number():
    """float(x.sum()) under xp=torch is a constant to torch.autograd: its gradient would be
    wrong, so torch says why it cannot run instead of calling a right gradient WRONG."""

    def f(x, xp):
        return xp.sum(xp.tanh(x) ** 2) * float(x.sum())

    def grad(x):
        t = np.tanh(x)
        return 2 * t * (1 - t * t) * float(x.sum()) + np.sum(t**2)

    verdict = check_gradient(f, grad, np.linspace(-1, 1, 5))
    assert verdict.ok, verdict.message()
    assert any(name == "torch" and "Python number" in why for name, why in verdict.skipped)
