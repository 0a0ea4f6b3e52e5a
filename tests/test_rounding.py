"""The tolerance from the computation's own rounding (issue 13): sound, tight where it should be,
and the arbitration when the exact oracles disagree."""

import dataclasses

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.oracles.engine.arbitration import arbitrate
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.engine.comparison import judge
from backprop_reference.oracles.engine.problems import NetworkProblem
from backprop_reference.oracles.methods.registry import ORACLES
from backprop_reference.oracles.engine.rounding import EPS, network_terms
from backprop_reference.oracles.engine.tolerances import ROUNDING_MULTIPLE, tolerance_for
from backprop_reference.reference import MLP
from backprop_reference.reference.cases import make_case

# Networks where the old rule (1e-12 × max(G, 1)) is wrong in one direction or the other.
SATURATED = {
    "silu units at z ≈ −37 (tanh-form cancellation)": (MLP((3, 1, 4), ("sigmoid", "silu"), "squared_error"), 30.0, 1),
    "softmax output saturated, squared error": (MLP((1, 1, 1, 1, 1, 2), ("identity",) * 4 + ("softmax",), "squared_error"), 3.0, 180),
    "tanh ×30 into softmax + cross-entropy": (MLP((4, 6, 5, 3), ("tanh", "tanh", "softmax"), "cross_entropy"), 30.0, 4),
    "sigmoid + log loss at weight scale 10": (MLP((3, 5, 4, 2), ("sigmoid", "tanh", "sigmoid"), "log_loss"), 10.0, 7),
    "gelu, elu ×30, squared error": (MLP((4, 2, 4, 3), ("sigmoid", "gelu", "elu"), "squared_error"), 30.0, 11),
    "masked maxout, shared bias": (
        MLP((3, 4, 3, 2), ("maxout", "tanh", "softmax"), "cross_entropy", bias=("shared", "none", "neuron"),
            masks=(None, np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]]), None), pieces=3),
        10.0, 2,
    ),
}


def _case(name):
    mlp, scale, seed = SATURATED[name]
    return make_case(mlp, seed=seed, scale=scale, batch=3)


@pytest.mark.parametrize("name", SATURATED)
def test_every_notation_is_within_eps_times_its_bound_of_the_50_digit_truth(name):
    """The bound itself, without the multiple: |g_k − ∂E/∂θ_k| ≤ ε B_k for every
    element of every notation's float64 gradient, against mpmath."""
    case = _case(name)
    problem = NetworkProblem(case.mlp, case.params, case.X, case.Y)
    B = network_terms(case.mlp, case.params, case.X, case.Y)
    elements = [(leaf, tuple(int(i) for i in index)) for leaf, b in enumerate(B) for index in np.ndindex(b.shape)]
    truth = {(r.leaf, r.index): r for r in arbitrate(problem, elements, digits=60)}
    for notation in reference.NOTATIONS:
        if not reference.can_express(case.mlp, notation):
            continue
        ours = problem.layout.flatten(reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation))
        for (leaf, index), record in truth.items():
            error = abs(float(ours[leaf][index]) - record.value)
            assert error <= EPS * B[leaf][index] + record.error, (notation, record.element, ours[leaf][index], record.value, B[leaf][index])


@pytest.mark.parametrize("name", SATURATED)
def test_correct_gradients_pass_where_terms_are_large(name):
    case = _case(name)
    for notation in reference.NOTATIONS:
        if reference.can_express(case.mlp, notation):
            ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation)
            oracles.assert_network_gradients(case.mlp, case.params, case.X, case.Y, ours, oracles=tuple(ORACLES), implementation=notation)


def _old_and_new(case, notation="row_major_batch", oracle="jax"):
    problem = NetworkProblem(case.mlp, case.params, case.X, case.Y)
    ours = problem.layout.flatten(reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation))
    answer = oracles.answer(case.mlp, case.params, case.X, case.Y, oracle)
    tolerance = tolerance_for(np.float64, oracle)
    old, _ = judge(problem.layout.names, ours, answer, implementation=notation, tolerance=tolerance)
    new, _ = judge(problem.layout.names, ours, answer, implementation=notation, tolerance=tolerance, terms=problem.terms())
    return old, new


