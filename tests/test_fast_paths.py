"""``reference.fast``: the vectorised derivations (seed 004 row-major batch,
seed 003 delta rule batched) on NumPy, torch and jax arrays, with no autograd.

Each is checked against the oracles across random networks, against itself
across array libraries, on bad input, and against a wrong derivative it must
not hide.
"""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.reference import MLP, fast
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.array_api import to_numpy
from backprop_reference.reference.cases import make_case
from backprop_reference.reference.precision import jax_float64
from backprop_reference.testbed.strategies import cases

FAST = fast.names()


def _jax(a):
    with jax_float64():  # a float64 jax array, whatever this process's JAX default
        return jnp.asarray(a)


LIBRARIES = {
    "numpy": lambda a: a,
    "torch": lambda a: None if a is None else torch.from_numpy(np.array(a)),
    "jax": lambda a: None if a is None else _jax(a),
}


def _in(library, case):
    to = LIBRARIES[library]
    return [(to(W), to(b)) for W, b in case.params], to(case.X), to(case.Y)


def _back(grads):
    return [(to_numpy(dW), to_numpy(db)) for dW, db in grads]


@pytest.mark.parametrize("notation", FAST)
@given(case=cases(dtypes=st.sampled_from([np.float64, np.float32])))
def test_fast_paths_agree_with_the_oracles_on_any_network(notation, case):
    mlp = case.mlp
    if reference.why_cannot_express(mlp, notation) is not None:
        with pytest.raises(ValueError, match="cannot express"):
            fast.gradients(mlp, case.params, case.X, case.Y, notation=notation)
        return
    ours = fast.gradients(mlp, case.params, case.X, case.Y, notation=notation)
    for (dW, db), (W, b) in zip(ours, case.params, strict=True):
        assert dW.dtype == W.dtype and dW.shape == W.shape and (db is None) == (b is None)
    oracles.assert_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=("jax", "torch"), implementation=f"fast {notation}")


@pytest.mark.parametrize("library", ["torch", "jax"])
@pytest.mark.parametrize("notation", FAST)
@settings(max_examples=20)  # jax compiles each new network (~0.5 s); the oracle test above covers the networks
@given(case=cases(dtypes=st.sampled_from([np.float64, np.float32])))
# Issue 13's draw (its seed was not recorded): a (1,1,1,1,1,2) identity⁴/softmax network at weight
# scale 10, where jax gave −1.65e-12 for an element that is 0 and the 1e-12 × max(G, 1) rule failed.
@example(case=make_case(MLP((1, 1, 1, 1, 1, 2), ("identity",) * 4 + ("softmax",), "squared_error"), seed=3, scale=10.0, batch=1))
@example(case=make_case(MLP((1, 1, 1, 1, 1, 2), ("identity",) * 4 + ("softmax",), "cross_entropy"), seed=7, scale=10.0, batch=2))
def test_other_libraries_give_the_numpy_answer_in_their_own_arrays(library, notation, case):
    mlp = case.mlp
    if reference.why_cannot_express(mlp, notation) is not None:
        return
    expected = fast.gradients(mlp, case.params, case.X, case.Y, notation=notation)
    params, X, Y = _in(library, case)
    theirs = fast.gradients(mlp, params, X, Y, notation=notation)
    for dW, db in theirs:
        for g in (dW, db):
            if g is not None:
                assert type(g) is type(X)  # never silently converted to NumPy
                assert str(g.dtype).endswith(str(case.X.dtype))  # float64 stays float64
    terms = oracles.engine.rounding.network_terms(mlp, case.params, case.X, case.Y)  # each element may differ by its rounding bound
    oracles.assert_agree(_back(theirs), expected, implementation=f"fast {notation} on {library}", oracle="jax", terms=terms)


NETWORKS = {
    "maxout, shared bias, masked": MLP(
        (3, 4, 3, 2), ("maxout", "tanh", "softmax"), "cross_entropy", bias=("shared", "none", "neuron"),
        masks=(None, np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]]), None), pieces=3,
    ),
    "sigmoid + log loss": MLP((4, 5, 3), ("sigmoid", "sigmoid"), "log_loss"),
    "relu, identity + squared error, masked": MLP(
        (3, 4, 2), ("relu", "identity"), "squared_error", masks=(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]]), None)
    ),
    "gelu, elu, silu (registered)": MLP((3, 4, 4, 4, 2), ("gelu", "elu", "silu", "softmax"), "cross_entropy"),
}


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("network", NETWORKS)
def test_structured_networks_on_every_library(network, library):
    mlp = NETWORKS[network]
    case = make_case(mlp, 3, 1.0, 5)
    for notation in FAST:
        if reference.why_cannot_express(mlp, notation) is not None:
            continue
        ours = _back(fast.gradients(mlp, *_in(library, case), notation=notation))
        oracles.assert_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=("jax",), implementation=f"fast {notation}")


