"""The benchmark's verdicts and the report's Speed section, from synthetic
timings (the benchmark itself is `make bench`, never a timed test)."""

import json

import numpy as np
import pytest

from backprop_reference.reports.sections import speed as speed_section
from backprop_reference.reports.bench import hand_derived
from backprop_reference.reports.bench.hand_derived import SpeedRow

NET = "784-512-512-10"


def row(method, library, kind, seconds, device="cpu"):
    return SpeedRow(NET, "float64", device, method, library, kind, seconds, seconds * 0.9, 5, 1e9)


def by_what(found, what, detail_start):
    return [t for t in found if t.what == what and t.detail.startswith(detail_start)]


def test_cpu_target_is_against_the_faster_framework():
    rows = [
        row("row_major_batch", "numpy", "gradient", 0.040),
        row("row_major_batch", "numpy", "forward", 0.015),
        row("delta_rule", "numpy", "gradient", 0.030),
        row("delta_rule", "numpy", "forward", 0.015),
        row("torch.autograd", "torch", "gradient", 0.050),
        row("jax.jit(jax.grad)", "jax", "gradient", 0.036),
        row("matrix products only", "numpy", "floor", 0.035),
    ]
    found = hand_derived.targets(rows)
    (rm,) = by_what(found, "gradient / faster framework (CPU)", "row_major_batch on numpy")
    assert rm.measured == pytest.approx(0.040 / 0.036) and rm.met is False and "jax.jit(jax.grad)" in rm.detail
    assert "matrix products alone take 35.0 ms (0.97×)" in rm.detail  # what bounds it
    (dr,) = by_what(found, "gradient / faster framework (CPU)", "delta_rule on numpy")
    assert dr.measured == pytest.approx(0.030 / 0.036) and dr.met is True
    (fw,) = by_what(found, "gradient / forward", "row_major_batch on numpy")
    assert fw.measured == pytest.approx(0.040 / 0.015) and fw.met is True  # 2.67 ≤ 3.3
    assert not [t for t in found if "GPU" in t.what]  # no GPU rows, no GPU targets


def test_gpu_targets_are_against_torch_autograd_and_the_matmul_rate():
    gpu = "NVIDIA H100"
    rows = [
        row("row_major_batch", "torch", "gradient", 0.0021, gpu),
        row("row_major_batch", "torch", "forward", 0.0007, gpu),
        row("torch.autograd", "torch", "gradient", 0.0020, gpu),
        SpeedRow(NET, "float64", gpu, "matmul", "torch", "matmul", 0.0005, 0.0005, 5, 1e9),
    ]
    found = hand_derived.targets(rows)
    (ratio,) = by_what(found, "gradient / torch.autograd (GPU)", "row_major_batch on torch")
    assert ratio.measured == pytest.approx(1.05) and ratio.met is True
    (flops,) = by_what(found, "FLOP rate / plain matmul's (GPU)", "row_major_batch on torch")
    assert flops.measured == pytest.approx((1e9 / 0.0021) / (1e9 / 0.0005)) and flops.met is None and flops.limit is None
    rows[0] = row("row_major_batch", "torch", "gradient", 0.0022, gpu)
    (ratio,) = by_what(hand_derived.targets(rows), "gradient / torch.autograd (GPU)", "row_major_batch on torch")
    assert ratio.met is False


def test_gradient_flops_count_two_products_per_layer_but_the_first():
    # (3 → 4 → 2), batch 5: forward 2·5·(12 + 8); backward ∂W: 2·5·(12 + 8), ∂Z for layer 2 only: 2·5·8
    assert hand_derived.forward_flops((3, 4, 2), 5) == 200
    assert hand_derived.gradient_flops((3, 4, 2), 5) == 200 + 200 + 80


def test_section_says_not_measured_without_bench_json(tmp_path):
    assert speed_section.load(tmp_path / "bench.json") is None
    section = speed_section.section(None, tmp_path)
    assert "Not measured" in section.intro and "make bench" in section.intro and not section.tables


def test_unreadable_or_old_bench_json_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="bench.json: not a bench.json"):
        speed_section.load(path)
    path.write_text(json.dumps({"schema": 0}))
    with pytest.raises(ValueError, match="schema 0, expected 2; rerun `make bench`"):
        speed_section.load(path)


