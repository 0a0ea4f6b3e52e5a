"""Each document's own update rule equals a canonical gradient step once the
document's batch reduction is accounted for (``Notation.step_reduction``)."""

import numpy as np
import pytest
from hypothesis import assume, given

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.testbed.strategies import cases

LR = 0.1


def canonical_step(mlp, params, X, Y, lr, reduction):
    def step(p, X_, Y_, scale):
        g = oracles.gradients(mlp, p, X_, Y_, oracle="jax")
        return [(W - scale * dW, None if b is None else b - scale * db) for (W, b), (dW, db) in zip(p, g)]

    if reduction == "mean":
        return step(params, X, Y, lr)
    if reduction == "sum":
        return step(params, X, Y, lr * X.shape[0])
    if reduction == "per_sample":
        for n in range(X.shape[0]):
            params = step(params, X[n : n + 1], Y[n : n + 1], lr)
            if not all(np.all(np.isfinite(a)) for pair in params for a in pair if a is not None):
                return params  # diverged; the caller sets the case aside
        return params
    raise AssertionError(f"unknown reduction {reduction!r}")


@pytest.mark.parametrize("notation", list(reference.NOTATIONS))
@given(case=cases())
def test_document_step_equals_canonical_step(notation, case):
    if not reference.can_express(case.mlp, notation):
        with pytest.raises(ValueError, match="cannot express"):
            reference.sgd_step(case.mlp, case.params, case.X, case.Y, LR, notation=notation)
        return
    before = [(W.copy(), None if b is None else b.copy()) for W, b in case.params]
    expected = canonical_step(case.mlp, case.params, case.X, case.Y, LR, reference.NOTATIONS[notation].step_reduction)
    # Sample-by-sample steps can diverge (an identity chain at weight scale 10):
    # that is the optimiser, not a derivation; there is nothing to compare then.
    # Parameters grown past 1e6 count as diverged: such steps amplify rounding by
    # that much (one found: 10 → 7e16 in three steps), so a 1-ulp difference
    # between two correct derivations already exceeds 1e-12 after them.
    assume(all(np.all(np.isfinite(a)) and np.max(np.abs(a)) < 1e6 for pair in expected for a in pair if a is not None))
    ours = reference.sgd_step(case.mlp, case.params, case.X, case.Y, LR, notation=notation)
    # Each updated element θ − lr g may differ by lr times g's rounding bound plus the rounding of θ − lr g.
    B = oracles.engine.rounding.network_terms(case.mlp, case.params, case.X, case.Y)
    flat = [a for pair in case.params for a in pair if a is not None]
    grads = [a for pair in reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation) for a in pair if a is not None]
    terms = [LR * b + np.abs(theta) + LR * np.abs(g) for b, theta, g in zip(B, flat, grads)]
    oracles.assert_agree(ours, expected, implementation=f"{notation} step", oracle="jax", terms=terms)
    for (W, b), (W0, b0) in zip(case.params, before):  # inputs untouched
        assert np.array_equal(W, W0) and (b is None or np.array_equal(b, b0))
    for l, (W, _) in enumerate(ours, start=1):
        mask = case.mlp.mask(l)
        if mask is not None:
            assert np.all(W[mask == 0] == 0)  # absent connections stay absent


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), "0.1", True])
def test_sgd_step_rejects_bad_learning_rates(lr):
    mlp = reference.MLP((2, 2), ("sigmoid",), "squared_error")
    params = reference.init_params(mlp, seed=0)
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        reference.sgd_step(mlp, params, np.ones((1, 2)), np.ones((1, 2)), lr)
