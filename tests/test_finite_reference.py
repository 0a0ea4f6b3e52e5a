"""A reference that stays finite (issue 25, item 6): where an output saturates — σ(z) rounds
to 1.0 for z > 37, a softmax output underflows to 0 — the literal δ^L = ∂J/∂o ⊙ f'(z) is
∞ · 0, while the true gradient is finite.  Every notation falls back on the pair's closed form
for δ^L there (``reference.shortcuts.kept_finite``), and nowhere else: where the literal form
is finite, no value changes, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference.reference import shortcuts
from backprop_reference.reference.cases import Case, derivative_is_finite, make_case
from backprop_reference.reference.mlp import MLP
from backprop_reference.reference.network import _forward
from backprop_reference.reference.notations import NOTATIONS, can_express, gradients
from backprop_reference.reference.notations import augmented_bias, column_vector, delta_rule, row_major_batch, two_layer_sums
from backprop_reference.testbed.drawer import CaseRanges, draw_case

NETWORKS = {
    "sigmoid + log loss": MLP((3, 5, 2), ("tanh", "sigmoid"), "log_loss", bias="none"),
    "sigmoid + log loss, biases": MLP((3, 5, 4, 2), ("tanh", "relu", "sigmoid"), "log_loss"),
    "softmax + cross-entropy": MLP((3, 5, 3), ("tanh", "softmax"), "cross_entropy", bias="none"),
    "softmax + cross-entropy, biases": MLP((3, 5, 3), ("sigmoid", "softmax"), "cross_entropy"),
    "identity + squared error": MLP((3, 5, 2), ("tanh", "identity"), "squared_error", bias="none"),
}
MODULES = (augmented_bias, column_vector, delta_rule, row_major_batch, two_layer_sums)


def _saturated(mlp: MLP, seed: int) -> Case:
    """The output layer's weights × a gain: σ(z) = 1.0 exactly, or a softmax output e^{−745} = 0."""
    gain = 100.0 if mlp.loss == "cross_entropy" else 30.0
    case = make_case(mlp, seed, 10.0, 4)
    W, b = case.params[-1]
    return Case(mlp, case.params[:-1] + [(W * gain, None if b is None else b * gain)], case.X, case.Y, seed, 10.0)


def _outputs(case: Case) -> np.ndarray:
    return _forward(case.mlp, case.params, case.X)[1][-1]


def _literal(monkeypatch) -> None:
    """Every notation as its document writes it: ``kept_finite`` returns the literal form."""
    for module in MODULES:
        monkeypatch.setattr(module, "kept_finite", lambda activation, loss, literal, o, y, **_: literal())


def _finite(grads) -> bool:
    return all(np.all(np.isfinite(a)) for pair in grads for a in pair if a is not None)


SATURATING = [(name, seed) for name in ("sigmoid + log loss", "sigmoid + log loss, biases", "softmax + cross-entropy",
                                        "softmax + cross-entropy, biases") for seed in (0, 1, 2)]


