"""Golden files: round trip, regressions named by element, no pickles, clear refusals."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from backprop_reference import reference
from backprop_reference.oracles.checks.golden import FORMAT_VERSION, GoldenConfig, assert_golden, compare_golden, current_versions, golden_inputs, inputs_sha256, load_golden, save_golden, version_differences
from backprop_reference.reference import MLP

PLAIN = GoldenConfig("tanh-softmax", MLP((3, 5, 2), ("tanh", "softmax"), "cross_entropy"), seed=7)
STRUCTURED = GoldenConfig(
    "maxout-shared-masked",
    MLP(
        (3, 4, 3, 2),
        ("maxout", "tanh", "sigmoid"),
        "log_loss",
        bias=("shared", "none", "neuron"),
        masks=(None, [[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1]], None),
        pieces=3,
    ),
    seed=11,
    batch=5,
)
FLOAT32 = GoldenConfig("float32", MLP((2, 3, 1), ("sigmoid", "identity"), "squared_error"), seed=3, dtype="float32")
CONFIGS = [PLAIN, STRUCTURED, FLOAT32]


def _golden_grads(config: GoldenConfig) -> list:
    mlp, params, X, Y = golden_inputs(config)
    return reference.gradients(mlp, params, X, Y, notation="row_major_batch")


def _saved(tmp_path, config: GoldenConfig = PLAIN):
    path = tmp_path / f"{config.name}.npz"
    grads = _golden_grads(config)
    save_golden(path, config, grads, implementation="row_major_batch")
    return path, grads


def _rewrite(path, edit_meta=None, drop=()):
    """Rewrite a golden file with its metadata edited or keys dropped."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files if key not in drop}
    if edit_meta is not None:
        meta = json.loads(str(arrays["__meta__"]))
        edit_meta(meta)
        arrays["__meta__"] = np.array(json.dumps(meta))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


# --- round trip ---------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_round_trip_same_gradients_pass(tmp_path, config):
    path, grads = _saved(tmp_path, config)
    verdict = assert_golden(path, grads, implementation="row_major_batch")
    assert verdict.ok and not verdict.skipped  # the inputs did not change
    assert verdict.comparisons[0].error == 0.0
    assert "OK" in verdict.message()


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_load_returns_config_and_grads_exactly(tmp_path, config):
    path, grads = _saved(tmp_path, config)
    golden = load_golden(path)
    assert golden.config == config
    assert golden.implementation == "row_major_batch"
    assert golden.format == FORMAT_VERSION
    for (W, b), (gW, gb) in zip(grads, golden.grads):
        np.testing.assert_array_equal(gW, W)
        assert gW.dtype == W.dtype
        assert (gb is None) == (b is None)
        if b is not None:
            np.testing.assert_array_equal(gb, b)


def test_another_notation_agrees_with_the_golden_file(tmp_path):
    path, _ = _saved(tmp_path, PLAIN)
    mlp, params, X, Y = golden_inputs(PLAIN)
    for notation in ("column_vector", "delta_rule", "augmented_bias"):
        assert_golden(path, reference.gradients(mlp, params, X, Y, notation=notation), implementation=notation)


# --- regressions -------------------------------------------------------------------


def test_perturbed_element_fails_and_is_named(tmp_path):
    path, grads = _saved(tmp_path, PLAIN)
    W2 = grads[1][0].copy()
    index = np.unravel_index(int(np.argmax(np.abs(W2))), W2.shape)
    W2[index] *= 1 + 1e-9  # a relative error of 1e-9 in one element
    perturbed = [grads[0], (W2, grads[1][1])]

    verdict = compare_golden(path, perturbed, implementation="perturbed")
    assert not verdict.ok and not verdict.skipped  # the inputs did not change
    element = f"W^2[{index[0]}, {index[1]}]"
    assert verdict.comparisons[0].worst.element == element
    message = verdict.message()
    assert element in message and "DISAGREE" in message and f"golden {path.name}" in message
    with pytest.raises(AssertionError, match=rf"W\^2\[{index[0]}, {index[1]}\]"):
        assert_golden(path, perturbed, implementation="perturbed")


