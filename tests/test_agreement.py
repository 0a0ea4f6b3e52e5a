"""Property tests: every notation agrees with every oracle, in float64.

Targets (issue 2): analytic vs analytic within 1e-12 normalised error,
vs central differences within 1e-6 — the numbers live in oracles.engine.tolerances.
"""

import numpy as np
import pytest
from hypothesis import given

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.testbed.strategies import cases

NOTATION_ORACLE_PAIRS = [(n, o) for n in reference.NOTATIONS for o in oracles.ORACLES]

@pytest.mark.parametrize(("notation", "oracle"), NOTATION_ORACLE_PAIRS, ids=[f"{n}-vs-{o}" for n, o in NOTATION_ORACLE_PAIRS])
@given(case=cases())
def test_notation_agrees_with_oracle_float64(notation, oracle, case):
    assert case.X.dtype == np.float64
    reason = reference.why_cannot_express(case.mlp, notation)
    if reason is not None:  # the notation must refuse, saying why
        with pytest.raises(ValueError, match=f"notation '{notation}' cannot express"):
            reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation)
        return
    ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation)
    # A numerical oracle also returns error estimates and kink brackets: kinked
    # elements are judged by their one-sided derivatives, elements it cannot
    # resolve to the tolerance are left to the exact oracles.
    answer = oracles.answer(case.mlp, case.params, case.X, case.Y, oracle)
    for grads in (ours, answer.gradients):
        for (dW, db), (W, b) in zip(grads, case.params):
            assert dW.dtype == np.float64 and dW.shape == W.shape
            assert (db is None) == (b is None)
            if b is not None:
                assert db.dtype == np.float64 and db.shape == b.shape
    for l, (dW, _) in enumerate(ours, start=1):
        mask = case.mlp.mask(l)
        if mask is not None:
            assert np.all(dW[mask == 0] == 0)  # absent connections get no gradient
    terms = oracles.engine.rounding.network_terms(case.mlp, case.params, case.X, case.Y)  # each element may differ by its rounding bound
    oracles.assert_agree(ours, answer, implementation=notation, terms=terms)


@given(case=cases())
def test_notations_agree_with_each_other(case):
    names = [n for n in reference.NOTATIONS if reference.can_express(case.mlp, n)]
    if len(names) < 2:
        return
    first = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=names[0])
    terms = oracles.engine.rounding.network_terms(case.mlp, case.params, case.X, case.Y)
    for other in names[1:]:
        theirs = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=other)
        oracles.assert_agree(first, theirs, implementation=names[0], oracle="jax", terms=terms)  # analytic tolerance
