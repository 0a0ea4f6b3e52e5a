"""The oracles themselves: dtypes, devices, and the comparison's verdicts."""

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.oracles.engine import comparison
from backprop_reference.reference import MLP
from backprop_reference.reference.cases import make_case

NET = MLP((4, 5, 3), ("tanh", "softmax"), "cross_entropy")


def test_jax_runs_in_float64():
    import jax

    case = make_case(NET, seed=0, scale=1.0, batch=3)
    grads = oracles.gradients(NET, case.params, case.X, case.Y, oracle="jax")
    assert all(g.dtype == np.float64 for pair in grads for g in pair)
    assert not jax.config.jax_enable_x64  # float64 inside the oracle only: the process's default is left alone


@pytest.mark.parametrize("oracle", list(oracles.ORACLES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_oracles_return_the_structure_and_dtype_of_params(oracle, dtype):
    case = make_case(NET, seed=1, scale=1.0, batch=4, dtype=dtype)
    grads = oracles.gradients(NET, case.params, case.X, case.Y, oracle=oracle)
    assert [(dW.shape, db.shape) for dW, db in grads] == [(W.shape, b.shape) for W, b in case.params]
    assert all(g.dtype == dtype for pair in grads for g in pair)


def test_oracles_do_not_modify_their_inputs():
    case = make_case(NET, seed=2, scale=1.0, batch=4)
    before = [(W.copy(), b.copy()) for W, b in case.params]
    for oracle in oracles.ORACLES:
        oracles.gradients(NET, case.params, case.X, case.Y, oracle=oracle)
    assert all(np.array_equal(W, W0) and np.array_equal(b, b0) for (W, b), (W0, b0) in zip(case.params, before))


def test_torch_cuda_request_without_gpu_is_refused():
    import torch

    case = make_case(NET, seed=3, scale=1.0, batch=2)
    if torch.cuda.is_available():
        grads = oracles.gradients(NET, case.params, case.X, case.Y, oracle="torch", device="cuda")
        cpu = oracles.gradients(NET, case.params, case.X, case.Y, oracle="torch")
        oracles.assert_agree(grads, cpu, implementation="torch cuda", oracle="torch")
    else:
        with pytest.raises(ValueError, match="device='cuda' was asked for, but torch sees no CUDA GPU"):
            oracles.gradients(NET, case.params, case.X, case.Y, oracle="torch", device="cuda")
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:N'"):
        oracles.gradients(NET, case.params, case.X, case.Y, oracle="torch", device="tpu")


def test_tolerance_table_covers_every_oracle_and_dtype_with_reasons():
    for oracle in oracles.ORACLES:
        for dtype in (np.float32, np.float64):
            tolerance = oracles.engine.tolerances.tolerance_for(dtype, oracle)
            assert 0 < tolerance.limit < 1 and tolerance.floor > 0 and len(tolerance.reason) > 20
    assert oracles.engine.tolerances.tolerance_for(np.float64, "jax").limit == 1e-12  # the target
    assert oracles.engine.tolerances.tolerance_for(np.float64, "central").limit == 1e-6


def _perturbed(grads, layer, which, index, delta):
    out = [(dW.copy(), db.copy()) for dW, db in grads]
    out[layer][which][index] += delta
    return out


def test_comparison_names_the_worst_element():
    case = make_case(NET, seed=4, scale=1.0, batch=4)
    ours = reference.gradients(NET, case.params, case.X, case.Y)
    theirs = oracles.gradients(NET, case.params, case.X, case.Y, oracle="torch")
    assert oracles.compare(ours, theirs, implementation="column_vector", oracle="torch").ok
    wrong = _perturbed(ours, 1, 0, (2, 1), 1e-6)
    result = oracles.compare(wrong, theirs, implementation="column_vector", oracle="torch")
    assert not result.ok
    assert result.worst.element == "W^2[2, 1]"
    assert result.worst.actual == wrong[1][0][2, 1] and result.worst.desired == theirs[1][0][2, 1]
    message = result.message()
    for fragment in ("column_vector", "torch", "DISAGREE", "W^2[2, 1]", "tolerance 1e-12"):
        assert fragment in message
    with pytest.raises(AssertionError, match=r"worst element W\^2\[2, 1\]"):
        oracles.assert_agree(wrong, theirs, implementation="column_vector", oracle="torch")
    bias = oracles.compare(_perturbed(ours, 0, 1, (3,), -1e-6), theirs, implementation="x", oracle="jax")
    assert bias.worst.element == "b^1[3]" and not bias.ok


def test_saturated_near_zero_gradient_is_judged_against_the_gradient_scale():
    # jax-ml/jax#40385: a framework's 0 for a true 5e-17 is not a 100 % error.
    ours = [(np.array([[1.0, 5e-17]]), np.array([0.5]))]
    theirs = [(np.array([[1.0, 0.0]]), np.array([0.5]))]
    assert oracles.compare(ours, theirs, implementation="x", oracle="jax").ok
    # … but the same 5e-17 error on an element of a gradient whose whole scale is
    # 1e-16 is still judged against the absolute floor, and passes only there.
    assert oracles.compare([(np.array([[1e-16]]), np.array([0.0]))], [(np.array([[0.0]]), np.array([0.0]))], implementation="x", oracle="jax").ok


def test_non_finite_values_always_fail():
    good = [(np.array([[1.0, 2.0]]), np.array([0.5]))]
    for bad_value in (np.nan, np.inf):
        bad = [(np.array([[1.0, bad_value]]), np.array([0.5]))]
        for actual, desired in ((bad, good), (good, bad), (bad, bad)):
            result = oracles.compare(actual, desired, implementation="x", oracle="jax")
            assert not result.ok and result.worst.element == "W^1[0, 1]"


def test_comparison_rejects_mismatched_structures():
    with pytest.raises(ValueError, match=r"W\^1: actual has shape \(1, 2\), desired \(2, 1\)"):
        comparison.compare([(np.ones((1, 2)), np.ones(1))], [(np.ones((2, 1)), np.ones(1))], implementation="x", oracle="jax")
