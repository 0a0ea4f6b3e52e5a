"""The checks' fast paths for large functions: f evaluated at many stencil points per call
(``oracles.methods.numerical.mapped``), and the sampled check above the elementwise limit
(``oracles.engine.sampling``).  Each is shown to give the loop's answers, to catch a wrong
gradient, and to step aside (saying why) where it cannot apply."""

import io
import sys

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference.oracles.methods import numerical
from backprop_reference.oracles.engine import problems, sampling as sampled
from backprop_reference.oracles.methods.numerical import mapped
from backprop_reference.oracles.engine.problems import FunctionProblem

rng = np.random.default_rng(11)
X = rng.standard_normal((30, 40))  # 1,200 elements: 4,800 central-difference points, above MAPPED_MIN_EVALUATIONS
W = rng.standard_normal((40, 5)) / 5


def tanh_layer(x, W, xp):
    return xp.sum(xp.tanh(x @ W) ** 2)


def grad_tanh_layer(x, W):
    t = np.tanh(x @ W)
    return (2 * t * (1 - t**2)) @ W.T


def relu_layer(x, W, xp):
    return xp.sum(xp.where(x > 0, x, 0 * x) @ W) + xp.sum(xp.tanh(x @ W) ** 2)


def grad_relu_layer(x, W):
    return (x > 0) * W.sum(axis=1)[None, :] + grad_tanh_layer(x, W)


def _with_zeros(x):
    x = x.copy()
    x[0, :4] = 0.0  # relu's kink, exactly
    return x


def _answers(f, x, stencil):
    problem = FunctionProblem(f, (x, W), ["x", "W"], (0,))
    batched = numerical.answer(stencil, problem)
    assert isinstance(problem.evaluator(stencil), mapped.Mapped), problem.notes
    loop = numerical.answer(stencil, FunctionProblem(f, (x, W), ["x", "W"], (0,)), batched=False)
    return batched, loop


@pytest.mark.parametrize("stencil", ["richardson", "central", "complex_step"])
def test_mapped_evaluation_gives_the_loops_derivatives(stencil):
    batched, loop = _answers(tanh_layer, X, numerical.STENCILS[stencil])
    (b,), (l,) = batched.flat("gradients"), loop.flat("gradients")
    if stencil == "complex_step":
        np.testing.assert_allclose(b, l, rtol=1e-13, atol=1e-15)
    else:
        (err,) = loop.flat("errors")
        assert np.all(np.abs(b - l) <= 2 * err), "batched and looped stencils differ by more than their error estimates"
        assert not np.any(batched.flat("kinked")[0]) and not np.any(loop.flat("kinked")[0])


def test_mapped_evaluation_finds_the_same_kinks_and_brackets():
    x = _with_zeros(X)
    batched, loop = _answers(relu_layer, x, numerical.RICHARDSON)
    kinked_b, kinked_l = batched.flat("kinked")[0], loop.flat("kinked")[0]
    assert kinked_b[0, :4].all() and np.array_equal(kinked_b, kinked_l)
    for field in ("lower", "upper"):
        b, l = batched.flat(field)[0][kinked_b], loop.flat(field)[0][kinked_l]
        np.testing.assert_allclose(b, l, rtol=1e-6, atol=1e-8)


def test_a_check_in_batches_passes_a_right_gradient_and_names_a_wrong_element():
    right = oracles.check_gradient(tanh_layer, grad_tanh_layer, (X, W))
    assert right.ok, right.message()
    assert "one point at a time" not in right.note

    def slipped(x, W):
        g = grad_tanh_layer(x, W)
        g[7, 3] *= 1 + 1e-6
        return g

    wrong = oracles.check_gradient(tanh_layer, slipped, (X, W), oracles=("richardson", "complex_step"))
    assert not wrong.ok and {c.oracle for c in wrong.comparisons if not c.ok} == {"richardson", "complex_step"}
    assert wrong.worst.element == "x[7, 3]"


