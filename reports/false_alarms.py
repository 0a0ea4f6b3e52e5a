"""How often the checker cries wolf, and what it still catches: the figures behind the tolerances.

    python -m backprop_reference.reports.false_alarms --networks 800 --seed 0

draws random correct cases with ``testbed.drawer``, as ``testbed.strategies.cases`` does (every
registered activation and valid output/loss pair, 1–3 hidden layers of
width 1–6, bias modes and masks, batch 1–4, weight scales 0.3–30, one output
layer in three ×10 so its softmax/sigmoid saturates), checks every notation
that can express each network against every oracle, and prints:

* **false alarms** — correct gradients called wrong, per oracle, by today's
  per-element rounding bound and (for comparison) by the old rule
  1e-12 × max(G, 1) without it;
* **disputes** — elements where the exact oracles disagreed among themselves;
* **detection** — a relative change of the largest gradient element of
  1e-9 where the case is well conditioned (weight scale ≤ 1) and of 1e-6
  where it is not, in row_major_batch's gradient: the fraction caught by the
  default oracles.

Deterministic for a given ``--seed``; no Hypothesis.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.engine.comparison import judge
from backprop_reference.oracles.engine.problems import NetworkProblem
from backprop_reference.oracles.methods.registry import ORACLES
from backprop_reference.oracles.engine.rounding import EPS
from backprop_reference.oracles.engine.tolerances import ROUNDING_MULTIPLE, rounding_allowance, tolerance_for
from backprop_reference.testbed.drawer import CaseRanges, Drawn, NetworkRanges, draw

SCALES = (0.3, 1.0, 3.0, 10.0, 30.0)


ISSUE_HIDDEN = ("identity", "tanh", "sigmoid")
ISSUE_OUTPUTS = (("softmax", "cross_entropy"), ("softmax", "squared_error"), ("sigmoid", "log_loss"), ("sigmoid", "squared_error"))

# ``testbed.strategies.cases``' drawing, narrower: 1–3 hidden layers of width 1–6, batch 1–4,
# the weight scales above, the output layer ×10 in one draw of three; no unit exactly on a kink.
CASES = CaseRanges(scales=SCALES, batch=(1, 4), saturate=1 / 3, gain=10.0, avoid_kinks=True)
# Issue 13's measurement: N ≤ 4, weights × 3, 10 or 30, never saturated.
ISSUE_CASES = CaseRanges(scales=(3.0, 10.0, 30.0), batch=(1, 4), saturate=0.0)


def draw_issue_case(rng: np.random.Generator) -> Drawn | None:
    """A network of issue 13's measurement (identity/tanh/sigmoid hidden layers, softmax or
    sigmoid outputs) and its case, or None (draw again)."""
    network = NetworkRanges(hidden=(1, 3), widths=(1, 4), activations=ISSUE_HIDDEN, pairs=ISSUE_OUTPUTS, pieces=(2, 2), structure=False)
    return draw(rng, network, ISSUE_CASES)


def draw_case(rng: np.random.Generator) -> Drawn | None:
    """A case like ``testbed.strategies.cases``, and whether its output layer was multiplied by 10; None: draw again."""
    return draw(rng, NetworkRanges(hidden=(1, 3), widths=(1, 6)), CASES)


def saturated_outputs(case) -> bool:
    """Whether an output rounds to exactly 0 or 1 under log loss or cross-entropy: there the
    literal ∂J/∂o ⊙ f'(z) is ∞·0, and each notation must fall back on the pair's closed form."""
    if case.mlp.loss not in ("log_loss", "cross_entropy"):
        return False
    o = reference.forward(case.mlp, case.params, case.X)[1][-1]
    return bool(np.any(o == 0.0) or (case.mlp.loss == "log_loss" and np.any(o == 1.0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backprop_reference.reports.false_alarms", description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--issue-networks", action="store_true", help="draw the networks of issue 13's measurement instead")
    options = parser.parse_args(argv)
    draw_one = draw_issue_case if options.issue_networks else draw_case
    rng = np.random.default_rng(options.seed)
    checks, alarms, old_alarms, disputes = Counter(), Counter(), Counter(), Counter()
    caught, tried, finite = Counter(), Counter(), Counter()
    examples: list[str] = []
    misses: list[str] = []
    networks, start, worst_ratio = 0, time.perf_counter(), 0.0
    while networks < options.networks:
        drawn = draw_one(rng)
        if drawn is None:
            continue
        case, gained = drawn
        networks += 1
        mlp, params, X, Y = case.mlp, case.params, case.X, case.Y
        problem = NetworkProblem(mlp, params, X, Y)
        saturated = saturated_outputs(case)
        finite["networks with saturated outputs"] += saturated
        answers = {name: ORACLES[name].answer(problem) for name in ORACLES}  # raw answers, once per network: the old rule and the ratio
        for notation in reference.NOTATIONS:
            if not reference.can_express(mlp, notation):
                continue
            ours = reference.gradients(mlp, params, X, Y, notation=notation)
            finite["gradients at saturated outputs"] += saturated
            finite["non-finite gradients"] += not all(np.all(np.isfinite(a)) for pair in ours for a in pair if a is not None)
            verdict = oracles.check_network_gradients(mlp, params, X, Y, ours, oracles=tuple(ORACLES), implementation=notation)
            flat = problem.layout.flatten(ours)
            for comparison in verdict.comparisons:
                checks[comparison.oracle] += 1
                alarms[comparison.oracle] += not comparison.ok
                if not comparison.ok and len(examples) < 5:
                    examples.append(f"{case!r}\n{verdict.message()}")
                answer = answers[comparison.oracle]
                old, _ = judge(
                    problem.layout.names, flat, answer, implementation=notation, tolerance=tolerance_for(np.float64, comparison.oracle),
                )
                old_alarms[comparison.oracle] += not old.ok
                if not ORACLES[comparison.oracle].numerical:  # how much of the multiple the bound needed
                    G = max(float(np.max(np.abs(d))) for d in answer.flat("gradients"))
                    disputed = {d.element for d in verdict.disputes}  # there an oracle was shown wrong, not ours
                    with np.errstate(divide="ignore", invalid="ignore"):
                        for name, a, d, B in zip(problem.layout.names, flat, answer.flat("gradients"), problem.terms()):
                            # only where the bound is what lets it pass: beyond limit × G (1e-124 against 0 is not)
                            ratio = np.where(np.abs(a - d) > 1e-12 * G, np.abs(a - d) / (EPS * B), 0.0)
                            for index in np.argwhere(ratio > 0):
                                if trees.element(name, tuple(int(i) for i in index)) in disputed:
                                    ratio[tuple(index)] = 0.0
                            worst_ratio = max(worst_ratio, float(np.max(ratio)) if ratio.size else 0.0)
            if verdict.unjudged:
                alarms["not judged"] += 1
            disputes["elements"] += len(verdict.disputes)
            disputes["checks with a dispute"] += bool(verdict.disputes)
            if notation == "row_major_batch":
                well = case.scale <= 1.0 and not gained
                kind = "1e-9, weight scale ≤ 1 (output layer too)" if well else "1e-6, ill-conditioned"
                change = 1e-9 if well else 1e-6
                leaf = int(np.argmax([np.max(np.abs(g)) for g in flat]))
                if np.max(np.abs(flat[leaf])) == 0.0:
                    continue
                bad = [g.copy() for g in flat]
                k = np.unravel_index(int(np.argmax(np.abs(bad[leaf]))), bad[leaf].shape)
                bad[leaf][k] *= 1 + change
                wrong = oracles.check_network_gradients(mlp, params, X, Y, problem.layout.unflatten(bad), implementation="changed")
                tried[kind] += 1
                caught[kind] += not wrong.ok
                allowance = max(1e-12 * max(float(np.max(np.abs(g))) for g in flat), float(rounding_allowance(problem.terms()[leaf][k], np.float64)))
                if change * abs(flat[leaf][k]) > allowance:  # the bound allows it to be seen
                    tried[kind + ", where the bound allows"] += 1
                    caught[kind + ", where the bound allows"] += not wrong.ok
                if wrong.ok and len(misses) < 5:
                    misses.append(f"{case!r} (output ×10: {gained})\n{wrong.message()}")
    elapsed = time.perf_counter() - start
    total = sum(checks.values())
    print(f"{networks} networks, {total} checks of correct gradients in {elapsed:.0f} s (seed {options.seed})")
    print(f"{'oracle':<14} {'checks':>7} {'false alarms':>13} {'old rule':>9}")
    for oracle in checks:
        print(f"{oracle:<14} {checks[oracle]:>7} {alarms[oracle]:>13} {old_alarms[oracle]:>9}")
    print(f"verdicts with elements not judged: {alarms['not judged']}")
    print(
        f"largest |ours − exact oracle| / (ε B_k) where it exceeds 1e-12 × G: {worst_ratio:.2f} "
        f"(the tolerance allows {ROUNDING_MULTIPLE:g} × (ε + ε) B_k, i.e. {2 * ROUNDING_MULTIPLE:g})"
    )
    print(
        f"saturated outputs (an output exactly 0 or 1 under log loss or cross-entropy): {finite['networks with saturated outputs']} "
        f"networks, {finite['gradients at saturated outputs']} notation gradients; non-finite notation gradients: {finite['non-finite gradients']}"
    )
    print(f"disputes among the exact oracles: {disputes['elements']} elements in {disputes['checks with a dispute']} checks")
    for kind in tried:
        print(f"detection, relative change {kind}: {caught[kind]} of {tried[kind]} caught ({caught[kind] / tried[kind]:.1%})")
    for text in examples:
        print("\nFALSE ALARM:\n" + text)
    for text in misses:
        print("\nMISSED CHANGE:\n" + text)
    return 1 if sum(alarms[o] for o in checks) or alarms["not judged"] or finite["non-finite gradients"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
