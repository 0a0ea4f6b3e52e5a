"""The fixed, seeded set of cases the report checks.

Every registered hidden activation crossed with every valid (output
activation, loss) pair, at a small, a moderate and a saturating weight
scale, with widths and batch sizes drawn from the seed.  Built from the
registries, so new activations and losses join without edits here.
"""

from __future__ import annotations

import numpy as np

from reference.network import MLP
from reference.strategies import Case, derivative_is_finite, hidden_activations, make_case, valid_pairs

SCALES = (0.3, 1.0, 3.0)


def report_cases(seed: int, scales: tuple[float, ...] = SCALES) -> list[Case]:
    """Deterministic cases for ``seed``; a case whose loss or ∂J/∂o is not
    finite (an output rounded to 0 or 1 under log loss) is redrawn."""
    rng = np.random.default_rng(seed)
    cases = []
    for output, loss in valid_pairs():
        for hidden in hidden_activations():
            for scale in scales:
                for _attempt in range(100):
                    sizes = tuple(int(n) for n in rng.integers(1, 9, size=4))
                    mlp = MLP(sizes, (hidden, hidden, output), loss)
                    case = make_case(mlp, int(rng.integers(2**32)), scale, int(rng.integers(1, 9)))
                    if derivative_is_finite(case):
                        cases.append(case)
                        break
    return cases
