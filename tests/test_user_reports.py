"""Reports of your own gradients: ``backprop-check``, ``@oracles.declare`` / ``CHECKS``,
and the pytest plugin — run as a user runs them (the installed command, plain pytest)."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference.oracles.checks.declared import Check, collected, declare

ROOT = Path(__file__).resolve().parents[1]
COMMAND = Path(sys.executable).parent / "backprop-check"


def backprop_check(*args, cwd=ROOT, timeout=300):
    return subprocess.run([str(COMMAND), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_the_example_module_gives_a_report_and_exit_1_for_its_slip(tmp_path):
    out = tmp_path / "report"
    completed = backprop_check("examples/gradient_checks.py", "--out", out)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "WRONG       affine layer, dw averaged over the batch (wrong on purpose)" in completed.stdout
    assert "5 check(s) from examples/gradient_checks.py: 1 fail" in completed.stdout
    assert sorted(p.name for p in out.iterdir()) == ["heatmap.png", "report.html", "report.json", "report.md", "taylor_checks.png"]
    data = json.loads((out / "report.json").read_text())
    assert [c["status"] for c in data["checks"]] == ["OK", "WRONG", "OK", "OK", "OK"] and data["ok"] is False
    assert data["checks"][3]["taylor"]["ok"] and data["checks"][3]["taylor"]["order"] == pytest.approx(2.0, abs=0.1)
    wrong = data["checks"][1]
    assert any(not c["ok"] and c["element"].startswith("w[") for c in wrong["comparisons"])
    assert {p["name"] for p in wrong["properties"]} >= {"repeatable", "linear", "untouched"}
    markdown = (out / "report.md").read_text()
    assert "**✗ affine layer, dw averaged over the batch (wrong on purpose)**" in markdown and "![heatmap" in markdown
    assert (out / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'src="data:image/png;base64,' in (out / "report.html").read_text()


def _module(folder: Path, text: str, name: str = "my_checks") -> Path:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return path


PASSING = """
    import numpy as np
    from backprop_reference import oracles

    @oracles.declare
    def sine():
        return oracles.check_gradient(lambda x, xp: xp.sum(xp.sin(x)), np.cos, np.linspace(-1, 1, 5), oracles=("richardson",))
