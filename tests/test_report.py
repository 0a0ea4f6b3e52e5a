"""The main job end to end, through the CLI as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reports.io import write_atomic

ROOT = Path(__file__).resolve().parents[1]


def test_quick_report_runs_and_agrees(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "reports", "--quick", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "| notation" in completed.stdout and "FAIL" not in completed.stdout
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["schema"] == 1
    assert set(document["environment"]) >= {"python", "numpy", "jax", "torch"}
    import oracles
    import reference

    pairs = {(row["notation"], row["oracle"]) for row in document["agreement"]}
    assert pairs == {(n, o) for n in reference.NOTATIONS for o in oracles.ORACLES}
    for row in document["agreement"]:  # every notation meets networks it can express
        assert row["cases"] > 0 and row["failures"] == 0 and row["max_error"] <= row["tolerance"], row
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith("# Agreement") and markdown in completed.stdout


def test_report_is_deterministic_for_a_seed():
    from reports import agreement
    from reports.sweep import report_cases

    first, second = report_cases(7, scales=(1.0,)), report_cases(7, scales=(1.0,))
    assert [str(c.mlp) for c in first] == [str(c.mlp) for c in second]
    assert all((c.X == d.X).all() for c, d in zip(first, second))
    results = agreement.run(first[:3])
    assert results == agreement.run(second[:3])


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