def test_kinks_at_exact_zeros_are_judged_by_their_sides_in_batches_too():
    x = _with_zeros(X)
    verdict = oracles.check_gradient(relu_layer, grad_relu_layer, (x, W), oracles=("richardson", "central"))
    assert verdict.ok, verdict.message()
    assert all(c.kinks >= 4 for c in verdict.comparisons)

    def outside(x, W):
        g = grad_relu_layer(x, W)
        g[0, 1] += 1.5 * abs(W.sum(axis=1)[1]) + 0.1  # beyond both one-sided derivatives
        return g

    assert not oracles.check_gradient(relu_layer, outside, (x, W), oracles=("richardson", "central")).ok


def test_an_f_that_cannot_be_mapped_keeps_the_loop_and_says_why():
    def in_place(x, W, xp):
        x[x < 0] = 0  # JAX arrays cannot be written into
        return xp.sum(x @ W)

    verdict = oracles.check_gradient(in_place, lambda x, W: (x > 0) * W.sum(axis=1)[None, :], (X, W), oracles=("central",))
    assert verdict.ok, verdict.message()
    assert "one point at a time, not in batches" in verdict.note and "immutable" in verdict.note


def test_an_f_whose_jax_form_is_another_function_keeps_the_loop():
    def two_faced(x, W, xp):
        shift = 0.0 if xp is np else 1e-6  # not the same function in jax: batching it would differentiate the wrong one
        return xp.sum(xp.tanh(x @ W) ** 2) + shift * xp.sum(x)

    verdict = oracles.check_gradient(two_faced, grad_tanh_layer, (X, W), oracles=("central",))
    assert "not the same function to rounding" in verdict.note
    assert verdict.ok, verdict.message()


def test_the_threshold_is_a_count_of_points_not_a_timing():
    small = FunctionProblem(tanh_layer, (X[:2], W), ["x", "W"], (0,))  # 80 elements × 6 points
    assert not isinstance(small.evaluator(numerical.RICHARDSON), mapped.Mapped)
    assert small.evaluator(numerical.RICHARDSON, batched=False).__class__.__name__ == "Loop"
    assert 80 * numerical.RICHARDSON.count < problems.MAPPED_MIN_EVALUATIONS <= X.size * numerical.CENTRAL.count


# --- the sampled check --------------------------------------------------------------------------

BIG = rng.standard_normal((25_100,)) * 0.8  # above ELEMENTWISE_LIMIT: mode="auto" samples


def softplus_sum(x, xp):
    return xp.sum(xp.log1p(xp.exp(x)))  # complex-safe for moderate x


def grad_softplus_sum(x):
    return 0.5 * (1 + np.tanh(x / 2))


def test_above_the_limit_auto_samples_and_says_so():
    assert BIG.size > sampled.ELEMENTWISE_LIMIT
    verdict = oracles.check_gradient(softplus_sum, grad_softplus_sum, BIG, directions=4)
    assert verdict.ok, verdict.message()
    assert verdict.note.startswith("sampled check of 25,100 elements: every element by jax, torch;")
    assert "256 drawn with seed 0" in verdict.note and "4 random directions" in verdict.note
    assert {"jax", "torch", "richardson", "central", "complex_step", "richardson along v", "central along v", "complex_step along v"} == set(verdict.oracles_ran)
    assert verdict.elements == BIG.size
    small = oracles.check_gradient(softplus_sum, grad_softplus_sum, BIG[:500])
    assert "sampled" not in small.note


def test_sampled_exact_oracles_still_judge_every_element():
    def one_slip(x):
        g = grad_softplus_sum(x)
        g[12_345] *= 1 + 1e-9  # almost surely not among 256 samples: the exact oracles find it anyway
        return g

    verdict = oracles.check_gradient(softplus_sum, one_slip, BIG, directions=2)
    assert not verdict.ok and verdict.worst.element == "x[12345]"
    assert "1 where grad differs from an exact oracle" in verdict.note  # followed up numerically as well


def test_sampled_projections_catch_an_element_no_sample_saw_in_a_plain_numpy_f():
    x = rng.standard_normal(3_000)

    def one_slip(x):
        g = np.cos(x)
        g[1_234] += 0.1
        return g

    right = oracles.check_gradient(lambda x: np.sum(np.sin(x)), np.cos, x, mode="sampled", samples=64, directions=4)
    assert right.ok, right.message()
    verdict = oracles.check_gradient(lambda x: np.sum(np.sin(x)), one_slip, x, mode="sampled", samples=64, directions=4)
    assert not verdict.ok
    assert {c.oracle for c in verdict.comparisons if not c.ok} == {"richardson along v", "central along v"}
    assert all(c.ok for c in verdict.comparisons if not c.oracle.endswith("along v"))  # the samples missed it


