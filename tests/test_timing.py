"""The timing section's structure, from one quick CPU run.

Only structure is checked — which rows exist, that skips say why, that the
ratios are consistent, that the plot is a PNG — never a time: speeds depend
on the machine and its load.
"""

import json
from io import BytesIO

import numpy as np
import pytest
import torch
from matplotlib import image as mpimg

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.reference import fast
from backprop_reference.reports.render import plots
from backprop_reference.reports.sections import timing
from backprop_reference.reports.sections.environment import timing_notes
from backprop_reference.reports.model import Figure, Section, Table


@pytest.fixture(scope="module")
def rows():
    with np.errstate(all="raise", under="ignore"):  # as the autouse fixture, which is function-scoped
        return timing.measure(quick=True, device="cpu")


def expected_methods() -> set[str]:
    names = {f"notation: {name}" for name in reference.NOTATIONS} | {f"fast: {name}" for name in fast.names()}
    for name in oracles.ORACLES:
        names |= {"jax eager", "jax jit"} if name == "jax" else {name}
    return names


def test_methods_come_from_the_registries():
    assert {m.name for m in timing.methods()} == expected_methods()


def test_every_method_appears_for_each_dtype_and_size(rows):
    sizes = {timing.network(w).sizes for w in timing.QUICK.widths}
    seen = {(r.method, r.dtype, r.sizes) for r in rows}
    assert seen == {(m, d, s) for m in expected_methods() for d in ("float64", "float32") for s in sizes}
    assert len(rows) == len(seen)  # one row each
    assert {r.device for r in rows} == {"cpu"}
    assert {r.batch for r in rows} == {timing.QUICK.batch}


def test_each_row_is_timed_or_says_why_not(rows):
    for r in rows:
        if r.median_s is None:
            assert r.note, r
            assert r.repeats == 0 and r.ratio_to_fastest is None, r
        else:
            assert r.median_s > 0 and np.isfinite(r.median_s), r
            assert r.repeats >= 1, r


def test_a_notation_that_cannot_express_the_network_says_so(rows):
    for r in rows:
        name = r.method.removeprefix("notation: ")
        if r.method.startswith("notation: ") and not reference.can_express(timing.network(r.sizes[1]), name):
            assert r.median_s is None and r.note.startswith("cannot express"), r


def test_ratios_are_to_the_fastest_of_each_group(rows):
    groups: dict[tuple, list] = {}
    for r in rows:
        if r.median_s is not None:
            groups.setdefault((r.sizes, r.batch, r.dtype, r.device), []).append(r)
    assert groups
    for group in groups.values():
        ratios = [r.ratio_to_fastest for r in group]
        assert min(ratios) == 1.0
        assert all(ratio >= 1.0 for ratio in ratios)
        fastest = min(r.median_s for r in group)
        for r in group:
            assert r.ratio_to_fastest == pytest.approx(r.median_s / fastest)


def test_plot_gives_one_readable_png_per_device(rows):
    figures = plots.timing(rows)
    assert [f.name for f in figures] == ["timing_cpu.png"]
    figure = figures[0]
    assert isinstance(figure, Figure) and figure.caption and figure.alt
    assert figure.png.startswith(b"\x89PNG")
    pixels = mpimg.imread(BytesIO(figure.png), format="png")
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_section_has_a_table_per_dtype_and_the_figure(rows):
    figures = plots.timing(rows)
    section = timing.section(rows, figures)
    assert isinstance(section, Section) and section.key == "timing" and section.title and section.intro
    assert len(section.tables) == 2  # CPU × (float64, float32)
    for table in section.tables:
        assert isinstance(table, Table)
        assert table.headers[:5] == ("method", "sizes", "batch", "median per call", "× fastest")
        assert all(len(row) == len(table.headers) for row in table.rows)
        assert len(table.rows) == len(rows) // 2
    assert section.figures == tuple(figures)


def test_json_rows_carry_every_field(rows):
    records = timing.json_rows(rows)
    assert len(records) == len(rows)
    for record in records:
        keys = {"method", "device", "dtype", "sizes", "batch", "median_s", "repeats", "ratio_to_fastest", "note"}
        assert keys <= set(record)
        assert isinstance(record["sizes"], list)
    json.dumps(records)  # serialisable as is


def test_environment_notes_record_thread_counts():
    notes = timing_notes()
    assert notes["torch_num_threads"] >= 1 and notes["cpu_count"] >= 1


@pytest.mark.parametrize(
    "seconds, text",
    [(None, "—"), (2.049, "2.05 s"), (0.00123, "1.23 ms"), (4.56e-5, "45.6 µs"), (8.12e-7, "812 ns")],
)
def test_format_seconds(seconds, text):
    assert timing.format_seconds(seconds) == text


def test_predict_scales_one_point_and_fits_a_line_through_two():
    assert timing.predict([(4, 10.0, 0.1)], 40.0)[0] == pytest.approx(0.4)
    # a fixed overhead of 0.1 s and 0.01 s per unit of cost
    assert timing.predict([(4, 10.0, 0.2), (8, 20.0, 0.3)], 40.0)[0] == pytest.approx(0.5)
    # a slope below 0 (noise) is taken as 0
    assert timing.predict([(4, 10.0, 0.3), (8, 20.0, 0.2)], 40.0)[0] == pytest.approx(0.2)


def test_device_gpu_without_a_gpu_is_refused():
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible: --device gpu is valid here")
    with pytest.raises(ValueError, match="--device gpu: no CUDA GPU visible to torch on this machine"):
        timing.measure(quick=True, device="gpu")


@pytest.mark.parametrize("device", ["cuda", "GPU", ""])
def test_unknown_device_is_refused(device):
    with pytest.raises(ValueError, match="device must be one of"):
        timing.measure(quick=True, device=device)


@pytest.mark.parametrize("budget_s", [0, -1.0, float("nan"), True])
def test_bad_budget_is_refused(budget_s):
    with pytest.raises(ValueError, match="budget_s"):
        timing.measure(quick=True, device="cpu", budget_s=budget_s)
