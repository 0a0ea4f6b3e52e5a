"""Golden-file regression test for gradients, end to end.

Saves the gradients of a named configuration computed by one notation, then
later compares another notation's gradients with them under the tolerance
policy.  Run from the repository root:

    .venv/bin/python examples/golden_regression.py

Exits 0 when every comparison agrees, 1 otherwise.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from backprop_reference import reference
from backprop_reference.oracles.checks.golden import GoldenConfig, compare_golden, golden_inputs, save_golden

CONFIG = GoldenConfig(
    name="tanh-sigmoid-log-loss",
    mlp=reference.MLP(sizes=(4, 6, 3), activations=("tanh", "sigmoid"), loss="log_loss"),
    seed=2024,
    scale=1.0,
    batch=8,
)


def main() -> int:
    mlp, params, X, Y = golden_inputs(CONFIG)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"{CONFIG.name}.npz"

        # Once: record the golden gradients.
        golden = reference.gradients(mlp, params, X, Y, notation="row_major_batch")
        save_golden(path, CONFIG, golden, implementation="row_major_batch")
        print(f"saved {path.name}: gradients of {mlp} by row_major_batch\n")

        # Later (another commit, another machine): compare against them.
        ok = True
        for notation in ("delta_rule", "column_vector"):
            grads = reference.gradients(mlp, params, X, Y, notation=notation)
            verdict = compare_golden(path, grads, implementation=notation)
            print(verdict.message(), end="\n\n")
            ok &= verdict.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
