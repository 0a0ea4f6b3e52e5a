"""The pytest plugin, installed with the package (entry point ``pytest11``): gradient checks in your tests.

* ``@pytest.mark.gradient_check`` — the test returns the ``Verdict`` of any
  check (``oracles.check_layer(…)``, ``check_gradient``, …); it fails with the
  verdict's message unless the verdict is ok (no ``assert`` needed, and
  pytest does not warn about the returned value).
* ``gradient_checks`` — a fixture: ``gradient_checks(verdict)`` asserts the
  verdict is ok (as the mark does) and returns it, for tests that check
  several things.
* ``pytest --backprop-report DIR`` — the verdicts of every marked test and
  of every ``gradient_checks(…)`` call go into the report ``backprop-check``
  writes (report.md, report.html, report.json) in DIR at the end of the session.
* Hypothesis, when installed: a profile ``backprop`` (``deadline=None``: a
  first check imports JAX and torch and takes seconds, far over Hypothesis's
  200 ms default; no ``too_slow`` health check: drawing a network case runs
  its forward pass) is registered, and loaded when the session has not chosen a
  profile of its own (``--hypothesis-profile``, or a conftest that loads one),
  so property tests over ``testbed.strategies`` run without settings.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

MARK = "gradient_check"
_STASH = pytest.StashKey[list]()


def pytest_addoption(parser):
    parser.addoption("--backprop-report", metavar="DIR", type=Path, default=None,
                     help="write the report of every gradient check in the session to DIR (report.md, report.html, report.json)")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARK}: the test returns an oracles.Verdict and fails unless it is ok")
    config.stash[_STASH] = []
    out = config.getoption("--backprop-report", None)
    if out is not None:  # refused before any test runs, not after all of them
        from backprop_reference.reports.io import unwritable

        if (why := unwritable(out, "--backprop-report")) is not None:
            raise pytest.UsageError(why)
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # the test extra is not installed: nothing to configure
        return
    if "backprop" not in settings._profiles:
        # drawing a network case runs its forward pass (testbed.strategies.cases): on a busy machine that
        # trips the too_slow health check, which says nothing about the gradients
        settings.register_profile("backprop", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    if settings.get_current_profile_name() == "default":
        settings.load_profile("backprop")


def _record(config, name: str, verdict, seconds: float, error: str = "") -> None:
    from backprop_reference.reports.user_report import Ran

    config.stash[_STASH].append(Ran(name, name, verdict, seconds, error))


def _judged(verdict, who: str):
    from backprop_reference.oracles.engine.verdict import Verdict

    if not isinstance(verdict, Verdict):
        raise TypeError(f"{who} must give an oracles.Verdict (the result of oracles.check_…); got {type(verdict).__name__}")
    if not verdict.ok:
        pytest.fail(verdict.message(), pytrace=False)
    return verdict


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if pyfuncitem.get_closest_marker(MARK) is None:
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    start = time.perf_counter()
    from backprop_reference.oracles.engine.verdict import Verdict
    from backprop_reference.reports.user_report import described

    try:
        verdict = pyfuncitem.obj(**arguments)
    except Exception as error:  # recorded as the report's ERROR row, then raised as pytest shows it
        _record(pyfuncitem.config, pyfuncitem.nodeid, None, time.perf_counter() - start, described(error))
        raise
    if isinstance(verdict, Verdict):
        _record(pyfuncitem.config, pyfuncitem.nodeid, verdict, time.perf_counter() - start)
    else:
        _record(pyfuncitem.config, pyfuncitem.nodeid, None, time.perf_counter() - start,
                f"returned {type(verdict).__name__}, not an oracles.Verdict")
    _judged(verdict, f"a test marked {MARK} ({pyfuncitem.name})")
    return True


@pytest.fixture
def gradient_checks(request):
    """``gradient_checks(verdict)``: fail the test with the verdict's message unless it is ok; returns it."""
    count, since = 0, time.perf_counter()

    def judge(verdict, name: str | None = None):
        nonlocal count, since
        count += 1
        from backprop_reference.oracles.engine.verdict import Verdict

        now = time.perf_counter()
        if isinstance(verdict, Verdict):  # its time: since the fixture was set up, or since the previous call
            _record(request.config, name or f"{request.node.nodeid} #{count}", verdict, now - since)
        since = now
        return _judged(verdict, "gradient_checks(…)")

    return judge


def pytest_sessionfinish(session):
    out = session.config.getoption("--backprop-report")
    results = session.config.stash.get(_STASH, [])
    if out is None or not results:
        return
    from backprop_reference.reports.render import write_report
    from backprop_reference.reports.user_report import build

    write_report(build(" ".join(str(a) for a in session.config.args) or "this pytest session", results), out)