def test_the_pinned_false_alarm_of_the_old_rule_passes_now():
    """The old rule fails this correct gradient (SiLU units at z ≈ −37…−286, weights × 10); the per-element bound does not."""
    mlp = MLP((1, 1, 8, 6, 3, 1), ("sigmoid", "relu", "silu", "identity", "identity"), "squared_error")
    old, new = _old_and_new(make_case(mlp, seed=2518, scale=10.0, batch=1), oracle="jax")
    assert not old.ok
    assert new.ok, new.message()


WELL_CONDITIONED = [
    make_case(MLP((4, 6, 5, 3), ("tanh", "sigmoid", "softmax"), "cross_entropy"), seed=s, scale=1.0, batch=4) for s in range(4)
] + [make_case(MLP((3, 5, 2), ("softplus", "identity"), "squared_error"), seed=s, scale=0.3, batch=3) for s in range(4)]


@pytest.mark.parametrize("case", WELL_CONDITIONED, ids=lambda c: f"{c.mlp.activations[0]}-{c.seed}-{c.scale}")
def test_well_conditioned_tolerance_is_no_looser_than_the_old_rule(case):
    """Where the terms are of the size of the result, R_k / limit stays below G ≤ max(G, 1):
    every element's allowance is at most the old one."""
    problem = NetworkProblem(case.mlp, case.params, case.X, case.Y)
    G = max(float(np.max(np.abs(g))) for g in problem.layout.flatten(oracles.gradients(case.mlp, case.params, case.X, case.Y)))
    limit = tolerance_for(np.float64, "jax").limit
    for B in problem.terms():
        R = ROUNDING_MULTIPLE * 2 * EPS * B
        assert np.all(np.maximum(limit * G, R) <= limit * max(G, 1.0))


@pytest.mark.parametrize("case", WELL_CONDITIONED, ids=lambda c: f"{c.mlp.activations[0]}-{c.seed}-{c.scale}")
def test_a_1e_9_change_of_the_largest_element_is_caught_where_well_conditioned(case):
    ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation="row_major_batch")
    flat = [a for pair in ours for a in pair if a is not None]
    largest = max(flat, key=lambda a: np.max(np.abs(a)))
    largest[np.unravel_index(np.argmax(np.abs(largest)), largest.shape)] *= 1 + 1e-9
    verdict = oracles.check_network_gradients(case.mlp, case.params, case.X, case.Y, ours)
    assert not verdict.ok and verdict.status == "WRONG"


@pytest.mark.parametrize("name", SATURATED)
def test_a_1e_6_change_is_caught_where_ill_conditioned_if_the_bound_allows(name):
    """In a saturated network a 1e-6 relative change of an element is caught wherever
    1e-6 |g_k| exceeds the element's allowance."""
    case = _case(name)
    problem = NetworkProblem(case.mlp, case.params, case.X, case.Y)
    ours = problem.layout.flatten(reference.gradients(case.mlp, case.params, case.X, case.Y, notation="row_major_batch"))
    R = [ROUNDING_MULTIPLE * 2 * EPS * b for b in problem.terms()]
    G = max(float(np.max(np.abs(g))) for g in ours)
    candidates = [(leaf, index) for leaf, g in enumerate(ours) for index in np.ndindex(g.shape)
                  if 1e-6 * abs(g[index]) > 2 * max(1e-12 * G, R[leaf][index])]
    assert candidates, "no element where a 1e-6 change is detectable"
    leaf, index = max(candidates, key=lambda c: abs(ours[c[0]][c[1]]))
    bad = [g.copy() for g in ours]
    bad[leaf][index] *= 1 + 1e-6
    verdict = oracles.check_network_gradients(case.mlp, case.params, case.X, case.Y, problem.layout.unflatten(bad), oracles=("jax", "torch"))
    assert not verdict.ok and verdict.status == "WRONG", verdict.message()


def test_the_message_gives_the_worst_elements_bound():
    case = _case("tanh ×30 into softmax + cross-entropy")
    ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation="delta_rule")
    text = oracles.check_network_gradients(case.mlp, case.params, case.X, case.Y, ours, oracles=("torch",)).message()
    assert "rounding bound" in text and "from a backward pass on magnitudes" in text


