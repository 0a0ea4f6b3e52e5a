"""Low precision: what each checker catches, and what it falsely flags, on the
catalogue of hand-written torch backward passes in ``testbed.low_precision``.

Each entry of ``SLIPS`` has a correct backward (its *twin*) and a slipped one;
both are judged in every dtype of ``DTYPES`` (bfloat16, float16, float32) on
the entry's seeded inputs (``inputs(dtype, seed=0)``).  A twin that a checker
rejects is a false alarm; a slip counts only in the dtypes its ``dtypes``
lists (elsewhere it computes what its twin computes).

The checkers, each given the hand-written backward the way a user would
(as in ``reports.bench.checkers``):

* ``oracles.check_layer (default)`` — ``oracles.check_layer(forward, backward,
  *tensors, cotangents=1, properties=False)``: its defaults but one cotangent
  and no property checks (the cheaper setting).  The tensors go in in their
  dtype; a low-precision result is judged by its own rule (k = 2 × torch's
  autograd error of the same forward, plus a floor), so it has no hand-set
  tolerance to tune and no ladder is run for it.
* ``torch.autograd.gradcheck`` — slow mode at its defaults (eps = 1e-6,
  atol = 1e-5, rtol = 1e-3, ``raise_exception=False``) on a
  ``torch.autograd.Function`` whose forward runs the entry's forward on the
  dtype's tensors and whose backward is the hand-written one.  Its warnings
  about non-double inputs are silenced; a False return or an exception counts
  as flagged.  An entry whose full Jacobian exceeds ``GRADCHECK_LIMIT``
  elements is not run in slow mode (``low_accumulation``: 2,112 inputs ×
  131,072 outputs, as many backward calls and gigabytes of Jacobian) and is
  listed under ``not_run``.
* ``jax check_grads`` — ``jax.test_util.check_grads(order=1, modes=("rev",))``
  at its defaults (eps = 1e-4; atol = rtol = 1e-1 bfloat16, 1e-2 float16,
  2e-3 float32) on a ``jax.custom_vjp`` whose primal runs the torch forward
  through ``jax.pure_callback`` in the dtype and whose bwd runs the
  hand-written backward; inputs are jax arrays of the dtype.  An exception
  counts as flagged.

Each peer is run at its defaults and at its *best hand-set tolerance*: the
tightest atol = rtol = t of ``LADDER`` at which every correct twin of that
dtype passes ("none" when no rung does), then the slips at that t.

``measure(quick)`` returns, per (checker, dtype, setting): twins flagged /
total, slips caught / total, mean seconds per check, and the names behind
each count; ``cases`` holds every single judgement.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import torch
from jax.test_util import check_grads

from backprop_reference import oracles
from backprop_reference.testbed import low_precision as catalogue

OURS = "oracles.check_layer (default)"
GRADCHECK = "torch.autograd.gradcheck"
CHECK_GRADS = "jax check_grads"
CHECKERS = (OURS, GRADCHECK, CHECK_GRADS)
PEERS = (GRADCHECK, CHECK_GRADS)
OURS_OPTIONS = {"cotangents": 1, "properties": False}
LADDER = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
QUICK_DTYPES = ("bfloat16", "float32")
QUICK_ENTRIES = ("layer_norm", "weight_scale", "softmax")
GRADCHECK_LIMIT = 1_000_000  # Jacobian elements (inputs × outputs) above which slow-mode gradcheck is not run
SEED = 0
DEFAULTS = "defaults"
BEST = "best hand-set"

_JAX_DTYPES = {"bfloat16": jnp.bfloat16, "float16": jnp.float16, "float32": jnp.float32}


def _args(entry: catalogue.Slip, dtype: str) -> tuple[torch.Tensor, ...]:
    args = entry.inputs(dtype, seed=SEED)
    return args if isinstance(args, tuple) else (args,)


def _as_tuple(grads) -> tuple:
    return grads if isinstance(grads, tuple) else (grads,)


# --- the hand-written backward handed to each peer --------------------------------------------


def _torch_rule(forward: Callable, backward: Callable):
    """A torch.autograd.Function: ``forward(*tensors) -> (out, cache)`` on the tensors in
    their dtype, ``backward(dout, cache)`` the claimed VJP."""

    class Claimed(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            out, cache = forward(*tensors)
            ctx.cache = cache
            return out

        @staticmethod
        def backward(ctx, g):
            return _as_tuple(backward(g, ctx.cache))

    return Claimed.apply


def _to_torch(a, dtype: str) -> torch.Tensor:
    # float32 holds every bfloat16 and float16 value exactly: the round trip is exact
    return torch.from_numpy(np.array(a, dtype=np.float32)).to(getattr(torch, dtype))


def _to_numpy(t: torch.Tensor, dtype: str) -> np.ndarray:
    return t.detach().to(torch.float32).numpy().astype(_JAX_DTYPES[dtype])


def _jax_rule(forward: Callable, backward: Callable, args: tuple[torch.Tensor, ...], dtype: str):
    """A jax.custom_vjp running the torch ``forward`` and ``backward`` through ``jax.pure_callback``."""
    jdt = _JAX_DTYPES[dtype]
    out = forward(*args)[0]
    out_shape = jax.ShapeDtypeStruct(tuple(out.shape), jdt)
    arg_shapes = tuple(jax.ShapeDtypeStruct(tuple(a.shape), jdt) for a in args)

    def primal(*a):
        return _to_numpy(forward(*(_to_torch(x, dtype) for x in a))[0], dtype)

    def vjp(g, *a):
        grads = backward(_to_torch(g, dtype), forward(*(_to_torch(x, dtype) for x in a))[1])
        return tuple(_to_numpy(d, dtype) for d in _as_tuple(grads))

    @jax.custom_vjp
    def rule(*a):
        return jax.pure_callback(primal, out_shape, *a)

    rule.defvjp(lambda *a: (rule(*a), a), lambda a, g: jax.pure_callback(vjp, arg_shapes, g, *a))
    return rule


def _tolerance(tol: float | None) -> dict:
    return {} if tol is None else {"atol": tol, "rtol": tol}


def flagged(checker: str, entry: catalogue.Slip, backward: Callable, dtype: str, tol: float | None = None) -> tuple[bool, dict]:
    """Whether ``checker`` rejects ``backward`` for ``entry`` in ``dtype`` (an exception counts as
    rejecting), with what it said; ``tol``: atol = rtol = tol instead of the checker's defaults."""
    args = _args(entry, dtype)
    if checker == OURS:
        verdict = oracles.check_layer(entry.forward, backward, *args, **OURS_OPTIONS, **_tolerance(tol))
        ratios = [r.error / r.allowed for r in getattr(verdict, "precision", ()) if r.allowed > 0]
        return not verdict.ok, {"status": verdict.status, "worst_error_over_allowed": max(ratios) if ratios else None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gradcheck's non-double warning, NumPy's float16 overflows, …
        if checker == GRADCHECK:
            tensors = tuple(a.detach().clone().requires_grad_(True) for a in args)
            try:
                passed = torch.autograd.gradcheck(_torch_rule(entry.forward, backward), tensors, raise_exception=False, **_tolerance(tol))
            except Exception as error:  # noqa: BLE001 — a peer that raises has rejected the rule
                return True, {"status": f"raised {type(error).__name__}"}
            return not passed, {"status": "passed" if passed else "returned False"}
        rule = _jax_rule(entry.forward, backward, args, dtype)
        try:
            check_grads(rule, tuple(jnp.asarray(_to_numpy(a, dtype)) for a in args), order=1, modes=("rev",), **_tolerance(tol))
        except AssertionError:
            return True, {"status": "AssertionError"}
        except Exception as error:  # noqa: BLE001
            return True, {"status": f"raised {type(error).__name__}"}
        return False, {"status": "passed"}


def _skip_reason(checker: str, entry: catalogue.Slip, dtype: str) -> str | None:
    if checker != GRADCHECK:
        return None
    args = _args(entry, dtype)
    inputs = sum(a.numel() for a in args)
    outputs = entry.forward(*args)[0].numel()
    if inputs * outputs > GRADCHECK_LIMIT:
        return (f"slow mode builds the full {inputs:,} × {outputs:,} Jacobian ({inputs * outputs:,} elements, "
                f"{outputs:,} backward calls): not run")
    return None


# --- one (checker, dtype, setting) ------------------------------------------------------------


_CHECK_GRADS_DEFAULT = {"bfloat16": "1e-1", "float16": "1e-2", "float32": "2e-3"}  # jax's default_gradient_tolerance


def _tolerance_text(checker: str, dtype: str, tol: float | str | None) -> str:
    if tol == "none":
        return "none passes every twin"
    if tol is not None:
        return f"{tol:g}"
    if checker == OURS:
        return "its own (k = 2 × torch's error + floor)"
    if checker == GRADCHECK:
        return "atol 1e-5, rtol 1e-3 (eps 1e-6)"
    return f"{_CHECK_GRADS_DEFAULT[dtype]} (eps 1e-4)"


def _judge(checker, entries, dtype, setting, tol, cases) -> dict:
    """Every twin and every slip (of this dtype) at ``tol``; the row's counts and seconds."""
    seconds, twins_flagged, slips_caught, slips = [], [], [], []
    for entry in entries:
        for kind in ("twin", "slip"):
            if kind == "slip" and dtype not in entry.dtypes:
                continue
            start = time.perf_counter()
            rejected, said = flagged(checker, entry, entry.correct if kind == "twin" else entry.slip, dtype, tol)
            seconds.append(time.perf_counter() - start)
            cases.append({"checker": checker, "dtype": dtype, "setting": setting, "tolerance": tol, "entry": entry.name,
                          "backward": kind, "flagged": rejected, "seconds": seconds[-1], **said})
            if kind == "twin" and rejected:
                twins_flagged.append(entry.name)
            if kind == "slip":
                slips.append(entry.name)
                if rejected:
                    slips_caught.append(entry.name)
    return {
        "checker": checker, "dtype": dtype, "setting": setting, "tolerance": tol,
        "tolerance_text": _tolerance_text(checker, dtype, tol),
        "twins_flagged": len(twins_flagged), "twins": len(entries), "slips_caught": len(slips_caught), "slips": len(slips),
        "seconds_per_check": sum(seconds) / len(seconds) if seconds else None,
        "flagged_twins": twins_flagged, "missed_slips": [s for s in slips if s not in slips_caught],
    }


def _ladder(checker, entries, dtype, cases) -> tuple[float | None, dict[str, float | None]]:
    """The tightest rung at which every twin passes (None: none does), and each twin's own tightest."""
    tightest: dict[str, float | None] = {}
    for entry in entries:
        tightest[entry.name] = None
        for t in LADDER:
            rejected, said = flagged(checker, entry, entry.correct, dtype, t)
            cases.append({"checker": checker, "dtype": dtype, "setting": "ladder", "tolerance": t, "entry": entry.name,
                          "backward": "twin", "flagged": rejected, "seconds": None, **said})
            if not rejected:
                tightest[entry.name] = t
                break
    if not entries or any(t is None for t in tightest.values()):
        return None, tightest
    return max(tightest.values()), tightest  # type: ignore[type-var]


def measure(quick: bool = False, entries: Sequence[str] | None = None, dtypes: Sequence[str] | None = None) -> dict:
    """The low-precision detection table (JSON-serialisable).  ``quick``: bfloat16 and float32,
    three cheap entries; ``entries`` / ``dtypes`` name a subset explicitly (they override ``quick``)."""
    names = tuple(entries) if entries is not None else (QUICK_ENTRIES if quick else tuple(catalogue.SLIPS))
    kinds = tuple(dtypes) if dtypes is not None else (QUICK_DTYPES if quick else tuple(catalogue.DTYPES))
    unknown = [n for n in names if n not in catalogue.SLIPS] + [d for d in kinds if d not in catalogue.DTYPES]
    if unknown:
        raise ValueError(f"not in testbed.low_precision: {', '.join(unknown)}")
    chosen = [catalogue.SLIPS[n] for n in names]
    started = time.perf_counter()
    rows, cases, not_run, ladders = [], [], [], []
    for dtype in kinds:
        for checker in CHECKERS:
            runnable = []
            for entry in chosen:
                why = _skip_reason(checker, entry, dtype)
                if why is None:
                    runnable.append(entry)
                else:
                    not_run.append({"checker": checker, "dtype": dtype, "entry": entry.name, "why": why})
            rows.append(_judge(checker, runnable, dtype, DEFAULTS, None, cases))
            if checker in PEERS:
                best, tightest = _ladder(checker, runnable, dtype, cases)
                ladders.append({"checker": checker, "dtype": dtype, "tolerance": best, "tightest_per_twin": tightest})
                if best is None:
                    rows.append({"checker": checker, "dtype": dtype, "setting": BEST, "tolerance": "none",
                                 "tolerance_text": _tolerance_text(checker, dtype, "none"),
                                 "twins_flagged": None, "twins": len(runnable), "slips_caught": None,
                                 "slips": sum(dtype in e.dtypes for e in runnable), "seconds_per_check": None,
                                 "flagged_twins": [n for n, t in tightest.items() if t is None], "missed_slips": []})
                else:
                    rows.append(_judge(checker, runnable, dtype, BEST, best, cases))
    for case in cases:
        if isinstance(case.get("worst_error_over_allowed"), float) and not math.isfinite(case["worst_error_over_allowed"]):
            case["worst_error_over_allowed"] = None  # bench.json is written with allow_nan=False
    return {
        "catalogue": "testbed.low_precision.SLIPS",
        "seed": SEED,
        "entries": [{"name": e.name, "what": e.what, "dtypes": list(e.dtypes)} for e in chosen],
        "dtypes": list(kinds),
        "ladder": list(LADDER),
        "ours_options": dict(OURS_OPTIONS),
        "gradcheck_limit": GRADCHECK_LIMIT,
        "rows": rows,
        "ladders": ladders,
        "not_run": not_run,
        "cases": cases,
        "seconds": round(time.perf_counter() - started, 1),
    }
