"""The batched numerical oracles (``oracles.methods.numerical.network_batches``): the same
answers as the exact oracles and as the one-element-at-a-time loop, kinks
still flagged and bracketed, any chunk budget, any thread count, and wrong
gradients still caught.  No timings here: ``reports/bench/numerical.py``."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.oracles.methods import numerical
from backprop_reference.oracles.methods.numerical import network_batches, stencils
from backprop_reference.oracles.engine.problems import NetworkProblem
from backprop_reference.reference import MLP
from backprop_reference.reference.cases import make_case
from backprop_reference.testbed.strategies import cases, networks
from tests.test_trust import exact_kink_case


def _oracle(stencil, batched):
    return lambda mlp, params, X, Y: numerical.answer(stencil, NetworkProblem(mlp, params, X, Y), batched=batched)


NUMERICAL = {"central": _oracle(stencils.CENTRAL, True), "richardson": _oracle(stencils.RICHARDSON, True)}
PLAIN_LOOP = {"central": _oracle(stencils.CENTRAL, False), "richardson": _oracle(stencils.RICHARDSON, False)}
STENCIL = {"central": stencils.CENTRAL, "richardson": stencils.RICHARDSON}


def complex_batched(mlp, params, X, Y):
    return _oracle(stencils.COMPLEX_STEP, True)(mlp, params, X, Y).gradients


def complex_loop(mlp, params, X, Y):
    return _oracle(stencils.COMPLEX_STEP, False)(mlp, params, X, Y).gradients


def on_a_kink(mlp, params, X):
    return reference.cases.kink_distance(mlp, params, X) == 0.0


def _float64(params):
    return [(W.astype(np.float64), None if b is None else b.astype(np.float64)) for W, b in params]


def _arrays(grads):
    return [a for pair in grads for a in pair if a is not None]


# --- against the exact oracle ----------------------------------------------------------


def _agrees_unless_the_loop_fails_too(result, loop_result):
    """``result`` (batched) must pass, except where the one-element loop fails
    the same comparison: then the case is past the tolerance's edge for the
    method itself, not for the batching (seen for the complex step at weight
    scale 10, N = 1, once in ~2,000 random cases: loop 1.3e-12, batched
    3.2e-12, torch 1.5e-12 against a 1e-12 limit).  The loop is evaluated
    only in that case."""
    if not result.ok:
        assert not loop_result().ok, result.message()


@given(case=cases(dtypes=st.sampled_from([np.float64, np.float32])))
def test_batched_oracles_agree_with_jax(case):
    """Random networks — maxout, masks, shared and absent biases, softmax, the
    registered GELU/ELU/SiLU — within the existing tolerances.

    float64: each batched oracle against jax.  float32: the complex step run
    on the float32 parameters themselves (complex64), and a float32
    implementation judged the project's way (the numerical oracles on float64
    copies, float32 tolerances).  Central differences and Richardson computed
    in float32 itself are compared with their one-element-at-a-time loop
    below: their float32 error estimates are the loop's, no better."""
    mlp, params, X, Y = case.mlp, case.params, case.X, case.Y
    params64, X64, Y64 = _float64(params), X.astype(np.float64), Y.astype(np.float64)
    assume(not on_a_kink(mlp, params64, X64))  # there jax's value is a convention
    exact = oracles.gradients(mlp, params64, X64, Y64, oracle="jax")
    terms = oracles.engine.rounding.network_terms(mlp, params64, X64, Y64)  # each element may differ by its rounding bound
    if X.dtype == np.float64:
        for oracle, method in NUMERICAL.items():
            answer = method(mlp, params, X, Y)
            result = oracles.compare(exact, answer, implementation="jax", terms=terms)

            def loop(oracle=oracle):
                return oracles.compare(exact, PLAIN_LOOP[oracle](mlp, params, X, Y), implementation="jax", terms=terms)

            _agrees_unless_the_loop_fails_too(result, loop)
    else:
        ours = reference.gradients(mlp, params, X, Y, notation="row_major_batch")
        verdict = oracles.check_network_gradients(mlp, params, X, Y, ours, oracles=tuple(NUMERICAL) + ("complex_step",))
        assert verdict.ok, verdict.message()
    stepped = complex_batched(mlp, params, X, Y)
    assert all(g.dtype == X.dtype for g in _arrays(stepped))
    tolerance = oracles.engine.tolerances.tolerance_for(X.dtype, "complex_step")
    result = oracles.compare(exact, stepped, implementation="jax", oracle="complex_step", tolerance=tolerance, terms=terms)
    _agrees_unless_the_loop_fails_too(result, lambda: oracles.compare(
        exact, complex_loop(mlp, params, X, Y), implementation="jax", oracle="complex_step", tolerance=tolerance, terms=terms
    ))