def test_changed_inputs_fail_naming_both_hashes(tmp_path):
    path, grads = _saved(tmp_path, PLAIN)
    then = "0" * 64
    _rewrite(path, edit_meta=lambda meta: meta.update(inputs_sha256=then))

    verdict = compare_golden(path, grads)
    _, params, X, Y = golden_inputs(PLAIN)
    assert not verdict.ok and verdict.comparisons == ()
    assert "inputs" in dict(verdict.skipped)[f"golden {path.name}"]
    assert then in verdict.message() and inputs_sha256(params, X, Y) in verdict.message()
    assert "INPUTS CHANGED" in verdict.message() and "not compared" in verdict.message()
    with pytest.raises(AssertionError, match="different inputs"):
        assert_golden(path, grads)


def test_version_differences_are_listed_but_do_not_fail(tmp_path):
    path, grads = _saved(tmp_path, PLAIN)
    _rewrite(path, edit_meta=lambda meta: meta["versions"].update(numpy="0.0.1"))
    verdict = compare_golden(path, grads)
    assert verdict.ok
    differences = version_differences(load_golden(path).versions, current_versions())
    assert [(p, then) for p, then, _ in differences] == [("numpy", "0.0.1")]
    assert f"numpy 0.0.1 → {np.__version__}" in verdict.message()


# --- the file ------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_file_holds_no_pickled_objects(tmp_path, config):
    path, _ = _saved(tmp_path, config)
    with np.load(path, allow_pickle=False) as archive:
        kinds = {key: archive[key].dtype.kind for key in archive.files}
    assert all(kind in "fiuU" for kind in kinds.values()), kinds
    expected = {"W^1", "W^2", "b^1", "b^2"} if config is PLAIN else None
    if expected:
        assert set(kinds) == expected | {"__meta__"}
    if config is STRUCTURED:
        assert "b^2" not in kinds  # bias mode "none": omitted, not stored as an object


def test_metadata_records_versions_config_and_inputs(tmp_path):
    path, _ = _saved(tmp_path, STRUCTURED)
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["__meta__"]))
    assert meta["format"] == FORMAT_VERSION
    assert meta["implementation"] == "row_major_batch"
    assert set(meta["versions"]) == {"python", "numpy", "jax", "torch", "backprop-reference"}
    assert meta["versions"]["numpy"] == np.__version__
    config = meta["config"]
    assert config["name"] == STRUCTURED.name and config["sizes"] == [3, 4, 3, 2]
    assert config["bias"] == ["shared", "none", "neuron"] and config["pieces"] == 3
    assert config["masks"][0] is None and config["masks"][1][0] == [1, 0, 1, 1]
    assert (config["seed"], config["scale"], config["batch"], config["dtype"]) == (11, 1.0, 5, "float64")
    assert len(meta["inputs_sha256"]) == 64


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    path, grads = _saved(tmp_path, PLAIN)
    before = path.read_bytes()

    def interrupted(source, destination):
        raise KeyboardInterrupt("interrupted")

    monkeypatch.setattr(os, "replace", interrupted)
    doubled = [(2 * W, 2 * b) for W, b in grads]
    with pytest.raises(KeyboardInterrupt):
        save_golden(path, PLAIN, doubled, implementation="doubled")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left
    assert compare_golden(path, grads).ok


def test_saving_to_a_name_keeps_that_name(tmp_path):
    path, _ = _saved(tmp_path, PLAIN)
    assert path.is_file() and not path.with_name(path.name + ".npz").exists()


# --- bad inputs ------------------------------------------------------------------------


def _with_W2(grads, W2):
    return [grads[0], (W2, grads[1][1])]


def _nan_at_0_1(grads):
    W2 = grads[1][0].copy()
    W2[0, 1] = np.nan
    return _with_W2(grads, W2)


BAD_SAVES = [
    # (id, path name, grads → bad grads, exception, message pattern)
    ("suffix", "grads.npy", lambda g: g, ValueError, r"path must end in \.npz.*grads\.npy"),
    ("no suffix", "grads", lambda g: g, ValueError, r"path must end in \.npz"),
    ("W shape", "g.npz", lambda g: _with_W2(g, g[1][0].T.copy()), ValueError, r"grads\[1\]\[0\] \(W\^2\) must have shape \(2, 5\)"),
    ("layers", "g.npz", lambda g: g[:1], TypeError, r"grads must be a list .*\(L = 2\).*got 1 entries"),
    ("bias shape", "g.npz", lambda g: [(g[0][0], g[0][1][:2])] + g[1:], ValueError, r"grads\[0\]\[1\] \(b\^1\) must have shape \(5,\)"),
    ("dtype", "g.npz", lambda g: _with_W2(g, g[1][0].astype(np.float32)), TypeError, r"grads\[1\]\[0\] \(W\^2\) has dtype float32"),
    ("nan", "g.npz", _nan_at_0_1, ValueError, r"must be finite.*W\^2\[0, 1\] = nan"),
]