def test_compare_takes_the_terms():
    case = _case("silu units at z ≈ −37 (tanh-form cancellation)")
    ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation="column_vector")
    terms = oracles.engine.rounding.network_terms(case.mlp, case.params, case.X, case.Y)
    assert oracles.compare(ours, oracles.answer(case.mlp, case.params, case.X, case.Y, "jax"), implementation="cv", terms=terms).ok
    with pytest.raises(ValueError, match="terms must hold one array per gradient leaf"):
        oracles.compare(ours, oracles.answer(case.mlp, case.params, case.X, case.Y, "jax"), implementation="cv", terms=terms[:-1])


# --- functions: evidence from float32 -------------------------------------------------------------


def _cancelling(x, xp):
    return xp.sum((1e6 * xp.tanh(x)) ** 2 - (1e6 * xp.sin(x)) ** 2)  # terms of 1e6², a result of order 1e3


def _d_cancelling(x):
    return 2e12 * (np.tanh(x) / np.cosh(x) ** 2 - np.sin(x) * np.cos(x))


X_SMALL = np.linspace(-1e-3, 1e-3, 5)


def test_an_ill_conditioned_function_passes_on_the_spread_of_the_exact_oracles():
    """jax and torch differ from each other and from the hand derivative by ~2e-10 relative here
    (terms of 1e12 cancel; float32 loses every digit, so it is no evidence): the old rule calls
    it wrong; the spread of the exact oracles widens the tolerance, and the message says so."""
    verdict = oracles.check_gradient(_cancelling, _d_cancelling, X_SMALL)
    assert verdict.ok, verdict.message()
    assert "estimated from the spread of the exact oracles" in verdict.message()
    worst = verdict.comparisons[0].worst
    G = float(np.max(np.abs(_d_cancelling(X_SMALL))))
    assert worst.abs_error > 1e-12 * max(G, 1.0)  # what the old rule, 1e-12 × max(G, 1), called wrong
    assert worst.abs_error <= worst.bound


def _mildly_cancelling(x, xp):
    return xp.sum((1e3 * xp.tanh(x)) ** 2 - (1e3 * xp.sin(x)) ** 2)


def test_float32_evidence_widens_where_float32_still_holds_digits():
    verdict = oracles.check_gradient(_mildly_cancelling, lambda x: 1e-6 * _d_cancelling(x), np.linspace(-0.3, 0.3, 5), oracles=("jax",))
    assert verdict.ok and "torch.autograd in float32" in verdict.message(), verdict.message()


def test_an_oracle_wrong_by_1e_3_is_no_rounding_evidence(monkeypatch):
    """A spread beyond SPREAD_LIMIT is a disagreement: arbitrated, never a wider tolerance."""
    monkeypatch.setitem(ORACLES, "jax", _broken("jax", 0, (1,), factor=1 + 1e-3))
    wrong = lambda x: _d_cancelling(x) * (1 + 1e-3)
    verdict = oracles.check_gradient(_cancelling, wrong, X_SMALL, oracles=("jax", "torch"))
    assert not verdict.ok and verdict.status == "WRONG", verdict.message()


def test_float32_evidence_still_catches_a_1e_6_error():
    wrong = lambda x: _d_cancelling(x) * (1 + 1e-6)
    verdict = oracles.check_gradient(_cancelling, wrong, X_SMALL)
    assert not verdict.ok and verdict.status == "WRONG"


def test_a_plain_numpy_function_keeps_the_floor():
    verdict = oracles.check_gradient(lambda x: float(np.sum(np.tanh(x) ** 2)), lambda x: 2 * np.tanh(x) / np.cosh(x) ** 2, X_SMALL)
    assert verdict.ok and "rounding bound" not in verdict.message()


# --- arbitration --------------------------------------------------------------------------------


def _broken(oracle: str, leaf: int, index: tuple, factor: float = 1.35):
    """The registry entry of ``oracle`` with one element of its answers multiplied by ``factor``."""
    real = ORACLES[oracle]

    def answer(problem, **options):
        a = real.answer(problem, **options)
        flat = [g.copy() for g in a.flat("gradients")]
        flat[leaf][index] *= factor
        return Answer(a.oracle, a.layout, a.layout.unflatten(flat), a.errors, a.kinked, a.lower, a.upper)

    return dataclasses.replace(real, modes={**real.modes, "gradient": answer})


@pytest.fixture
def wrong_jax(monkeypatch):
    monkeypatch.setitem(ORACLES, "jax", _broken("jax", 0, (1, 1)))


