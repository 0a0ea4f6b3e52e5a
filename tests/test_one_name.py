"""One import name: installing the project adds ``backprop_reference`` and
nothing else to a user's Python, so their own ``reports/``, ``reference/``,
``oracles/`` and ``testbed/`` packages stay theirs, and the pytest plugin
loads beside them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMON_NAMES = ("reports", "reference", "oracles", "testbed")

USER_TEST = '''
import numpy as np
import pytest

import oracles, reference, reports, testbed
from backprop_reference import oracles as checker


def test_their_packages_are_theirs():
    assert [m.OWNER for m in (oracles, reference, reports, testbed)] == ["user"] * 4
    assert reports.pytest_plugin.OWNER == "user"  # even the module our plugin once had the name of


@pytest.mark.gradient_check
def test_our_check_runs():
    assert not checker.check_gradient(lambda x: np.sum(np.sin(x)), lambda x: np.cos(x) * 1.001, np.linspace(-1.0, 1.0, 5)).ok
    return checker.check_gradient(lambda x: np.sum(np.sin(x)), lambda x: np.cos(x), np.linspace(-1.0, 1.0, 5))
'''


def _user_project(tmp_path: Path) -> Path:
    project = tmp_path / "user_project"
    for name in COMMON_NAMES:
        (project / name).mkdir(parents=True)
        (project / name / "__init__.py").write_text('OWNER = "user"\n')
    (project / "reports" / "pytest_plugin.py").write_text('OWNER = "user"\n')
    (project / "reports" / "__init__.py").write_text('OWNER = "user"\nfrom reports import pytest_plugin\n')
    (project / "tests").mkdir()
    (project / "tests" / "test_user.py").write_text(USER_TEST)
    return project


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_a_user_project_with_our_old_folder_names_runs_pytest_with_our_plugin(tmp_path):
    project = _user_project(tmp_path)
    report = tmp_path / "backprop-out"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--backprop-report", str(report), "tests"],
        cwd=project, capture_output=True, text=True, timeout=300, env=_clean_env(),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "2 passed" in completed.stdout
    assert "test_our_check_runs" in (report / "report.md").read_text()  # the plugin loaded: its mark, its option, its report
    plugins = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as md; print(sorted(e.value for e in md.entry_points(group='pytest11') "
         "if e.dist.name == 'backprop-reference'))"],
        cwd=project, capture_output=True, text=True, timeout=60, env=_clean_env(),
    )
    assert plugins.stdout.strip() == "['backprop_reference.reports.pytest_plugin']", plugins.stderr


def test_the_wheel_holds_one_top_level_package(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, env={**_clean_env(), "PIP_NO_INDEX": "1"},
    )
    assert built.returncode == 0, built.stderr
    assert "warning" not in built.stderr.lower(), built.stderr  # declared packages and package data: a quiet build
    (wheel,) = tmp_path.glob("backprop_reference-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"backprop_reference", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}, sorted(top)
    assert {f"backprop_reference/{p}" for p in ("reports/templates/report.html.j2", "reports/report.schema.json")} <= set(names)
    assert {f"backprop_reference/{name}/__init__.py" for name in COMMON_NAMES} <= set(names)
    assert "backprop_reference/__init__.py" not in names  # a namespace package: the folders are its sub-packages
