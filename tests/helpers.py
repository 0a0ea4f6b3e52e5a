"""Assertions shared by the notation tests."""

import numpy as np

from backprop_reference import oracles

TOL = oracles.engine.tolerances.tolerance_for(np.float64, "jax")


def close(actual, expected):
    """float64 and within the analytic tolerance of ``expected``, relative to max(1, |expected|)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == np.float64 and actual.shape == expected.shape
    assert np.max(np.abs(actual - expected)) <= TOL.limit * max(1.0, float(np.max(np.abs(expected)))), (actual, expected)


def check_structure(grads, params):
    """Gradients mirror ``params``: shapes, float64, and None exactly where a layer has no bias."""
    for (dW, db), (W, b) in zip(grads, params, strict=True):
        assert dW.dtype == np.float64 and dW.shape == W.shape
        assert (db is None) == (b is None)
        if b is not None:
            assert db.dtype == np.float64 and db.shape == b.shape