NETWORK = MLP((3, 4, 2), ("tanh", "softmax"), "cross_entropy")


def test_an_oracle_shown_wrong_by_mpmath_is_named_and_the_implementation_is_not_blamed(wrong_jax):
    case = make_case(NETWORK, seed=0, scale=1.0, batch=3)
    ours = reference.gradients(NETWORK, case.params, case.X, case.Y, notation="row_major_batch")
    verdict = oracles.check_network_gradients(NETWORK, case.params, case.X, case.Y, ours, implementation="row_major_batch")
    assert verdict.ok, verdict.message()
    (dispute,) = verdict.disputes
    assert dispute.element == "W^1[1, 1]" and dispute.wrong == ("jax",) and dispute.how == "mpmath (50 digits)"
    assert dispute.truth == pytest.approx(float(ours[0][0][1, 1]), rel=1e-14)
    assert "oracles disagree at W^1[1, 1]" in verdict.message() and "jax wrong" in verdict.message()


def test_a_wrong_implementation_is_still_wrong_when_an_oracle_is(wrong_jax):
    case = make_case(NETWORK, seed=0, scale=1.0, batch=3)
    ours = reference.gradients(NETWORK, case.params, case.X, case.Y, notation="row_major_batch")
    ours[0][0][1, 1] *= 1.35  # the same slip as the broken oracle
    verdict = oracles.check_network_gradients(NETWORK, case.params, case.X, case.Y, ours)
    assert not verdict.ok and verdict.status == "WRONG"
    assert "WRONG against jax, torch, complex_step" in verdict.message()


def test_a_dispute_that_cannot_be_arbitrated_reads_oracles_disagree(monkeypatch):
    monkeypatch.setitem(ORACLES, "jax", _broken("jax", 0, (2,)))
    monkeypatch.setattr("backprop_reference.oracles.engine.disputes.MAX_ARBITRATED", 0)
    f = lambda x, xp: xp.sum(xp.tanh(x) ** 2)
    g = lambda x: 2 * np.tanh(x) / np.cosh(x) ** 2
    x = np.linspace(-1, 1, 4)
    verdict = oracles.check_gradient(f, g, x, oracles=("jax", "torch"))
    assert not verdict.ok and verdict.status == "ORACLES DISAGREE"
    assert verdict.message().startswith("grad: ORACLES DISAGREE") and "WRONG" not in verdict.message()
    # the numerical oracles decide the element when they run
    assert oracles.check_gradient(f, g, x).ok


def test_a_function_dispute_is_arbitrated_in_mpmath(monkeypatch):
    monkeypatch.setitem(ORACLES, "torch", _broken("torch", 0, (1,)))
    f = lambda x, xp: xp.sum(xp.tanh(x) ** 2)
    g = lambda x: 2 * np.tanh(x) / np.cosh(x) ** 2
    verdict = oracles.check_gradient(f, g, np.linspace(-1, 1, 4), oracles=("jax", "torch"))
    assert verdict.ok and verdict.disputes[0].wrong == ("torch",), verdict.message()


def test_taylor_second_opinion_is_shown_not_judged():
    case = make_case(NETWORK, seed=0, scale=1.0, batch=3)
    ours = reference.gradients(NETWORK, case.params, case.X, case.Y)
    verdict = oracles.check_network_gradients(NETWORK, case.params, case.X, case.Y, ours, taylor=True)
    assert verdict.ok and verdict.taylor.ok and "second opinion (not part of the verdict): Taylor order 2.00" in verdict.message()
    with pytest.raises(TypeError, match="taylor must be True or False"):
        oracles.check_network_gradients(NETWORK, case.params, case.X, case.Y, ours, taylor="yes")


