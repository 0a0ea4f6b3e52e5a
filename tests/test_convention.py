"""One calling convention (``backprop_reference.oracles``): every entry point takes
``f(*args)`` or ``f(*args, xp)``, the derivative takes what it multiplies first, and
the shared options have one name, one default and one validation everywhere."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from backprop_reference import oracles

X = np.linspace(-0.9, 1.1, 5)


def plain_sum(x):
    return np.sum(np.sin(x) * x)


def xp_sum(x, xp):
    return xp.sum(xp.sin(x) * x)


def plain_map(x):
    return np.sin(x) * x


def xp_map(x, xp):
    return xp.sin(x) * x


def d(x):
    return np.cos(x) * x + np.sin(x)


def d2(x):
    return 2 * np.cos(x) - np.sin(x) * x


# entry point -> (call with f, the right derivative, a derivative wrong by 1e-6 relative)
CHECKS = {
    "check_gradient": (lambda f, g: oracles.check_gradient(f, g, X), d, lambda x: d(x) * (1 + 1e-6)),
    "check_vjp": (lambda f, g: oracles.check_vjp(f, g, X, properties=False), lambda c, x: c * d(x), lambda c, x: c * d(x) * (1 + 1e-6)),
    "check_jvp": (lambda f, g: oracles.check_jvp(f, g, X), lambda t, x: t * d(x), lambda t, x: t * d(x) * (1 + 1e-6)),
    "check_jacobian": (lambda f, g: oracles.check_jacobian(f, g, X), lambda x: np.diag(d(x)), lambda x: np.diag(d(x) * (1 + 1e-6))),
    "check_hvp": (lambda f, g: oracles.check_hvp(f, g, X), lambda v, x: v * d2(x), lambda v, x: v * d2(x) * (1 + 1e-6)),
    "taylor_test": (lambda f, g: oracles.taylor_test(f, g, X), d, lambda x: d(x) * (1 + 1e-3)),  # the Taylor test's own limit
}
SCALAR = {"check_gradient", "check_hvp", "taylor_test"}


@pytest.mark.parametrize("entry", list(CHECKS))
def test_both_forms_of_f_are_taken_and_agree(entry):
    call, right, wrong = CHECKS[entry]
    plain, xp = (plain_sum, xp_sum) if entry in SCALAR else (plain_map, xp_map)
    for f in (plain, xp):
        verdict = call(f, right)
        assert verdict.ok, f"{entry}, {f.__name__}: {verdict}"
        assert not call(f, wrong).ok, f"{entry}, {f.__name__}: a wrong derivative passed"


def test_the_derivative_takes_what_it_multiplies_first():
    """``hvp(v, x)`` like ``vjp(cotangent, x)`` and ``jvp(tangent, x)``: a v-last hvp is wrong wherever v ≠ x."""
    swapped = oracles.check_hvp(xp_sum, lambda x, v: v * d2(x), X)
    assert not swapped.ok


SHARED = {"oracles": None, "seed": 0, "implementation": None, "properties": True, "nondet_tol": 0.0, "mode": "auto",
          "k": 2.0, "atol": None, "rtol": None}
ENTRY_POINTS = [
    oracles.check_gradient, oracles.check_network_gradients, oracles.check_projections, oracles.check_vjp, oracles.check_jvp,
    oracles.check_jacobian, oracles.check_hvp, oracles.check_layer, oracles.check_torch_function, oracles.check_custom_vjp,
    oracles.check_custom_jvp, oracles.taylor_test, oracles.taylor_network,
]


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_shared_options_have_one_name_and_one_default(entry):
    parameters = inspect.signature(entry).parameters
    shared = {name: parameters[name].default for name in SHARED if name in parameters}
    assert shared == {name: SHARED[name] for name in shared}
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in shared)
    assert oracles.Options() == oracles.Options(**SHARED)


@pytest.mark.parametrize(
    "option, value, error, words",
    [
        ("seed", -1, ValueError, "seed must be a non-negative integer"),
        ("seed", 1.5, ValueError, "seed must be a non-negative integer"),
        ("oracles", "jax", TypeError, "oracles must be None or a sequence"),
        ("oracles", ("nope",), ValueError, "unknown oracle 'nope'"),
        ("implementation", 3, TypeError, "implementation must be a name"),
        ("k", 0.5, ValueError, "k must be a finite number ≥ 1"),
        ("atol", -1.0, ValueError, "atol must be None or a finite number ≥ 0"),
        ("rtol", float("nan"), ValueError, "rtol must be None or a finite number ≥ 0"),
    ],
)
def test_a_bad_shared_option_is_refused_the_same_way_everywhere(option, value, error, words):
    calls = {
        "check_gradient": lambda **kw: oracles.check_gradient(xp_sum, d, X, **kw),
        "check_vjp": lambda **kw: oracles.check_vjp(xp_map, lambda c, x: c * d(x), X, **kw),
        "check_jvp": lambda **kw: oracles.check_jvp(xp_map, lambda t, x: t * d(x), X, **kw),
        "check_hvp": lambda **kw: oracles.check_hvp(xp_sum, lambda v, x: v * d2(x), X, **kw),
        "check_layer": lambda **kw: oracles.check_layer(lambda x: (np.tanh(x), x), lambda g, x: g * (1 - np.tanh(x) ** 2), X, **kw),
    }
    with pytest.raises(error, match=words):
        oracles.Options(**{option: value})
    for name, call in calls.items():
        with pytest.raises(error, match=words):
            call(**{option: value})


def test_options_are_frozen_and_normalised():
    options = oracles.Options(oracles=["central", "jax"], properties=["linear"])
    assert options.oracles == ("jax", "central")  # registry order
    assert options.named("vjp") == "vjp" and oracles.Options(implementation="mine").named("vjp") == "mine"
    with pytest.raises(AttributeError):
        options.seed = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="mode must be one of"):
        oracles.Options(mode="fast")
