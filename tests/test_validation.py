"""Bad input gets a clear error naming the argument: a table of cases."""

import re

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.reference import MLP

GOOD = MLP((3, 4, 2), ("tanh", "sigmoid"), "squared_error")


def good_batch(dtype=np.float64):
    params = reference.init_params(GOOD, seed=0, dtype=dtype)
    X = np.ones((5, 3), dtype=dtype)
    Y = np.zeros((5, 2), dtype=dtype)
    return params, X, Y


MLP_CASES = [
    ("one size", dict(sizes=(3,), activations=(), loss="squared_error"), ValueError, "at least two"),
    ("zero width", dict(sizes=(3, 0, 2), activations=("tanh", "sigmoid"), loss="squared_error"), ValueError, r"sizes\[1\] must be positive"),
    ("negative width", dict(sizes=(3, -1), activations=("sigmoid",), loss="squared_error"), ValueError, r"sizes\[1\]"),
    ("float width", dict(sizes=(3, 2.0), activations=("sigmoid",), loss="squared_error"), ValueError, r"sizes\[1\] must be an integer"),
    ("bool width", dict(sizes=(3, True), activations=("sigmoid",), loss="squared_error"), ValueError, r"sizes\[1\] must be an integer"),
    ("sizes not a sequence", dict(sizes=3, activations=("sigmoid",), loss="squared_error"), TypeError, "sizes must be a sequence"),
    ("too few activations", dict(sizes=(3, 4, 2), activations=("tanh",), loss="squared_error"), ValueError, "activations needs one name per layer"),
    ("too many activations", dict(sizes=(3, 2), activations=("tanh", "tanh"), loss="squared_error"), ValueError, "activations needs one name per layer"),
    ("activations a string", dict(sizes=(3, 2), activations="tanh", loss="squared_error"), TypeError, "activations must be a sequence"),
    ("unknown activation", dict(sizes=(3, 2), activations=("swish",),  loss="squared_error"), ValueError, r"activations\[0\] = 'swish' is not registered"),
    ("hidden softmax", dict(sizes=(3, 4, 2), activations=("softmax", "sigmoid"), loss="squared_error"), ValueError, r"activations\[0\] = 'softmax'.*output layer"),
    ("unknown loss", dict(sizes=(3, 2), activations=("sigmoid",), loss="hinge"), ValueError, "loss = 'hinge' is not registered"),
    ("loss not a name", dict(sizes=(3, 2), activations=("sigmoid",), loss=None), TypeError, "loss must be a name"),
    ("log loss after identity", dict(sizes=(3, 2), activations=("identity",), loss="log_loss"), ValueError, r"loss = 'log_loss' cannot follow.*\(0, 1\)"),
    ("log loss after tanh", dict(sizes=(3, 2), activations=("tanh",), loss="log_loss"), ValueError, r"needs outputs in \(0, 1\)"),
    ("log loss after softmax", dict(sizes=(3, 2), activations=("softmax",), loss="log_loss"), ValueError, "use cross_entropy"),
    ("cross-entropy after sigmoid", dict(sizes=(3, 2), activations=("sigmoid",), loss="cross_entropy"), ValueError, "needs a probability vector from a softmax"),
    ("unknown bias mode", dict(sizes=(3, 2), activations=("sigmoid",), loss="squared_error", bias="per-layer"), ValueError, r"bias\[0\] = 'per-layer' is not one of"),
    ("bias modes miscounted", dict(sizes=(3, 4, 2), activations=("tanh", "sigmoid"), loss="squared_error", bias=("none",)), ValueError, "bias needs one mode per layer"),
    ("masks miscounted", dict(sizes=(3, 4, 2), activations=("tanh", "sigmoid"), loss="squared_error", masks=(None,)), ValueError, "masks needs one entry per layer"),
    ("mask wrong shape", dict(sizes=(3, 2), activations=("sigmoid",), loss="squared_error", masks=(np.ones((3, 2)),)), ValueError, r"masks\[0\] must have the shape of W\^1, \(2, 3\)"),
    ("mask not 0/1", dict(sizes=(3, 2), activations=("sigmoid",), loss="squared_error", masks=(np.full((2, 3), 0.5),)), ValueError, r"masks\[0\] must hold only 0 and 1"),
    ("masks an array", dict(sizes=(3, 2), activations=("sigmoid",), loss="squared_error", masks=np.ones((1, 2, 3))), TypeError, "masks must be None or a sequence"),
    ("maxout mask 2-D", dict(sizes=(3, 2, 1), activations=("maxout", "identity"), loss="squared_error", masks=(np.ones((2, 3)), None)), ValueError, r"\(2, 2, 3\)"),
    ("one piece", dict(sizes=(3, 2), activations=("maxout",), loss="squared_error", pieces=1), ValueError, "pieces must be an integer ≥ 2"),
    ("log loss after maxout", dict(sizes=(3, 2), activations=("maxout",), loss="log_loss"), ValueError, r"needs outputs in \(0, 1\)"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), [c[1:] for c in MLP_CASES], ids=[c[0] for c in MLP_CASES])