# --- against the one-element-at-a-time loop -----------------------------------------------


def _assert_same_numerical(fast, slow, method, mlp, params, X, Y):
    """Within the two error estimates, their rounding term taken at the forward
    pass's rounding scale; the same kink flags and the same brackets.

    The estimates' rounding term, w ε max(|E|, 1)/h, assumes E is evaluated to
    about one ulp.  Each product W a of the forward pass rounds by ε |W a|,
    which moves E by up to ε Σ |θ ∂E/∂θ|, and the batched and the plain
    evaluation round in different orders; so their difference is allowed
    w ε C/h more, C = max(|E|, 1) + Σ |θ ∂E/∂θ|.  (Over 3,000 random cases,
    float64 and float32, the worst difference was 0.35 of that allowance; the
    bare estimates were exceeded on 0.2 % of elements, by up to 32 ulps of E
    for Richardson in float32 — by the plain loop as much as by the batches.)
    A batching bug is far larger."""
    eps = float(np.finfo(X.dtype).eps)
    weight = 1.0 if method == "central" else stencils.RICHARDSON_ROUNDING
    E = float(reference.loss(mlp, params, X, Y))
    C = max(abs(E), 1.0) + sum(float(np.sum(np.abs(t.astype(np.float64) * g.astype(np.float64)))) for t, g in zip(_arrays(params), _arrays(slow.gradients)))
    for theta, g, e, k, lo, up, g0, e0, k0, lo0, up0 in zip(*(_arrays(x) for x in (
        params, fast.gradients, fast.errors, fast.kinked, fast.lower, fast.upper,
        slow.gradients, slow.errors, slow.kinked, slow.lower, slow.upper,
    ))):
        assert g.dtype == g0.dtype and np.array_equal(k, k0)
        assert np.array_equal(lo, lo0, equal_nan=True) and np.array_equal(up, up0, equal_nan=True)
        smooth = ~k
        allowed = e + e0 + weight * eps * C / stencils.steps(theta, STENCIL[method]).astype(np.float64)
        difference = np.abs(g.astype(np.float64) - g0.astype(np.float64))
        assert np.all(difference[smooth] <= allowed[smooth]), (g[smooth], g0[smooth], e[smooth], e0[smooth])
        assert np.all(np.isinf(e[k])) and np.all(np.isinf(e0[k]))


@given(case=cases(networks=networks(max_hidden=3, max_width=5), dtypes=st.sampled_from([np.float64, np.float32]), max_batch=4))
def test_batched_and_plain_loop_agree_within_their_error_estimates(case):
    for oracle in NUMERICAL:
        fast = NUMERICAL[oracle](case.mlp, case.params, case.X, case.Y)
        slow = PLAIN_LOOP[oracle](case.mlp, case.params, case.X, case.Y)
        _assert_same_numerical(fast, slow, oracle, case.mlp, case.params, case.X, case.Y)
    fast = complex_batched(case.mlp, case.params, case.X, case.Y)
    slow = complex_loop(case.mlp, case.params, case.X, case.Y)
    tolerance = oracles.engine.tolerances.tolerance_for(case.X.dtype, "complex_step")
    terms = oracles.engine.rounding.network_terms(case.mlp, case.params, case.X, case.Y)
    result = oracles.compare(fast, slow, implementation="batched", oracle="complex_step", tolerance=tolerance, terms=terms)
    assert result.ok, result.message()