"""


def test_backprop_check_runs_without_the_test_extra(tmp_path):
    """A plain install has no Hypothesis: the command must not need it (plots and all)."""
    blocked = ("import runpy, sys; sys.modules['hypothesis'] = None; sys.argv[0] = 'backprop-check'; "
               "runpy.run_module('backprop_reference.reports.check_cli', run_name='__main__', alter_sys=True)")
    completed = subprocess.run([sys.executable, "-c", blocked, "examples/gradient_checks.py", "--out", str(tmp_path), "--quiet"],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stderr  # the slip, not an import error
    assert completed.stdout == "" and completed.stderr == ""  # --quiet: not a word, not even matplotlib's font search
    assert (tmp_path / "taylor_checks.png").exists()


def test_a_passing_module_by_name_exits_0_and_quiet_prints_nothing(tmp_path):
    _module(tmp_path, PASSING)
    completed = backprop_check("my_checks", "--quiet", cwd=tmp_path)  # a module name, from the current folder
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "" and completed.stderr == ""
    assert (tmp_path / "backprop-check-report" / "report.html").exists()  # the default output folder is here


def test_an_unwritable_output_is_exit_2_before_any_check_runs(tmp_path):
    marker = tmp_path / "ran"
    _module(tmp_path, f"""
        from backprop_reference import oracles
        from pathlib import Path

        @oracles.declare
        def slow():
            Path({str(marker)!r}).write_text("the check ran")
            raise AssertionError("must not run")
    """)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    start = time.perf_counter()
    completed = backprop_check(tmp_path / "my_checks.py", "--out", blocker / "report")
    assert completed.returncode == 2
    assert completed.stderr.startswith(f"error: --out {blocker / 'report'}: cannot write there")
    assert not marker.exists() and time.perf_counter() - start < 60


@pytest.mark.parametrize(
    "source, message",
    [
        (None, "TARGET nowhere.py: no such file"),
        ("import numpy\n", "declares no checks"),
        ("raise RuntimeError('broken at import')\n", "could not be imported: RuntimeError: broken at import"),
        ("CHECKS = [('not', 'a check')]\n", "my_checks.CHECKS[0] must be a (function, derivative, inputs) tuple or an oracles.Check"),
        ("from backprop_reference import oracles\nCHECKS = [oracles.Check('a', oracles.check_gradient), oracles.Check('a', oracles.check_gradient)]\n",
         "declares checks with the same name: 'a'"),
    ],
)
def test_bad_targets_are_exit_2_with_the_reason(tmp_path, source, message):
    target = "nowhere.py" if source is None else _module(tmp_path, source)
    completed = backprop_check(target, "--out", tmp_path / "out", cwd=tmp_path)
    assert completed.returncode == 2 and message in completed.stderr, completed.stderr


def test_help_names_the_command_as_typed():
    completed = backprop_check("--help")
    assert completed.returncode == 0 and completed.stdout.startswith("usage: backprop-check [-h]")
    assert "Exit status: 0 when every check passes, 1 when one fails" in completed.stdout


def test_a_check_that_raises_is_reported_and_fails(tmp_path):
    _module(tmp_path, """
        from backprop_reference import oracles

        @oracles.declare
        def broken():
            return oracles.check_gradient(lambda x: x, lambda x: x, "not an array")
    """)
    completed = backprop_check("my_checks.py", "--out", tmp_path / "out", cwd=tmp_path)
    assert completed.returncode == 1
    assert "ERROR       broken" in completed.stdout and "TypeError" in completed.stdout


def test_declare_refuses_what_it_cannot_run():
    with pytest.raises(TypeError, match="called without arguments; needs_x needs x"):
        @declare
        def needs_x(x):
            return x
    with pytest.raises(TypeError, match="Check needs a non-empty name first"):
        Check(oracles.check_gradient, lambda x: x)

    @declare("named")
    def plain():
        return None

    module = type(sys)("m")
    plain.__module__ = "m"  # defined there, as a checks module's own functions are
    module.plain = plain
    (found,) = collected(module)
    assert found.name == "named"
    with pytest.raises(TypeError, match="returned NoneType, not an oracles.Verdict"):
        found.run()


def test_the_html_report_renders_in_headless_chromium(tmp_path):
    from tests.test_report_html import CHROMIUM, CHROMIUM_ARGS, _require_chromium

    _require_chromium()
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report"
    assert backprop_check("examples/gradient_checks.py", "--out", out).returncode == 1
    page_url = (out / "report.html").as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_url, wait_until="load")
            headings = page.locator("h2").all_inner_texts()
            assert headings[-4:] == ["Verdicts", "Every oracle", "Backward-pass properties", "Taylor remainder test"], headings
            widths = page.evaluate("() => Array.from(document.images, image => image.complete && image.naturalWidth)")
            assert len(widths) == 2 and all(width > 0 for width in widths), widths  # the heatmap and the Taylor plot
            assert page.locator("tr.fail").count() >= 2  # the slip's verdict row and its disagreeing comparisons
            overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000


# --- the pytest plugin -----------------------------------------------------------------------------


def _readme_snippet() -> str:
    """The pytest file of the manual's page on the plugin (docs/pytest-plugin.md), verbatim."""
    text = (ROOT / "docs" / "pytest-plugin.md").read_text(encoding="utf-8")
    return text.split("<!-- pytest-snippet -->\n```python\n", 1)[1].split("```", 1)[0]


def _pytest(folder: Path, *args: str):
    environment = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          capture_output=True, text=True, timeout=600, env=environment)


def test_the_readme_pytest_file_passes_verbatim_under_plain_pytest(tmp_path):
    (tmp_path / "test_my_gradients.py").write_text(_readme_snippet())
    completed = _pytest(tmp_path, "--backprop-report", "report")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "3 passed" in completed.stdout
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert len(data["checks"]) == 3 and data["ok"]  # the marked test and the fixture's two


