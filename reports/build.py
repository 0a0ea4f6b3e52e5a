"""Orchestrator: run every section's computation and assemble the ``Report``."""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from reports.model import SCHEMA, Report
from reports.render import plots
from reports.sections import agreement, bugs, delta_forms, environment, examples, speed, taylor, timing, training
from reports.sweep import SCALES, report_cases


@dataclass(frozen=True)
class Options:
    seed: int = 0
    quick: bool = False
    device: str = "auto"  # auto | cpu | gpu
    workers: int = 1
    plugins: tuple[str, ...] = ()  # modules that register activations/losses, imported first
    bench: Path | None = None  # a bench.json from `make bench` for the Speed section (none: "not measured")


def load_plugins(plugins: tuple[str, ...]) -> None:
    """Import each module (it registers its activations and losses)."""
    for name in plugins:
        importlib.import_module(name)


def make_executor(workers: int, plugins: tuple[str, ...] = ()) -> Executor:
    """A process pool for workers > 1 (spawned: JAX does not survive fork; each
    worker imports the plugins), else a single in-process worker; any
    concurrent.futures executor fits."""
    if workers > 1:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=load_plugins, initargs=(plugins,),
        )
    return ThreadPoolExecutor(max_workers=1)


def run_agreement(cases, executor: Executor, progress: bool) -> tuple[list[agreement.CaseResult], list[agreement.FrameworkDispute]]:
    futures = {executor.submit(agreement.check_case, case): index for index, case in enumerate(cases)}
    by_index: dict[int, agreement.CaseCheck] = {}
    for future in tqdm(as_completed(futures), total=len(futures), desc="agreement", unit="network", disable=not progress):
        by_index[futures[future]] = future.result()
    ordered = [by_index[index] for index in range(len(cases))]  # case order, whatever finished first
    return [r for check in ordered for r in check.results], [d for check in ordered for d in check.disputes]


AGREEMENT_FIGURE = "agreement.png"


def summary(rows, mutant_rows, example_rows, environment_data, taylor_curves=()) -> str:
    checks = sum(r.cases for r in rows)
    failures = sum(r.failures for r in rows)
    notations = len({r.notation for r in rows})
    oracle_names = len({r.oracle for r in rows})
    caught = sum(m.detected for m in mutant_rows)
    errata = sum(not e.agrees for e in example_rows)
    verdict = "PASS" if failures == 0 and caught == len(mutant_rows) else "FAIL"
    judged = [c for c in taylor_curves if c.row.kind == "notation"]
    bug_seen = all(c.row.as_expected for c in taylor_curves if c.row.kind == "bug")
    second = (
        f" Taylor remainder test (no oracle, no tolerance): {sum(c.row.as_expected for c in judged)}/{len(judged)} "
        f"notations' gradients fall as h², and the catalogued bug's {'as h' if bug_seen else 'NOT as h'}." if judged else ""
    )
    return (
        f"{verdict}: {checks} gradient checks of {notations} hand-derived notations against {oracle_names} "
        f"oracles in float64 and float32: {failures} failure(s). {caught}/{len(mutant_rows)} catalogued derivation "
        f"bugs caught.{second} {errata} printed number(s) in the seeds' worked examples disagree with the computation "
        f"(errata: the report's worked-examples section lists them). Machine: {environment_data['cpu']}, {environment_data['gpu']['text']}."
    )


def build(options: Options, progress: bool = True) -> Report:
    load_plugins(options.plugins)
    bench = speed.load(options.bench) if options.bench is not None else None  # a bad file fails first
    env = environment.collect()
    if options.device == "gpu" and not env["gpu"]["present"]:
        raise ValueError("--device gpu: no CUDA GPU visible to torch on this machine")
    scales = (1.0,) if options.quick else SCALES
    cases = report_cases(options.seed, scales=scales)
    with make_executor(options.workers, options.plugins) as executor:
        results, disputes = run_agreement(cases, executor, progress)
    rows = agreement.aggregate(results)
    example_rows = examples.compute()
    form_rows = delta_forms.compute(seed=options.seed)
    mutant_rows = bugs.compute()
    taylor_curves = taylor.compute(cases, seed=options.seed)
    timing_rows = timing.measure(quick=options.quick, device=options.device, seed=options.seed)
    figures = plots.timing(timing_rows)
    trained = training.compute(options.quick)
    env = {**env, "timing": environment.timing_notes()}
    sections = (
        environment.section(env),
        agreement.section(rows, results, len(cases), options.seed, scales, disputes,
                          plots.heatmap(*agreement.heatmap_cells(rows), name=AGREEMENT_FIGURE, what="notation (dtype)")),
        examples.section(example_rows),
        delta_forms.section(form_rows),
        bugs.section(mutant_rows),
        taylor.section(taylor_curves, plots.taylor(taylor_curves)),
        training.section(trained, plots.training(trained)),
        timing.section(timing_rows, figures, env["timing"]),
        speed.section(bench, options.bench.parent if options.bench is not None else Path(".")),
        agreement.appendix(rows, results),
    )
    data = {
        "schema": SCHEMA,
        "seed": options.seed,
        "quick": options.quick,
        "environment": env,
        "agreement": agreement.json_rows(rows),
        "agreement_breakdown": [vars(b) for b in agreement.breakdown(results)],
        "framework_disputes": agreement.json_disputes(disputes),
        "seed_examples": examples.json_rows(example_rows),
        "delta_forms": delta_forms.json_rows(form_rows),
        "mutants": bugs.json_rows(mutant_rows),
        "taylor": taylor.json_rows(taylor_curves),
        "timing": timing.json_rows(timing_rows),
        "training": training.json_data(trained),
        "benchmark": bench,
    }
    return Report(
        "Backpropagation correctness report", summary(rows, mutant_rows, example_rows, env, taylor_curves), sections, data
    )
