"""``backprop-check TARGET``: run the gradient checks a module declares, write their report.

TARGET is a module name (``mypackage.gradient_checks``, imported with the
current folder on the path) or a ``.py`` file, declaring its checks with
``@oracles.declare`` or in a ``CHECKS`` list (``oracles.checks.declared``); or a
pytest file (``test_*.py``, ``*_test.py``), run by pytest with the plugin's
``--backprop-report``: its tests marked ``gradient_check`` and its
``gradient_checks(…)`` calls make the report.  The
report — report.md with heatmap.png, a self-contained report.html and
report.json — goes to ``--out`` (default ./backprop-check-report), each file
written atomically once every check has run.

Exit status: 0 when every check passes, 1 when one fails or raises, 2 on bad
usage (an unknown target, no checks declared, an output folder that cannot be
written), decided before any check runs.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

from backprop_reference.reports.io import unwritable

DEFAULT_OUT = Path("backprop-check-report")


class UsageError(Exception):
    """Bad usage: exit 2 with this message, before any check runs."""


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", metavar="TARGET", help="a module name or a .py file declaring checks")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT}, in the current folder)")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--quiet", action="store_true", help="print nothing but errors (the exit status says how it went)")
    shown.add_argument("--progress", action="store_true", help="a progress bar even when stderr is not a terminal")
    return parser.parse_args(argv)


def load(target: str):
    """The module TARGET names: a .py file, or a module importable from the current folder."""
    path = Path(target)
    if target.endswith(".py") or path.is_file():
        if not path.is_file():
            raise UsageError(f"TARGET {target}: no such file")
        folder = str(path.resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # its own imports of modules beside it
        if path.stem in sys.modules:  # loading it under that name would replace a module already in use
            raise UsageError(f"TARGET {target}: a module named {path.stem!r} is already imported; rename the file")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:  # noqa: BLE001 — the user's module failing to import is bad usage, reported
            raise UsageError(f"TARGET {target} could not be imported: {type(error).__name__}: {error}") from error
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(target)
    except Exception as error:  # noqa: BLE001
        raise UsageError(f"TARGET {target} could not be imported: {type(error).__name__}: {error}") from error


def is_pytest_file(target: str) -> bool:
    name = Path(target).name
    return target.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def run_pytest(target: str, out: Path, quiet: bool) -> int:
    """A pytest file: pytest runs it, the plugin writes the report; pytest's failures are exit 1."""
    if not Path(target).is_file():
        raise UsageError(f"TARGET {target}: no such file")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", target, "--backprop-report", str(out), "-p", "no:cacheprovider", "-q" if not quiet else "-qq"],
        capture_output=quiet, text=True,
    )
    if completed.returncode not in (0, 1):  # pytest's own usage errors, interruptions, no tests collected
        print(f"error: pytest could not run {target} (exit {completed.returncode})", file=sys.stderr)
        return 2
    if not (out / "report.json").exists():
        if completed.returncode == 1:  # tests failed or errored before any gradient check was made
            print(f"error: {target}: tests failed before any gradient check ran (see pytest's output); no report", file=sys.stderr)
            return 1
        print(f"error: {target} makes no gradient checks: mark tests with @pytest.mark.gradient_check or use the gradient_checks fixture",
              file=sys.stderr)
        return 2
    return completed.returncode


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parse_args(argv, prog)
    from backprop_reference.oracles.checks.declared import collected

    started = time.perf_counter()
    try:
        if (why := unwritable(args.out)) is not None:
            raise UsageError(why)
        if is_pytest_file(args.target):
            stale = args.out / "report.json"
            if stale.exists():
                stale.unlink()  # the plugin writes it afresh, or there were no checks
            return run_pytest(args.target, args.out, args.quiet)
        module = load(args.target)
        try:
            checks = collected(module)
        except (TypeError, ValueError) as error:
            raise UsageError(str(error)) from error
        if not checks:
            raise UsageError(f"TARGET {args.target} declares no checks: mark functions with @oracles.declare or list them in CHECKS")
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from backprop_reference.reports.render import write_report
    from backprop_reference.reports.user_report import build, run

    def line(ran) -> str:
        return f"{ran.status:<11} {ran.name} ({ran.seconds:.2f} s)" + (f": {ran.error}" if ran.error else "")

    show = not args.quiet and (args.progress or sys.stderr.isatty())
    if show:
        from tqdm import tqdm

        with tqdm(total=len(checks), desc="checks", unit="check", file=sys.stderr) as bar:
            results = run(checks, lambda name: bar.set_postfix_str(name), lambda ran: (bar.write(line(ran), file=sys.stdout), bar.update(1)))
    else:
        results = run(checks, finished=(lambda ran: None) if args.quiet else (lambda ran: print(line(ran), flush=True)))
    report = build(args.target, results)
    write_report(report, args.out)
    if not args.quiet:
        print(report.summary)
        print(f"wrote {args.out / 'report.md'}, report.html and report.json in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(prog="python -m backprop_reference.reports.check_cli"))