def test_softmax_without_one_hot_targets_uses_the_general_delta():
    """δ^L = o − y holds for softmax + cross-entropy only when the targets sum to
    one; the batched delta rule must stay right when they do not."""
    mlp = MLP((3, 4, 3), ("tanh", "softmax"), "cross_entropy")
    case = make_case(mlp, 0, 1.0, 4)
    Y = case.Y * 0.5  # rows sum to 0.5
    ours = fast.gradients(mlp, case.params, case.X, Y, notation="delta_rule")
    oracles.assert_network_gradients(mlp, case.params, case.X, Y, ours, oracles=("jax",), implementation="fast delta_rule")


# --- a wrong derivative is caught, not hidden ------------------------------------------


@pytest.mark.parametrize("notation", FAST)
def test_a_wrong_derivative_through_the_output_is_caught(notation, monkeypatch):
    """tanh' written as 1 − a (a slip for 1 − a²) in the form the fast paths use."""
    wrong = dataclasses.replace(ACTIVATIONS["tanh"], xp_df_from_output=lambda a, xp: 1.0 - a)
    monkeypatch.setitem(ACTIVATIONS, "tanh", wrong)
    mlp = MLP((3, 4, 2), ("tanh", "identity"), "squared_error")
    case = make_case(mlp, 0, 1.0, 4)
    ours = fast.gradients(mlp, case.params, case.X, case.Y, notation=notation)
    verdict = oracles.check_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=("jax",))
    assert not verdict.ok and "W^1" in verdict.message()


def test_a_wrong_softmax_product_is_caught(monkeypatch):
    wrong = dataclasses.replace(ACTIVATIONS["softmax"], xp_vjp_from_output=lambda o, v, xp: o * v)  # drops −o Σ o v
    monkeypatch.setitem(ACTIVATIONS, "softmax", wrong)
    mlp = MLP((3, 4, 3), ("tanh", "softmax"), "cross_entropy")
    case = make_case(mlp, 0, 1.0, 4)
    ours = fast.gradients(mlp, case.params, case.X, case.Y, notation="row_major_batch")
    assert not oracles.check_network_gradients(mlp, case.params, case.X, case.Y, ours, oracles=("jax",)).ok


# --- bad input --------------------------------------------------------------------------

MLP_ = MLP((3, 4, 2), ("tanh", "softmax"), "cross_entropy")
CASE = make_case(MLP_, 0, 1.0, 4)


def _torch_case():
    return _in("torch", CASE)


def test_mixed_libraries_are_refused_naming_the_argument():
    params, X, Y = _torch_case()
    with pytest.raises(TypeError, match="X is a numpy array but params"):
        fast.gradients(MLP_, params, CASE.X, Y)


def test_mixed_dtypes_are_refused():
    params, X, Y = _torch_case()
    with pytest.raises(TypeError, match=r"Y has dtype torch.float32"):
        fast.gradients(MLP_, params, X, Y.float())


def test_wrong_shapes_are_refused():
    params, X, Y = _torch_case()
    with pytest.raises(ValueError, match=r"params\[0\]\[0\] \(W\^1\) must have shape \(4, 3\)"):
        fast.gradients(MLP_, [(params[0][0].T, params[0][1]), params[1]], X, Y)
    with pytest.raises(ValueError, match=r"Y must have shape \(4, 2\)"):
        fast.gradients(MLP_, params, X, Y[:3])


def test_non_finite_inputs_are_refused():
    params, X, Y = _torch_case()
    X = X.clone()
    X[1, 2] = float("nan")
    with pytest.raises(ValueError, match="X must be finite"):
        fast.gradients(MLP_, params, X, Y)


def test_numpy_inputs_get_the_reference_checks():
    with pytest.raises(TypeError, match="Y has dtype float32"):
        fast.gradients(MLP_, CASE.params, CASE.X, CASE.Y.astype(np.float32))


def test_unknown_notation_and_networks_a_document_cannot_express():
    with pytest.raises(ValueError, match="no fast path for notation 'column_vector'"):
        fast.gradients(MLP_, CASE.params, CASE.X, CASE.Y, notation="column_vector")
    shared = MLP((3, 4, 2), ("tanh", "softmax"), "cross_entropy", bias="shared")
    case = make_case(shared, 0, 1.0, 2)
    with pytest.raises(ValueError, match="seed 003 gives every neuron its own bias"):
        fast.gradients(shared, case.params, case.X, case.Y, notation="delta_rule")