@pytest.mark.parametrize("name, bad_grads, exception, pattern", [row[1:] for row in BAD_SAVES], ids=[row[0] for row in BAD_SAVES])
def test_bad_save_arguments_are_named(tmp_path, name, bad_grads, exception, pattern):
    grads = _golden_grads(PLAIN)
    with pytest.raises(exception, match=pattern):
        save_golden(tmp_path / name, PLAIN, bad_grads(grads), implementation="row_major_batch")
    assert list(tmp_path.iterdir()) == []


def test_bad_implementation_name_is_named(tmp_path):
    with pytest.raises(ValueError, match="implementation must be"):
        save_golden(tmp_path / "g.npz", PLAIN, _golden_grads(PLAIN), implementation="")


BAD_CONFIGS = [
    ("name", dict(name=""), ValueError, "name must be"),
    ("seed", dict(seed=-1), ValueError, "seed must be a non-negative integer"),
    ("scale", dict(scale=0.0), ValueError, "scale must be a positive finite number"),
    ("batch", dict(batch=0), ValueError, "batch must be a positive integer"),
    ("dtype", dict(dtype="int32"), TypeError, "dtype must be 'float32' or 'float64'"),
    ("mlp", dict(mlp="3-5-2"), TypeError, "mlp must be a reference.MLP"),
]


@pytest.mark.parametrize("changes, exception, pattern", [row[1:] for row in BAD_CONFIGS], ids=[row[0] for row in BAD_CONFIGS])
def test_bad_config_fields_are_named(changes, exception, pattern):
    fields = dict(name="x", mlp=PLAIN.mlp, seed=0) | changes
    with pytest.raises(exception, match=pattern):
        GoldenConfig(**fields)


def test_unknown_format_version_is_refused(tmp_path):
    path, _ = _saved(tmp_path, PLAIN)
    _rewrite(path, edit_meta=lambda meta: meta.update(format=99))
    with pytest.raises(ValueError, match=rf"format version 99.*reads version {FORMAT_VERSION}"):
        load_golden(path)


@pytest.mark.parametrize(
    "drop, pattern",
    [(("W^2",), r"missing keys \['W\^2'\]"), (("__meta__",), "no '__meta__' key")],
    ids=["gradient", "metadata"],
)
def test_missing_keys_are_refused(tmp_path, drop, pattern):
    path, _ = _saved(tmp_path, PLAIN)
    _rewrite(path, drop=drop)
    with pytest.raises(ValueError, match=pattern):
        load_golden(path)


def test_missing_metadata_field_is_refused(tmp_path):
    path, _ = _saved(tmp_path, PLAIN)
    _rewrite(path, edit_meta=lambda meta: meta.pop("inputs_sha256"))
    with pytest.raises(ValueError, match=r"lacks \['inputs_sha256'\]"):
        load_golden(path)


def test_npy_of_an_object_array_is_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    with open(path, "wb") as handle:  # np.save to a file object: no ".npy" appended
        np.save(handle, np.array([{"W^1": 1.0}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"pickled\.npz.*no pickled objects"):
        load_golden(path)


def test_npz_with_an_object_array_is_refused(tmp_path):
    path, _ = _saved(tmp_path, PLAIN)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["W^1"] = np.array([object()], dtype=object)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)  # np.savez pickles object arrays
    with pytest.raises(ValueError, match=r"key 'W\^1' holds a pickled object array"):
        load_golden(path)


def test_load_and_compare_check_their_path(tmp_path):
    with pytest.raises(ValueError, match=r"path must end in \.npz"):
        load_golden(tmp_path / "grads.pkl")
    with pytest.raises(FileNotFoundError, match="no golden file there"):
        compare_golden(tmp_path / "absent.npz", _golden_grads(PLAIN))


def test_compare_checks_grads_against_the_file(tmp_path):
    path, grads = _saved(tmp_path, PLAIN)
    with pytest.raises(ValueError, match=r"grads\[1\]\[0\] \(W\^2\) must have shape"):
        compare_golden(path, _with_W2(grads, grads[1][0][:1]))
    with pytest.raises(TypeError, match="tolerance must be"):
        compare_golden(path, grads, tolerance="analytic")
