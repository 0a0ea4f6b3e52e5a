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
* pytest-xdist (``pytest -n N --backprop-report DIR``): each worker sends its verdicts to the
  controller with the reports of the test that made them (``_SENT``, pickled in the report's
  ``user_properties`` and taken off again before any other plugin sees them), and the controller
  writes one report, its rows in collection order — a serial run's rows and statuses.  A test
  that was to make a check (marked, or using ``gradient_checks``) and whose worker crashed while
  running it is an ERROR row, never a missing one.
"""

from __future__ import annotations

import base64
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MARK = "gradient_check"
FIXTURE = "gradient_checks"
_STASH = pytest.StashKey[list]()
_SENT = "backprop-records"  # a worker's verdicts of one test phase, pickled and base64-encoded
_EXPECTED = "backprop-expected"  # a worker's test that is to make a check (marked, or using the fixture)
_REMOTE = pytest.StashKey["_Remote"]()


@dataclass
class _Remote:
    """The controller's view of the workers' checks under pytest-xdist."""

    records: dict[str, list] = field(default_factory=dict)  # test nodeid -> its Ran records, in the order made
    expected: set[str] = field(default_factory=set)
    order: dict[str, int] = field(default_factory=dict)  # nodeid -> position in the collection


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_addoption(parser):
    parser.addoption("--backprop-report", metavar="DIR", type=Path, default=None,
                     help="write the report of every gradient check in the session to DIR (report.md, report.html, report.json)")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARK}: the test returns an oracles.Verdict and fails unless it is ok")
    config.stash[_STASH] = []
    config.stash[_REMOTE] = _Remote()
    if not _is_worker(config):
        config.pluginmanager.register(_Collector(config.stash[_REMOTE]), "backprop-xdist-collector")
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


# --- pytest-xdist: the workers' verdicts reach the controller -------------------------------------


def _makes_checks(item) -> bool:
    return item.get_closest_marker(MARK) is not None or FIXTURE in getattr(item, "fixturenames", ())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    config = item.config
    if not _is_worker(config):
        return report
    if call.when == "setup" and _makes_checks(item):
        report.user_properties.append((_EXPECTED, "1"))
    made = config.stash[_STASH]
    if made:  # the records this phase made travel with its report; a Verdict that cannot be pickled is an ERROR row
        sent = []
        for ran in made:
            try:
                sent.append(pickle.dumps(ran))
            except Exception as error:  # noqa: BLE001 — named in the report instead
                from backprop_reference.reports.user_report import Ran

                sent.append(pickle.dumps(Ran(ran.name, ran.where, None, ran.seconds, f"the worker could not send this verdict: {error!r}")))
        report.user_properties.append((_SENT, base64.b64encode(pickle.dumps(sent)).decode("ascii")))
        made.clear()
    return report


class _Collector:
    """Registered on the controller: the workers' records and crashes, as their reports arrive."""

    def __init__(self, remote: _Remote):
        self.remote = remote

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report):
        remote, properties = self.remote, getattr(report, "user_properties", None)
        if properties:
            ours = [(k, v) for k, v in properties if k in (_SENT, _EXPECTED)]
            if ours:
                properties[:] = [(k, v) for k, v in properties if k not in (_SENT, _EXPECTED)]  # junitxml and others never see them
            for key, value in ours:
                if key == _EXPECTED:
                    remote.expected.add(report.nodeid)
                else:
                    remote.records.setdefault(report.nodeid, []).extend(pickle.loads(r) for r in pickle.loads(base64.b64decode(value)))
        crashed = report.when not in ("setup", "call", "teardown") and report.failed  # xdist: "worker 'gw0' crashed while running …"
        if crashed and report.nodeid in remote.expected and not remote.records.get(report.nodeid):
            from backprop_reference.reports.user_report import Ran

            remote.records[report.nodeid] = [Ran(report.nodeid, report.nodeid, None, 0.0, str(report.longrepr))]

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        for nodeid in ids:
            self.remote.order.setdefault(nodeid, len(self.remote.order))


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


def _results(config) -> list:
    """Every check of the session: this process's own, or, under pytest-xdist, the workers' in
    collection order (a test the collection did not list, last, in the order it reported)."""
    remote = config.stash.get(_REMOTE, None)
    if remote is None or not remote.records:  # no worker made a check: a serial run
        return config.stash.get(_STASH, [])
    late = len(remote.order)
    ordered = sorted(remote.records, key=lambda nodeid: remote.order.get(nodeid, late))
    return [ran for nodeid in ordered for ran in remote.records[nodeid]] + config.stash.get(_STASH, [])


def pytest_sessionfinish(session):
    if _is_worker(session.config):
        return  # the controller writes the one report
    out = session.config.getoption("--backprop-report")
    results = _results(session.config)
    if out is None or not results:
        return
    from backprop_reference.reports.render import write_report
    from backprop_reference.reports.user_report import build

    write_report(build(" ".join(str(a) for a in session.config.args) or "this pytest session", results), out)
