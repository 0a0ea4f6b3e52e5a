"""The checks must catch wrong derivations, not only pass right ones.

A few classic slips, written as variants of seed 000's BP1–BP4 loop; every
oracle must flag each one.  (The full catalogue is its own issue.)
"""

import numpy as np
import pytest

import oracles
from reference import MLP
from reference.strategies import make_case

# Square hidden layers, so a missing transpose still has the right shape.
NET = MLP((4, 4, 4, 4), ("tanh", "sigmoid", "identity"), "squared_error")
CASE = make_case(NET, seed=11, scale=1.0, batch=5)


def backprop(mlp, params, X, Y, *, transpose=True, hidden_f_prime=True, sign=1.0, reduce="mean"):
    """BP1–BP4 per sample, with switches that reproduce classic slips."""
    sums = [[np.zeros_like(W), np.zeros_like(b)] for W, b in params]
    for x, y in zip(X, Y):
        zs, activations = [], [x]
        for l, (W, b) in enumerate(params, start=1):
            zs.append(W @ activations[-1] + b)
            activations.append(mlp.activation(l).f(zs[-1]))
        delta = (activations[-1] - y) * mlp.activation(mlp.depth).df(zs[-1])  # BP1
        for l in range(mlp.depth, 0, -1):
            sums[l - 1][0] += np.outer(delta, activations[l - 1])  # BP4
            sums[l - 1][1] += delta  # BP3
            if l > 1:
                W_next = params[l - 1][0]
                back = (W_next.T if transpose else W_next) @ delta
                delta = back * (mlp.activation(l - 1).df(zs[l - 2]) if hidden_f_prime else 1.0)  # BP2
    n = X.shape[0] if reduce == "mean" else 1
    return [(sign * dW / n, sign * db / n) for dW, db in sums]


BUGS = {
    "missing transpose in BP2": dict(transpose=False),
    "f'(z) dropped in BP2": dict(hidden_f_prime=False),
    "wrong sign of delta": dict(sign=-1.0),
    "batch sum instead of mean": dict(reduce="sum"),
}


def test_the_unmutated_variant_is_correct():
    correct = backprop(NET, CASE.params, CASE.X, CASE.Y)
    for oracle in oracles.ORACLES:
        theirs = oracles.gradients(NET, CASE.params, CASE.X, CASE.Y, oracle=oracle)
        oracles.assert_agree(correct, theirs, implementation="bp", oracle=oracle)


@pytest.mark.parametrize("oracle", list(oracles.ORACLES))
@pytest.mark.parametrize("bug", list(BUGS))
def test_every_oracle_catches_the_bug(bug, oracle):
    wrong = backprop(NET, CASE.params, CASE.X, CASE.Y, **BUGS[bug])
    theirs = oracles.gradients(NET, CASE.params, CASE.X, CASE.Y, oracle=oracle)
    result = oracles.compare(wrong, theirs, implementation=bug, oracle=oracle)
    assert not result.ok, result.message()
    assert result.error > 1e3 * result.tolerance.limit  # caught by a wide margin, not by luck
