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


CRASH = textwrap.dedent("""
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
""")


def _rows(folder, name):
    data = json.loads((folder / name / "report.json").read_text())
    return [(c["name"], c["status"]) for c in data["checks"]], data


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One serial run of the docs' pytest file and a file of eight checks, and one ``-n 2`` run of
    those and of a file whose worker dies mid-check (each run starts Python, JAX and torch: a few seconds)."""
    folder = tmp_path_factory.mktemp("xdist")
    (folder / "test_my_gradients.py").write_text(_readme_snippet())
    (folder / "test_many.py").write_text(MANY)
    (folder / "test_crash.py").write_text(CRASH)
    serial = _pytest(folder, "--ignore", "test_crash.py", "--backprop-report", "serial")
    parallel = _pytest(folder, "-n", "2", "--backprop-report", "parallel", "--junitxml", "junit.xml")
    return folder, serial, parallel


def test_the_docs_pytest_file_and_many_checks_report_the_serial_rows_in_order(runs):
    folder, serial, parallel = runs
    assert serial.returncode == 1 and parallel.returncode == 1, parallel.stdout + parallel.stderr  # test_slip fails, as it must
    assert "bringing up nodes" in parallel.stdout  # xdist ran it
    rows, data = _rows(folder, "parallel")
    serial_rows, serial_data = _rows(folder, "serial")
    assert [row for row in rows if not row[0].startswith("test_crash.py")] == serial_rows
    assert data["ok"] is serial_data["ok"] is False
    assert [row for row in serial_rows if row[0].startswith("test_my_gradients.py")] == [
        ("test_my_gradients.py::test_tanh_layer", "OK"),
        ("test_my_gradients.py::test_two_functions #1", "OK"),
        ("test_my_gradients.py::test_two_functions #2", "OK"),
    ]
    many = [status for name, status in serial_rows if name.startswith(("test_many.py", "several"))]
    assert many == ["OK"] * 4 + ["WRONG", "OK", "OK", "ERROR"]
    junit = (folder / "junit.xml").read_text()
    assert "backprop-records" not in junit and "backprop-expected" not in junit  # our transport never reaches other plugins


def test_a_crashed_worker_is_an_error_row_not_a_missing_one(runs):
    folder, _, parallel = runs
    rows, data = _rows(folder, "parallel")
    crash = [(name.split("::")[-1], status) for name, status in rows if name.startswith("test_crash.py")]
    assert crash == [("test_before", "OK"), ("test_crashes", "ERROR"), ("test_fixture_crashes", "ERROR"), ("test_after", "OK")]
    errors = [c["error"] for c in data["checks"] if c["name"].startswith("test_crash.py") and c["status"] == "ERROR"]
    assert all("crashed while running" in e for e in errors), errors