def test_a_marked_test_fails_with_the_verdicts_message(tmp_path):
    (tmp_path / "test_slip.py").write_text(textwrap.dedent("""
        import numpy as np
        import pytest
        from backprop_reference import oracles

        @pytest.mark.gradient_check
        def test_cosine_with_a_sign_slip():
            return oracles.check_gradient(lambda x, xp: xp.sum(xp.cos(x)), np.sin, np.linspace(-1, 1, 5))

        @pytest.mark.gradient_check
        def test_returns_nothing():
            pass
    """))
    completed = _pytest(tmp_path)
    assert completed.returncode == 1
    assert "grad: WRONG against jax, torch, complex_step, richardson, central" in completed.stdout
    assert "must give an oracles.Verdict" in completed.stdout and "2 failed" in completed.stdout


def test_property_tests_need_no_deadline_setting(tmp_path):
    (tmp_path / "test_slow.py").write_text(textwrap.dedent("""
        import time
        from hypothesis import given, settings, strategies as st

        @settings(max_examples=2)
        @given(st.integers())
        def test_slow_first_call(n):
            time.sleep(0.3)  # over Hypothesis's default 200 ms deadline
    """))
    completed = _pytest(tmp_path)
    assert completed.returncode == 0, completed.stdout


def test_a_pytest_file_is_a_target_too(tmp_path):
    (tmp_path / "test_mine.py").write_text(_readme_snippet())
    completed = backprop_check("test_mine.py", "--out", "rep", "--quiet", cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert len(json.loads((tmp_path / "rep" / "report.json").read_text())["checks"]) == 3
    (tmp_path / "test_slip.py").write_text(textwrap.dedent("""
        import numpy as np
        import pytest
        from backprop_reference import oracles

        @pytest.mark.gradient_check
        def test_cosine_with_a_sign_slip():
            return oracles.check_gradient(lambda x, xp: xp.sum(xp.cos(x)), np.sin, np.linspace(-1, 1, 5), oracles=("central",))
    """))
    assert backprop_check("test_slip.py", "--out", "rep", "--quiet", cwd=tmp_path).returncode == 1
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["ok"] is False
    (tmp_path / "test_plain.py").write_text("def test_nothing_to_do_with_gradients():\n    assert True\n")
    completed = backprop_check("test_plain.py", "--out", "rep", "--quiet", cwd=tmp_path)
    assert completed.returncode == 2 and "makes no gradient checks" in completed.stderr


def test_a_report_folder_pytest_cannot_write_is_refused_before_any_test(tmp_path):
    (tmp_path / "test_mine.py").write_text("import pathlib\n\ndef test_runs():\n    pathlib.Path('ran').write_text('ran')\n")
    (tmp_path / "afile").write_text("")
    completed = _pytest(tmp_path, "--backprop-report", "afile/report")
    assert completed.returncode == 4, completed.stdout + completed.stderr  # pytest's usage error
    assert "--backprop-report afile/report: cannot write there" in completed.stderr
    assert not (tmp_path / "ran").exists()


def test_marked_tests_that_raise_or_return_nothing_are_error_rows(tmp_path):
    (tmp_path / "test_mixed.py").write_text(textwrap.dedent("""
        import numpy as np
        import pytest
        from backprop_reference import oracles

        @pytest.mark.gradient_check
        def test_right():
            return oracles.check_gradient(lambda x, xp: xp.sum(xp.sin(x)), np.cos, np.linspace(-1, 1, 5), oracles=("central",))

        @pytest.mark.gradient_check
        def test_raises():
            raise ValueError("boom")

        @pytest.mark.gradient_check
        def test_returns_nothing():
            pass
    """))
    completed = backprop_check("test_mixed.py", "--out", "rep", "--quiet", cwd=tmp_path)
    assert completed.returncode == 1
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["ok"] is False and data["target"] == "test_mixed.py"
    assert [c["status"] for c in data["checks"]] == ["OK", "ERROR", "ERROR"]
    assert data["checks"][1]["error"].startswith("ValueError: boom (at ") and "test_mixed.py:" in data["checks"][1]["error"]
    assert "returned NoneType" in data["checks"][2]["error"]
    (tmp_path / "test_only_raises.py").write_text("import pytest\n\n@pytest.mark.gradient_check\ndef test_raises():\n    raise ValueError('boom')\n")
    assert backprop_check("test_only_raises.py", "--out", "rep2", "--quiet", cwd=tmp_path).returncode == 1
    (tmp_path / "test_missing_fixture.py").write_text("import pytest\n\n@pytest.mark.gradient_check\ndef test_needs(nowhere):\n    pass\n")
    completed = backprop_check("test_missing_fixture.py", "--out", "rep3", cwd=tmp_path)
    assert completed.returncode == 1 and "tests failed before any gradient check ran" in completed.stderr


def test_the_report_says_what_each_verdict_says(tmp_path):
    out = tmp_path / "report"
    backprop_check("examples/gradient_checks.py", "--out", out, "--quiet")
    markdown = (out / "report.md").read_text()
    assert "what the verdict says" in markdown
    assert "backward and richardson DISAGREE (float64): worst element w[" in markdown  # both values, in the readable report


def test_progress_counts_each_check_as_it_finishes(tmp_path):
    completed = backprop_check("examples/gradient_checks.py", "--out", tmp_path, "--progress")
    assert "5/5" in completed.stderr and "0/5" in completed.stderr
    assert completed.stdout.index("OK          affine layer") < completed.stdout.index("5 check(s) from")


def test_collected_checks_are_the_modules_own(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, PASSING, name="shared_checks")
    _module(tmp_path, "from shared_checks import sine\nfrom backprop_reference import oracles\n\n@oracles.declare\ndef mine():\n    return sine()\n", name="my_suite")
    import my_suite

    assert [d.name for d in collected(my_suite)] == ["mine"]
    module = type(sys)("m")
    module.CHECKS = [(lambda x: x, "not a function", np.zeros(3))]
    with pytest.raises(TypeError, match=r"m.CHECKS\[0\]: the derivative must be callable; got str"):
        collected(module)


def test_narrowed_strategies_refuse_what_they_cannot_draw():
    from hypothesis import given, settings

    from backprop_reference.testbed.strategies import networks

    def drawn(strategy, check=lambda mlp: None):
        @settings(max_examples=5, derandomize=True, database=None)
        @given(strategy)
        def draw(mlp):
            check(mlp)

        draw()

    def narrowed(mlp):
        assert mlp.activations == ("relu", "identity") and mlp.loss == "squared_error"

    drawn(networks(activations=["relu"], losses=["squared_error"], outputs=["identity"], max_hidden=1, structure=False), narrowed)
    with pytest.raises(TypeError, match="structure must be True or False"):
        drawn(networks(structure="yes"))
    with pytest.raises(ValueError, match="min_hidden=1, max_hidden=0"):
        drawn(networks(max_hidden=0))
    with pytest.raises(ValueError, match="no output activation in \\['identity'\\] goes with a loss in \\['cross_entropy'\\]"):
        drawn(networks(outputs=["identity"], losses=["cross_entropy"]))


def test_a_target_file_never_replaces_a_module_in_use(tmp_path):
    _module(tmp_path, PASSING, name="numpy")  # loaded as "numpy", it would replace NumPy for the checks themselves
    completed = backprop_check(tmp_path / "numpy.py", "--out", tmp_path / "out")
    assert completed.returncode == 2 and "a module named 'numpy' is already imported; rename the file" in completed.stderr


def test_the_taylor_test_of_a_declared_check_shows_a_wrong_derivative():
    from backprop_reference.reports.user_report import build, run

    module = type(sys)("m")
    x = np.linspace(-1.0, 1.0, 9)
    module.CHECKS = [
        (lambda x, xp: xp.sum(xp.sin(x)), np.cos, x),
        Check("cosine, sign slipped", oracles.check_gradient, lambda x, xp: xp.sum(xp.cos(x)), np.sin, x),
        (lambda x, xp: xp.sum(xp.cos(x) ** 2), lambda x: np.sin(2 * x), x),  # d/dx cos² = −sin 2x: the sign slipped
    ]
    module.CHECKS[0][0].__name__ = "sine"
    results = run(collected(module))
    right, _, wrong = (r.taylor_result for r in results)
    assert right.ok and abs(right.order - 2) < 0.1
    assert not wrong.ok and abs(wrong.order - 1) < 0.1
    data = build("m", results).data
    assert [c["taylor"] is None for c in data["checks"]] == [False, True, False]
    assert data["checks"][2]["taylor"]["ok"] is False and data["ok"] is False
