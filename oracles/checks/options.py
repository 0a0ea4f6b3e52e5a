"""What every check shares, in one frozen record validated in one place.

Each entry point takes these as keyword arguments with the same names and
defaults (where the option applies to it) and builds one ``Options`` from them
before any work: a bad value is refused with a ``TypeError``/``ValueError``
that names the option, whichever entry point it was given to.

=================  ==========  =================================================================
option             default     meaning
=================  ==========  =================================================================
``oracles``        ``None``    the oracles to judge with: ``None`` for every registered one
                               (``ORACLES``) that can run on the problem, or a sequence of names
``seed``           ``0``       the seed of every random draw (cotangents, tangents, vectors,
                               sampled elements, directions)
``implementation`` ``None``    the derivative's name in the verdict; ``None``: its parameter's
                               name (``grad``, ``vjp``, ``backward``, ``grads``, …)
``properties``     ``True``    which backward-pass properties are checked too
                               (``oracles.checks.properties``): all, ``False`` for none, or names
``nondet_tol``     ``0.0``     the run-to-run difference the repeatable property allows,
                               relative to the largest gradient element (0: bitwise)
``mode``           ``"auto"``  ``"elementwise"``, ``"sampled"`` or ``"auto"`` (by size)
``k``              ``2.0``     a low-precision result (bfloat16, float16, float32 tensors) may be
                               k times as far from the float64 truth as the framework's own
                               autograd of the same forward in that dtype (plus a floor;
                               ``oracles.engine.precision``)
``atol``, ``rtol`` ``None``    your own tolerance for a low-precision result instead:
                               |ours − truth| ≤ atol + rtol·|truth|, printed in its verdict
=================  ==========  =================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from backprop_reference.oracles.checks.properties import check_nondet_tol, check_properties
from backprop_reference.oracles.engine.precision import check_k, check_tolerances
from backprop_reference.oracles.engine.sampling import MODES
from backprop_reference.oracles.methods.registry import check_oracle_names



@dataclass(frozen=True)
class Options:
    """The options every check shares (the table above), validated on construction;
    ``oracles`` is normalised to names in registry order."""

    oracles: Sequence[str] | None = None
    seed: int = 0
    implementation: str | None = None
    properties: bool | Sequence[str] = True
    nondet_tol: float = 0.0
    mode: str = "auto"
    k: float = 2.0
    atol: float | None = None
    rtol: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "oracles", check_oracle_names(self.oracles))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {self.seed!r}")
        if self.implementation is not None:
            check_implementation(self.implementation)
        check_properties(self.properties)
        if not isinstance(self.properties, bool):
            object.__setattr__(self, "properties", tuple(self.properties))
        object.__setattr__(self, "nondet_tol", check_nondet_tol(self.nondet_tol))
        if not isinstance(self.mode, str) or self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(repr(m) for m in MODES)}; got {self.mode!r}")
        object.__setattr__(self, "k", check_k(self.k))
        atol, rtol = check_tolerances(self.atol, self.rtol)
        object.__setattr__(self, "atol", atol)
        object.__setattr__(self, "rtol", rtol)

    @property
    def chosen_properties(self) -> tuple[str, ...]:
        """The properties to check, by name, in registry order (``True``: all of them)."""
        return check_properties(self.properties)

    def named(self, derivative: str) -> str:
        """The implementation's name in the verdict: as given, else the derivative parameter's name."""
        return derivative if self.implementation is None else self.implementation


def check_implementation(implementation: object) -> str:
    if not isinstance(implementation, str):
        raise TypeError(f"implementation must be a name (str); got {implementation!r}")
    return implementation
