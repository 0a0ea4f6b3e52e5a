"""The Taylor remainder test (``oracles.checks.taylor``): order 2 for every right
gradient, order 1 for every wrong one, whatever its size.

* every notation's gradients on small tanh/sigmoid/softmax networks, at
  weight scales 1, 3 and 10, give 2 ± 0.1;
* every catalogued derivation bug (``testbed.mutants``) on every probe network
  where it applies, and a right gradient 0.1 % too large, give ≤ 1.1 — all
  along the default seeded Gaussian direction, nothing special-cased;
* functions with a known remainder (quadratic, linear, cubic at 0) give the
  order, or no order, that the mathematics says;
* bad inputs raise errors that name the argument; the plot is a PNG.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.oracles import TaylorResult, taylor_network, taylor_test
from backprop_reference.oracles.checks.taylor import FIT_POINTS, NONLINEAR, ORDER_TOLERANCE, gaussian_direction
from backprop_reference.reference import MLP
from backprop_reference.reference.cases import Case, derivative_is_finite, make_case
from backprop_reference.testbed.mutants import MUTANTS, PROBE_NETWORKS, unmutated_gradients

ROOT = Path(__file__).resolve().parents[1]

# What the acceptance criteria ask: a right gradient's order within 2 ± 0.1, a wrong one's at most this.
WRONG_ORDER = 1.1
RELATIVE_ERROR = 1e-3  # the "0.1 % off" gradient

_MASK = ((1, 0, 1), (1, 1, 0), (0, 1, 1), (1, 1, 1))  # W^1 of a 3-4-2 network; every row and column keeps a connection

# (name, network, weight scale): one hidden layer without bias so that every
# notation (two_layer_sums included) can express some of them; deeper ones,
# softmax outputs, a masked and a shared-bias network for the rest.
NETWORK_ROWS = (
    ("tanh_sigmoid_logloss_no_bias", MLP((3, 4, 2), ("tanh", "sigmoid"), "log_loss", bias="none"), 1.0),
    ("sigmoid_identity_se_no_bias_x3", MLP((4, 5, 3), ("sigmoid", "identity"), "squared_error", bias="none"), 3.0),
    ("tanh_sigmoid_se_no_bias_x10", MLP((3, 6, 2), ("tanh", "sigmoid"), "squared_error", bias="none"), 10.0),
    ("tanh_tanh_softmax_ce", MLP((4, 5, 5, 3), ("tanh", "tanh", "softmax"), "cross_entropy"), 1.0),
    ("sigmoid_softmax_ce_x10", MLP((3, 4, 3), ("sigmoid", "softmax"), "cross_entropy"), 10.0),
    ("tanh_softmax_se_x3", MLP((3, 6, 4), ("tanh", "softmax"), "squared_error"), 3.0),
    ("tanh_sigmoid_se_masked", MLP((3, 4, 2), ("tanh", "sigmoid"), "squared_error", masks=(_MASK, None)), 1.0),
    ("sigmoid_tanh_softmax_ce_shared_bias", MLP((3, 4, 4, 2), ("sigmoid", "tanh", "softmax"), "cross_entropy", bias="shared"), 1.0),
)
NETWORKS: dict[str, Case] = {name: make_case(mlp, seed=0, scale=scale, batch=5) for name, mlp, scale in NETWORK_ROWS}
NOTATION_CASES = [(network, notation) for network, case in NETWORKS.items() for notation in reference.NOTATIONS
                  if reference.can_express(case.mlp, notation)]

PROBES: dict[str, Case] = {name: make_case(mlp, seed=seed, scale=1.0, batch=4) for name, mlp, seed in PROBE_NETWORKS}
MUTANT_CASES = [(m, n) for m, mutant in MUTANTS.items() for n, case in PROBES.items() if mutant.applies(case.mlp)]


def notation_result(network: str, notation: str) -> TaylorResult:
    case = NETWORKS[network]
    grads = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation)
    return taylor_network(case.mlp, case.params, case.X, case.Y, grads)


def scaled(grads, factor: float):
    return [(W * factor, None if b is None else b * factor) for W, b in grads]


# --- the networks are fit to judge with ------------------------------------------------------------


@pytest.mark.parametrize("network", list(NETWORKS))
def test_network_has_finite_derivatives(network):
    assert derivative_is_finite(NETWORKS[network]), f"{NETWORKS[network]}: ∂J/∂o is not finite; pick another seed"


def test_every_notation_meets_several_networks():
    for notation in reference.NOTATIONS:
        count = sum(n == notation for _, n in NOTATION_CASES)
        assert count >= 3, f"{notation} can express only {count} of the test networks"


# --- right gradients: order 2 --------------------------------------------------------------------


@pytest.mark.parametrize(("network", "notation"), NOTATION_CASES, ids=[f"{n}-{o}" for n, o in NOTATION_CASES])
def test_every_notation_gives_order_two(network, notation):
    result = notation_result(network, notation)
    assert result.ok and abs(result.order - 2.0) <= ORDER_TOLERANCE, f"{network}, {notation}: {result}"
    assert "consistent with a right gradient" in str(result)


@pytest.mark.parametrize("network", list(PROBES))
def test_the_unmutated_harness_gives_order_two(network):
    case = PROBES[network]
    result = taylor_network(case.mlp, case.params, case.X, case.Y, unmutated_gradients(case.mlp, case.params, case.X, case.Y))
    assert result.ok, f"{network}: {result}"


# --- wrong gradients: order 1 --------------------------------------------------------------------


@pytest.mark.parametrize(("mutant", "network"), MUTANT_CASES, ids=[f"{m}-{n}" for m, n in MUTANT_CASES])
def test_every_catalogued_bug_gives_order_one(mutant, network):
    case = PROBES[network]
    wrong = MUTANTS[mutant].gradients(case.mlp, case.params, case.X, case.Y)
    result = taylor_network(case.mlp, case.params, case.X, case.Y, wrong)  # the default Gaussian direction
    assert result.order is not None and result.order <= WRONG_ORDER, f"{mutant} on {network}: {result}"
    assert not result.ok and "WRONG" in str(result)


def test_every_mutant_is_exercised():
    assert {m for m, _ in MUTANT_CASES} == set(MUTANTS)


@pytest.mark.parametrize("network", list(NETWORKS))
def test_a_gradient_off_by_a_tenth_of_a_percent_gives_order_one(network):
    case = NETWORKS[network]
    right = reference.gradients(case.mlp, case.params, case.X, case.Y, notation="row_major_batch")
    result = taylor_network(case.mlp, case.params, case.X, case.Y, scaled(right, 1.0 + RELATIVE_ERROR))
    assert result.order is not None and result.order <= WRONG_ORDER, f"{network}: {result}"


# --- functions whose remainder is known -------------------------------------------------------------

A = np.array([[2.0, 1.0, 0.0], [-1.0, 3.0, 0.5], [0.5, 0.0, 1.0]])  # not symmetric
B = np.array([0.3, -1.2, 2.0])
X0 = np.array([0.7, -0.4, 1.1])


def quadratic(x: np.ndarray) -> float:
    return 0.5 * x @ A @ x + B @ x


def test_a_quadratic_gives_exactly_two_and_a_missing_symmetrisation_one():
    right = taylor_test(quadratic, lambda x: 0.5 * (A + A.T) @ x + B, X0)
    assert right.ok and abs(right.order - 2.0) < 1e-3, right
    wrong = taylor_test(quadratic, lambda x: A @ x + B, X0)  # ∇(½ xᵀAx) = ½(A + Aᵀ)x, not Ax
    assert wrong.order is not None and wrong.order <= WRONG_ORDER, wrong


def test_a_linear_function_has_no_order_and_says_why():
    result = taylor_test(lambda x: B @ x, B.copy(), X0)
    assert result.order is None and not result.ok
    assert not result.fitted.any() and result.fitted_range is None
    assert "rounding level at every" in result.reason and "linear along v" in result.reason
    assert "no order" in str(result)


def test_zero_curvature_along_the_direction_has_no_order_but_another_direction_has():
    def f(x):
        return x[0] ** 2 + 3.0 * x[1]

    def grad(x):
        return np.array([2.0 * x[0], 3.0])

    along_linear = taylor_test(f, grad, np.array([0.5, 2.0]), direction=np.array([0.0, 1.0]))
    assert along_linear.order is None and "linear along v" in along_linear.reason
    assert along_linear.direction == "given"
    assert taylor_test(f, grad, np.array([0.5, 2.0]), direction=np.array([1.0, 1.0])).ok


def test_a_linear_function_with_a_wrong_gradient_gives_order_one():
    result = taylor_test(lambda x: B @ x, B + 1e-9, X0)
    assert result.order is not None and abs(result.order - 1.0) < 0.05, result


def test_vanishing_curvature_gives_order_three_not_ok():
    result = taylor_test(lambda x: np.sum(x**3), lambda x: 3 * x**2, np.zeros(4))
    assert result.order is not None and abs(result.order - 3.0) < 0.05 and not result.ok
    assert "near 3 the curvature of f along v vanishes" in str(result)


def test_a_function_that_cancels_to_zero_is_judged_by_its_measured_rounding():
    """Σ tanh(x) at a symmetric x is 0: its rounding is ε Σ|tanh x_i|, not ε |f|."""
    x = np.linspace(-1.0, 1.0, 5)
    right = taylor_test(lambda x: np.sum(np.tanh(x)), lambda x: 1.0 - np.tanh(x) ** 2, x)
    assert right.ok, right
    wrong = taylor_test(lambda x: np.sum(np.tanh(x)), lambda x: (1.0 - np.tanh(x) ** 2) * (1.0 + RELATIVE_ERROR), x)
    assert wrong.order is not None and wrong.order <= WRONG_ORDER, wrong


def test_a_pytree_with_none_leaves_and_a_gradient_given_as_arrays():
    x = {"W": np.array([[0.2, -0.5], [1.0, 0.3]]), "b": [np.array([0.1, -0.2]), None], "c": (np.array(0.7),)}

    def f(tree):
        return float(np.sum(np.tanh(tree["W"])) + np.sum(tree["b"][0] ** 3) + np.sin(tree["c"][0]))

    grad = {"W": 1.0 - np.tanh(x["W"]) ** 2, "b": (3.0 * x["b"][0] ** 2, None), "c": [np.cos(x["c"][0])]}
    assert taylor_test(f, grad, x).ok
    assert taylor_test(f, lambda tree: {**grad, "c": [np.cos(tree["c"][0]) * (1.0 + RELATIVE_ERROR)]}, x).order <= WRONG_ORDER


def test_the_fit_takes_the_smallest_clean_steps():
    result = notation_result("tanh_tanh_softmax_ce", "column_vector")
    clean = result.remainders > result.floors
    fitted = np.flatnonzero(result.fitted)
    assert len(fitted) == FIT_POINTS and np.all(np.diff(fitted) == 1)
    assert clean[fitted].all() and not clean[fitted[-1] + 1]  # below the fit: rounding
    case = NETWORKS["tanh_tanh_softmax_ce"]
    norm = np.sqrt(sum(np.sum(a**2) for pair in case.params for a in pair if a is not None))
    v = gaussian_direction([a for pair in case.params for a in pair if a is not None], 0)
    h_scale = norm / np.sqrt(sum(np.sum(d**2) for d in v))
    assert np.isclose(result.steps[0], h_scale) and result.steps[fitted].max() <= NONLINEAR * h_scale
    assert np.allclose(result.steps[1:] / result.steps[:-1], 0.5)
    assert not np.isfinite(result.floors[-1])  # the ladder ends where Δ no longer resolves h v


# --- determinism ---------------------------------------------------------------------------------


def test_the_same_inputs_give_the_same_result_and_the_seed_the_direction():
    first, second = notation_result("tanh_tanh_softmax_ce", "delta_rule"), notation_result("tanh_tanh_softmax_ce", "delta_rule")
    assert first.order == second.order
    for name in ("steps", "remainders", "floors", "fitted"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert first.direction == "standard Gaussian (seed 0), absent connections held at 0"
    case = NETWORKS["tanh_tanh_softmax_ce"]
    other = taylor_network(case.mlp, case.params, case.X, case.Y, reference.gradients(case.mlp, case.params, case.X, case.Y), seed=1)
    assert other.ok and not np.array_equal(other.remainders[:5], first.remainders[:5]) and "seed 1" in other.direction


def test_the_result_is_read_only():
    result = taylor_test(quadratic, lambda x: 0.5 * (A + A.T) @ x + B, X0)
    with pytest.raises(ValueError):
        result.remainders[0] = 0.0
    with pytest.raises(AttributeError):
        result.order = 1.0  # type: ignore[misc]


def test_inputs_are_not_modified():
    x = X0.copy()
    taylor_test(quadratic, lambda y: 0.5 * (A + A.T) @ y + B, x)
    assert np.array_equal(x, X0)


# --- bad inputs ----------------------------------------------------------------------------------

RIGHT = 0.5 * (A + A.T) @ X0 + B


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: taylor_test("f", RIGHT, X0), TypeError, "f must be callable"),
        (lambda: taylor_test(quadratic, RIGHT, X0.astype(np.float32)), TypeError, "x leaf x must be a float64"),
        (lambda: taylor_test(quadratic, RIGHT, [1.0, 2.0, 3.0]), TypeError, r"x leaf x\[0\] must be a float64"),
        (lambda: taylor_test(quadratic, RIGHT, np.array([0.7, np.nan, 1.1])), ValueError, r"x leaf x must be finite; x\[1\] = nan"),
        (lambda: taylor_test(quadratic, RIGHT, [None]), ValueError, "x must hold at least one float64 array"),
        (lambda: taylor_test(quadratic, RIGHT[:2], X0), ValueError, r"grad at x must have shape \(3,\); got \(2,\)"),
        (lambda: taylor_test(quadratic, lambda x: [RIGHT], X0), TypeError, "grad at x must be a numpy.ndarray"),
        (lambda: taylor_test(quadratic, np.array([1.0, np.inf, 0.0]), X0), ValueError, "grad at x must be finite"),
        (lambda: taylor_test(lambda t: quadratic(t[0]), [RIGHT, RIGHT], [X0]), ValueError, "grad at x: expected a list of length 1"),
        (lambda: taylor_test(quadratic, RIGHT, X0, direction=np.ones(4)), ValueError, r"direction at x must have shape \(3,\)"),
        (lambda: taylor_test(quadratic, RIGHT, X0, direction=np.zeros(3)), ValueError, "direction must not be zero"),
        (lambda: taylor_test(lambda x: x, RIGHT, X0), ValueError, "f must return a scalar"),
        (lambda: taylor_test(lambda x: np.inf, RIGHT, X0), ValueError, "f must be finite at x"),
        (lambda: taylor_test(quadratic, RIGHT, X0, seed=-1), ValueError, "seed must be a non-negative integer"),
        (lambda: taylor_test(quadratic, RIGHT, X0, first_step=0.0), ValueError, "first_step must be a positive"),
        (lambda: taylor_test(quadratic, RIGHT, X0, fit_points=2), ValueError, "fit_points must be an integer ≥ 3"),
        (lambda: taylor_test(quadratic, RIGHT, X0, max_steps=1.5), ValueError, "max_steps must be an integer ≥ 3"),
        (lambda: taylor_test(quadratic, RIGHT, X0, gradient_scale=-1.0), ValueError, "gradient_scale must be a finite number ≥ 0"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_inputs_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_network_inputs_name_the_argument():
    case = NETWORKS["tanh_sigmoid_logloss_no_bias"]
    grads = reference.gradients(case.mlp, case.params, case.X, case.Y)
    as32 = [(W.astype(np.float32), None) for W, _ in case.params]
    with pytest.raises(TypeError, match="params must be float64 for the Taylor test"):
        taylor_network(case.mlp, as32, case.X.astype(np.float32), case.Y.astype(np.float32), scaled(grads, 1.0))
    with pytest.raises(ValueError, match=r"grads\[0\]\[0\] \(W\^1\) must have shape"):
        taylor_network(case.mlp, case.params, case.X, case.Y, [(grads[0][0][:, :2], None), grads[1]])
    with pytest.raises(ValueError, match=r"grads\[1\]\[0\] \(W\^2\) must be finite"):
        taylor_network(case.mlp, case.params, case.X, case.Y, [grads[0], (grads[1][0] * np.nan, None)])
    with pytest.raises(ValueError, match="direction at x"):
        taylor_network(case.mlp, case.params, case.X, case.Y, grads, direction=[grads[0]])


# --- the plot ------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", ["order", "no order"])
def test_plot_writes_a_png_atomically(tmp_path, kind):
    import matplotlib.image

    result = (notation_result("tanh_sigmoid_logloss_no_bias", "two_layer_sums") if kind == "order"
              else taylor_test(lambda x: B @ x, B.copy(), X0))
    path = result.plot(tmp_path / "taylor.png")
    assert path == tmp_path / "taylor.png"
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert [p.name for p in tmp_path.iterdir()] == ["taylor.png"]  # no temporary left behind


def test_plot_rejects_a_bad_path(tmp_path):
    result = taylor_test(quadratic, RIGHT, X0)
    with pytest.raises(ValueError, match="path must name a .png file"):
        result.plot(tmp_path / "taylor.pdf")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        result.plot(3)  # type: ignore[arg-type]


def test_importing_and_plotting_loads_no_framework_and_no_pyplot(tmp_path):
    script = (
        "import sys, numpy as np, oracles\n"
        "loaded = sorted(m for m in ('jax', 'torch', 'matplotlib') if m in sys.modules)\n"
        "r = oracles.taylor_test(lambda x: float(np.sum(np.sin(x))), np.cos, np.linspace(0.1, 1.0, 4))\n"
        f"r.plot({str(tmp_path / 'p.png')!r})\n"
        "print(loaded, r.ok, sorted(m for m in ('jax', 'torch', 'matplotlib.pyplot') if m in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[] True []"


def test_the_public_names():
    assert {"TaylorResult", "taylor_network", "taylor_test"} <= set(oracles.__all__)


# --- the report section --------------------------------------------------------------------------


def test_report_section_shows_every_notation_at_two_and_the_bug_at_one():
    import jsonschema

    from backprop_reference.reports.render.json import schema
    from backprop_reference.reports.sections import taylor as section
    from backprop_reference.reports.sweep import report_cases

    curves = section.compute(report_cases(0, scales=(1.0,)))
    rows = [c.row for c in curves]
    assert [r.gradient for r in rows] == [*reference.NOTATIONS, section.BUG]
    assert all(r.as_expected for r in rows), [r.message for r in rows if not r.as_expected]
    assert len({r.network for r in rows if r.kind == "notation"}) == 1  # one shared network
    from backprop_reference.reports.render import plots

    rendered = section.section(curves, plots.taylor(curves))
    assert rendered.key == "taylor" and len(rendered.tables[0].rows) == len(rows) and not any(rendered.tables[0].marks)
    assert rendered.figures[0].name == "taylor.png" and rendered.figures[0].png.startswith(PNG_SIGNATURE)
    jsonschema.validate(section.json_rows(curves), schema()["properties"]["taylor"])


def test_report_section_says_when_a_notation_has_no_case():
    from backprop_reference.reports.sections import taylor as section

    with_bias = [make_case(MLP((3, 4, 2), ("tanh", "sigmoid"), "squared_error"), seed=0, scale=1.0, batch=3)]
    chosen = section.choose_cases(with_bias)
    assert chosen["two_layer_sums"] is None and chosen["column_vector"] is with_bias[0]
    row = next(c.row for c in section.compute(with_bias) if c.row.gradient == "two_layer_sums")
    assert row.order is None and not row.as_expected and "no report case" in row.message