def test_mlp_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(**kwargs)


def test_mlp_is_frozen_and_normalised():
    mlp = MLP([3, np.int64(4), 2], ["tanh", "softmax"], "cross_entropy")
    assert mlp.sizes == (3, 4, 2) and type(mlp.sizes[1]) is int
    assert mlp.activations == ("tanh", "softmax")
    with pytest.raises(AttributeError):
        mlp.loss = "squared_error"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_params_layout(dtype):
    params = reference.init_params(GOOD, seed=1, dtype=dtype)
    assert [(W.shape, b.shape) for W, b in params] == [((4, 3), (4,)), ((2, 4), (2,))]
    assert all(W.dtype == dtype and b.dtype == dtype for W, b in params)
    again = reference.init_params(GOOD, seed=1, dtype=dtype)
    assert all(np.array_equal(W, W2) and np.array_equal(b, b2) for (W, b), (W2, b2) in zip(params, again))


INIT_CASES = [
    ("int dtype", dict(seed=0, dtype=np.int64), TypeError, "dtype must be float32 or float64"),
    ("float16", dict(seed=0, dtype=np.float16), TypeError, "dtype must be float32 or float64"),
    ("seed a float", dict(seed=0.5), TypeError, "seed must be an integer"),
    ("zero scale", dict(seed=0, scale=0.0), ValueError, "scale must be a positive"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), [c[1:] for c in INIT_CASES], ids=[c[0] for c in INIT_CASES])
def test_init_params_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        reference.init_params(GOOD, **kwargs)


def _replace(batch, **changes):
    params, X, Y = batch
    out = dict(params=params, X=X, Y=Y)
    for key, change in changes.items():
        out[key] = change(out[key])
    return out


def _with_nan(a):
    a = a.copy()
    a.flat[1] = np.nan
    return a


def _swap_W(params, new):
    return [(new, params[0][1])] + list(params[1:])


BATCH_CASES = [
    ("X wrong width", dict(X=lambda X: np.ones((5, 4))), ValueError, r"X must have shape \(N, 3\)"),
    ("X one-dimensional", dict(X=lambda X: np.ones(3)), ValueError, r"X must have shape"),
    ("X empty", dict(X=lambda X: np.ones((0, 3)), Y=lambda Y: np.ones((0, 2))), ValueError, "at least one sample"),
    ("X integer", dict(X=lambda X: np.ones((5, 3), dtype=int)), TypeError, "X must have dtype float32 or float64"),
    ("X a list", dict(X=lambda X: X.tolist()), TypeError, "X must be a numpy.ndarray"),
    ("X nan", dict(X=_with_nan), ValueError, r"X must be finite; X\[0, 1\] = nan"),
    ("X float32 with float64 params", dict(X=lambda X: X.astype(np.float32)), TypeError, "X has dtype float32 but the parameters are float64"),
    ("Y wrong rows", dict(Y=lambda Y: np.zeros((4, 2))), ValueError, r"Y must have shape \(5, 2\)"),
    ("Y inf", dict(Y=lambda Y: Y + np.inf), ValueError, "Y must be finite"),
    ("params too short", dict(params=lambda p: p[:1]), ValueError, r"params must have one \(W, b\) pair per layer"),
    ("params not a list", dict(params=lambda p: {"W": 1}), TypeError, "params must be a list"),
    ("params pair of three", dict(params=lambda p: [p[0] + (None,), p[1]]), TypeError, r"params\[0\] must be a \(W, b\) pair"),
    ("W transposed", dict(params=lambda p: _swap_W(p, p[0][0].T.copy())), ValueError, r"params\[0\]\[0\] \(W\^1\) must have shape \(4, 3\)"),
    ("b column", dict(params=lambda p: [(p[0][0], p[0][1][:, None])] + p[1:]), ValueError, r"\(b\^1\) must have shape \(4,\)"),
    ("W nan", dict(params=lambda p: _swap_W(p, _with_nan(p[0][0]))), ValueError, r"\(W\^1\) must be finite"),
    ("mixed dtypes", dict(params=lambda p: [p[0], (p[1][0].astype(np.float32), p[1][1])]), TypeError, r"\(W\^2\) has dtype float32"),
    ("b missing", dict(params=lambda p: [(p[0][0], None)] + p[1:]), TypeError, r"\(b\^1\) must be a numpy.ndarray"),
]


STRUCTURED = MLP((3, 2, 2), ("maxout", "sigmoid"), "squared_error", bias=("none", "shared"), masks=(None, np.array([[1, 0], [1, 1]])), pieces=3)


