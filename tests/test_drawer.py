"""One seeded case drawer (``testbed.drawer``): the report's sweep, the false-alarm
measurement and the Hypothesis strategies all draw through it, and the seeds
pinned before they shared it still give the same cases."""

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from backprop_reference.reference.cases import WEIGHT_SCALES, derivative_is_finite, hidden_activations, kink_distance, valid_pairs
from backprop_reference.reference.mlp import MLP
from backprop_reference.testbed.drawer import CaseRanges, Layout, NetworkRanges, NumpyChoices, draw, draw_case, draw_network


def _fingerprint(case) -> tuple:
    return (repr(case), case.mlp.masks, [(W.tobytes(), None if b is None else b.tobytes()) for W, b in case.params], case.X.tobytes(), case.Y.tobytes())


# --- the seeds pinned before the three ways became one ---------------------------------------------------


def test_the_false_alarm_measurement_draws_what_it_always_drew():
    """``python -m backprop_reference.reports.false_alarms --seed 0``'s first cases, as drawn before the drawer."""
    from backprop_reference.reports.false_alarms import draw_case as false_alarm_case, draw_issue_case

    rng = np.random.default_rng(0)
    drawn = [false_alarm_case(rng) for _ in range(6)]
    assert [(repr(d.case), d.saturated) for d in drawn] == [
        ("Case(4-4-2-2-1 [identity, sigmoid, elu, identity] squared_error, N=3, seed=3920255353, scale=30.0, dtype=float64)", False),
        ("Case(6-2-5-5 [relu, elu, identity] squared_error, N=1, seed=144248947, scale=30.0, dtype=float64)", False),
        ("Case(4-1-2 [leaky_relu, softplus] squared_error, N=3, seed=2880309929, scale=1.0, dtype=float64)", False),
        ("Case(6-5-6-3 [silu, maxout, softmax] squared_error bias=none,none,neuron, N=2, seed=3631311419, scale=3.0, dtype=float64)", False),
        ("Case(5-6-1 [softplus, silu] squared_error, N=3, seed=1093525229, scale=1.0, dtype=float64)", False),
        ("Case(5-3-2-6 [tanh, gelu, tanh] squared_error bias=shared,none,shared masked=-,2,3, N=4, seed=3380561489, scale=3.0, dtype=float64)", False),
    ]
    rng = np.random.default_rng(0)
    first = draw_issue_case(rng)
    assert repr(first.case) == "Case(3-3-2-2-1 [identity, identity, sigmoid, softmax] cross_entropy, N=3, seed=2789219406, scale=30.0, dtype=float64)"
    # the next two were unfit before every notation kept δᴸ finite at saturated log-loss outputs (issue 25): now drawn
    assert [repr(draw_issue_case(rng).case) for _ in range(2)] == [
        "Case(4-3-3-3 [sigmoid, identity, sigmoid] log_loss, N=1, seed=3504064333, scale=30.0, dtype=float64)",
        "Case(4-3-1-4 [sigmoid, identity, sigmoid] log_loss, N=1, seed=383483662, scale=30.0, dtype=float64)",
    ]


def test_the_report_sweep_draws_what_it_always_drew():
    from backprop_reference.reports.sweep import report_cases

    cases = report_cases(7, scales=(1.0,))
    assert len(cases) == len(valid_pairs()) * len(hidden_activations())
    assert [repr(c) for c in cases[:4]] == [
        "Case(8-6-6-8 [identity, identity, identity] squared_error, N=7, seed=2483747170, scale=1.0, dtype=float64)",
        "Case(7-2-1 [sigmoid, identity] squared_error bias=none,none, N=3, seed=1289204377, scale=1.0, dtype=float64)",
        "Case(7-8-1-4 [tanh, tanh, identity] squared_error bias=shared,shared,shared masked=1,-,-, N=5, seed=3527149199, scale=1.0, dtype=float64)",
        "Case(4-3-2-1 [relu, relu, identity] squared_error bias=neuron,none,neuron masked=1,2,-, N=8, seed=1728717027, scale=1.0, dtype=float64)",
    ]
    assert cases[2].mlp.masks[0][0] == (0, 1, 1, 1, 1, 1, 1)


def test_a_seed_a_generator_and_a_numpy_source_draw_alike():
    ranges = NetworkRanges(hidden=(1, 3), widths=(1, 6))
    assert _fingerprint(draw(5, ranges).case) == _fingerprint(draw(NumpyChoices(5), ranges).case)
    rng, source = np.random.default_rng(11), NumpyChoices(11)
    for _ in range(20):
        a, b = draw(rng, ranges), draw(source, ranges)
        assert (a is None) == (b is None)
        if a is not None:
            assert _fingerprint(a.case) == _fingerprint(b.case) and a.saturated == b.saturated
    with pytest.raises(TypeError, match="source must be a Choices, a numpy Generator or an int seed"):
        draw("seed", ranges)


