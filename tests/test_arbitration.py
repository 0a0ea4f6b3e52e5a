"""The mpmath arbitration (``oracles.engine.arbitration``): its derivatives agree with
the exact oracles where they agree among themselves, with the better of them
where weights saturate the units, and its objective with the canonical
float64 one; it leaves ``mp.dps`` as it found it and refuses what it cannot
decide with the reason."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from backprop_reference.oracles.engine import arbitration
from backprop_reference.oracles.engine.arbitration import MPMATH, Arbitration, arbitrate, errors_against, message, objective
from backprop_reference.oracles.methods.frameworks import OracleCannotRun
from backprop_reference.oracles.engine.problems import FunctionProblem, NetworkProblem
from backprop_reference.oracles.methods.registry import ORACLES
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.cases import make_case, min_kink_distance
from backprop_reference.reference.mlp import MLP
from backprop_reference.reference.network import loss
from backprop_reference.reference.registration import add_activation

# This file's tolerances, in one place (oracles.engine.tolerances has no mpmath row), with their reasons.
TOLERANCES = {
    # torch.autograd and the complex step round at a few ε (2.2e-16) per layer and per summed term, relative
    # to the gradient's scale G; the arbitrated value is exact to ~1e-27, so their difference is their rounding.
    "oracle": 1e-13,
    # saturated units (weights ×10–30): the better float64 party still rounds at ~ε of terms of size ~G or 1.
    "saturated": 1e-13,
    # the float64 objective rounds at a few ε of the per-sample losses it averages.
    "objective": 1e-14,
    # a closed-form float64 derivative of a small function: a few ε relative.
    "closed_form": 1e-15,
}

MASK = np.ones((4, 2, 3))  # maxout W^1: (units, pieces, inputs), a few connections absent
MASK[0, 1, 2] = MASK[2, 0, 0] = MASK[3, 1, 1] = 0

# (id, network): every registered built-in and contrib activation, each fused loss, masks and bias modes
NETWORKS = {
    "tanh-identity-squared": MLP((3, 4, 2), ("tanh", "identity"), "squared_error"),
    "sigmoid-sigmoid-log_loss": MLP((3, 4, 2), ("sigmoid", "sigmoid"), "log_loss"),
    "tanh-softmax-cross_entropy": MLP((3, 4, 3), ("tanh", "softmax"), "cross_entropy"),
    "relu-identity-squared": MLP((3, 5, 2), ("relu", "identity"), "squared_error"),
    "leaky_relu-sigmoid-squared": MLP((3, 4, 2), ("leaky_relu", "sigmoid"), "squared_error"),
    "softplus-softmax-shared_bias": MLP((3, 4, 3), ("softplus", "softmax"), "cross_entropy", bias="shared"),
    "maxout-masked-tanh": MLP((3, 4, 2), ("maxout", "tanh"), "squared_error", masks=(MASK, None)),
    "gelu-elu-silu-deep": MLP((3, 4, 4, 4, 2), ("gelu", "elu", "silu", "identity"), "squared_error", bias=("neuron", "none", "neuron", "neuron")),
    "sigmoid-relu_output-squared": MLP((3, 4, 2), ("sigmoid", "relu"), "squared_error"),
}


def problem_for(mlp: MLP, scale: float = 1.0, seed: int = 0, batch: int = 5) -> NetworkProblem:
    case = make_case(mlp, seed, scale, batch)
    return NetworkProblem(case.mlp, case.params, case.X, case.Y)


def every_element(problem: NetworkProblem) -> list[tuple[int, tuple[int, ...]]]:
    return [(leaf, index) for leaf, array in enumerate(problem.leaves) for index in np.ndindex(array.shape)]


def normalised_errors(problem: NetworkProblem, oracle: str) -> tuple[np.ndarray, float]:
    """|oracle − mpmath| over every element, in units of the gradient scale G = max |mpmath|."""
    decided = arbitrate(problem, every_element(problem))
    answer = ORACLES[oracle].answer(problem).flat("gradients")
    exact = np.array([a.value for a in decided])
    scale = float(np.max(np.abs(exact)))
    return np.abs(np.array([a.pick(answer) for a in decided]) - exact) / scale, scale


# --- agreement ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("oracle", ["torch", "complex_step"])
def test_agrees_with_the_exact_oracles(name: str, oracle: str) -> None:
    problem = problem_for(NETWORKS[name])
    assert min_kink_distance(make_case(problem.mlp, 0, 1.0, 5)) > 1e-6  # away from kinks: one derivative
    errors, scale = normalised_errors(problem, oracle)
    assert scale > 1e-3
    assert np.max(errors) <= TOLERANCES["oracle"], (name, oracle, np.max(errors))


@pytest.mark.parametrize("scale", [10.0, 30.0])
@pytest.mark.parametrize("name", ["sigmoid-sigmoid-log_loss", "tanh-softmax-cross_entropy", "gelu-elu-silu-deep"])
def test_saturated_units_agree_with_the_better_party(name: str, scale: float) -> None:
    problem = problem_for(NETWORKS[name], scale=scale, seed=1)
    decided = arbitrate(problem, every_element(problem))
    exact = np.array([a.value for a in decided])
    G = max(float(np.max(np.abs(exact))), 1.0)
    parties = {oracle: ORACLES[oracle].answer(problem).flat("gradients") for oracle in ("jax", "torch", "complex_step")}
    for a in decided:
        best = min(abs(a.pick(leaves) - a.value) for leaves in parties.values())
        assert best <= TOLERANCES["saturated"] * G, (name, scale, a.element, a.value, {p: a.pick(v) for p, v in parties.items()})


def test_every_registered_activation_has_its_own_mpmath_form() -> None:
    # built-ins and reference.contrib's: no activation of the registry reaches the user fallback
    assert set(ACTIVATIONS) <= set(MPMATH.activations)


def test_a_wider_deeper_network_agrees_with_torch() -> None:
    problem = problem_for(MLP((20, 16, 16, 4), ("tanh", "relu", "sigmoid"), "log_loss"), batch=16)
    elements = [(0, (3, 7)), (1, (15,)), (2, (8, 2)), (4, (3, 11)), (5, (0,))]
    decided = arbitrate(problem, elements)
    torch_answer = ORACLES["torch"].answer(problem).flat("gradients")
    G = float(np.max(np.abs(np.concatenate([g.ravel() for g in torch_answer]))))
    for a in decided:
        assert abs(a.pick(torch_answer) - a.value) <= TOLERANCES["oracle"] * G, a


def test_more_digits_resolve_an_element_far_below_the_objective() -> None:
    # saturated sigmoids: ∂E/∂W^2[0, 3] ≈ −2.6e-44 while E ≈ 1, below 50 digits' absolute error ~1e-27
    problem = problem_for(NETWORKS["leaky_relu-sigmoid-squared"], scale=30.0, seed=1)
    (coarse,) = arbitrate(problem, [("W^2", (0, 3))])
    (fine,) = arbitrate(problem, [("W^2", (0, 3))], digits=120)
    assert coarse.value == 0.0 and not coarse.resolved and coarse.error < 1e-26
    assert fine.resolved and fine.error < 1e-70
    complex_step = fine.pick(ORACLES["complex_step"].answer(problem).flat("gradients"))
    assert abs(complex_step - fine.value) <= TOLERANCES["oracle"] * abs(fine.value)


# --- the objective, the records, the message ---------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_objective_equals_the_canonical_float64_objective(name: str) -> None:
    problem = problem_for(NETWORKS[name], scale=3.0)
    E = float(objective(problem))
    E_float64 = float(loss(problem.mlp, problem.params, problem.X, problem.Y))
    assert abs(E - E_float64) <= TOLERANCES["objective"] * abs(E_float64)


def test_records_name_the_element_and_bound_the_error() -> None:
    problem = problem_for(NETWORKS["maxout-masked-tanh"])
    a, masked = arbitrate(problem, [("W^1", (1, 1, 0)), ("W^1", (0, 1, 2))])
    assert isinstance(a, Arbitration) and a.element == "W^1[1, 1, 0]" and (a.leaf, a.index) == (0, (1, 1, 0))
    assert a.digits == 50 and 0 < a.error < 1e-25 and a.step == 2.0**-56
    assert a.value == float(mpmath.mpf(a.exact)) and len(a.exact.lstrip("-0.").replace(".", "")) >= 45
    assert a.resolved  # error below half an ulp of the value
    assert masked.value == 0.0 and not masked.resolved  # an absent connection moves nothing: 0 ± error
    assert arbitrate(problem, [("W^1", (1, 1, 0))]) == (a,)  # deterministic; leaf by name or position alike
    assert arbitrate(problem, [(0, [1, 1, 0])]) == (a,)
    assert arbitrate(problem, []) == ()


def test_errors_against_are_measured_in_mpmath_and_rendered_in_one_line() -> None:
    problem = problem_for(NETWORKS["tanh-identity-squared"])
    (a,) = arbitrate(problem, [("W^1", (2, 1))])
    answers = {"row_major_batch": a.value, "jax": a.value * (1 + 1e-6), "broken": math.nan}
    close, off, broken = errors_against(a, answers)
    assert close.party == "row_major_batch" and close.error <= abs(a.value) * 2.0**-53  # within half an ulp: not 0
    assert off.error == pytest.approx(abs(a.value) * 1e-6, rel=1e-6) and off.relative == pytest.approx(1e-6, rel=1e-6)
    assert broken.error == math.inf
    line = message(a, errors_against(a, answers))
    assert line.startswith(f"W^1[2, 1]: mpmath (50 digits) {a.value:.4e}")
    assert "row_major_batch" in line and f"jax {off.value:.4e} (error {off.error:.1e})" in line


# --- precision, input checks, refusals ------------------------------------------------------------


def test_mp_precision_is_left_as_found() -> None:
    problem = problem_for(NETWORKS["sigmoid-sigmoid-log_loss"])
    with mpmath.workdps(23):  # the caller's own setting, whatever it is
        (a,) = arbitrate(problem, [(0, (0, 0))], digits=60)
        assert mpmath.mp.dps == 23
        objective(problem, digits=40)
        errors_against(a, {"jax": 0.0})
        assert mpmath.mp.dps == 23
        with pytest.raises(OracleCannotRun):
            arbitrate(on_a_kink(), [("b^1", (0,))])
        assert mpmath.mp.dps == 23
    assert a.digits == 60


@pytest.mark.parametrize(
    ("elements", "digits", "error", "words"),
    [
        ([(0, (0, 0))], 29, ValueError, "digits must be at least 30"),
        ([(0, (0, 0))], 50.0, TypeError, "digits must be an integer"),
        ([(0, (0, 0))], True, TypeError, "digits must be an integer"),
        ([(0, (0, 0)), (0, (4, 0))], 50, ValueError, "elements[1] = (0, (4, 0)): index (4, 0) is out of range for W^1 of shape (4, 3)"),
        ([(0, (0, -1))], 50, ValueError, "elements[0]"),
        ([(0, (0,))], 50, ValueError, "out of range for W^1"),
        ([(9, (0,))], 50, ValueError, "position 0..3"),
        ([("W^7", (0,))], 50, ValueError, "names leaf 'W^7', which is not one of W^1, b^1, W^2, b^2"),
        ([(0, 0)], 50, ValueError, "index must be a tuple of integers"),
        ([0], 50, ValueError, "(leaf, index) pair"),
        ("W^1", 50, TypeError, "elements must be a sequence"),
    ],
)
def test_bad_input_is_named(elements, digits, error, words: str) -> None:
    with pytest.raises(error) as raised:
        arbitrate(problem_for(NETWORKS["tanh-identity-squared"]), elements, digits=digits)
    assert words in str(raised.value)


def test_a_problem_of_another_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="NetworkProblem or FunctionProblem"):
        arbitrate(object(), [(0, (0,))])


def on_a_kink() -> NetworkProblem:
    """A relu unit whose pre-activation is exactly 0 for sample 0 (x = 0, b = 0)."""
    mlp = MLP((2, 2, 1), ("relu", "identity"), "squared_error")
    params = [(np.array([[1.0, -2.0], [0.5, 1.5]]), np.array([0.0, 0.25])), (np.array([[1.5, -1.0]]), np.array([0.1]))]
    X, Y = np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([[1.0], [-1.0]])
    return NetworkProblem(mlp, params, X, Y)


def test_an_element_on_a_kink_is_refused_with_the_reason() -> None:
    problem = on_a_kink()
    (smooth,) = arbitrate(problem, [("W^1", (0, 1))])  # x = 0 for sample 0: moving W^1[0, :] leaves z = 0
    assert smooth.digits == 50
    with pytest.raises(OracleCannotRun, match=r"b\^1\[0\]: θ ± 2h crosses a kink"):
        arbitrate(problem, [("b^1", (0,))])


def test_a_kink_that_float64_rounds_onto_is_decided_by_the_exact_function() -> None:
    # z = 1 + 1e-17 − 1: 0.0 in float64 (relu' = 0 there), 1e-17 > 0 exactly, so the unit is active and
    # ∂E/∂b^1 = (o − y) W^2 = 2 (1 + 2e-17); the step h = 1.4e-17 crosses the kink, 2⁻⁵⁰ h does not.
    mlp = MLP((2, 1, 1), ("relu", "identity"), "squared_error")
    params = [(np.array([[1.0, 1.0]]), np.array([-1.0])), (np.array([[2.0]]), np.array([0.0]))]
    problem = NetworkProblem(mlp, params, np.array([[1.0, 1e-17]]), np.array([[-1.0]]))
    (a,) = arbitrate(problem, [("b^1", (0,))])
    assert a.digits == 65 and a.step == 2.0**-106
    assert a.value == 2.0 and a.exact.startswith("2.0000000000000000400000000000000")
    assert ORACLES["torch"].answer(problem).flat("gradients")[1][0] == 0.0  # float64 sees the kink side z = 0


# --- functions MPMATH has no form of its own for ------------------------------------------------------


def test_a_function_problem_is_differentiated_through_its_xp() -> None:
    x = np.array([0.3, -1.2, 2.5])
    problem = FunctionProblem(lambda x, xp: xp.sum(xp.exp(x) * xp.sin(x)), (x,), ["x"], (0,))
    decided = arbitrate(problem, [(0, (i,)) for i in range(3)])
    desired = np.exp(x) * (np.sin(x) + np.cos(x))
    assert np.allclose([a.value for a in decided], desired, rtol=TOLERANCES["closed_form"], atol=0)
    assert [a.element for a in decided] == ["x[0]", "x[1]", "x[2]"]


def test_a_function_without_xp_cannot_run() -> None:
    problem = FunctionProblem(lambda x: np.sum(x**2), (np.ones(2),), ["x"], (0,))
    with pytest.raises(OracleCannotRun, match="no xp argument"):
        arbitrate(problem, [(0, (0,))])


def test_a_user_activation_outside_the_namespace_cannot_run() -> None:
    add_activation("np_exp_unit", lambda z, xp: np.exp(z) - 1, lambda z, xp: np.exp(z))  # np, not xp: not mpmath-safe
    try:
        problem = problem_for(MLP((3, 4, 2), ("np_exp_unit", "identity"), "squared_error"))
        with pytest.raises(OracleCannotRun, match="the mpmath oracle cannot evaluate activation 'np_exp_unit'"):
            arbitrate(problem, [(0, (0, 0))])
    finally:
        ACTIVATIONS.pop("np_exp_unit")


def test_a_registered_again_contrib_name_uses_the_users_function() -> None:
    original = ACTIVATIONS["gelu"]

    def gelu_erf(z, xp):  # the erf form Φ, registered under the contrib name
        return 0.5 * z * (1.0 + xp.erf(z / math.sqrt(2.0)))

    add_activation("gelu", gelu_erf, lambda z, xp: z, replace=True)
    try:
        assert "gelu" not in MPMATH.activations  # reference.contrib's form no longer applies
        errors, _ = normalised_errors(problem_for(MLP((3, 4, 2), ("gelu", "identity"), "squared_error")), "torch")
        assert np.max(errors) <= TOLERANCES["oracle"]
    finally:
        ACTIVATIONS["gelu"] = original
    assert "gelu" in MPMATH.activations


def test_public_surface() -> None:
    assert set(arbitration.__all__) >= {"MPMATH", "Arbitration", "PartyError", "arbitrate", "errors_against", "message", "objective"}