@pytest.mark.parametrize("z", [20.0, 30.0, 35.0, 36.5])
def test_a_saturated_sigmoid_log_loss_unit_still_catches_a_wrong_gradient(z):
    """Where δ = o − y exactly, the bound uses o − y's terms, not ∂J/∂o's 1/(1 − o) (~1e15 at z = 35),
    which once made the allowance larger than the gradient."""
    mlp = MLP((1, 1), ("sigmoid",), "log_loss")
    params, X, Y = [(np.array([[z]]), np.array([0.0]))], np.array([[1.0]]), np.array([[0.0]])
    right = reference.gradients(mlp, params, X, Y, notation="delta_rule")
    assert oracles.check_network_gradients(mlp, params, X, Y, right).ok
    R = ROUNDING_MULTIPLE * 2 * EPS * network_terms(mlp, params, X, Y)[0]
    assert float(R[0, 0]) < 1e-12
    wrong = [(right[0][0] * 0.95, right[0][1])]
    assert oracles.check_network_gradients(mlp, params, X, Y, wrong).status == "WRONG"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_compare_refuses_terms_that_are_not_finite_and_non_negative(bad):
    case = _case("silu units at z ≈ −37 (tanh-form cancellation)")
    ours = reference.gradients(case.mlp, case.params, case.X, case.Y)
    terms = oracles.engine.rounding.network_terms(case.mlp, case.params, case.X, case.Y)
    terms[-1] = np.full_like(terms[-1], bad)
    with pytest.raises(ValueError, match="terms must be finite and non-negative"):
        oracles.compare(ours, oracles.answer(case.mlp, case.params, case.X, case.Y, "jax"), implementation="x", terms=terms)
    with pytest.raises(TypeError, match="terms must be a non-empty list"):
        oracles.compare(ours, oracles.answer(case.mlp, case.params, case.X, case.Y, "jax"), implementation="x", terms=[])


# --- false alarms found by `make test-thorough` and `python -m backprop_reference.reports.false_alarms`, pinned -------------


def _swept(seed: int, case_seed: int):
    """The case ``python -m backprop_reference.reports.false_alarms --seed seed`` drew with make_case seed ``case_seed``."""
    from backprop_reference.reports.false_alarms import draw_case

    rng = np.random.default_rng(seed)
    while True:
        drawn = draw_case(rng)
        if drawn is not None and drawn[0].seed == case_seed:
            return drawn[0]


def test_gradients_near_the_underflow_threshold_are_not_judged_relatively():
    """relu/relu/softmax at weight scale 10, output layer ×10: the whole gradient is ~1e-293 and
    column_vector's −1.2e-295 against torch's 0.0 is underflow, not a bug (found by make test-thorough)."""
    mlp = MLP((2, 7, 3, 3), ("relu", "relu", "softmax"), "squared_error", bias=("none", "neuron", "neuron"))
    case = make_case(mlp, seed=200, scale=10.0, batch=3)
    W, b = case.params[-1]
    params = case.params[:-1] + [(W * 10, b * 10)]
    for notation in reference.NOTATIONS:
        if reference.can_express(mlp, notation):
            ours = reference.gradients(mlp, params, case.X, case.Y, notation=notation)
            verdict = oracles.check_network_gradients(mlp, params, case.X, case.Y, ours, oracles=tuple(ORACLES), implementation=notation)
            assert verdict.ok, verdict.message()


def test_central_differences_count_the_objectives_own_rounding():
    """maxout/silu/sigmoid + log loss at weight scale 10: E's terms are ~1e3 × E, so central
    differences' error is 14× their old estimate ε·max(|E|, 1)/h; with the objective's terms the
    element is unresolved by central, not a false alarm (found by python -m backprop_reference.reports.false_alarms --seed 1)."""
    case = _swept(seed=1, case_seed=1498686612)
    ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation="row_major_batch")
    verdict = oracles.check_network_gradients(case.mlp, case.params, case.X, case.Y, ours, oracles=tuple(ORACLES))
    assert verdict.ok, verdict.message()
    assert NetworkProblem(case.mlp, case.params, case.X, case.Y).objective_terms() > 100


def test_a_framework_disagreement_too_small_for_50_digits_is_arbitrated_at_120():
    """Found by python -m backprop_reference.reports.false_alarms --seed 0: a SiLU output unit at z ≈ −60, where the
    complex step's SiLU underflows to 0 and jax and torch give ~4e-23; 50 digits resolve only
    ~1e-27 · |E|, so the element is retried at 120 and the complex step is named wrong."""
    case = _swept(seed=0, case_seed=1055775891)
    ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation="row_major_batch")
    verdict = oracles.check_network_gradients(case.mlp, case.params, case.X, case.Y, ours)
    assert verdict.ok, verdict.message()
    assert verdict.disputes and all(d.wrong == ("complex_step",) and d.how == "mpmath (120 digits)" for d in verdict.disputes)
