"""Ties of any multiplicity (issue 25, item 1): a tied group's gradient is judged against the set
of valid gradients there — the convex hull of the gradients of f's smooth pieces that meet at
the tie — not against a per-element bracket, which cannot hold every valid choice of a tie of
three or more (``oracles.engine.kinks``)."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_reference import oracles


def _sort(x, xp):
    s = xp.sort(x)
    return getattr(s, "values", s)  # torch.sort returns (values, indices)


def _sort_vjp(x: np.ndarray, c: np.ndarray, reverse_ties: bool = False) -> np.ndarray:
    """The VJP of a sort that gives each output's cotangent to the input it came from, the tied
    inputs taken in index order (or in reverse): each choice is a valid gradient at the tie."""
    keys = (-np.arange(x.size) if reverse_ties else np.arange(x.size), x)
    order = np.lexsort(keys)  # order[r]: the input sorted to position r
    g = np.zeros_like(x)
    g[order] = c
    return g


def _jax_sort_vjp(c, x):
    import jax
    import jax.numpy as jnp

    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)  # jax's own float64 VJP; the setting is put back
    try:
        _, pullback = jax.vjp(jnp.sort, jnp.asarray(x))
        return np.asarray(pullback(jnp.asarray(c))[0])
    finally:
        jax.config.update("jax_enable_x64", before)


X3 = np.array([0.3, 1.0, 1.0, 1.0, -0.5])  # three equal values
U3 = np.array([0.1, 0.7, -0.4, 0.9, 0.2])  # the tied outputs' cotangents (-0.4, 0.9, 0.2): not ordered like them


def test_a_three_way_sort_passes_with_jaxs_own_vjp():
    jax_vjp = _jax_sort_vjp(U3, X3)
    assert sorted(jax_vjp[1:4]) == sorted(U3[2:5])  # jax gives each tied input one tied output's cotangent
    verdict = oracles.check_vjp(_sort, _jax_sort_vjp, X3, cotangent=U3, properties=False)
    assert verdict.ok, verdict.message()
    assert "tie(s) among kinked elements, each judged as a whole too" in verdict.note
    assert "convex hull" in verdict.note, verdict.note


@pytest.mark.parametrize("choice", ["index order", "reverse order", "a convex combination"])
def test_a_three_way_sort_passes_with_any_valid_choice(choice):
    first, second = _sort_vjp(X3, U3), _sort_vjp(X3, U3, reverse_ties=True)
    assert not np.array_equal(first, second)
    claimed = {"index order": first, "reverse order": second, "a convex combination": 0.3 * first + 0.7 * second}[choice]
    verdict = oracles.check_vjp(_sort, lambda c, x: claimed.copy(), X3, cotangent=U3, properties=False)
    assert verdict.ok, verdict.message()


def test_a_three_way_sort_with_a_gradient_outside_the_hull_is_wrong_and_names_the_group():
    claimed = _sort_vjp(X3, U3)
    claimed[1:4] = [0.9, 0.9, -1.1]  # sums to the slope (0.7), but 0.9 twice: no mixture of the pieces gives it
    verdict = oracles.check_vjp(_sort, lambda c, x: claimed.copy(), X3, cotangent=U3, properties=False)
    assert verdict.status == "WRONG", verdict.message()
    assert "tie(s) broken: along x[1] + x[2] + x[3]" in verdict.note, verdict.note


@pytest.mark.parametrize("x", [np.array([1.0, 1.0, 1.0, 0.2]), np.array([2.0, 2.0, 2.0, 2.0])], ids=["three equal", "four equal"])
@pytest.mark.parametrize("routing", ["to one", "to another", "split evenly", "to all", "to none"])
def test_a_max_over_equal_values(x, routing):
    tied = np.flatnonzero(x == x.max())
    g = np.zeros_like(x)
    if routing == "to one":
        g[tied[0]] = 1.0
    elif routing == "to another":
        g[tied[-1]] = 1.0
    elif routing == "split evenly":
        g[tied] = 1.0 / tied.size
    elif routing == "to all":
        g[tied] = 1.0  # sum = m × the slope
    verdict = oracles.check_gradient(lambda x, xp: xp.max(x), lambda x: g.copy(), x)
    if routing in ("to all", "to none"):
        assert verdict.status == "WRONG", verdict.message()
        group = " + ".join(f"x[{i}]" for i in tied)
        assert f"tie(s) broken: along {group}" in verdict.note, verdict.note
    else:
        assert verdict.ok, verdict.message()


def test_a_gradient_outside_the_hull_but_inside_every_bracket_is_wrong():
    """The hull, not the box: at a four-way tie of a sort with the tied outputs' cotangents
    (0, 1, 2, 3), each tied input's one-sided derivatives are 0 (moved down: the smallest) and 3
    (moved up: the largest), and (3, 3, 0, 0) lies in every element's bracket and sums to the
    slope 6 — but no two inputs can take 3 each: x[0] + x[1] ≤ 2 + 3 on every piece."""
    x = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    u = np.array([0.5, 0.0, 1.0, 2.0, 3.0])  # sorted: x[4] first, then the four tied
    claimed = np.array([3.0, 3.0, 0.0, 0.0, 0.5])
    valid = _sort_vjp(x, u)
    assert oracles.check_vjp(_sort, lambda c, x: valid.copy(), x, cotangent=u, properties=False).ok
    verdict = oracles.check_vjp(_sort, lambda c, x: claimed.copy(), x, cotangent=u, properties=False)
    assert verdict.status == "WRONG", verdict.message()
    assert "tie(s) broken: along x[0] + x[1] + x[2] + x[3]" in verdict.note and "outside the convex hull" in verdict.note, verdict.note
    assert claimed[:4].sum() == u[1:].sum() and all(u[1:].min() <= c <= u[1:].max() for c in claimed[:4])
    comparison = next(c for c in verdict.comparisons if c.oracle == "central")
    assert comparison.worst.kinked_worst and comparison.worst.element in ("x[0]", "x[1]", "x[2]", "x[3]"), verdict.message()


def test_a_four_way_sort_passes_with_jax_and_with_a_mixture():
    x = np.array([0.5, 0.5, -1.0, 0.5, 0.5])
    u = np.array([0.3, -1.0, 2.0, 0.25, 0.7])  # tied outputs' cotangents, not ordered
    verdict = oracles.check_vjp(_sort, _jax_sort_vjp, x, cotangent=u, properties=False)
    assert verdict.ok, verdict.message()
    mixture = 0.5 * _sort_vjp(x, u) + 0.25 * _sort_vjp(x, u, reverse_ties=True) + 0.25 * _jax_sort_vjp(u, x)
    verdict = oracles.check_vjp(_sort, lambda c, x: mixture.copy(), x, cotangent=u, properties=False)
    assert verdict.ok, verdict.message()


def test_a_tie_too_large_for_its_pieces_is_judged_by_its_sum_and_said_to_be():
    x = np.r_[np.ones(7), 0.0]  # seven equal values: 7! pieces, more than the hull is built for
    u = np.random.default_rng(7).standard_normal(8)
    verdict = oracles.check_vjp(_sort, _jax_sort_vjp, x, cotangent=u, properties=False)
    assert verdict.ok, verdict.message()  # jax's own valid choice, whatever the per-element brackets say
    assert "not fully judged — by their sum alone" in verdict.note and "more than 6 tied elements" in verdict.note, verdict.note
    doubled = np.array(_jax_sort_vjp(u, x))
    doubled[:7] *= 2  # the sum along the tie is broken: WRONG on that alone
    verdict = oracles.check_vjp(_sort, lambda c, x: doubled.copy(), x, cotangent=u, properties=False)
    assert verdict.status == "WRONG" and "tie(s) broken: along x[0] + x[1] + x[2] + x[3] + …" in verdict.note, verdict.message()


def _two_windows(x, xp):
    return xp.max(x[:4]) + xp.max(x[4:])  # two max-pool windows under one dout: their brackets are all equal


@pytest.mark.parametrize(("gradient", "ok"), [
    ([1, 0, 0, 0, 0, 0, 0.5, 0.5], True),
    ([0.25] * 8, True),
    ([2, -1, 0, 0, 1, 0, 0, 0], False),  # the first window's sum holds, and the total's, but −1 is no mixture of its pieces
    ([1, 0, 0, 0, 0, 0, 0, 0], False),  # the total is not the slope along all (2)
])
def test_ties_that_share_their_brackets_are_split_and_each_judged(gradient, ok):
    x = np.array([1.0, 1.0, 1.0, 1.0, -2.0, -2.0, -2.0, -2.0])
    verdict = oracles.check_gradient(_two_windows, lambda x: np.array(gradient, dtype=np.float64), x)
    assert verdict.ok == ok, verdict.message()
    assert "2 tie(s)" in verdict.note and "2 of them against the convex hull" in verdict.note, verdict.note
    if not ok:
        assert verdict.status == "WRONG"


# --- ties no single element's stencil shows: equal inputs, found where the oracles dispute ---------------------------------


def _median(x, xp):
    return xp.median(x)


X_MEDIAN = np.array([0.3, 0.3, 0.3, -1.0, 2.0])  # three equal values at the median: moving one alone leaves it put


@pytest.mark.parametrize(("gradient", "ok"), [
    ([0, 1, 0, 0, 0], True),  # jax's choice: one tied element
    ([1 / 3, 1 / 3, 1 / 3, 0, 0], True),  # torch's: their mean
    ([0, 0, 0, 0, 0], False),  # every partial derivative, and no valid gradient: along (1, 1, 1, 0, 0) the median moves
    ([0, 1, 1, 0, 0], False),  # sums to 2 along the tie
])
def test_a_median_of_equal_values_is_judged_against_the_hull_of_its_pieces(gradient, ok):
    verdict = oracles.check_gradient(_median, lambda x: np.array(gradient, dtype=np.float64), X_MEDIAN)
    assert verdict.ok == ok, verdict.message()
    assert "tie(s) among kinked elements" in verdict.note or "tie(s) broken" in verdict.note, verdict.note
    if not ok:
        assert verdict.status == "WRONG"


def _overlapping_windows(x, xp):
    return 0.7 * xp.maximum(x[0], x[1]) - 0.2 * xp.maximum(x[1], x[2]) + 0.4 * x[2]  # max-pool, kernel 2, stride 1, under a cotangent


@pytest.mark.parametrize(("gradient", "ok"), [
    ([0.7, -0.2, 0.4], True),  # torch's: each window's gradient to its first maximum
    ([0.0, 0.7, 0.2], True),  # the piece x2 > x1 > x0: x1 wins the first window, x2 the second
    ([0.7, 0.0, 0.2], True),  # the piece x0 > x1, x2 > x1
    ([0.7, -0.2, 0.5], False),  # the sum along the tie is broken
])
def test_overlapping_max_pool_windows_at_a_three_way_tie(gradient, ok):
    x = np.array([1.0, 1.0, 1.0])
    verdict = oracles.check_gradient(_overlapping_windows, lambda x: np.array(gradient, dtype=np.float64), x)
    assert verdict.ok == ok, verdict.message()
