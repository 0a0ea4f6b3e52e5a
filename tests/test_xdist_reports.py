"""``pytest -n 2 --backprop-report DIR`` (pytest-xdist, issue 27 item 1): the controller gathers
every worker's verdicts and writes one report with the same rows and statuses, in the same
order, as a serial run; a worker that crashes while running a check shows as an ERROR row."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.test_user_reports import _pytest, _readme_snippet

pytest.importorskip("xdist")

MANY = textwrap.dedent("""
    import numpy as np
    import pytest
    from backprop_reference import oracles

    def sine(x, xp):
        return xp.sum(xp.sin(x))

    @pytest.mark.gradient_check
    @pytest.mark.parametrize("n", [3, 4, 5, 6])
    def test_sine(n):
        return oracles.check_gradient(sine, np.cos, np.linspace(-1, 1, n), oracles=("central",))

    @pytest.mark.gradient_check
    def test_slip():
        return oracles.check_gradient(sine, lambda x: np.cos(x) * (1 + 1e-4), np.linspace(-1, 1, 3), oracles=("central",))

    def test_several(gradient_checks):
        for n in (2, 7):
            gradient_checks(oracles.check_gradient(sine, np.cos, np.linspace(-1, 1, n), oracles=("central",)), name=f"several {n}")

    @pytest.mark.gradient_check
    def test_raises():
        raise ValueError("boom")

    def test_plain():
        assert True
""")


def _rows(folder, name):
    data = json.loads((folder / name / "report.json").read_text())
    return [(c["name"], c["status"]) for c in data["checks"]], data["ok"]


def test_the_docs_pytest_file_reports_the_same_checks_under_xdist(tmp_path):
    """The serial run of this file gives these three rows (tests/test_user_reports.py runs it)."""
    (tmp_path / "test_my_gradients.py").write_text(_readme_snippet())
    parallel = _pytest(tmp_path, "-n", "2", "--backprop-report", "parallel")
    assert parallel.returncode == 0, parallel.stdout + parallel.stderr
    assert "bringing up nodes" in parallel.stdout  # xdist ran it
    assert _rows(tmp_path, "parallel") == ([
        ("test_my_gradients.py::test_tanh_layer", "OK"),
        ("test_my_gradients.py::test_two_functions #1", "OK"),
        ("test_my_gradients.py::test_two_functions #2", "OK"),
    ], True)


def test_many_checks_over_two_workers_keep_the_serial_rows_and_order(tmp_path):
    (tmp_path / "test_many.py").write_text(MANY)
    serial = _pytest(tmp_path, "--backprop-report", "serial")
    parallel = _pytest(tmp_path, "-n", "2", "--backprop-report", "parallel", "--junitxml", "junit.xml")
    assert serial.returncode == parallel.returncode == 1, parallel.stdout + parallel.stderr
    rows, ok = _rows(tmp_path, "parallel")
    assert (rows, ok) == _rows(tmp_path, "serial")
    assert [status for _, status in rows] == ["OK"] * 4 + ["WRONG", "OK", "OK", "ERROR"]
    assert rows[5][0] == "several 2" and rows[6][0] == "several 7"
    junit = (tmp_path / "junit.xml").read_text()
    assert "backprop-records" not in junit and "backprop-expected" not in junit  # our transport never reaches other plugins


def test_a_crashed_worker_is_an_error_row_not_a_missing_one(tmp_path):
    (tmp_path / "test_crash.py").write_text(textwrap.dedent("""
        import os
        import numpy as np
        import pytest
        from backprop_reference import oracles

        @pytest.mark.gradient_check
        def test_before():
            return oracles.check_gradient(lambda x, xp: xp.sum(x ** 2), lambda x: 2 * x, np.ones(3), oracles=("central",))

        @pytest.mark.gradient_check
        def test_crashes():
            os._exit(3)  # the worker process dies mid-check

        def test_fixture_crashes(gradient_checks):
            os._exit(3)

        @pytest.mark.gradient_check
        def test_after():
            return oracles.check_gradient(lambda x, xp: xp.sum(x ** 3), lambda x: 3 * x ** 2, np.ones(3), oracles=("central",))
    """))
    completed = _pytest(tmp_path, "-n", "2", "--backprop-report", "report")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    rows, ok = _rows(tmp_path, "report")
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert not ok
    assert [name.split("::")[-1] for name, _ in rows] == ["test_before", "test_crashes", "test_fixture_crashes", "test_after"]
    assert [status for _, status in rows] == ["OK", "ERROR", "ERROR", "OK"]
    assert "crashed while running" in data["checks"][1]["error"]