def test_step_sizes_are_eps_root_times_max_one_abs_theta():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        theta = np.concatenate([rng.normal(scale=s, size=200) for s in (0.3, 1.0, 30.0)] + [np.array([0.0, 1.0, -1.0])]).astype(dtype)
        for method, root in (("central", 1.0 / 3.0), ("richardson", 1.0 / 5.0)):
            steps = stencils.steps(theta, STENCIL[method])
            assert steps.dtype == dtype
            # h = ε^root · max(1, |θ|), rounded to θ's dtype, as a scalar computation gives it
            expected = [np.dtype(dtype).type(float(np.finfo(dtype).eps ** root * max(1.0, abs(float(t))))) for t in theta]
            assert all(h == e for h, e in zip(steps, expected))


def test_masked_weights_cost_nothing_and_match_the_loop_exactly():
    mask = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [1, 1, 1]])
    mlp = MLP((3, 4, 2), ("relu", "identity"), "squared_error", masks=(mask, None))
    case = make_case(mlp, seed=5, scale=1.0, batch=3)
    for oracle in NUMERICAL:
        fast, slow = NUMERICAL[oracle](mlp, case.params, case.X, case.Y), PLAIN_LOOP[oracle](mlp, case.params, case.X, case.Y)
        absent = mask == 0
        assert np.all(fast.gradients[0][0][absent] == 0) and not fast.kinked[0][0][absent].any()
        assert np.array_equal(fast.errors[0][0][absent], slow.errors[0][0][absent])
        assert np.array_equal(slow.gradients[0][0][absent], fast.gradients[0][0][absent])
    assert np.all(complex_batched(mlp, case.params, case.X, case.Y)[0][0][mask == 0] == 0)


# --- kinks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu", "maxout"])
def test_kinks_are_flagged_and_bracketed_as_by_the_loop(activation):
    mlp, params, X, Y = exact_kink_case(activation)
    for oracle in NUMERICAL:
        fast = NUMERICAL[oracle](mlp, params, X, Y)
        assert sum(int(k.sum()) for k in _arrays(fast.kinked)) > 0
        _assert_same_numerical(fast, PLAIN_LOOP[oracle](mlp, params, X, Y), oracle, mlp, params, X, Y)
        ours = reference.gradients(mlp, params, X, Y, notation="row_major_batch")
        result = oracles.compare(ours, fast, implementation="row_major_batch")
        assert result.ok and result.kinks > 0, result.message()


def test_a_kink_crossed_only_above_the_moved_layer_is_flagged():
    # b^1[0] moves a tanh unit (no kink); its change reaches a relu unit of
    # layer 2 whose pre-activation sits 1e-9 from 0: the stencil crosses a kink
    # two layers up, which the rank-1 update and the full pass above must see.
    mlp = MLP((1, 1, 1, 1), ("tanh", "relu", "identity"), "squared_error")
    W1, W2, W3 = np.array([[0.5]]), np.array([[1.0]]), np.array([[2.0]])
    X, Y = np.array([[0.3]]), np.array([[0.1]])
    b2 = np.array([1e-9 - np.tanh(0.15)])
    params = [(W1, np.array([0.0])), (W2, b2), (W3, np.array([0.0]))]
    fast = NUMERICAL["central"](mlp, params, X, Y)
    assert fast.kinked[0][0].all() and fast.kinked[0][1].all() and fast.kinked[1][1].all()
    assert not fast.kinked[2][0].any()
    _assert_same_numerical(fast, PLAIN_LOOP["central"](mlp, params, X, Y), "central", mlp, params, X, Y)
    # E = ½ (2 relu(z²) − 0.1)², z² = 1e-9: differentiable at θ itself, ∂E/∂b² = 2 (2 z² − 0.1); the
    # one-sided steps shrink until they stay on θ's side of the kink, so the bracket is tight around it
    lower, upper = fast.lower[1][1][0], fast.upper[1][1][0]
    assert lower <= 2 * (2e-9 - 0.1) <= upper and upper - lower < 1e-4


