"""What an oracle returns: its derivative, shaped like what was differentiated,
and for a numerical oracle the error estimates and kink brackets the engine
judges with (``oracles.engine.comparison``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop_reference.oracles.methods import trees


@dataclass(frozen=True)
class Answer:
    """One oracle's answer, shaped like what was differentiated (``layout``
    flattens any of its fields): the gradient, and for a numerical oracle
    each element's estimated absolute error, whether its stencil crossed a
    kink, and there the one-sided derivatives (NaN elsewhere)."""

    oracle: str
    layout: trees.Layout
    gradients: Any
    errors: Any = None
    kinked: Any = None
    lower: Any = None
    upper: Any = None

    def flat(self, field: str) -> list[np.ndarray] | None:
        value = getattr(self, field)
        return None if value is None else self.layout.flatten(value)
