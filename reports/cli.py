"""``python -m reports``: check every notation against every oracle on a fixed,
seeded set of networks and print the agreement table."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from reports import agreement, render
from reports.io import write_atomic
from reports.sweep import SCALES, report_cases

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def environment() -> dict:
    import jax
    import torch

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__)
    parser.add_argument("--seed", type=int, default=0, help="seed of the case set (default 0)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="one weight scale instead of three")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    cases = report_cases(args.seed, scales=(1.0,) if args.quick else SCALES)
    print(f"checking {len(cases)} networks (seed {args.seed}) …", file=sys.stderr)
    results = agreement.run(cases)
    rows = agreement.aggregate(results)
    failures = [r for r in results if r.status == "fail"]
    header = (
        f"# Agreement: hand-derived backprop vs oracles\n\n"
        f"{len(cases)} seeded networks (seed {args.seed}): every hidden activation × every valid "
        f"output activation + loss, weight scales {', '.join(map(str, (1.0,) if args.quick else SCALES))}. "
        f"Error = max |ours − oracle| / max(max |oracle|, floor). 'kink elements' were judged by their "
        f"one-sided derivatives (a finite-difference stencil crossed a relu/maxout kink); 'unresolved "
        f"elements' are those a numerical oracle's own error estimate could not resolve to the tolerance "
        f"(the exact oracles still judge them)."
    )
    markdown = render.agreement_markdown(rows, failures, header)
    print(markdown)
    write_atomic(args.out / "report.md", markdown)
    write_atomic(args.out / "report.json", render.agreement_json(rows, results, environment()))
    print(f"wrote {args.out / 'report.md'} and report.json in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 1 if failures else 0