# --- chunks, threads, memory --------------------------------------------------------------------


CHUNK_NETWORKS = [
    MLP((3, 5, 4, 3), ("tanh", "maxout", "softmax"), "cross_entropy", bias=("neuron", "shared", "neuron"), pieces=3),
    MLP((2, 6, 3), ("relu", "sigmoid"), "log_loss", bias=("shared", "none")),
]


@pytest.mark.parametrize("mlp", CHUNK_NETWORKS, ids=str)
def test_a_budget_smaller_than_one_layer_gives_the_same_answer(mlp, monkeypatch):
    case = make_case(mlp, seed=7, scale=1.0, batch=6)
    default = {oracle: method(mlp, case.params, case.X, case.Y) for oracle, method in NUMERICAL.items()}
    stepped = complex_batched(mlp, case.params, case.X, case.Y)
    monkeypatch.setattr(network_batches, "WORK_BYTES", 64)  # one element, one sample per chunk
    for oracle, method in NUMERICAL.items():
        _assert_same_numerical(method(mlp, case.params, case.X, case.Y), default[oracle], oracle, mlp, case.params, case.X, case.Y)
    tiny = complex_batched(mlp, case.params, case.X, case.Y)
    assert oracles.compare(tiny, stepped, implementation="tiny chunks", oracle="complex_step").ok