def structured_batch():
    return reference.init_params(STRUCTURED, seed=0), np.ones((2, 3)), np.zeros((2, 2))


STRUCTURED_CASES = [
    ("b given for bias 'none'", lambda p: [(p[0][0], np.zeros((2, 3)))] + p[1:], ValueError, r"\(b\^1\) must be None: layer 1 has bias mode 'none'"),
    ("shared b of two", lambda p: [p[0], (p[1][0], np.zeros(2))], ValueError, r"\(b\^2\) must have shape \(1,\)"),
    ("maxout W 2-D", lambda p: [(np.zeros((2, 3)), None), p[1]], ValueError, r"\(W\^1\) must have shape \(2, 3, 3\)"),
    ("weight on an absent connection", lambda p: [p[0], (p[1][0] + 1.0, p[1][1])], ValueError, r"W\^2\[0, 1\] = "),
]


@pytest.mark.parametrize(("change", "error", "match"), [c[1:] for c in STRUCTURED_CASES], ids=[c[0] for c in STRUCTURED_CASES])
def test_structured_params_reject(change, error, match):
    params, X, Y = structured_batch()
    reference.loss(STRUCTURED, params, X, Y)  # the unchanged ones are fine
    with pytest.raises(error, match=match):
        reference.loss(STRUCTURED, change(params), X, Y)


def test_init_params_follows_bias_modes_masks_and_pieces():
    (W1, b1), (W2, b2) = reference.init_params(STRUCTURED, seed=0)
    assert W1.shape == (2, 3, 3) and b1 is None
    assert W2.shape == (2, 2) and b2.shape == (1,) and W2[0, 1] == 0.0


@pytest.mark.parametrize(("changes", "error", "match"), [c[1:] for c in BATCH_CASES], ids=[c[0] for c in BATCH_CASES])
@pytest.mark.parametrize(
    "entry",
    [
        lambda params, X, Y: reference.loss(GOOD, params, X, Y),
        lambda params, X, Y: reference.gradients(GOOD, params, X, Y, notation="column_vector"),
        lambda params, X, Y: reference.gradients(GOOD, params, X, Y, notation="delta_rule"),
        lambda params, X, Y: oracles.gradients(GOOD, params, X, Y, oracle="central"),
    ],
    ids=["loss", "column_vector", "delta_rule", "oracle"],
)
def test_batch_rejects(entry, changes, error, match):
    with pytest.raises(error, match=match):
        entry(**_replace(good_batch(), **changes))


def test_unknown_notation_and_oracle():
    params, X, Y = good_batch()
    with pytest.raises(ValueError, match="unknown notation 'nielsen'; registered: column_vector, delta_rule, two_layer_sums, augmented_bias, row_major_batch"):
        reference.gradients(GOOD, params, X, Y, notation="nielsen")
    with pytest.raises(ValueError, match="unknown oracle 'tensorflow'"):
        oracles.gradients(GOOD, params, X, Y, oracle="tensorflow")
    with pytest.raises(TypeError, match="mlp must be a reference.MLP"):
        reference.loss("3-4-2", params, X, Y)


def test_every_notation_can_be_asked_beforehand():
    params, X, Y = good_batch()
    for name in reference.NOTATIONS:
        reason = reference.why_cannot_express(GOOD, name)
        assert reference.can_express(GOOD, name) is (reason is None)
        if reason is None:
            reference.gradients(GOOD, params, X, Y, notation=name)
        else:  # the same reason, raised
            assert len(reason) > 20
            with pytest.raises(ValueError, match=re.escape(reason)):
                reference.gradients(GOOD, params, X, Y, notation=name)
    assert not reference.can_express(GOOD, "two_layer_sums")  # seed 001 has no bias


def test_notation_that_cannot_express_says_so(monkeypatch):
    from backprop_reference.reference import notations

    narrow = notations.Notation(
        "one_hidden_only", "test", "accepts only one hidden layer",
        gradients=notations.NOTATIONS["delta_rule"].gradients,
        step=notations.NOTATIONS["delta_rule"].step, step_reduction="sum",
        cannot_express=lambda mlp: None if mlp.depth == 2 else f"needs exactly one hidden layer; {mlp} has {mlp.depth - 1}",
    )
    monkeypatch.setitem(notations.NOTATIONS, narrow.name, narrow)
    deep = MLP((3, 4, 4, 2), ("tanh", "tanh", "sigmoid"), "squared_error")
    params = reference.init_params(deep, seed=0)
    assert reference.can_express(GOOD, "one_hidden_only") and not reference.can_express(deep, "one_hidden_only")
    with pytest.raises(ValueError, match="notation 'one_hidden_only' cannot express network 3-4-4-2.*needs exactly one hidden layer"):
        reference.gradients(deep, params, np.ones((2, 3)), np.ones((2, 2)), notation="one_hidden_only")
