"""Low precision judged to its precision: a bfloat16, float16 or float32 result
against the float64 truth, under a bound that belongs to its dtype.

A derivative computed in a low dtype cannot be held to float64 tolerances, and
finite differences in that dtype mean nothing.  The truth is what the float64
oracles agree on (run on float64 copies of the same inputs, with mpmath
arbitration where they disagree); the result is then allowed, leaf by leaf,
an error that one of three rules derives — the verdict names the rule and its
numbers:

* ``"framework"`` — the generalised flash-attention rule, where a framework
  (torch, JAX) can run the forward in that dtype: the same forward
  differentiated by the framework's own autograd in that dtype, on the same
  inputs and device, has some worst error E against the truth; the result may
  be k times worse (k = 2 by default, ``k=``), plus a floor of two roundings in
  the dtype at the truth's magnitude (2 u max|truth|; flash-attention's Hopper
  tests add such a floor, in float32):

      |ours_i − truth_i| ≤ k · E + 2 u · max|truth|   for every element i of the leaf.

* ``"rounding"`` — where no framework can run the forward in that dtype (a
  plain NumPy f on ``ml_dtypes.bfloat16`` or float16 arrays): the result
  rounded in its dtype, ``ROUNDING_UNITS`` units of rounding at the leaf's
  largest element: |ours_i − truth_i| ≤ 8 u · max|truth|.

* ``"explicit"`` — the user's own ``atol``/``rtol``: |ours_i − truth_i| ≤
  atol + rtol · |truth_i|, printed in every verdict it decided.

u is the dtype's unit roundoff (2⁻⁸ bfloat16, 2⁻¹¹ float16, 2⁻²⁴ float32).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import OracleCannotRun
from backprop_reference.oracles.methods.registry import ORACLES

UNIT_ROUNDOFF = {"bfloat16": 2.0 ** -8, "float16": 2.0 ** -11, "float32": 2.0 ** -24}
LOW_DTYPES = tuple(UNIT_ROUNDOFF)
FLOOR_ROUNDINGS = 2  # the framework rule's floor: two roundings in the dtype at the truth's magnitude
ROUNDING_UNITS = 8  # the rounding rule: this many units of rounding at the leaf's largest element
RULES = ("framework", "rounding", "explicit")


def numpy_dtype(name: str) -> np.dtype:
    """The NumPy dtype a low-precision result is labelled with (``ml_dtypes.bfloat16`` for bfloat16)."""
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def check_k(k: object) -> float:
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not (math.isfinite(k) and k >= 1):
        raise ValueError(f"k must be a finite number ≥ 1: how many times the framework's own low-precision error a result may have; got {k!r}")
    return float(k)


def check_tolerances(atol: object, rtol: object) -> tuple[float | None, float | None]:
    """``atol``/``rtol``: both None (the derived rules), or non-negative finite numbers, not both 0."""
    if atol is None and rtol is None:
        return None, None
    values = []
    for name, value in (("atol", atol), ("rtol", rtol)):
        if value is None:
            values.append(0.0)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be None or a finite number ≥ 0; got {value!r}")
        values.append(float(value))
    if values == [0.0, 0.0]:
        raise ValueError("atol and rtol are both 0: no result in a low dtype could pass; leave both None for the derived rules")
    return values[0], values[1]


@dataclass(frozen=True)
class Precision:
    """How a result in ``dtype`` is judged: ``rule`` (one of ``RULES``); for the framework
    rule the framework that runs the forward in the dtype and ``k``; for the explicit
    rule ``atol`` and ``rtol``; ``where``: what ran where, for the verdict."""

    dtype: str
    rule: str
    framework: str = ""
    k: float = 2.0
    atol: float | None = None
    rtol: float | None = None
    where: str = ""

    @property
    def u(self) -> float:
        return UNIT_ROUNDOFF[self.dtype]


@dataclass(frozen=True)
class LeafPrecision:
    """One leaf's low-precision judgement, with the numbers the verdict prints."""

    name: str
    dtype: str
    rule: str
    error: float  # our worst |ours − truth| over the leaf
    theirs: float  # the framework's worst error (framework rule; nan otherwise)
    floor: float
    allowed: float  # the leaf's largest allowance (the explicit rule's varies by element)
    magnitude: float  # max |truth| over the leaf
    k: float = 2.0
    framework: str = ""
    atol: float | None = None
    rtol: float | None = None
    ok: bool = True

    def _share(self, value: float) -> str:
        return f"{100 * value / self.magnitude:.3g} %" if self.magnitude > 0 else f"{value:.3e}"

    def line(self) -> str:
        head = f"your {self.dtype} {self.name}: worst error {self._share(self.error)} of the float64 truth's largest element ({self.magnitude:.3e})"
        verdict = "≤" if self.ok else "EXCEEDS"
        if self.rule == "framework":
            ratio = self.error / self.theirs if self.theirs > 0 else (0.0 if self.error == 0 else math.inf)
            return (
                f"{head}; {self.framework}'s own {self.dtype} autograd of the same forward: {self._share(self.theirs)}; "
                f"ratio {ratio:.2f} (allowed: k·theirs + floor = {self.k:g} × {self._share(self.theirs)} + {self._share(self.floor)} "
                f"= {self._share(self.allowed)}; {self._share(self.error)} {verdict} it)"
            )
        if self.rule == "rounding":
            return (
                f"{head}; no framework runs this forward in {self.dtype}, so the rounding rule: {ROUNDING_UNITS} units of "
                f"{self.dtype} rounding at that element = {self._share(self.allowed)}; {self._share(self.error)} {verdict} it"
            )
        return f"{head}; your tolerance atol = {self.atol:g}, rtol = {self.rtol:g} (at most {self.allowed:.3e} here): {verdict} it"


