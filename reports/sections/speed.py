"""The report's Speed section: the figures ``make bench`` wrote to bench.json.

The benchmark is not part of ``make report`` (it takes minutes and wants a
quiet machine); the report shows its latest bench.json, with the date and
threads behind it, or says that none has been written.
"""

from __future__ import annotations

import json
from pathlib import Path

from backprop_reference.reports.model import Figure, Section, Table
from backprop_reference.reports.sections.registry import Context, ReportSection

BENCH_SCHEMA = 2


def load(path: Path) -> dict | None:
    """bench.json, or None when there is none; ``ValueError`` naming the file if it is unreadable."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a bench.json written by `make bench` ({error})") from None
    if not isinstance(data, dict) or data.get("schema") != BENCH_SCHEMA:
        raise ValueError(f"{path}: schema {data.get('schema') if isinstance(data, dict) else None!r}, expected {BENCH_SCHEMA}; rerun `make bench`")
    return data


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}" if seconds < 0.1 else f"{seconds * 1e3:.0f}"


def _verdict(target: dict) -> str:
    if target["met"] is None:
        return "reported"
    return "met" if target["met"] else "NOT MET"


def describe_machine(data: dict) -> str:
    machine, threads = data["machine"], data["threads"]
    blas = ", ".join(f"{b['library']} {b['threads']} threads" for b in threads["blas"]) or "no BLAS found"
    gpu = machine["gpu"] or machine["gpu_note"]
    return (
        f"Measured {data['created']} ({'quick' if data['quick'] else 'full'} run, {data['seconds']:.0f} s) on "
        f"{machine['cpu']} ({threads['usable_cores']} usable cores): BLAS {blas}, torch {threads['torch_threads']} "
        f"threads, JAX {threads['jax_cpu_threads']}. GPU: {gpu}."
    )


def tables(data: dict) -> tuple[Table, ...]:
    hand = data["hand_derived"]
    targets = hand["targets"]
    target_table = Table(
        headers=("target", "network", "dtype", "device", "measured", "limit", "verdict", "from"),
        rows=tuple(
            (t["what"], t["network"], t["dtype"], t["device"], f"{t['measured']:.2f}",
             "—" if t["limit"] is None else f"≤ {t['limit']:g}", _verdict(t), t["detail"])
            for t in targets
        ),
        caption=f"Hand-derived gradients at batch {hand['batch']}: each target of the issue, for each of our rows it applies to.",
        marks=tuple("fail" if t["met"] is False else "" for t in targets),
    )
    rows = hand["rows"]
    time_table = Table(
        headers=("network", "dtype", "device", "method", "library", "kind", "median ms", "min ms", "GFLOP/s"),
        rows=tuple(
            (r["network"], r["dtype"], r["device"], r["method"], r["library"], r["kind"], _ms(r["median_s"]),
             _ms(r["min_s"]), f"{r['gflops_per_s']:.1f}")
            for r in rows
        ),
        caption=(
            "Every timed call, median and minimum over rounds in which the methods took turns (arrays prepared "
            "on the device beforehand; ours never calls autograd)."
        ),
    )
    return ((target_table, time_table) + numerical_tables(data["numerical"]) + public_api_tables(data) + checker_tables(data)
        + low_precision_tables(data))


def public_api_tables(data: dict) -> tuple[Table, ...]:
    """``reference.gradients(notation="row_major_batch")`` against a torch.autograd script,
    and central differences batched against the loop, for every registered activation."""
    api = data["public_api"]
    rows = api["rows"]
    api_table = Table(
        headers=("activation", "network", "dtype", "ours ms", "torch.autograd script ms", "ours ÷ torch", "target", "verdict",
                 "NumPy matrix products alone ms", "ours on torch tensors ms"),
        rows=tuple((r["activation"], r["network"], r["dtype"], _ms(r["ours_s"]), _ms(r["torch_s"]), f"{r['ratio']:.2f}",
                    f"≤ {api['target']:g}", "met" if r["ratio"] <= api["target"] else "NOT MET", _ms(r["floor_s"]), _ms(r["on_torch_s"]))
                   for r in rows),
        caption=(
            f"The public entry point reference.gradients(…, notation=\"row_major_batch\") — validation and layout "
            f"conversions included — against the torch.autograd script a user writes for the same network on the same "
            f"NumPy arrays, batch {api['batch']}, medians. Where ours misses, compare its NumPy matrix products alone with "
            f"torch's whole gradient (NumPy's BLAS bounds it), and the same derivation on torch tensors (torch's BLAS)."
        ),
        marks=tuple("fail" if r["ratio"] > api["target"] else "" for r in rows),
    )
    activations = data["numerical"]["activations"]
    limit = data["numerical"]["activation_target"]
    central = Table(
        headers=("activation", "network", "parameters", "batched s", "plain loop s (est.)", "batched ÷ loop", "target", "verdict"),
        rows=tuple((r["activation"], r["network"], f"{r['parameters']:,}", _s(r["batched_s"]), _s(r["loop_s"]), f"{r['ratio']:.3f}",
                    f"≤ {limit:g}", "met" if r["ratio"] <= limit else "NOT MET") for r in activations),
        caption="Central differences over every parameter with each registered hidden activation: batched against the one-element loop (estimated from a sample of elements).",
        marks=tuple("fail" if r["ratio"] > limit else "" for r in activations),
    )
    return api_table, central


def checker_tables(data: dict) -> tuple[Table, ...]:
    """The checkers side by side: seconds per check, and what each catches."""
    peers = data["checkers"]
    times = Table(
        headers=("checker", "inputs", "seconds", "note"),
        rows=tuple((r["checker"], f"{r['inputs']:,}", _s(r["seconds"]), r["note"]) for r in peers["times"]),
        caption=f"Seconds per check of a correct gradient of {peers['function']}, best of repeats (each checker's default mode).",
    )
    detection = peers["detection"]
    checkers = list(dict.fromkeys(r["checker"] for r in detection))
    cases = list(dict.fromkeys(r["case"] for r in detection))
    cell = {(r["case"], r["checker"]): r for r in detection}

    def show(r: dict) -> str:
        text = "caught" if r["wrong_caught"] else "missed"
        if r["right_passes"] is False:
            text += "; FALSE ALARM on the correct one"
        return text

    table = Table(
        headers=("case",) + tuple(checkers),
        rows=tuple((case,) + tuple(show(cell[(case, c)]) for c in checkers) for case in cases),
        caption=(
            "What each checker catches: one element of the gradient off by a relative error, and the catalogued slip "
            "of each CS231n-style layer (testbed.layers; relu's inputs hold exact zeros, max-pool's tied maxima). "
            "A false alarm is the correct backward rejected."
        ),
        marks=tuple("fail" if any(not cell[(case, c)]["wrong_caught"] or cell[(case, c)]["right_passes"] is False
                                  for c in checkers if c.startswith("oracles")) else "" for case in cases),
    )
    return times, table


def low_precision_tables(data: dict) -> tuple[Table, ...]:
    """What each checker catches on ``testbed.low_precision`` (none: a bench.json from before it)."""
    low = data.get("low_precision")
    if not low:
        return ()

    def count(n, total) -> str:
        return "—" if n is None else f"{n} / {total}"

    def which(r: dict) -> str:
        parts = []
        if r["flagged_twins"]:
            parts.append(("no rung passes " if r["twins_flagged"] is None else "flagged ") + ", ".join(r["flagged_twins"]))
        if r["missed_slips"]:
            parts.append("missed " + ", ".join(r["missed_slips"]))
        return "; ".join(parts)

    rows = low["rows"]
    skipped = "; ".join(f"{s['checker']} on {s['entry']} in {s['dtype']}" for s in low["not_run"])
    table = Table(
        headers=("checker", "dtype", "setting", "atol = rtol", "correct twins flagged", "slips caught", "s per check", "which"),
        rows=tuple((r["checker"], r["dtype"], r["setting"], r["tolerance_text"], count(r["twins_flagged"], r["twins"]),
                    count(r["slips_caught"], r["slips"]), "—" if r["seconds_per_check"] is None else _s(r["seconds_per_check"]), which(r))
                   for r in rows),
        caption=(
            f"Low precision: what each checker catches and what it falsely flags on {low['catalogue']} "
            f"({len(low['entries'])} hand-written torch backward passes, seed {low['seed']}), each correct twin and each slip "
            "(counted only in the dtypes where it differs from its twin) judged in its dtype. Ours runs with "
            f"cotangents={low['ours_options']['cotangents']}, properties={low['ours_options']['properties']} and derives its own "
            "bound; gradcheck (slow mode) and jax check_grads (order 1, rev) at their defaults, then at the tightest "
            f"atol = rtol of {', '.join(f'{t:g}' for t in low['ladder'])} at which every correct twin of the dtype passes. "
            "A flagged twin is a false alarm." + (f" Not run: {skipped} (too large for slow mode)." if skipped else "")
        ),
        marks=tuple("fail" if r["checker"].startswith("oracles") and (r["twins_flagged"] or r["slips_caught"] != r["slips"]) else ""
                    for r in rows),
    )
    return (table,)


TARGETS_S = {"central": 0.5, "complex_step": 5.0}  # the limits for the 26,122-parameter network


def _s(seconds: float) -> str:
    return f"{seconds:.3g}"


def numerical_tables(data: dict) -> tuple[Table, Table]:
    """The numerical oracles' figures: the target network, and the cost growth."""
    target = data["target"]
    bounds = {b["oracle"]: b for b in data["bounds"]}
    batched = {r["oracle"]: r for r in target if r["evaluation"] == "batched"}
    plain = {r["oracle"]: r for r in target if r["evaluation"] == "plain loop"}
    rows, marks = [], []
    for oracle, row in batched.items():
        limit = TARGETS_S.get(oracle)
        met = None if limit is None else row["seconds"] <= limit
        loop = plain.get(oracle)
        bound = bounds.get(oracle)
        rows.append((
            oracle, f"{row['parameters']:,}", _s(row["seconds"]), _s(row["cpu_seconds"]),
            "—" if loop is None else _s(loop["seconds"]) + (" (est.)" if loop["estimated"] else ""),
            "—" if loop is None else f"{loop['seconds'] / row['seconds']:.0f}×",
            "—" if limit is None else f"< {limit:g}",
            "reported" if met is None else ("met" if met else "NOT MET"),
            "—" if bound is None else f"{_s(bound['seconds'])} ({bound['activation_evaluations']:,} f evaluations × {bound['ns_per_evaluation']:.2f} ns / {bound['threads']} threads)",
        ))
        marks.append("fail" if met is False else "")
    network = target[0]["network"] if target else ""
    summary = Table(
        headers=("oracle", "parameters", "batched s", "CPU s", "plain loop s", "speed-up", "target", "verdict", "floor: activation evaluations alone, s"),
        rows=tuple(rows),
        caption=(
            f"Every parameter of {network} at batch {target[0]['batch'] if target else ''}, float64, same tolerances "
            "and error estimates as before. The floor counts the activation evaluations a batched oracle cannot avoid."
        ),
        marks=tuple(marks),
    )
    growth = Table(
        headers=("oracle", "sweep", "network", "parameters", "batch", "seconds"),
        rows=tuple((g["oracle"], g["sweep"], g["network"], f"{g['parameters']:,}", str(g["batch"]), _s(g["seconds"])) for g in data["growth"]),
        caption="Cost growth of the batched numerical oracles (plotted below).",
    )
    return summary, growth