def test_section_shows_the_targets_and_the_numerical_oracles(tmp_path):
    from dataclasses import asdict

    from backprop_reference.reports.bench import numerical

    rows = [row("row_major_batch", "numpy", "gradient", 0.040), row("row_major_batch", "numpy", "forward", 0.015),
            row("jax.jit(jax.grad)", "jax", "gradient", 0.036)]
    target = [
        numerical.TargetRow("central", "batched", "net", 26122, 128, "float64", 1.5, 2.9, 3, 2, False, 26122, ""),
        numerical.TargetRow("central", "plain loop", "net", 26122, 128, "float64", 25.0, 50.0, 3, 1, True, 200, "estimated"),
        numerical.TargetRow("complex_step", "batched", "net", 26122, 128, "float64", 2.4, 4.6, 3, 2, False, 26122, ""),
    ]
    bounds = [numerical.BoundRow("central", 557973504, 1.66, 0.93, 2, 0.46, 1.5, "")]
    growth = [numerical.GrowthRow("central", "width", "net", 16, 2, 714, 32, 0.01, 0.02, 2)]
    from backprop_reference.reports.bench import checkers, public_api

    api = [public_api.ApiRow("tanh", "784-512-512-10", "float64", 0.030, 0.024, 1.25, 7, 0.025, 0.022, ""),
           public_api.ApiRow("relu", "784-512-512-10", "float64", 0.020, 0.024, 0.83, 7, 0.019, 0.021, "")]
    activations = [numerical.ActivationRow("sigmoid", "net", 26122, 128, 2.0, 50.0, 120, 0.04),
                   numerical.ActivationRow("gelu", "net", 26122, 128, 4.0, 50.0, 120, 0.08)]
    times = [checkers.TimeRow("oracles (default)", 6000, 0.7, 3, ""), checkers.TimeRow("gradcheck (slow)", 6000, 0.9, 3, "")]
    detection = [checkers.DetectionRow("relu", "layer", "oracles (default)", True, True),
                 checkers.DetectionRow("relu", "layer", "gradcheck (slow)", False, True),
                 checkers.DetectionRow("relative error 1e-09 at one of 6,000 elements", "error", "oracles (default)", None, True),
                 checkers.DetectionRow("relative error 1e-09 at one of 6,000 elements", "error", "gradcheck (slow)", None, False)]
    data = {
        "schema": 2, "created": "2026-11-24T00:00:00+00:00", "quick": False, "seconds": 120.0,
        "threads": {"usable_cores": 2, "blas": [{"library": "openblas", "version": "0.3", "threads": 2}], "torch_threads": 2, "jax_cpu_threads": "2 cores"},
        "machine": {"cpu": "CPU", "cpu_count": 2, "gpu": None, "gpu_note": "no CUDA GPU visible to torch: the GPU targets were not measured"},
        "hand_derived": hand_derived.json_data(rows, hand_derived.targets(rows)),
        "numerical": {"target": [asdict(r) for r in target], "bounds": [asdict(b) for b in bounds], "growth": [asdict(g) for g in growth],
                      "activations": [asdict(a) for a in activations], "activation_target": 0.05},
        "public_api": public_api.json_data(api),
        "checkers": {"function": "f", "times": [asdict(t) for t in times], "detection": [asdict(d) for d in detection]},
    }
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data))
    section = speed_section.section(speed_section.load(path), tmp_path)
    assert "GPU targets were not measured" in section.intro
    targets, times, oracles_table, growth_table, api_table, central_table, checker_times, caught = section.tables
    assert [r[7] for r in api_table.rows] == ["NOT MET", "met"] and api_table.marks == ("fail", "")
    assert [r[7] for r in central_table.rows] == ["met", "NOT MET"]
    assert len(checker_times.rows) == 2
    assert caught.headers == ("case", "oracles (default)", "gradcheck (slow)")
    assert caught.rows == (("relu", "caught", "caught; FALSE ALARM on the correct one"),
                           ("relative error 1e-09 at one of 6,000 elements", "caught", "missed"))
    assert caught.marks == ("", "")
    verdicts = {r[0]: r[6] for r in targets.rows}
    assert verdicts == {"gradient / forward": "met", "gradient / faster framework (CPU)": "NOT MET"}
    assert targets.marks == tuple("fail" if r[6] == "NOT MET" else "" for r in targets.rows)
    by_oracle = {r[0]: r for r in oracles_table.rows}
    assert by_oracle["central"][7] == "NOT MET" and by_oracle["central"][5] == "17×" and "(est.)" in by_oracle["central"][4]
    assert by_oracle["complex_step"][7] == "met"
    assert len(growth_table.rows) == 1


def test_every_benchmarked_cpu_method_runs_and_the_gradients_agree():
    """The calls ``make bench`` times, once each on a small network (no timing):
    each runs, and every hand-derived gradient it times is the notation's gradient."""
    from backprop_reference import oracles
    from backprop_reference.reference import MLP
    from backprop_reference.reference.array_api import to_numpy
    from backprop_reference.reference.cases import make_case
    from backprop_reference.reference.precision import jax_float64

    mlp = MLP((5, 4, 4, 3), ("tanh", "tanh", "softmax"), "cross_entropy")
    case = make_case(mlp, 0, 1.0, 6)
    with jax_float64():
        methods = hand_derived.cpu_methods(mlp, case)
        results = {key: call() for key, call in methods.items()}
    assert {kind for _, _, kind in methods} == {"gradient", "forward", "floor"}
    expected = hand_derived.fast.gradients(mlp, case.params, case.X, case.Y)
    timed = [(key, result) for key, result in results.items() if key[2] == "gradient" and key[0] in hand_derived.fast.names()]
    assert {library for (_, library, _), _ in timed} == {"numpy", "torch", "jax"}
    for (method, library, _), result in timed:
        got = [(to_numpy(dW), to_numpy(db)) for dW, db in hand_derived.fast.batched(method).to_canonical(result)]
        oracles.assert_agree(got, expected, implementation=f"{method} on {library}", oracle="jax")