def test_sampled_conventions_at_kinks_are_not_false_alarms():
    x = BIG.copy()
    x[:10] = 0.0

    def f(x, xp):
        return xp.sum(xp.maximum(x, 0 * x)) + softplus_sum(x, xp)  # jnp.maximum splits a tie: 0.5 at x = 0

    def grad(x):
        return (x > 0) + grad_softplus_sum(x)  # the left-hand convention: 0 at x = 0

    verdict = oracles.check_gradient(f, grad, x, mode="sampled", directions=2)
    assert verdict.ok, verdict.message()
    assert "10 where grad differs from an exact oracle" in verdict.note


def test_suspects_beyond_the_cap_are_not_judged_never_blamed(monkeypatch):
    """Conventions at more kinks than the numerical oracles follow: those left over are
    'not judged' (the note says how many), not WRONG on jax's or torch's word alone."""
    monkeypatch.setattr(sampled, "MAX_FOLLOWED", 20)
    x = BIG.copy()
    x[:30] = 0.0

    def f(x, xp):
        return xp.sum(xp.maximum(x, 0 * x)) + softplus_sum(x, xp)

    def grad(x):
        return (x > 0) + grad_softplus_sum(x)

    verdict = oracles.check_gradient(f, grad, x, samples=8, directions=2)
    assert verdict.status == "NOT JUDGED" and len(verdict.unjudged) == 10, verdict.message()
    assert "10 more elements where grad differs from an exact oracle (beyond the 20 followed) are not judged" in verdict.note

    def wrong(x):
        g = grad(x)
        g[100:200] += 1.0  # the largest differences are followed first: a real error is found numerically
        return g

    assert oracles.check_gradient(f, wrong, x, samples=8, directions=2).status == "WRONG"


def test_projections_alone_when_no_samples_are_asked_for():
    def slip(x):
        g = grad_softplus_sum(x)
        g[7] += 0.1
        return g

    verdict = oracles.check_gradient(softplus_sum, slip, BIG, samples=0, directions=2, oracles=("central",))
    assert not verdict.ok and [c.oracle for c in verdict.comparisons] == ["central along v"]
    assert verdict.worst.element.startswith("v·g[")


def test_a_wrong_element_is_named_before_a_projection():
    def slip(x):
        g = grad_softplus_sum(x)
        g[12_345] += 0.5
        return g

    verdict = oracles.check_gradient(softplus_sum, slip, BIG, directions=2)
    assert verdict.worst.element == "x[12345]"
    head = verdict.message().splitlines()[0]
    agreeing = head.split("(agrees with ")[1].split(")")[0].split(", ") if "(agrees with " in head else []
    idle = [c.oracle for c in verdict.comparisons if not c.compared]
    assert not set(idle) & set(agreeing), head  # an oracle that judged nothing is never said to agree


@pytest.mark.parametrize(
    "options, message",
    [
        ({"mode": "fast"}, "mode must be one of 'auto', 'elementwise', 'sampled'"),
        ({"samples": -1}, "samples must be a non-negative integer"),
        ({"directions": 1.5}, "directions must be a non-negative integer"),
        ({"seed": True}, "seed must be a non-negative integer"),
        ({"mode": "sampled", "samples": 0, "directions": 0}, "samples and directions are both 0"),
        ({"mode": "elementwise", "samples": 5}, "samples apply to the sampled check; mode='elementwise' judges every element"),
    ],
)
def test_bad_sampling_options_are_refused_before_any_work(options, message):
    called = []

    def grad(x):
        called.append(1)
        return grad_softplus_sum(x)

    with pytest.raises(ValueError, match=message):
        oracles.check_gradient(softplus_sum, grad, BIG[:10], **options)
    assert not called


# --- progress ---------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_shown_on_a_terminal_only(monkeypatch):
    from backprop_reference.oracles.methods import progress

    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with progress.progress(10, "stencil points") as tick:
        tick(10)
    assert log.getvalue() == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress.progress(10, "stencil points") as tick:
        tick(10)
    assert "stencil points" in terminal.getvalue()
