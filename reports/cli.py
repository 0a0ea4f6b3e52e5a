"""``python -m backprop_reference.reports`` / ``backprop-report``: the correctness report.

Checks every notation against every oracle on a fixed, seeded set of
networks, reproduces the seeds' worked examples, checks the output-delta
closed forms, runs the derivation-bug catalogue and times everything, then
writes report.md (+ PNG figures), report.html and report.json — each file
atomically, after everything is computed, so an interrupted run leaves the
previous report intact.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from backprop_reference.reports.io import unwritable


DEFAULT_OUT = Path("backprop-report")  # in the current folder, never inside the installed package


def positive_int(text: str) -> int:
    """argparse type: an int ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def seed_int(text: str) -> int:
    """argparse type: a seed, 0 ≤ seed < 2**32."""
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer with 0 ≤ SEED < 2**32; got {text}")
    return value


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the case set, 0 ≤ SEED < 2**32 (default 0)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT}, in the current folder)")
    parser.add_argument("--quick", action="store_true", help="a smaller sweep and timing ladder (under a minute)")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help="where to time: auto uses a GPU when present")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes for the agreement sweep (default 1)")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true", help="a progress bar on stderr even when it is not a terminal")
    shown.add_argument("--no-progress", action="store_true", help="no progress bar (the default when stderr is not a terminal)")
    shown.add_argument("--quiet", action="store_true", help="print nothing but errors (the exit status says how it went)")
    parser.add_argument(
        "--plugin", action="append", default=[], metavar="MODULE",
        help="import MODULE first (it registers your activations/losses); repeatable",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parse_args(argv, prog)
    if (why := unwritable(args.out)) is not None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    # The work's modules load JAX, torch and matplotlib: imported once the options are known good.
    from backprop_reference.reports.build import Options, build
    from backprop_reference.reports.render import write_report

    started = time.perf_counter()
    progress = not args.quiet and not args.no_progress and (args.progress or sys.stderr.isatty())
    try:
        report = build(
            Options(args.seed, args.quick, args.device, args.workers, tuple(args.plugin), bench=args.out / "bench.json"), progress=progress
        )
    except (ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out
    write_report(report, out)
    if not args.quiet:
        print(report.summary)
        print(f"wrote {out / 'report.md'}, report.html and report.json in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 1 if report.failed else 0  # a failed agreement, an uncaught bug, a trajectory off torch's (each section says)
