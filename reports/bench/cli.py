"""``python -m backprop_reference.reports.bench`` (``make bench``): measure, print, write bench.json.

The thread counts are pinned (``threads.pin``) before anything is computed:
JAX sizes its CPU pool from the affinity mask when its backend starts, at the
first computation, not at import.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import torch
from tabulate import tabulate

from backprop_reference.reports.bench import checkers, hand_derived, low_precision, numerical, public_api, threads
from backprop_reference.reports.cli import positive_int
from backprop_reference.reports.io import unwritable, write_atomic, write_bytes_atomic
from backprop_reference.reports.render import plots
from backprop_reference.reports.sections import environment, speed

DEFAULT_OUT = Path("backprop-report")  # beside the report, in the current folder: `make report` shows the figures
BENCH_SCHEMA = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m backprop_reference.reports.bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for bench.json and the plot (default {DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="smaller networks and sizes, fewer rounds (a few minutes)")
    parser.add_argument("--threads", type=positive_int, default=environment.usable_cores(), help="threads for every library (default: the usable cores)")
    parser.add_argument("--rounds", type=positive_int, default=None, help="timed rounds per method (default 7, quick 3)")
    return parser.parse_args(argv)


def _table(headers, rows) -> str:
    return tabulate(rows, headers=headers, tablefmt="github")


def run(quick: bool, rounds: int | None) -> dict[str, object]:
    started = time.perf_counter()
    rows = hand_derived.measure(quick=quick, rounds=rounds)
    found = hand_derived.targets(rows)
    numbers = numerical.measure(quick=quick)
    api = public_api.measure(quick=quick, rounds=rounds)
    peers = checkers.measure(quick=quick)
    low = low_precision.measure(quick=quick)
    return {
        "schema": BENCH_SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "threads": threads.record(),
        "machine": _machine(),
        "hand_derived": hand_derived.json_data(rows, found),
        "numerical": numbers,
        "public_api": public_api.json_data(api),
        "checkers": peers,
        "low_precision": low,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _machine() -> dict[str, object]:
    env = environment.collect()
    return {
        "cpu": env["cpu"],
        "cpu_count": env["cpu_count"],
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "gpu_note": None if torch.cuda.is_available() else "no CUDA GPU visible to torch: the GPU targets were not measured",
    }


def render_text(data: dict) -> str:
    """The tables ``make bench`` prints (the report's Speed section shows the same)."""
    parts = [speed.describe_machine(data)]
    for table in speed.tables(data):
        parts += ["", table.caption, _table(table.headers, table.rows)]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if (why := unwritable(args.out)) is not None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    try:
        threads.pin(args.threads)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    data = run(args.quick, args.rounds)
    figure = plots.growth(data["numerical"]["growth"])
    write_bytes_atomic(args.out / figure.name, figure.png)
    data["numerical"]["figure"] = figure.name
    write_atomic(args.out / "bench.json", json.dumps(data, indent=2, allow_nan=False) + "\n")
    print(render_text(data))
    print(f"\nwrote {args.out / 'bench.json'} and {figure.name} in {data['seconds']:.0f} s", file=sys.stderr)
    return 0