def test_the_public_api_benchmark_compares_like_with_like():
    """``make bench``'s torch.autograd script computes the same gradient as ours, for every
    hidden activation it times (no timing here)."""
    from backprop_reference import reference
    from backprop_reference.reference import MLP
    from backprop_reference.reference.cases import make_case
    from backprop_reference.reports.bench import public_api

    assert set(public_api.hidden_activations()) <= set(public_api.TORCH_FORMS)
    for name in public_api.hidden_activations():
        mlp = MLP((5, 4, 4, 3), (name, name, "softmax"), "cross_entropy")
        case = make_case(mlp, 0, 1.0, 6)
        ours = [g for pair in reference.gradients(mlp, case.params, case.X, case.Y, notation="row_major_batch") for g in pair]
        theirs = public_api.torch_script(mlp, public_api.TORCH_FORMS[name])(case.params, case.X, case.Y)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_peer_checkers_are_handed_the_claimed_derivative():
    """Each peer in the checkers' benchmark accepts a correct layer and rejects its slip."""
    from backprop_reference.reports.bench import checkers
    from backprop_reference.testbed.layers import LAYERS

    layer = LAYERS["affine"]
    args = layer.inputs(0)
    for checker in checkers.CHECKERS[1:]:
        assert not checkers.caught(checker, layer.forward, layer.backward, args, lambda: None), checker
        assert checkers.caught(checker, layer.forward, layer.buggy_backward, args, lambda: None), checker


def test_the_low_precision_bench_counts_false_alarms_and_caught_slips():
    """The low-precision rows: ours passes the correct bfloat16 softmax backward and catches its slip;
    gradcheck at its defaults flags the correct one (a false alarm, shown as such)."""
    from backprop_reference.reports.bench import low_precision

    data = low_precision.measure(entries=("softmax",), dtypes=("bfloat16",))
    rows = {(r["checker"], r["setting"]): r for r in data["rows"]}
    ours = rows[(low_precision.OURS, low_precision.DEFAULTS)]
    assert (ours["twins_flagged"], ours["twins"], ours["slips_caught"], ours["slips"]) == (0, 1, 1, 1)
    gradcheck = rows[(low_precision.GRADCHECK, low_precision.DEFAULTS)]
    assert gradcheck["flagged_twins"] == ["softmax"]
    assert {(c["checker"], c["backward"]) for c in data["cases"]} >= {(low_precision.OURS, "twin"), (low_precision.OURS, "slip")}
    json.dumps(data, allow_nan=False)
    (table,) = speed_section.low_precision_tables({"low_precision": data})
    shown = {(r[0], r[2]): r for r in table.rows}
    assert shown[(low_precision.OURS, low_precision.DEFAULTS)][4:6] == ("0 / 1", "1 / 1")
    assert "flagged softmax" in shown[(low_precision.GRADCHECK, low_precision.DEFAULTS)][7]
    assert table.marks[table.rows.index(shown[(low_precision.OURS, low_precision.DEFAULTS)])] == ""


def test_the_low_precision_table_marks_our_false_alarm_and_tolerates_an_old_bench_json():
    from backprop_reference.reports.bench import low_precision

    assert speed_section.low_precision_tables({}) == ()
    row = {"checker": low_precision.OURS, "dtype": "float16", "setting": low_precision.DEFAULTS, "tolerance_text": "its own",
           "twins_flagged": 1, "twins": 5, "slips_caught": 5, "slips": 5, "seconds_per_check": 1.0,
           "flagged_twins": ["softmax"], "missed_slips": []}
    data = {"catalogue": "c", "seed": 0, "entries": [{"name": "softmax"}], "ladder": [1e-3], "not_run": [],
            "ours_options": {"cotangents": 1, "properties": False}, "rows": [row]}
    (table,) = speed_section.low_precision_tables({"low_precision": data})
    assert table.marks == ("fail",) and table.rows[0][7] == "flagged softmax"


def test_the_low_precision_bench_refuses_an_unknown_entry_or_dtype():
    from backprop_reference.reports.bench import low_precision

    with pytest.raises(ValueError, match="float8"):
        low_precision.measure(entries=("softmax",), dtypes=("float8",))
    with pytest.raises(ValueError, match="nonesuch"):
        low_precision.measure(entries=("nonesuch",))
