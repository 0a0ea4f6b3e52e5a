"""No vacuous verdict (issue 25, item 5): an empty argument or an f that is not finite at x
is refused before any work; a verdict that judged no element is never OK; a hint names only a
cause that fits the evidence; elements that ``*params`` receives are named after it."""

import dataclasses

import numpy as np
import pytest

from backprop_reference import oracles


def square_sum(x):
    return np.sum(x ** 2)


def twice(x):
    return 2 * x


@pytest.mark.parametrize("shape", [(0,), (0, 3), (4, 0)])
def test_an_empty_argument_is_refused_naming_it(shape):
    x = np.zeros(shape)
    with pytest.raises(ValueError, match=r"argument x has no elements to differentiate"):
        oracles.check_gradient(square_sum, twice, x)
    with pytest.raises(ValueError, match=r"argument x has no elements to differentiate"):
        oracles.check_vjp(lambda x: x ** 2, lambda d, x: 2 * x * d, x)
    with pytest.raises(ValueError, match=r"argument x has no elements to differentiate"):
        oracles.check_jvp(lambda x: x ** 2, lambda t, x: 2 * x * t, x)


def test_an_empty_differentiated_argument_among_others_is_refused():
    def f(x, w):
        return np.sum(x) + np.sum(w)

    with pytest.raises(ValueError, match=r"argument w has no elements"):
        oracles.check_gradient(f, lambda x, w: (np.ones_like(x), np.ones_like(w)), (np.ones(3), np.zeros((0, 2))), argnums=(0, 1))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_f_not_finite_at_x_is_refused_naming_f(value):
    with pytest.raises(ValueError, match=rf"f is {value} at the point checked"):
        oracles.check_gradient(lambda x: np.sum(x) * value, lambda x: np.ones_like(x), np.ones(3))
    with pytest.raises(ValueError, match=r"f is nan at the point checked"):
        with np.errstate(invalid="ignore"):
            oracles.check_gradient(lambda x: np.sum(np.sqrt(x)), lambda x: 0.5 / np.sqrt(x), np.array([-1.0, 4.0]))
    with pytest.raises(ValueError, match=r"f returned non-finite values"):
        oracles.check_vjp(lambda x: x * value, lambda d, x: d * value, np.ones(3))


def test_a_verdict_that_compared_no_element_is_not_judged_never_ok():
    verdict = oracles.check_gradient(square_sum, twice, np.arange(1.0, 4.0), oracles=("central",))
    assert verdict.status == "OK"
    idle = tuple(dataclasses.replace(c, leaves=tuple(dataclasses.replace(p, compared=0) for p in c.leaves))
                 for c in verdict.comparisons)
    emptied = dataclasses.replace(verdict, comparisons=idle)
    assert not emptied.ok and emptied.status == "NOT JUDGED"
    assert "no oracle that ran could resolve any element" in emptied.message()


def test_zero_times_infinity_in_a_backward_is_not_explained_as_weight_decay():
    """dout · (1/x) at x = 0: backward(0) is nan (0·∞), not a term independent of dout."""
    def forward(x):
        return np.log(np.abs(x) + 1.0), x

    def backward(dout, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return dout * np.sign(x) / (np.abs(x) + 1.0) + dout * 0.0 / x * 0.0 + (dout * (1.0 / x)) * 0.0

    x = np.array([0.0, 1.5, -2.0])
    verdict = oracles.check_layer(forward, backward, x)
    assert verdict.status == "WRONG"
    linear = next(p for p in verdict.properties if p.name == "linear")
    assert not linear.ok
    assert "0·∞" in linear.message and "weight decay" not in linear.message


def test_a_finite_term_independent_of_dout_is_still_named_as_one():
    def forward(x):
        return x ** 2, x

    def backward(dout, x):
        return 2 * x * dout + 1e-3 * x  # weight decay in the backward

    verdict = oracles.check_layer(forward, backward, np.array([0.5, 1.5, -2.0]))
    linear = next(p for p in verdict.properties if p.name == "linear")
    assert not linear.ok and "a term that does not depend on dout" in linear.message and "0·∞" not in linear.message


def test_star_params_elements_are_named_after_the_parameter():
    def f(x, *params):
        return np.sum(x * params[0]) + np.sum(params[1] ** 2)

    def grad(x, *params):
        slipped = 2 * params[1]
        slipped[1, 2] += 1e-3
        return params[0], x, slipped

    x, p0, p1 = np.ones((2, 3)), np.arange(6.0).reshape(2, 3), np.linspace(0, 1, 6).reshape(2, 3)
    verdict = oracles.check_gradient(f, grad, (x, p0, p1), argnums=(0, 1, 2))
    assert verdict.status == "WRONG"
    assert verdict.worst.element == "params[1][1, 2]"
    assert oracles.check_gradient(f, lambda x, *p: (p[0], x, 2 * p[1]), (x, p0, p1), argnums=(0, 1, 2)).ok
