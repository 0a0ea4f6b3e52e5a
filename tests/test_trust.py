"""Checks you can trust: no false alarms on right gradients (kinks, float32,
saturation included), and wrong ones caught — by every oracle and by the
random-projection mode."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.reference import MLP
from backprop_reference.testbed import mutants
from backprop_reference.reference.cases import make_case
from backprop_reference.testbed.strategies import cases


def test_tolerance_targets_of_the_policy():
    targets = {"jax": 1e-12, "torch": 1e-12, "complex_step": 1e-12, "richardson": 1e-9, "central": 1e-6}
    assert set(targets) == set(oracles.ORACLES)
    for oracle, limit in targets.items():
        assert oracles.engine.tolerances.tolerance_for(np.float64, oracle).limit == limit


def test_jax_matrix_products_run_at_full_precision():
    import jax

    seen = []

    def f(x, xp):  # records JAX's settings while the jax oracle traces it (torch also runs f: the rounding evidence)
        if xp.__name__.startswith("jax"):
            seen.append((jax.config.jax_default_matmul_precision, jax.config.jax_enable_x64))
        return xp.sum(x**2)

    assert oracles.check_gradient(f, lambda x: 2 * x, np.ones(3), oracles=("jax",)).ok
    assert seen[-1] == ("highest", True)
    assert jax.config.jax_default_matmul_precision is None  # and only while the oracle runs


# --- kinks ---------------------------------------------------------------------


def exact_kink_case(activation: str):
    """Samples whose first-layer pre-activations are exactly 0: X rows of zeros
    and zero biases (the situation jax-ml and pytorch users hit with padded data)."""
    mlp = MLP((3, 4, 4, 2), (activation, activation, "identity"), "squared_error", pieces=2)
    case = make_case(mlp, seed=3, scale=1.0, batch=4)
    params = [(W, np.zeros_like(b)) if l == 0 else (W, b) for l, (W, b) in enumerate(case.params)]
    X = case.X.copy()
    X[:2] = 0.0
    return mlp, params, X, case.Y


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "maxout"])
def test_exact_zero_preactivations_raise_no_false_alarm(activation):
    mlp, params, X, Y = exact_kink_case(activation)
    assert oracles.engine.problems.NetworkProblem(mlp, params, X, Y).on_a_kink()
    notation = "row_major_batch" if activation == "maxout" else "delta_rule"
    ours = reference.gradients(mlp, params, X, Y, notation=notation)
    verdict = oracles.check_network_gradients(mlp, params, X, Y, ours, implementation=notation)
    assert verdict.ok, verdict.message()
    assert {name for name, _ in verdict.skipped} == {"jax", "torch", "complex_step"}  # the exact oracles: a convention there
    assert verdict.oracles_ran == ("richardson", "central")  # the kink-aware numerical oracles decide
    assert sum(c.kinks for c in verdict.comparisons) > 0
    both = oracles.check_network_gradients(mlp, params, X, Y, ours, oracles=("central", "richardson"))
    assert both.ok and all(c.kinks > 0 for c in both.comparisons), both.message()


def test_a_wrong_value_at_a_kink_is_still_caught():
    mlp, params, X, Y = exact_kink_case("relu")
    ours = reference.gradients(mlp, params, X, Y, notation="delta_rule")
    numerical = oracles.checks.network.numerical_gradients(mlp, params, X, Y, oracle="central")
    layer, which = next((l, w) for l in range(mlp.depth) for w in (0, 1) if numerical.kinked[l][w] is not None and numerical.kinked[l][w].any())
    kinked = tuple(np.argwhere(numerical.kinked[layer][which])[0])
    lower, upper = numerical.lower[layer][which][kinked], numerical.upper[layer][which][kinked]
    wrong = [[dW.copy(), None if db is None else db.copy()] for dW, db in ours]
    wrong[layer][which][kinked] = upper + 10 * (upper - lower + 1.0)  # far outside the one-sided derivatives
    result = oracles.compare(wrong, numerical, implementation="x")
    assert not result.ok and result.worst.kinked_worst
    assert "not differentiable here" in result.message() and "outside its one-sided derivatives" in result.message()


def test_stencil_across_a_kink_is_judged_by_one_sided_derivatives():
    # A relu pre-activation 1e-7 from 0, well inside the central stencil (h ≈ 6e-6).
    mlp = MLP((2, 3, 1), ("relu", "identity"), "squared_error")
    params = [(np.array([[1.0, -0.5], [0.3, 0.8], [-0.7, 0.2]]), np.array([1e-7 - 0.75, 0.1, 0.3])), (np.array([[0.4, -0.9, 0.6]]), np.array([0.2]))]
    X, Y = np.array([[1.0, 0.5]]), np.array([[0.3]])
    ours = reference.gradients(mlp, params, X, Y, notation="column_vector")
    numerical = oracles.checks.network.numerical_gradients(mlp, params, X, Y, oracle="central")
    assert numerical.kinked[0][0][0].all() and not numerical.kinked[0][0][1].any()
    assert oracles.compare(ours, numerical, implementation="column_vector").ok
    plain = oracles.compare(ours, numerical.gradients, implementation="column_vector", oracle="central")
    assert not plain.ok  # without kink handling this would be a false alarm


def test_several_kinks_inside_the_stencil_raise_no_false_alarm():
    # Found by the 2,000-case sweep: a maxout unit near a tie for two samples puts
    # kinks on both sides of θ within Richardson's stencil; long one-sided steps
    # averaged slopes across them and the true derivative fell outside.
    mlp = MLP((1, 4, 5, 2, 2), ("sigmoid", "relu", "maxout", "identity"), "squared_error")
    case = make_case(mlp, seed=0, scale=0.1, batch=2)
    ours = reference.gradients(mlp, case.params, case.X, case.Y, notation="row_major_batch")
    verdict = oracles.check_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=("richardson", "central"))
    assert verdict.ok, verdict.message()
    assert verdict.comparisons[0].kinks > 0


# --- float32 and the false-alarm sweep -------------------------------------------


@given(case=cases(dtypes=st.just(np.float32)))
def test_float32_implementations_pass_against_float64_oracles(case):
    assert case.X.dtype == np.float32
    for notation in reference.NOTATIONS:
        if not reference.can_express(case.mlp, notation):
            continue
        ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation)
        assert all(a.dtype == np.float32 for pair in ours for a in pair if a is not None)
        verdict = oracles.check_network_gradients(case.mlp, case.params, case.X, case.Y, ours, implementation=notation)
        assert verdict.ok, verdict.message()
        assert "float64 copies" in verdict.note


def _no_false_alarm(case):
    for notation in reference.NOTATIONS:
        if not reference.can_express(case.mlp, notation):
            continue
        ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation)
        verdict = oracles.check_network_gradients(
            case.mlp, case.params, case.X, case.Y, ours, oracles=tuple(oracles.ORACLES), implementation=notation
        )
        assert verdict.ok, verdict.message()


@given(case=cases())
def test_no_false_alarm_on_correct_gradients(case):
    _no_false_alarm(case)


# Issue 13's pinned case: SiLU units at z ≈ −37…−286 under weights × 10, where jax.grad and
# torch.autograd differentiate 0.5 z (1 + tanh(z/2)) with different roundings of its cancellation,
# 1.3e-10 apart on one element (normalised 2.1e-12 against the old 1e-12 × G).  The element's own
# rounding bound (oracles.engine.rounding) covers it; the assertion below failed before it.
def test_no_false_alarm_when_the_exact_oracles_round_a_saturated_unit_differently():
    mlp = MLP((1, 1, 8, 6, 3, 1), ("sigmoid", "relu", "silu", "identity", "identity"), "squared_error")
    case = make_case(mlp, seed=2518, scale=10.0, batch=1)
    ours = reference.gradients(mlp, case.params, case.X, case.Y, notation="row_major_batch")
    verdict = oracles.check_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=("jax", "torch"))
    assert verdict.ok, verdict.message()


@pytest.mark.slow
@settings(max_examples=2000)
@given(case=cases())
def test_no_false_alarm_sweep_2000(case):
    _no_false_alarm(case)


# --- random projections ------------------------------------------------------------


@given(case=cases())
def test_projection_check_passes_right_gradients(case):
    ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation="row_major_batch")
    result = oracles.check_projections(case.mlp, case.params, case.X, case.Y, ours)
    assert result.ok, result.message()


@pytest.mark.parametrize("name", list(mutants.MUTANTS))
def test_projection_check_catches_every_mutant(name):
    mutant = mutants.MUTANTS[name]
    applicable = [(mlp, seed) for _, mlp, seed in mutants.PROBE_NETWORKS if mutant.applies(mlp)]
    assert applicable, name
    for mlp, seed in applicable:
        case = make_case(mlp, seed=seed, scale=1.0, batch=4)
        wrong = mutant.gradients(mlp, case.params, case.X, case.Y)
        assert not oracles.check_projections(mlp, case.params, case.X, case.Y, wrong).ok, (name, str(mlp))


def test_projection_check_on_a_network_too_large_for_elementwise_checks():
    mlp = MLP((64, 128, 128, 10), ("tanh", "relu", "softmax"), "cross_entropy")
    case = make_case(mlp, seed=0, scale=1.0, batch=128)
    ours = reference.gradients(mlp, case.params, case.X, case.Y, notation="row_major_batch")
    right = oracles.check_projections(mlp, case.params, case.X, case.Y, ours)
    assert right.ok and right.elements == 26122, right.message()
    off_by_1e_9 = [(dW * (1 + 1e-9), db) for dW, db in ours]
    assert not oracles.check_projections(mlp, case.params, case.X, case.Y, off_by_1e_9).ok


def test_projection_check_rejects_bad_arguments():
    mlp = MLP((2, 2), ("sigmoid",), "squared_error")
    case = make_case(mlp, seed=0, scale=1.0, batch=2)
    grads = reference.gradients(mlp, case.params, case.X, case.Y)
    with pytest.raises(ValueError, match="directions must be a positive integer"):
        oracles.check_projections(mlp, case.params, case.X, case.Y, grads, directions=0)
    with pytest.raises(ValueError, match="grads must be a list of"):
        oracles.check_projections(mlp, case.params, case.X, case.Y, grads[:0])