def test_chunk_rule_keeps_every_work_array_within_the_budget():
    mlp = MLP((4, 30, 70, 3), ("tanh", "maxout", "softmax"), "cross_entropy", pieces=3)
    params = reference.init_params(mlp, seed=0)
    X, Y = np.zeros((600, 4)), np.full((600, 3), 1 / 3)
    objective = network_batches.Objective(
        mlp, params, X, Y, dtype=np.complex128, activation=lambda l: mlp.activation(l).f, per_sample=None, kinks=False
    )
    for budget in (network_batches.WORK_BYTES, 2**20, 2**16, 1):
        e = max(1, min(network_batches.CHUNK_ELEMENTS, budget // (network_batches.MAX_THREADS * network_batches.LIVE_ARRAYS * 16)))
        for layer, which, points in ((1, 0, 4), (2, 1, 6), (3, 0, 1), (3, 1, 2)):
            job = network_batches.Job(layer, which, np.arange(10), points, None, None)
            Q, B = objective.chunk(job, budget)
            w = objective.width(layer, whole_layer=False)
            assert 1 <= B <= 600 and Q >= 1
            # within e entries per work array, unless one element's stencil on one sample is wider
            assert Q * points * B * w <= max(e, points * w)
            if budget == network_batches.WORK_BYTES:
                assert B == 600 or Q == 1


def test_traced_peak_memory_stays_within_the_work_budget(monkeypatch):
    budget = 4 * 2**20
    monkeypatch.setattr(network_batches, "WORK_BYTES", budget)
    # the allocator hint allocates 32 MiB it never touches: no memory, but traced
    monkeypatch.setattr(network_batches, "_keep_freed_memory", lambda: None)
    mlp = MLP((4, 8, 256, 2), ("tanh", "tanh", "identity"), "squared_error")
    case = make_case(mlp, seed=0, scale=1.0, batch=256)
    base = 6 * case.X.shape[0] * sum(mlp.sizes) * 8  # the unperturbed pass, its transposes and the results
    tracemalloc.start()
    try:
        NUMERICAL["central"](mlp, case.params, case.X, case.Y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= base + budget, (peak, base, budget)


def test_the_answer_does_not_depend_on_the_number_of_threads(monkeypatch):
    mlp = MLP((5, 7, 6, 3), ("elu", "leaky_relu", "softmax"), "cross_entropy")
    case = make_case(mlp, seed=11, scale=3.0, batch=9)
    answers = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(network_batches, "available_threads", lambda threads=threads: threads)
        monkeypatch.setattr(network_batches, "CHUNK_ELEMENTS", 64)  # many chunks for the threads to share
        richardson = NUMERICAL["richardson"](mlp, case.params, case.X, case.Y)
        answers.append(_arrays(richardson.gradients) + _arrays(richardson.errors) + _arrays(complex_batched(mlp, case.params, case.X, case.Y)))
    for other in answers[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(answers[0], other))


def test_an_error_in_a_worker_thread_reaches_the_caller(monkeypatch):
    mlp = MLP((2, 3, 2), ("tanh", "identity"), "squared_error")
    case = make_case(mlp, seed=0, scale=1.0, batch=2)
    monkeypatch.setattr(network_batches, "available_threads", lambda: 2)
    monkeypatch.setattr(network_batches, "CHUNK_ELEMENTS", 1)

    def broken(self, z, rows):
        raise RuntimeError("loss failed in a worker")

    monkeypatch.setattr(network_batches.Objective, "_loss_sums", broken)
    with pytest.raises(RuntimeError, match="loss failed in a worker"):
        NUMERICAL["central"](mlp, case.params, case.X, case.Y)


# --- wrong gradients are still caught ---------------------------------------------------------------


def test_a_slightly_wrong_gradient_is_caught_by_the_batched_oracles():
    mlp = MLP((6, 8, 7, 4), ("tanh", "tanh", "softmax"), "cross_entropy")
    case = make_case(mlp, seed=2, scale=1.0, batch=16)
    ours = reference.gradients(mlp, case.params, case.X, case.Y, notation="row_major_batch")
    central = NUMERICAL["central"](mlp, case.params, case.X, case.Y)
    assert oracles.compare(ours, central, implementation="x").ok
    G = max(float(np.max(np.abs(a))) for a in _arrays(central.gradients))
    wrong = [[dW.copy(), db.copy()] for dW, db in ours]
    wrong[1][0][3, 2] += 3e-6 * G  # three times the central tolerance, in one element
    result = oracles.compare(wrong, central, implementation="x")
    assert not result.ok and result.worst.element == "W^2[3, 2]", result.message()
    # the largest element off by 1e-6 of itself: within central's 1e-6, far outside Richardson's 1e-9
    richardson = NUMERICAL["richardson"](mlp, case.params, case.X, case.Y)
    wrong = [[dW.copy(), db.copy()] for dW, db in ours]
    layer, which, index = max(
        ((l, w, np.unravel_index(np.argmax(np.abs(a)), a.shape)) for l, pair in enumerate(ours) for w, a in enumerate(pair)),
        key=lambda t: abs(ours[t[0]][t[1]][t[2]]),
    )
    wrong[layer][which][index] *= 1 + 1e-6
    result = oracles.compare(wrong, richardson, implementation="x")
    assert not result.ok and result.unresolved == 0, result.message()
    stepped = complex_batched(mlp, case.params, case.X, case.Y)
    assert not oracles.compare(wrong, stepped, implementation="x", oracle="complex_step").ok


# --- the benchmark's bookkeeping (its timings are not tested) ------------------------------------------


def test_benchmark_counts_the_unavoidable_activation_evaluations_and_plots():
    from backprop_reference.reports.bench import numerical as bench
    from backprop_reference.reports.render import plots

    # 64-128-128-10: W^1, b^1 (8,320 elements) need tanh on their column and on all
    # 128 units of layer 2; W^2, b^2 (16,512) on their column only; W^3, b^3 the loss only
    expected = 8320 * 4 * 128 * (1 + 128) + 16512 * 4 * 128 * 1
    assert bench.activation_evaluations(bench.TARGET, 128, 4) == expected
    assert bench._parameters(bench.TARGET) == 26122
    rows = [
        bench.GrowthRow(oracle, sweep, "net", w, h, p, 32, s, 2 * s, 1)
        for oracle in ("central", "complex_step")
        for sweep, w, h, p, s in (("width", 16, 2, 714, 0.01), ("width", 32, 2, 2442, 0.02), ("depth", 64, 2, 8970, 0.1), ("depth", 64, 3, 13130, 0.3))
    ]
    figure = plots.growth(rows)
    assert figure.png[:8] == b"\x89PNG\r\n\x1a\n"
