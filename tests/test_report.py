"""The main job end to end, through the CLI as a user runs it."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.reports.io import write_atomic
from backprop_reference.reports.render.json import schema

ROOT = Path(__file__).resolve().parents[1]


# The report as `backprop-report` runs in a plain install: Hypothesis (a test
# extra) is made unimportable first, so a report module that needs it fails here.
WITHOUT_HYPOTHESIS = "import runpy, sys; sys.modules['hypothesis'] = None; runpy.run_module('backprop_reference.reports', run_name='__main__', alter_sys=True)"


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_HYPOTHESIS, "--quick", "--device", "cpu", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    return completed, out


def test_quick_report_writes_three_formats(quick_report):
    completed, out = quick_report
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith("PASS: "), completed.stdout
    for name in ("report.md", "report.html", "report.json", "agreement.png", "timing_cpu.png", "training.png"):
        assert (out / name).stat().st_size > 0, name
    markdown = (out / "report.md").read_text()
    for title in ("Environment", "Agreement", "worked examples", "Output-delta closed forms", "Bug detection", "Training", "Timing",
                  "Appendix: the agreement table"):
        assert title in markdown
    assert "](timing_cpu.png)" in markdown and "](agreement.png)" in markdown and "no GPU on this machine" in markdown
    assert "Taylor remainder test (no oracle, no tolerance): 5/5 notations' gradients fall as h², and the catalogued bug's as h." in completed.stdout
    assert "agreement:" not in completed.stderr  # no progress bar in a log


def test_an_unwritable_out_is_refused_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for command in ([sys.executable, "-m", "backprop_reference.reports"], [str(Path(sys.executable).parent / "backprop-report")],
                    [sys.executable, "-m", "backprop_reference.reports.bench"]):
        start = time.perf_counter()
        completed = subprocess.run([*command, "--quick", "--out", str(blocker / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert completed.returncode == 2, command
        assert f"--out {blocker / 'out'}: cannot write there" in completed.stderr, completed.stderr
        assert time.perf_counter() - start < 60


def test_help_names_the_command_as_typed():
    as_module = subprocess.run([sys.executable, "-m", "backprop_reference.reports", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert as_module.stdout.startswith("usage: python -m backprop_reference.reports [-h]")
    script = subprocess.run([str(Path(sys.executable).parent / "backprop-report"), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert script.stdout.startswith("usage: backprop-report [-h]")
    assert "default ./backprop-report, in the current folder" in " ".join(script.stdout.split())


def test_report_json_follows_its_schema_and_covers_the_registries(quick_report):
    _, out = quick_report
    document = json.loads((out / "report.json").read_text())
    jsonschema.validate(document, schema())
    assert document["schema"] == 1 and document["quick"] is True
    pairs = {(row["notation"], row["oracle"], row["dtype"]) for row in document["agreement"]}
    assert pairs == {(n, o, d) for n in reference.NOTATIONS for o in oracles.ORACLES for d in ("float64", "float32")}
    for row in document["agreement"]:  # every notation meets networks it can express, and agrees
        assert row["cases"] > 0 and row["failures"] == 0 and row["max_error"] <= row["tolerance"], row
    from backprop_reference.testbed.mutants import MUTANTS

    assert {row["name"] for row in document["mutants"]} == set(MUTANTS)
    assert all(row["detected"] for row in document["mutants"])
    errata = {row["quantity"].split(":")[0] for row in document["seed_examples"] if not row["agrees"]}
    assert errata == {"do1/dz_o1_2", "dE/db1", "b1_2", "b1_new", "b2_2"}
    trained = {row["notation"] for row in document["training"]["trajectories"]}
    assert trained == {"column_vector", "delta_rule", "augmented_bias", "row_major_batch"}
    assert all(row["max_gap"] <= 1e-10 for row in document["training"]["trajectories"])
    methods = {row["method"] for row in document["timing"]}
    assert {"jax jit", "jax eager", "torch"} <= methods


def test_schema_rejects_a_report_missing_a_key(quick_report):
    _, out = quick_report
    document = json.loads((out / "report.json").read_text())
    del document["mutants"]
    with pytest.raises(jsonschema.ValidationError, match="'mutants' is a required property"):
        jsonschema.validate(document, schema())


def test_gpu_device_without_gpu_is_a_clear_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    completed = subprocess.run(
        [sys.executable, "-m", "backprop_reference.reports", "--quick", "--device", "gpu", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 2
    assert "--device gpu: no CUDA GPU visible to torch" in completed.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_process_pool_gives_the_same_results_as_one_process():
    from backprop_reference.reports.sections.agreement import make_executor, run_agreement
    from backprop_reference.reports.sweep import report_cases

    cases = report_cases(7, scales=(1.0,))[:4]
    with make_executor(1) as one:
        serial = run_agreement(cases, one, progress=False)
    with make_executor(2) as pool:
        parallel = run_agreement(cases, pool, progress=False)
    assert serial == parallel  # deterministic, in case order


def test_report_cases_are_deterministic_for_a_seed():
    from backprop_reference.reports.sweep import report_cases

    first, second = report_cases(7, scales=(1.0,)), report_cases(7, scales=(1.0,))
    assert [str(c.mlp) for c in first] == [str(c.mlp) for c in second]
    assert all((c.X == d.X).all() for c, d in zip(first, second))


def test_interrupted_write_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "report.md"
    write_atomic(target, "old report\n")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new report\n")
    assert target.read_text() == "old report\n"
    assert list(tmp_path.iterdir()) == [target]  # no temporary left behind


def test_json_never_carries_inf_or_nan():
    from backprop_reference.reports.render.json import render_json
    from backprop_reference.reports.model import Report

    text = render_json(Report("t", "s", (), {"schema": 1, "agreement": [{"max_error": float("inf"), "failures": 1}]}))
    assert json.loads(text)["agreement"][0] == {"max_error": None, "failures": 1}


def test_the_quick_report_renders_in_headless_chromium(quick_report, tmp_path):
    """The real report, not a synthetic one: every section's heading, every plot drawn, and the page
    never scrolls sideways (wide tables scroll inside their own frame)."""
    from tests.test_report_html import CHROMIUM, CHROMIUM_ARGS, _require_chromium

    _require_chromium()
    from playwright.sync_api import sync_playwright

    _, out = quick_report
    document = json.loads((out / "report.json").read_text())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((out / "report.html").as_uri(), wait_until="load")
            headings = page.locator("h2").all_inner_texts()
            for title in ("Agreement", "Bug detection", "Taylor", "Training", "Timing", "Appendix: the agreement table"):
                assert any(title in h for h in headings), (title, headings)
            images = page.evaluate("() => Array.from(document.images, image => [image.alt, image.complete && image.naturalWidth])")
            assert len(images) >= 4 and all(width > 0 for _, width in images), images
            assert any("heatmap" in alt for alt, _ in images)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert document["agreement"] and (tmp_path / "report.png").stat().st_size > 10_000


def test_a_bad_seed_is_refused_by_name_and_leaves_nothing(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "backprop_reference.reports", "--seed", "-1", "--out", str(tmp_path / "out")],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2 and "argument --seed: must be an integer with 0 ≤ SEED < 2**32" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_the_agreement_heatmap_shows_a_failing_notation_above_one():
    from backprop_reference.reports.render.plots import heatmap
    from backprop_reference.reports.sections.agreement import AgreementRow, heatmap_cells, section

    rows = [AgreementRow("delta_rule", "jax", "float64", 10, 3e-12, 1e-13, 2, 0, 0, 0, 1e-12),
            AgreementRow("delta_rule", "torch", "float64", 10, 1e-14, 1e-15, 0, 0, 0, 0, 1e-12),
            AgreementRow("delta_rule", "central", "float64", 0, None, None, 0, 10, 0, 0, 1e-6)]
    labels, columns, ratios = heatmap_cells(rows)
    assert labels == ["delta_rule (float64)"] and columns == ["jax", "torch", "central"]
    assert ratios[0][0] == pytest.approx(3.0) and ratios[0][1] == pytest.approx(0.01) and ratios[0][2] is None
    agreement = section(rows, [], 1, 0, (1.0,), heatmap=heatmap(labels, columns, ratios))
    (failing,) = agreement.tables  # the two rows a reader must see: failed, or compared nothing
    assert [r[1] for r in failing.rows] == ["jax", "central"] and failing.marks == ("fail", "fail")
    assert agreement.figures[0].png[:8] == b"\x89PNG\r\n\x1a\n"
