"""Functions with a domain (issue 25, item 3): where a stencil point of a numerical
oracle (central, Richardson, the complex step) leaves f's domain — f raises there, or
is not finite — the element is judged by a one-sided difference from the side inside
it, or not judged by that oracle, and the verdict names the exception; never a crash
from inside the checker, never WRONG for it.  At x itself f's own exception propagates."""

import numpy as np
import pytest

from backprop_reference.oracles import check_gradient, check_jvp
from backprop_reference.oracles.methods.numerical import stencils
from backprop_reference.oracles.methods.numerical.evaluators import Loop

ALPHA = np.array([2.0, 3.0, 4.0, 5.0])


def _on_the_simplex(x):
    if np.any(x <= 0) or abs(np.sum(x) - 1.0) > 1e-12:
        raise ValueError("x must sum to 1")


def dirichlet(x):
    """The log density of Dirichlet(ALPHA) (up to a constant), defined on the simplex only."""
    _on_the_simplex(x)
    return float(np.sum((ALPHA - 1) * np.log(x)))


def dirichlet_grad(x):
    return (ALPHA - 1) / x


def under_the_simplex(x):
    """A density on {x > 0, Σx ≤ 1}; x with Σx just below 1: every +h step leaves it."""
    if np.any(x <= 0) or np.sum(x) > 1.0:
        raise ValueError("x must lie in the simplex")
    return float(np.sum((ALPHA - 1) * np.log(x)) + 3.0 * np.log1p(-np.sum(x) + 1e-3))


def under_the_simplex_grad(x):
    return (ALPHA - 1) / x - 3.0 / (1e-3 + 1 - np.sum(x))


X_INSIDE = np.array([0.1, 0.2, 0.3, 0.4 - 1e-9])


def test_one_sided_differences_judge_elements_at_the_edge_of_the_domain():
    verdict = check_gradient(under_the_simplex, under_the_simplex_grad, X_INSIDE)
    assert verdict.status == "OK", verdict.message()
    (central,) = [c for c in verdict.comparisons if c.oracle == "central"]
    assert central.compared == 4, verdict.message()  # every element one-sided (Richardson's longer steps may not resolve them)
    assert "f raised ValueError('x must lie in the simplex') at x + " in verdict.message()
    assert "central took a one-sided difference for x[0], x[1], x[2] and 1 more" in verdict.message()


def test_a_wrong_element_at_the_edge_of_the_domain_is_still_wrong():
    def slipped(x):
        g = under_the_simplex_grad(x)
        g[1] *= 1 + 1e-5
        return g

    verdict = check_gradient(under_the_simplex, slipped, X_INSIDE)
    assert verdict.status == "WRONG", verdict.message()
    assert verdict.worst.element == "x[1]"


def test_a_density_on_the_simplex_is_not_judged_where_no_oracle_can_move_inside_it():
    # every single-element move leaves the simplex (Σx = 1 breaks): no element can be judged
    x = np.array([0.1, 0.2, 0.3, 0.4])
    verdict = check_gradient(dirichlet, dirichlet_grad, x)
    assert verdict.status == "NOT JUDGED", verdict.message()
    assert set(verdict.unjudged) == {"x[0]", "x[1]", "x[2]", "x[3]"}
    assert "f raised ValueError('x must sum to 1') at x + " in verdict.message()
    assert "central could not judge x[0]" in verdict.message()


def _simplex_and_a_scale(x, s):
    """The simplex density of x plus a smooth term in s: s can be judged, x cannot."""
    return dirichlet(x) + float(np.sum(np.sin(s) * s))


def _simplex_and_a_scale_grad(x, s):
    return dirichlet_grad(x), np.cos(s) * s + np.sin(s)


def test_elements_that_can_still_be_judged_are_judged():
    x, s = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.5, -1.25])
    right = check_gradient(_simplex_and_a_scale, _simplex_and_a_scale_grad, (x, s), argnums=(0, 1))
    assert right.status == "NOT JUDGED", right.message()
    assert set(right.unjudged) == {"x[0]", "x[1]", "x[2]", "x[3]"}
    assert "ValueError('x must sum to 1')" in right.message()

    def slipped(x, s):
        gx, gs = _simplex_and_a_scale_grad(x, s)
        return gx, gs * np.array([1.0, 1.001])

    wrong = check_gradient(_simplex_and_a_scale, slipped, (x, s), argnums=(0, 1))
    assert wrong.status == "WRONG", wrong.message()
    assert wrong.worst.element == "s[1]"


def sqrt_objective(x, xp):
    return xp.sum(xp.sqrt(x) * (x + 1))


def sqrt_grad(x, xp):
    safe = np.where(x > 0, x, 1.0)
    return np.where(x > 0, 0.5 / np.sqrt(safe) * (x + 1) + np.sqrt(safe), 0.5)