def test_a_decision_with_one_outcome_draws_nothing():
    """A fixed range leaves the stream as it was: the sweep fixes depth, activation, pair and scale."""
    source, untouched = NumpyChoices(3), np.random.default_rng(3)
    assert (source.integer(2, 2), source.integers(4, 4, 3), source.choice(["tanh"]), source.choices(["x"], 2)) == (2, (4, 4, 4), "tanh", ("x", "x"))
    assert source.rng.random() == untouched.random()


# --- what the ranges allow ---------------------------------------------------------------------------


def test_draws_stay_within_their_ranges():
    network = NetworkRanges(hidden=(2, 3), widths=(2, 5), activations=("tanh", "relu"), pairs=(("softmax", "cross_entropy"),), pieces=(2, 2))
    case = CaseRanges(scales=(0.3, 3.0), batch=(2, 3), saturate=1.0, gain=10.0)
    rng = np.random.default_rng(1)
    seen = 0
    for _ in range(40):
        drawn = draw(rng, network, case)
        if drawn is None:
            continue
        seen += 1
        mlp = drawn.case.mlp
        assert 2 <= len(mlp.sizes) - 2 <= 3 and all(2 <= n <= 5 for n in mlp.sizes)
        assert set(mlp.activations[:-1]) <= {"tanh", "relu"} and (mlp.activations[-1], mlp.loss) == ("softmax", "cross_entropy")
        assert drawn.case.scale in (0.3, 3.0) and 2 <= drawn.case.X.shape[0] <= 3 and drawn.saturated
        assert derivative_is_finite(drawn.case)
    assert seen > 20


def test_a_layout_fixes_the_bias_and_the_masked_layers():
    ranges = NetworkRanges(hidden=(2, 2), structure=Layout(("neuron", "none", "shared"), (True, False, True)))
    for seed in range(5):
        mlp = draw_network(seed, ranges)
        assert mlp.bias == ("neuron", "none", "shared")
        assert mlp.masks[0] is not None and mlp.masks[1] is None and mlp.masks[2] is not None
    plain = draw_network(0, NetworkRanges(structure=False))
    assert all(m is None for m in plain.masks) and plain == MLP(plain.sizes, plain.activations, plain.loss, pieces=plain.pieces)


def test_avoid_kinks_refuses_a_unit_on_a_kink():
    # every weight into the relu masked off and no bias: its pre-activation is exactly 0, on the kink
    mlp = MLP((2, 1, 1), ("relu", "identity"), "squared_error", bias="none", masks=(((0, 0),), None))
    assert draw_case(0, mlp, CaseRanges(saturate=0.0, avoid_kinks=True)) is None
    drawn = draw_case(0, mlp, CaseRanges(saturate=0.0))
    assert drawn is not None and kink_distance(mlp, drawn.case.params, drawn.case.X) == 0.0


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: NetworkRanges(hidden=(1, 0)), ValueError, "hidden layers need 1 ≤ min_hidden ≤ max_hidden; got min_hidden=1, max_hidden=0"),
    (lambda: NetworkRanges(widths=(0, 3)), ValueError, "widths need 1 ≤ min_width ≤ max_width"),
    (lambda: NetworkRanges(hidden=(1.5, 2)), TypeError, "min_hidden must be an int"),
    (lambda: NetworkRanges(structure="yes"), TypeError, "structure must be True or False"),
    (lambda: NetworkRanges(activations=("softmax",)), ValueError, "are not hidden activations"),
    (lambda: NetworkRanges(pairs=(("identity", "cross_entropy"),)), ValueError, "must be \\(output activation, loss\\) pairs"),
    (lambda: NetworkRanges(pieces=(1, 2)), ValueError, "pieces need 2 ≤ low ≤ high"),
    (lambda: CaseRanges(batch=(0, 2)), ValueError, "batches need 1 ≤ min_batch ≤ max_batch"),
    (lambda: CaseRanges(saturate=1.5), ValueError, "saturate is a chance"),
    (lambda: CaseRanges(scales=()), ValueError, "scales must be positive"),
])
def test_bad_ranges_are_refused_by_name(make, error, match):
    with pytest.raises(error, match=match):
        make()


# --- the Hypothesis strategies wrap it -----------------------------------------------------------------


def test_the_strategies_shrink_decision_by_decision():
    """Each decision is a Hypothesis choice: a failing network shrinks to the simplest one
    that still fails — the fewest layers, width 1, the first activation and pair, no structure."""
    from backprop_reference.testbed.strategies import networks

    found = find(networks(), lambda mlp: len(mlp.sizes) >= 4, settings=settings(database=None, max_examples=200))
    output, loss = valid_pairs()[0]
    assert found == MLP((1, 1, 1, 1), (hidden_activations()[0],) * 2 + (output,), loss)


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_the_strategy_cases_keep_their_ranges(data):
    from backprop_reference.testbed.strategies import cases, networks

    case = data.draw(cases(networks=networks(max_hidden=2, max_width=3), max_batch=2))
    assert len(case.mlp.sizes) <= 4 and max(case.mlp.sizes) <= 3 and case.X.shape[0] <= 2
    assert case.scale in WEIGHT_SCALES and derivative_is_finite(case)