@pytest.mark.parametrize(("network", "seed"), SATURATING)
def test_every_notation_stays_finite_and_right_where_outputs_saturate(network, seed):
    mlp = NETWORKS[network]
    case = _saturated(mlp, seed)
    o = _outputs(case)
    saturated = np.any(o == 1.0) if mlp.loss == "log_loss" else np.any(o == 0.0)
    assert saturated, f"{network}, seed {seed}: no output saturated; pick another seed"
    assert derivative_is_finite(case)  # the sweeps and strategies no longer leave such a case out
    checked = 0
    for name in NOTATIONS:
        if not can_express(mlp, name):
            continue
        grads = gradients(mlp, case.params, case.X, case.Y, name)
        assert _finite(grads), f"{name}: a non-finite gradient where the truth is finite"
        verdict = oracles.check_network_gradients(mlp, case.params, case.X, case.Y, grads)
        assert verdict.ok, f"{name}: {verdict.message()}"
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize(("network", "seed"), SATURATING[::3])
def test_the_literal_form_is_what_was_not_finite(network, seed, monkeypatch):
    """The same cases with the fallback taken away: the documents' literal order of operations
    gives NaN (so the test above tests the fallback, not a case that was finite anyway)."""
    mlp = NETWORKS[network]
    case = _saturated(mlp, seed)
    _literal(monkeypatch)
    with np.errstate(all="ignore"):
        broken = [name for name in NOTATIONS if can_express(mlp, name) and name != "delta_rule"
                  and not _finite(gradients(mlp, case.params, case.X, case.Y, name))]
    assert len(broken) >= 2, broken  # delta_rule takes the o − y shortcut of its own document


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("scale", [0.3, 3.0])
def test_no_value_changes_where_the_literal_form_is_finite(network, seed, scale, monkeypatch):
    mlp = NETWORKS[network]
    case = make_case(mlp, seed, scale, 4)
    ours = {name: gradients(mlp, case.params, case.X, case.Y, name) for name in NOTATIONS if can_express(mlp, name)}
    _literal(monkeypatch)
    for name, grads in ours.items():
        literal = gradients(mlp, case.params, case.X, case.Y, name)
        assert _finite(literal)
        for (dW, db), (lW, lb) in zip(grads, literal):
            assert np.array_equal(dW, lW), name  # bit for bit
            assert (db is None and lb is None) or np.array_equal(db, lb), name


def test_kept_finite_replaces_only_the_non_finite_elements():
    o = np.array([[1.0, 0.25], [0.5, 1.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    literal = np.array([[np.nan, 0.125], [-0.5, np.inf]])
    kept = shortcuts.kept_finite("sigmoid", "log_loss", lambda: literal, o, y)
    assert np.array_equal(kept, [[0.0, 0.125], [-0.5, 1.0]])
    negative = shortcuts.kept_finite("sigmoid", "log_loss", lambda: literal, o, y, scale=-1.0)
    assert np.array_equal(negative, [[-0.0, 0.125], [-0.5, -1.0]])
    softmax = shortcuts.kept_finite("softmax", "cross_entropy", lambda: np.array([np.nan, 2.0, np.nan]),
                                    np.array([0.0, 0.5, 0.5]), np.array([0.3, 0.3, 0.3]))
    assert np.allclose(softmax, [-0.3, 2.0, 0.15])  # o_i Σ y − y_i for targets that do not sum to one
    untouched = shortcuts.kept_finite("sigmoid", "squared_error", lambda: literal, o, y)
    assert untouched is literal  # no closed form for the pair: the literal value, NaN and all


def test_kept_finite_on_torch_and_jax_arrays():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    for xp, array in ((torch, torch.tensor), (jnp, jnp.asarray)):
        o, y = array([1.0, 0.5]), array([0.0, 1.0])
        kept = shortcuts.kept_finite("sigmoid", "log_loss", lambda: array([float("nan"), -0.25]), o, y)
        assert np.allclose(np.asarray(kept), [1.0, -0.25])


def test_the_closed_forms_are_the_true_output_delta():
    """The closed forms against the Jacobian product, where both are finite: any targets."""
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((5, 4)), rng.random((5, 4))
    from backprop_reference.reference.activations import ACTIVATIONS
    from backprop_reference.reference.losses import LOSSES

    for (activation, loss), closed in shortcuts.FINITE_OUTPUT_DELTA.items():
        f = ACTIVATIONS[activation]
        o = f.f(z)
        dJ_do = LOSSES[loss].dJ_do(y, o)
        truth = dJ_do * f.df(z) if f.elementwise else np.einsum("nk,nki->ni", dJ_do, f.jacobian(z))
        assert np.allclose(closed(o, y, -1, np), truth, rtol=1e-12, atol=1e-14), (activation, loss)


def test_the_drawer_draws_saturated_log_loss_outputs():
    mlp = NETWORKS["sigmoid + log loss, biases"]
    ranges = CaseRanges(scales=(10.0,), saturate=1.0, gain=30.0)
    drawn = [draw_case(seed, mlp, ranges) for seed in range(8)]
    kept = [d for d in drawn if d is not None]
    assert len(kept) == 8  # none refused for a saturated output
    assert any(np.any(_outputs(d.case) == 1.0) for d in kept)