def test_sqrt_at_zero_judges_the_other_elements_and_names_the_failure():
    x = np.array([0.0, 1.0, 4.0])
    verdict = check_gradient(sqrt_objective, sqrt_grad, x)
    assert verdict.status != "WRONG", verdict.message()
    assert verdict.unjudged == ("x[0]",)
    assert "at x − " in verdict.message() and "could not judge x[0]" in verdict.message()
    numerical = [c for c in verdict.comparisons if c.oracle in ("richardson", "central")]
    assert numerical and all(c.compared == 2 and c.ok for c in numerical), verdict.message()

    def slipped(x, xp):
        return sqrt_grad(x, xp) * np.array([1.0, 1.0, 1.0 + 1e-6])

    wrong = check_gradient(sqrt_objective, slipped, x)
    assert wrong.status == "WRONG", wrong.message()
    assert wrong.worst.element == "x[2]"


def test_a_plain_numpy_sqrt_at_zero_is_not_judged_there():
    x = np.array([0.0, 1.0, 4.0])
    verdict = check_gradient(lambda x: float(np.sum(np.sqrt(x))), lambda x: np.where(x > 0, 0.5 / np.sqrt(np.where(x > 0, x, 1.0)), 0.5), x)
    assert verdict.status == "NOT JUDGED", verdict.message()
    assert verdict.unjudged == ("x[0]",)
    assert "FloatingPointError" in verdict.message() or "f is nan" in verdict.message()


def test_f_raising_at_x_itself_propagates_the_users_exception():
    class Mine(Exception):
        pass

    def f(x):
        raise Mine("my own bug")

    with pytest.raises(Mine, match="my own bug"):
        check_gradient(f, lambda x: x, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="x must sum to 1"):
        check_gradient(dirichlet, dirichlet_grad, np.array([0.1, 0.2, 0.3, 0.5]))  # Σx = 1.1: x is off the simplex
    with pytest.raises(Mine, match="my own bug"):
        check_jvp(f, lambda t, x: t, np.array([1.0, 2.0]))


def _root(x):
    if np.any(x < 0):
        raise ValueError("x must be non-negative")
    return 2.0 * np.sqrt(x)


def test_a_product_with_a_tangent_at_the_edge_of_the_domain():
    x, v = np.array([1e-5, 1.0, 4.0]), np.ones(3)  # central's θ − 2h = θ − 1.2e-5 raises for out[0]
    right = check_jvp(_root, lambda t, x: t / np.sqrt(x), x, tangent=v)
    assert right.status == "OK", right.message()
    assert "f raised ValueError('x must be non-negative') at x + t·v" in right.message()
    wrong = check_jvp(_root, lambda t, x: t / np.sqrt(x) * np.array([1.0, 1.00001, 1.0]), x, tangent=v)
    assert wrong.status == "WRONG", wrong.message()
    assert wrong.worst.element == "out[1]"


def test_the_stencils_read_a_failure_as_outside_and_keep_the_first_exception():
    x = np.array([3e-8, 0.5])  # central's h = 6e-6: θ − h and θ − 2h raise
    loop = Loop([x.copy()], lambda: (_root_scalar(loop.work[0]), b""), theta=[x], finds_kinks=True)
    result = stencils.differentiate(stencils.CENTRAL, loop)
    assert set(result.domain) == {(0, 0)}
    where = result.domain[(0, 0)]
    assert where.side == 0 and where.move < 0 and "ValueError" in where.why  # side 0: no one-sided difference served
    exact = 1 / np.sqrt(x)
    assert abs(result.values[0][1] - exact[1]) <= result.errors[0][1]
    # the one-sided ladder's steps (6e-6 down to 4.7e-8) reach past √θ's radius of convergence (3e-8):
    # its estimate would not hold, so the element is left unresolved rather than judged by it
    assert np.isnan(result.values[0][0]) and result.errors[0][0] == np.inf


@pytest.mark.parametrize("theta", [2e-5, 1e-4, 0.3])
def test_the_one_sided_ladder_estimate_is_honest_near_the_edge(theta):
    x = np.array([theta, 0.5])
    loop = Loop([x.copy()], lambda: (_root_scalar(loop.work[0]), b""), theta=[x], finds_kinks=True)
    for stencil in (stencils.CENTRAL, stencils.RICHARDSON):
        result = stencils.differentiate(stencil, loop)
        exact = 1 / np.sqrt(theta)
        value, error = result.values[0][0], result.errors[0][0]
        if (0, 0) in result.domain:
            assert result.domain[(0, 0)].side in (0, +1)
        assert not np.isfinite(error) or abs(value - exact) <= error, (stencil.name, value, exact, error)
    central = stencils.differentiate(stencils.CENTRAL, loop)
    assert central.errors[0][0] <= 1e-6 * exact  # central resolves each of these


def _root_scalar(x):
    return float(np.sum(_root(x)))
