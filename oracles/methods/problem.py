"""The problem interface: what an oracle, the engine and arbitration may ask of
a problem, written down once.  The engine's problems
(``oracles.engine.problems``: a function, a product with a tangent, a Jacobian,
a network) implement it; nothing branches on which class a problem is.

Every problem has a ``mode`` — which derivative is wanted — and offers the
members of ``Problem``; each mode adds what its oracles evaluate:

* ``"gradient"`` (``GradientProblem``): ``evaluator(stencil)``, where the
  numerical oracles evaluate E element by element;
* ``"tangent"`` (``TangentLineProblem``): ``line(stencil)``, t ↦ the outputs at θ + t v;
* ``"jacobian"`` (``ColumnsProblem``): ``columns()``, one tangent problem per
  input element, and ``assemble``, the answer from theirs.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import Framework


@runtime_checkable
class Problem(Protocol):
    """What is differentiated, and how each oracle evaluates it."""

    mode: str  # "gradient", "tangent" or "jacobian": which derivative is wanted
    layout: trees.Layout  # the names and structure of what is compared
    leaves: list[np.ndarray]  # the point θ: one float array per differentiated leaf
    notes: Mapping[str, str]  # what the verdict should say about how the oracles evaluated it (one line per cause)
    kinks_known: bool  # True: its kinks are known beforehand (a network's activations); False: found from its values
    device: str  # where the framework oracles put their float64 copies: "cpu", or the user's tensors' device ("cuda:0")

    def function(self, framework: Framework) -> tuple[Callable, Any]:
        """``(fn, data)``: ``fn(leaves, data)`` is E (or the outputs) written in ``framework``."""

    def why_not(self, framework: str) -> str:
        """Why it cannot be evaluated in the framework called ``framework`` ("" where it can)."""

    def objective_terms(self) -> float:
        """The size of the terms E's own rounding is set by (0 where E is not a scalar objective)."""

    def rounding_bounds(self) -> list[np.ndarray] | None:
        """B_k per leaf, a rigorous bound on the terms summed into each element, or None where it is opaque."""

    def on_a_kink(self) -> bool:
        """The point sits exactly on a known kink (only where ``kinks_known``)."""

    def in_dtype(self, dtype: Any) -> "Problem":
        """The same problem on copies in ``dtype`` (float32: the evidence of rounding; bfloat16, float16:
        the framework's own low-precision derivative, ``oracles.engine.precision``)."""

    def watched(self, framework: Framework, seen: list[bytes]) -> Framework:
        """``framework`` with each known kink appending the pattern of sides taken to ``seen`` on each evaluation
        (arbitration's test that a stencil stayed on one piece); as it is where kinks are not known."""


@runtime_checkable
class GradientProblem(Problem, Protocol):
    def evaluator(self, stencil: Any, batched: bool = True) -> Any:
        """Where the numerical oracles evaluate E, element by element (batched where it can be)."""


@runtime_checkable
class TangentLineProblem(Problem, Protocol):
    def line(self, stencil: Any) -> Callable[[Any], np.ndarray]:
        """t ↦ the outputs at θ + t v, flattened into one vector."""


@runtime_checkable
class ColumnsProblem(Problem, Protocol):
    def columns(self) -> Iterator[tuple[int, tuple[int, ...], TangentLineProblem]]:
        """(block, input element, the tangent problem along it), for every input element."""

    def assemble(self, oracle: str, columns: Sequence[tuple[int, tuple, Answer]]) -> Answer:
        """One answer from the columns' answers."""