def section(data: dict | None, folder: Path) -> Section:
    if data is None:
        return Section(
            key="speed",
            title="Speed",
            intro=(
                "Not measured: no bench.json beside this report. `make bench` times the hand-derived gradients "
                "against torch.autograd and jax.jit(jax.grad), and the numerical oracles, and writes it."
            ),
        )
    figures = []
    name = data["numerical"].get("figure")
    if name and (folder / name).exists():
        figures.append(Figure(name=name, png=(folder / name).read_bytes(), caption="Cost of the numerical oracles against parameter count and depth.",
                              alt="Seconds per full numerical gradient against parameter count and against depth, log scales."))
    intro = (
        describe_machine(data)
        + " The vectorised derivations (`reference.fast`) run on NumPy, on torch tensors without autograd and on jax "
        "arrays under `jax.jit` (XLA executes our equations; `jax.grad` is not called). Frameworks: "
        "`torch.autograd.grad` of the torch oracle's objective and `jax.jit(jax.grad)` of the JAX oracle's."
    )
    return Section(key="speed", title="Speed", intro=intro, tables=tables(data), figures=tuple(figures))


def _bench(context: Context) -> dict | None:
    """The options' bench.json, read once (None: no file named, or none there)."""
    path = context.options.bench
    return context.shared("bench", lambda: load(path) if path is not None else None)


def _render(data: dict | None, figures, context: Context) -> Section:
    return section(data, context.options.bench.parent if context.options.bench is not None else Path("."))


SECTION = ReportSection(
    "speed", "Speed", _bench, _render, json=lambda data, context: {"benchmark": data},
    check=_bench,  # a bad bench.json fails the report before anything is computed
)
