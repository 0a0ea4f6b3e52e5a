"""The checks must catch wrong derivations, not only pass right ones.

``testbed.mutants`` holds a catalogue of realistic derivation bugs, each one
equation of a small per-sample backprop replaced by a slip.  Here: the unswitched harness is
right; every mutant is caught by every oracle, by a wide margin, on every
fixed network where it applies; ``applies`` is exact (elsewhere the slip
changes nothing, or fails with a shape error); and the kill rate is 100 %.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference.reference import MLP
from backprop_reference.reference.activations import LEAKY_RELU_SLOPE
from backprop_reference.testbed.mutants import MUTANTS, PROBE_NETWORKS, Mutant, backprop, f_prime_slips, o_minus_y, unmutated_gradients
from backprop_reference.reference.cases import Case, derivative_is_finite, make_case, min_kink_distance

# The oracles every mutant must fail against: the exact ones and central differences.
ORACLE_NAMES = ("jax", "torch", "complex_step", "central")

# A mutant is caught "by a margin" when its normalised error exceeds this many
# tolerance limits: far outside rounding, so not caught by luck.
MARGIN = 100

# Central differences step h ≈ 6e-6·max(1, |θ|); a relu/leaky_relu
# pre-activation this far from 0 cannot be crossed by the stencil.
KINK_CLEARANCE = 1e-3

NETWORK_ROWS = PROBE_NETWORKS
NETWORKS: dict[str, Case] = {
    name: make_case(mlp, seed=seed, scale=1.0, batch=4) for name, mlp, seed in NETWORK_ROWS
}

APPLICABLE = [(m, n) for m, mutant in MUTANTS.items() for n, case in NETWORKS.items() if mutant.applies(case.mlp)]
NOT_APPLICABLE = [(m, n) for m, mutant in MUTANTS.items() for n, case in NETWORKS.items() if not mutant.applies(case.mlp)]


@cache
def oracle_answer(network: str, oracle: str) -> oracles.Answer:
    """The oracle's answer for one fixed network; a numerical oracle's carries
    its error estimates."""
    case = NETWORKS[network]
    return oracles.answer(case.mlp, case.params, case.X, case.Y, oracle)


def judged(grads, network: str, oracle: str, implementation: str) -> oracles.Comparison:
    return oracles.compare(grads, oracle_answer(network, oracle), implementation=implementation)


def run(mutant: Mutant, network: str):
    case = NETWORKS[network]
    return mutant.gradients(case.mlp, case.params, case.X, case.Y)


def caught(comparison: oracles.Comparison) -> bool:
    return not comparison.ok and comparison.error > MARGIN * comparison.tolerance.limit


# --- the fixed networks are fit to judge with -------------------------------------------


@pytest.mark.parametrize("network", list(NETWORKS))
def test_fixed_network_is_clear_of_kinks_and_saturation(network):
    case = NETWORKS[network]
    assert min_kink_distance(case) > KINK_CLEARANCE, f"{case}: a relu/leaky_relu unit sits near its kink; pick another seed"
    assert derivative_is_finite(case), f"{case}: ∂J/∂o is not finite; pick another seed"


# --- (a) the harness itself is right ------------------------------------------------------


@pytest.mark.parametrize("oracle", ORACLE_NAMES)
@pytest.mark.parametrize("network", list(NETWORKS))
def test_unmutated_harness_agrees_with_the_oracles(network, oracle):
    case = NETWORKS[network]
    ours = unmutated_gradients(case.mlp, case.params, case.X, case.Y)
    result = oracles.assert_agree(ours, oracle_answer(network, oracle), implementation="unmutated")
    assert result.unresolved == 0, f"{oracle} cannot judge {case} at its tolerance: {result.message()}"


# --- (b) every mutant is caught wherever it applies ---------------------------------------


@pytest.mark.parametrize("oracle", ORACLE_NAMES)
@pytest.mark.parametrize(("mutant", "network"), APPLICABLE, ids=[f"{m}-{n}" for m, n in APPLICABLE])
def test_mutant_is_caught(mutant, network, oracle):
    result = judged(run(MUTANTS[mutant], network), network, oracle, mutant)
    assert not result.ok, f"{mutant} on {NETWORKS[network]} slipped through: {result.message()}"
    assert result.error > MARGIN * result.tolerance.limit, f"caught only narrowly: {result.message()}"


# --- (c) kill rate ------------------------------------------------------------------------


def test_kill_rate_is_100_percent():
    survivors, too_few = [], []
    for name, mutant in MUTANTS.items():
        networks = [n for n, case in NETWORKS.items() if mutant.applies(case.mlp)]
        if len(networks) < 2:
            too_few.append(f"{name} applies to {networks}")
        for network in networks:
            grads = run(mutant, network)
            survivors += [
                f"{name} on {network} vs {oracle}"
                for oracle in ORACLE_NAMES
                if not caught(judged(grads, network, oracle, name))
            ]
    assert not too_few, f"mutants that apply to fewer than 2 fixed networks: {too_few}"
    assert not survivors, f"mutants not caught by a margin of {MARGIN}× the tolerance: {survivors}"


# --- (d) the catalogue ----------------------------------------------------------------------


def test_catalogue_is_large_and_described():
    assert len(MUTANTS) >= 18, sorted(MUTANTS)
    for name, mutant in MUTANTS.items():
        assert mutant.name == name
        assert mutant.description.strip(), f"{name} has no description"
        assert mutant.description.rstrip().endswith("."), f"{name}: describe the slip in one sentence"


# --- applies is exact ------------------------------------------------------------------------


@pytest.mark.parametrize(("mutant", "network"), NOT_APPLICABLE, ids=[f"{m}-{n}" for m, n in NOT_APPLICABLE])
def test_mutant_changes_nothing_where_it_does_not_apply(mutant, network):
    """Where ``applies`` is False the slip is a no-op, or a shape error — never a wrong gradient."""
    try:
        grads = run(MUTANTS[mutant], network)
    except ValueError as error:
        assert "shape error" in str(error)
        return
    oracles.assert_agree(grads, oracle_answer(network, "jax"), implementation=mutant)


STRUCTURED = {
    "shared_bias": MLP((3, 3, 3), ("tanh", "sigmoid"), "squared_error", bias="shared"),
    "no_bias": MLP((3, 3, 3), ("tanh", "sigmoid"), "squared_error", bias=("none", "neuron")),
    "masked": MLP((3, 3, 3), ("tanh", "sigmoid"), "squared_error", masks=(np.eye(3, dtype=int), None)),
    "maxout": MLP((3, 3, 3), ("maxout", "softmax"), "cross_entropy"),
}


@pytest.mark.parametrize("network", list(STRUCTURED))
def test_harness_refuses_networks_beyond_the_textbook(network):
    mlp = STRUCTURED[network]
    assert not any(mutant.applies(mlp) for mutant in MUTANTS.values())
    case = make_case(mlp, seed=0, scale=1.0, batch=2)
    with pytest.raises(ValueError, match="mutation harness"):
        backprop(mlp, case.params, case.X, case.Y)


# --- look-alikes that are not bugs ------------------------------------------------------------
# Rewrites that look like slips but give the true gradient; a mutant built from
# one of these would be a false alarm, so the catalogue must not hold them.
NOT_BUGS = {
    "relu_prime_from_a": dict(f_prime=f_prime_slips(relu=lambda z, a: (a > 0).astype(a.dtype))),  # [a > 0] = [z > 0]
    "leaky_relu_prime_from_a": dict(  # a = leaky_relu(z) keeps the sign of z
        f_prime=f_prime_slips(leaky_relu=lambda z, a: np.where(a > 0, 1.0, LEAKY_RELU_SLOPE).astype(a.dtype))
    ),
    "sigmoid_prime_as_a_one_minus_a": dict(f_prime=f_prime_slips(sigmoid=lambda z, a: a * (1.0 - a))),
    "tanh_prime_as_one_minus_a_squared": dict(f_prime=f_prime_slips(tanh=lambda z, a: 1.0 - a**2)),
    "o_minus_y_everywhere": dict(bp1=o_minus_y),  # a no-op on the exact pairs only
}
NOT_BUG_ROWS = [
    ("relu_prime_from_a", "relu_leaky_softmax_se"),
    ("leaky_relu_prime_from_a", "leaky_softplus_tanh_se"),
    ("sigmoid_prime_as_a_one_minus_a", "square_sigmoid_tanh_sigmoid_logloss"),
    ("tanh_prime_as_one_minus_a_squared", "square_tanh_sigmoid_identity_se"),
    ("o_minus_y_everywhere", "square_tanh_softmax_ce"),  # softmax + cross-entropy, rows of y sum to one
    ("o_minus_y_everywhere", "relu_sigmoid_logloss_one_output"),  # sigmoid + log loss
    ("o_minus_y_everywhere", "square_tanh_sigmoid_identity_se"),  # identity + squared error
]


@pytest.mark.parametrize(("rewrite", "network"), NOT_BUG_ROWS, ids=[f"{r}-{n}" for r, n in NOT_BUG_ROWS])
def test_look_alike_is_not_a_bug(rewrite, network):
    case = NETWORKS[network]
    grads = backprop(case.mlp, case.params, case.X, case.Y, **NOT_BUGS[rewrite])
    oracles.assert_agree(grads, oracle_answer(network, "jax"), implementation=rewrite)