def truth_of(answers: dict[str, Answer]) -> Answer:
    """The float64 truth a low-precision result is measured against: the first exact
    oracle that answered (jax, torch, complex step — they agree to rounding, and
    arbitration has settled their disputes), else Richardson, else central differences."""
    exact = [name for name in answers if not ORACLES[name].numerical]
    order = exact + [name for name in ("richardson", "central") if name in answers]
    if not order:
        raise OracleCannotRun("no oracle answered, so there is no float64 truth to judge a low-precision result by")
    return answers[order[0]]


def allowances(precision: Precision, problem, names: Sequence[str], ours: Sequence[np.ndarray], truth: Answer) -> tuple[list[np.ndarray], list[LeafPrecision], str]:
    """Per leaf, each element's allowed |ours − truth| (``precision``'s rule), the leaf's
    record, and the rule actually used: the framework rule falls back to the rounding
    rule, with the reason, where the framework cannot run the forward in the dtype."""
    truths = [np.asarray(t, np.float64) for t in truth.flat("gradients")]
    magnitudes = [float(np.max(np.abs(t[np.isfinite(t)]), initial=0.0)) for t in truths]
    fallback = ""
    theirs: list[np.ndarray] | None = None
    if precision.rule == "framework":
        try:
            answer = ORACLES[precision.framework].answer(problem.in_dtype(numpy_dtype(precision.dtype)))
            theirs = [np.asarray(a, np.float64) for a in answer.flat("gradients")]
        except (OracleCannotRun, ImportError) as why:
            fallback = f"{precision.framework} could not differentiate the forward in {precision.dtype} ({why}): the rounding rule judged instead"
            precision = dataclasses.replace(precision, rule="rounding")
    scales, records = [], []
    for k, (name, a, t, G) in enumerate(zip(names, ours, truths, magnitudes)):
        error = _worst(np.asarray(a, np.float64), t)
        if precision.rule == "framework":
            E = _worst(theirs[k], t)
            floor = FLOOR_ROUNDINGS * precision.u * G
            allowed = precision.k * E + floor
            scale = np.full(t.shape, max(allowed, np.finfo(np.float64).tiny))
            record = LeafPrecision(name, precision.dtype, "framework", error, E, floor, allowed, G, precision.k, precision.framework, ok=error <= allowed)
        elif precision.rule == "rounding":
            allowed = ROUNDING_UNITS * precision.u * G
            scale = np.full(t.shape, max(allowed, np.finfo(np.float64).tiny))
            record = LeafPrecision(name, precision.dtype, "rounding", error, math.nan, 0.0, allowed, G, ok=error <= allowed)
        else:
            with np.errstate(invalid="ignore"):
                scale = np.maximum(precision.atol + precision.rtol * np.abs(np.nan_to_num(t, nan=0.0)), np.finfo(np.float64).tiny)
            with np.errstate(invalid="ignore"):
                excess = float(np.max(np.abs(np.asarray(a, np.float64) - t) - scale, initial=-np.inf)) if t.size else -np.inf
            record = LeafPrecision(name, precision.dtype, "explicit", error, math.nan, 0.0, float(np.max(scale, initial=0.0)), G,
                                   atol=precision.atol, rtol=precision.rtol, ok=not excess > 0)
        scales.append(scale)
        records.append(record)
    return scales, records, fallback


def _worst(a: np.ndarray, t: np.ndarray) -> float:
    if not a.size:
        return 0.0
    with np.errstate(invalid="ignore"):
        gap = np.abs(a - t)
    return float(np.max(np.where(np.isnan(gap), np.inf, gap)))


def reason(precision: Precision) -> str:
    """The tolerance's reason, as the comparison records it."""
    if precision.rule == "framework":
        return (f"a {precision.dtype} result may be {precision.k:g} times as far from the float64 truth as {precision.framework}'s own "
                f"{precision.dtype} autograd of the same forward, plus two {precision.dtype} roundings at the truth's magnitude")
    if precision.rule == "rounding":
        return f"{ROUNDING_UNITS} units of {precision.dtype} rounding at each leaf's largest element (no framework runs the forward in {precision.dtype})"
    return f"the tolerance you gave: atol = {precision.atol:g}, rtol = {precision.rtol:g}"
