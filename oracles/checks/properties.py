"""What else a backward pass must satisfy, beyond agreeing with the oracles at one point.

Each property is a named part of the verdict of ``check_vjp``, ``check_layer``,
``check_torch_function`` and ``check_custom_vjp`` (``properties=`` chooses them;
all by default):

* ``repeatable`` — the backward called twice on the same inputs and cache gives
  the same gradients, bitwise by default (``nondet_tol=0.0``, as
  ``torch.autograd.gradcheck``), or within ``nondet_tol`` × the largest gradient
  element for parallel reductions; and a second forward + backward gives them
  again (nothing accumulates across calls).
* ``linear`` — in the upstream gradient: backward(−2·dout) = −2·backward(dout)
  (a power of two: exact in floating point), backward(dout₁ + dout₂) =
  backward(dout₁) + backward(dout₂) (to Richardson's tolerance of the larger
  side: the sums round differently), backward(0) = 0 exactly.
* ``untouched`` — the forward pass leaves its differentiated arguments as they
  were (a settings dict may carry running statistics: CS231n's batchnorm updates
  ``bn_param``), and the backward pass leaves dout and the cache as they were.
* ``dtypes`` — each gradient has its argument's dtype (shapes are checked before
  any work; a gradient returned for an integer argument is refused there too).
* ``batch`` — only where ``batch={"x": 0, …}`` declares the batch axis of some
  arguments (every output's batch axis is its first): one backward pass per
  sample, with the differentiated batched arguments' gradients put together along
  the axis and the others summed, equals the batched backward pass.

And one that is a note, never a failure — ``not trivial``: where a cotangent
makes the oracles' gradient of an argument vanish (dout = ones into a
normalisation layer: the gradient of x cancels to 0), agreement there proves
nothing; the check says so and adds a drawn cotangent.

A backward pass is seen through a ``Pass``: its forward and backward in the
cache convention (``out, cache = forward(*args)``; ``backward(dout, cache)``),
whatever the entry point's own convention was.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.engine.precision import UNIT_ROUNDOFF
from backprop_reference.oracles.engine.tolerances import tolerance_for

PROPERTIES = ("repeatable", "linear", "untouched", "dtypes", "batch")
TRIVIAL = 1e-8  # a reference gradient this small against a random cotangent's has vanished
SNAPSHOT_DEPTH = 4  # how deep the snapshot of a cache looks into containers and objects
LOW_ROUNDINGS = 16  # a low-precision backward's properties: differences up to this many unit roundoffs of its dtype are rounding


@dataclass(frozen=True)
class Pass:
    """A backward pass in the cache convention, and how to read its gradients:
    ``read(raw, args)`` → one NumPy array per differentiated leaf of ``args`` (the
    arguments the pass ran on, checked as the entry point checks them);
    ``words``: what the two are called in messages, and what the cache is
    (``("forward", "backward", "the cache")``)."""

    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[[Any, Any], Any]
    read: Callable[[Any, tuple], list[np.ndarray]]
    words: tuple[str, str, str] = ("forward", "backward", "the cache")
    dout: str = "dout"  # what the upstream gradient is called (a torch Function's: grad_output)


@dataclass(frozen=True)
class PropertyResult:
    """One property: held or not, and the numbers that show it."""

    name: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{self.name}: {'holds' if self.ok else 'FAILS'} — {self.message}"


def check_properties(value: object) -> tuple[str, ...]:
    """The properties asked for: True (all), False (none) or a sequence of names."""
    if value is True:
        return PROPERTIES
    if value is False:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"properties must be True, False or a sequence of names from {list(PROPERTIES)}; got {value!r}")
    for name in value:
        if name not in PROPERTIES:
            raise ValueError(f"unknown property {name!r} in properties; known: {', '.join(PROPERTIES)}")
    return tuple(name for name in PROPERTIES if name in value)


def check_nondet_tol(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < 1):
        raise ValueError(f"nondet_tol must be a number in [0, 1): the difference allowed between two runs, relative to the largest gradient element; got {value!r}")
    return float(value)


def check_batch(batch: object, names: Sequence[str], argnums: Sequence[int], args: tuple) -> dict[int, int] | None:
    """``{"x": 0}`` → {argument position: axis}, checked against the arguments."""
    if batch is None:
        return None
    if not isinstance(batch, dict) or not batch:
        raise TypeError(f"batch must be None or a dict of argument name → batch axis, e.g. {{'x': 0}}; got {batch!r}")
    axes = {}
    for name, axis in batch.items():
        if name not in names:
            raise ValueError(f"batch names {name!r}, which is not an argument; the arguments are {', '.join(names)}")
        n = list(names).index(name)
        if not isinstance(args[n], np.ndarray):
            raise TypeError(f"batch: argument {name} must be an array to be split along an axis; got {type(args[n]).__name__}")
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -args[n].ndim <= axis < args[n].ndim:
            raise ValueError(f"batch: the axis of {name} must be an int within its {args[n].ndim} dimensions; got {axis!r}")
        axes[n] = int(axis) % args[n].ndim
    sizes = {args[n].shape[axis] for n, axis in axes.items()}
    if len(sizes) != 1:
        raise ValueError(f"batch: the batched arguments must have the same batch size; got sizes {sorted(sizes)}")
    return axes


def check_batch_outputs(axes: dict[int, int] | None, args: tuple, output: Any) -> None:
    """Every output batched along its first axis, with the arguments' batch size."""
    if axes is None:
        return
    size = next(args[n].shape[axis] for n, axis in axes.items())
    for path, leaf in trees.leaves(output, "out"):
        if leaf is not None and (np.ndim(leaf) == 0 or np.shape(leaf)[0] != size):
            raise ValueError(
                f"batch: every output must be batched along its first axis, with the batch size {size} of the declared "
                f"arguments; {path} has shape {np.shape(leaf)} (a time-major or scalar output cannot be split per sample)"
            )


# --- helpers ---------------------------------------------------------------------------------------


def _copies(args: tuple) -> tuple:
    return tuple(copy.deepcopy(a) for a in args)


def _largest(leaves: Sequence[np.ndarray]) -> float:
    finite = [np.abs(a[np.isfinite(a)]) for a in (np.asarray(l, np.float64) for l in leaves)]
    return max((float(np.max(f)) for f in finite if f.size), default=0.0)


def _worst(first: Sequence[np.ndarray], second: Sequence[np.ndarray], names: Sequence[str]) -> tuple[float, str, float, float]:
    """The largest |first − second| over all leaves: (difference, element, first's value, second's)."""
    best = (0.0, "", 0.0, 0.0)
    for name, a, b in zip(names, first, second):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if not a.size:
            continue
        with np.errstate(invalid="ignore"):
            gap = np.where(np.isnan(a) | np.isnan(b), np.where(np.isnan(a) & np.isnan(b), 0.0, np.inf), np.abs(a - b))
        k = np.unravel_index(int(np.argmax(gap)), gap.shape)
        if gap[k] > best[0] or not best[1]:
            best = (float(gap[k]), trees.element(name, k), float(a[k]), float(b[k]))
    return best


def snapshot(value: Any, path: str, depth: int = SNAPSHOT_DEPTH) -> dict[str, tuple[np.ndarray, int]]:
    """A copy of every array in ``value`` — through lists, tuples, dicts and objects'
    attributes, ``depth`` levels deep — and the identity of the array it copies, by
    path (torch tensors as NumPy copies)."""
    found: dict[str, tuple[np.ndarray, int]] = {}

    def walk(item: Any, where: str, left: int) -> None:
        if isinstance(item, np.ndarray):
            found[where] = item.copy(), id(item)
        elif hasattr(item, "detach") and hasattr(item, "numpy"):  # a torch tensor (bfloat16 as float32: exact)
            tensor = item.detach().cpu()
            found[where] = (tensor.float() if str(tensor.dtype) == "torch.bfloat16" else tensor).numpy().copy(), id(item)
        elif left <= 0:
            return
        elif isinstance(item, (list, tuple)):
            for i, child in enumerate(item):
                walk(child, f"{where}[{i}]", left - 1)
        elif isinstance(item, dict):
            for key, child in item.items():
                walk(child, f"{where}[{key!r}]", left - 1)
        elif hasattr(item, "__dict__") and not isinstance(item, type) and not callable(item):
            for key, child in vars(item).items():
                walk(child, f"{where}.{key}", left - 1)

    walk(value, path, depth)
    return found


def _changed(before: dict[str, tuple[np.ndarray, int]], value: Any, path: str, returned: Sequence[Any] = ()) -> str:
    """Where an array present before was changed in place: '' when none was.  An array
    the pass returned as a gradient is an output buffer, not a write into its input
    (an object layer's preallocated ``self.dW``, filled with ``out=``)."""
    after = snapshot(value, path)
    outputs = {id(g) for g in returned}
    for where, (old, _) in before.items():
        new, identity = after.get(where, (None, None))
        if new is None or identity in outputs or new.shape != old.shape or new.dtype != old.dtype:
            continue  # dropped or replaced (a cache freed by the backward pass), or an output buffer: not a write into it
        if not np.array_equal(old, new, equal_nan=old.dtype.kind in "fc"):
            k = np.unravel_index(int(np.argmax(old != new)), old.shape) if old.shape else ()
            return f"{trees.element(where, k)}: {_plain(old[k])} became {_plain(new[k])}"
    return ""


def _plain(value: Any) -> str:
    return repr(value.item()) if isinstance(value, np.generic) else repr(value)


# --- the properties -----------------------------------------------------------------------------------


class Subject:
    """What the properties run on: the pass, the caller's arguments and names, a
    cotangent, more of them on demand, and the dtype that sets the tolerances."""

    def __init__(self, pass_: Pass, args: tuple, arg_names: Sequence[str], leaf_names: Sequence[str], argnums: Sequence[int],
                 cotangent: Any, draw: Callable[[int], Any], dtype: np.dtype, nondet_tol: float, batch: dict[int, int] | None,
                 native: Any = None, low: str | None = None):
        self.pass_, self.args, self.arg_names, self.leaf_names, self.argnums = pass_, args, list(arg_names), list(leaf_names), list(argnums)
        self.cotangent, self.draw, self.dtype, self.nondet_tol, self.batch = cotangent, draw, dtype, nondet_tol, batch
        self.native = native  # oracles.checks.tensors.Native: the user's tensors, whose dtypes and devices the gradients must match
        self.low = low  # the low dtype the backward computes in (bfloat16, float16, float32 tensors): its rounding sets the tolerances

    def backward(self, dout: Any, cache: Any = None) -> list[np.ndarray]:
        """The gradients for ``dout``, from ``cache`` (a fresh forward pass when None)."""
        if cache is None:
            _, cache = self.pass_.forward(*_copies(self.args))
        # copies: a backward that returns its own buffer (never zeroed) must not compare equal to itself
        return [np.array(g, copy=True) for g in self.pass_.read(self.pass_.backward(copy.deepcopy(dout), cache), self.args)]

    def tolerance(self, name: str, gradients: Sequence[np.ndarray]) -> float:
        """The table's limit for ``name``'s kind, in the precision the backward computes in (float32
        if any gradient is), widened to what ``nondet_tol`` allows from run to run (a few runs add up)."""
        dtype = np.float32 if any(np.asarray(g).dtype == np.float32 for g in gradients) else self.dtype
        limit = tolerance_for(dtype, name).limit
        if self.low is not None:  # sums and scalings round at the dtype's unit roundoff, 16 of them at most here
            limit = max(limit, LOW_ROUNDINGS * UNIT_ROUNDOFF[self.low])
        return max(limit, 4 * self.nondet_tol)


def _repeatable(subject: Subject) -> PropertyResult:
    forward, backward, _ = subject.pass_.words
    _, cache = subject.pass_.forward(*_copies(subject.args))
    first = subject.backward(subject.cotangent, cache)
    try:
        second = subject.backward(subject.cotangent, cache)
    except Exception as error:  # noqa: BLE001 — the user's backward failing on a second call is this property's failure
        return PropertyResult("repeatable", False, (
            f"a second {backward} call on the same cache raised {type(error).__name__}: {str(error).strip()[:120]} "
            f"(a {backward} that frees or consumes its cache cannot be called twice)"
        ))
    allowed = subject.nondet_tol * _largest(first)
    gap, element, a, b = _worst(first, second, subject.leaf_names)
    if gap > allowed:
        return PropertyResult("repeatable", False, (
            f"two {backward} calls on the same inputs and cache differ at {element}: {a!r} then {b!r} "
            f"(|difference| {gap:.3e}, allowed {allowed:.3e} = nondet_tol {subject.nondet_tol:g} × the largest element)"
        ))
    third = subject.backward(subject.cotangent)
    gap, element, a, b = _worst(first, third, subject.leaf_names)
    if gap > allowed:
        return PropertyResult("repeatable", False, (
            f"a second {forward} + {backward} gives other gradients at {element}: {a!r} then {b!r} "
            f"(|difference| {gap:.3e}): something accumulates across calls (a buffer never zeroed?)"
        ))
    how = "bitwise" if subject.nondet_tol == 0 else f"within nondet_tol {subject.nondet_tol:g}"
    return PropertyResult("repeatable", True, f"{backward} twice on one cache, and {forward} + {backward} again: the same gradients, {how}")


def _linear(subject: Subject) -> PropertyResult:
    _, backward, _ = subject.pass_.words
    c = subject.cotangent
    g = subject.backward(c)
    scaled = subject.backward(trees.map_leaves(c, lambda _, leaf: -2 * leaf, "out"))
    d = subject.pass_.dout
    exact = subject.tolerance("jax", g + scaled) * max(_largest(g), float(np.finfo(np.float64).tiny))
    gap, element, a, b = _worst(scaled, [-2 * x for x in g], subject.leaf_names)
    if gap > exact:
        return PropertyResult("linear", False, (
            f"{backward}(−2·{d}) ≠ −2·{backward}({d}) at {element}: {a!r} against {b!r} (|difference| {gap:.3e}, "
            f"allowed {exact:.3e}): it does not scale with {d} ({d} ignored, normalised or its sign dropped, or a term "
            f"that does not depend on {d})"
        ))
    zero = subject.backward(trees.map_leaves(c, lambda _, leaf: np.zeros_like(leaf), "out"))
    gap, element, a, _ = _worst(zero, [np.zeros_like(x) for x in zero], subject.leaf_names)
    if gap > 0 and not np.isfinite(a):
        return PropertyResult("linear", False, (
            f"{backward}(0) is not 0: {element} = {a!r} — a zero {d} times an infinite or undefined factor "
            f"(0·∞, 0·nan: a division by, or log of, an exact zero cached by the forward pass); "
            f"compute that factor in a form that stays finite, or multiply by {d} first"
        ))
    if gap > 0:
        return PropertyResult("linear", False, (
            f"{backward}(0) is not 0: {element} = {a!r} — a term that does not depend on {d} (weight decay, a "
            f"regulariser) belongs in the loss, not in the {backward}"
        ))
    other = subject.draw(1)
    g_other = subject.backward(other)
    summed = subject.backward(trees.map_leaves(c, lambda path, leaf: leaf + _at(other, path), "out"))
    rounding = subject.tolerance("richardson", g + g_other + summed) * (_largest(g) + _largest(g_other))
    gap, element, a, b = _worst(summed, [x + y for x, y in zip(g, g_other)], subject.leaf_names)
    if gap > rounding:
        return PropertyResult("linear", False, (
            f"{backward}({d}₁ + {d}₂) ≠ {backward}({d}₁) + {backward}({d}₂) at {element}: {a!r} against {b!r} "
            f"(|difference| {gap:.3e}, allowed {rounding:.3e})"
        ))
    return PropertyResult("linear", True, f"{backward}(−2·{d}) = −2·{backward}({d}), {backward}(0) = 0, and additive in {d}")


def _at(tree: Any, path: str) -> np.ndarray:
    """The leaf of ``tree`` at ``path`` (paths as ``trees.leaves`` names them from root "out")."""
    return dict(trees.leaves(tree, "out"))[path]


def _untouched(subject: Subject) -> PropertyResult:
    forward, backward, cache_word = subject.pass_.words
    arguments = _copies(subject.args)
    watched = [n for n in subject.argnums]  # the differentiated ones: a settings dict may carry running statistics by design
    before = {n: snapshot(arguments[n], subject.arg_names[n]) for n in watched}
    _, cache = subject.pass_.forward(*arguments)
    for n in watched:
        a, name = arguments[n], subject.arg_names[n]
        where = _changed(before[n], a, name)
        if where:
            return PropertyResult("untouched", False, f"{forward} wrote into its argument {name}: {where}")
    d = subject.pass_.dout
    dout = copy.deepcopy(subject.cotangent)
    dout_before, cache_before = snapshot(dout, d), snapshot(cache, "cache")
    raw = subject.pass_.backward(dout, cache)
    returned = [leaf for _, leaf in trees.leaves(raw, "g") if isinstance(leaf, np.ndarray)]
    where = _changed(dout_before, dout, d)
    if where:
        return PropertyResult("untouched", False, f"{backward} wrote into {d}: {where}")
    where = _changed(cache_before, cache, "cache", returned)
    if where:
        return PropertyResult("untouched", False, f"{backward} modified {cache_word}: {where}")
    return PropertyResult("untouched", True, f"{forward} left its arguments, and {backward} {d} and {cache_word}, as they were")


def _dtypes(subject: Subject) -> PropertyResult:
    g = subject.backward(subject.cotangent)
    if subject.native is not None:  # the user's tensors: dtype and device, as the framework has them
        for name, got, wanted in zip(subject.leaf_names, subject.native.returned, subject.native.placed_of(subject.argnums)):
            if wanted is not None and (got.dtype, got.device) != (wanted.dtype, wanted.device):
                return PropertyResult("dtypes", False, f"the gradient of {name} is {got.describe()}, but {name} is {wanted.describe()}")
        return PropertyResult("dtypes", True, "every gradient has its argument's dtype and device")
    wanted = [leaf for n in subject.argnums for _, leaf in trees.leaves(subject.args[n], "a") if leaf is not None]
    for name, grad, arg in zip(subject.leaf_names, g, wanted):
        if np.asarray(grad).dtype != np.asarray(arg).dtype:
            return PropertyResult("dtypes", False, f"the gradient of {name} is {np.asarray(grad).dtype}, but {name} is {np.asarray(arg).dtype}")
    return PropertyResult("dtypes", True, "every gradient has its argument's dtype")


def _batch(subject: Subject) -> PropertyResult | None:
    if subject.batch is None:
        return None
    _, backward, _ = subject.pass_.words
    batched = subject.backward(subject.cotangent)
    size = next(subject.args[n].shape[axis] for n, axis in subject.batch.items())
    parts = []
    for i in range(size):
        args = tuple(np.take(a, [i], axis=subject.batch[n]) if n in subject.batch else a for n, a in enumerate(subject.args))
        sample = trees.map_leaves(subject.cotangent, lambda _, leaf: leaf[i:i + 1], "out")
        _, cache = subject.pass_.forward(*_copies(args))
        parts.append(subject.pass_.read(subject.pass_.backward(sample, cache), args))
    leaf_args = [n for n in subject.argnums for _, leaf in trees.leaves(subject.args[n], "a") if leaf is not None]
    together = [np.concatenate([p[k] for p in parts], axis=subject.batch[n]) if n in subject.batch else sum(p[k] for p in parts)
                for k, n in enumerate(leaf_args)]
    rounding = subject.tolerance("richardson", []) * _largest(batched)
    gap, element, a, b = _worst(together, batched, subject.leaf_names)
    if gap > rounding:
        return PropertyResult("batch", False, (
            f"one {backward} per sample, put together, differs from the batched {backward} at {element}: {a!r} against {b!r} "
            f"(|difference| {gap:.3e}, allowed {rounding:.3e}): samples leak into each other"
        ))
    return PropertyResult("batch", True, f"{size} per-sample {backward} passes, put together, equal the batched one")


CHECKS: dict[str, Callable[[Subject], PropertyResult | None]] = {
    "repeatable": _repeatable, "linear": _linear, "untouched": _untouched, "dtypes": _dtypes, "batch": _batch,
}


def run(names: Sequence[str], subject: Subject) -> tuple[PropertyResult, ...]:
    """The chosen properties of ``subject``, in registry order (``batch`` only where declared).
    A pass that raises during a property fails it, with the error."""
    results = []
    for name in names:
        try:
            result = CHECKS[name](subject)
        except Exception as error:  # noqa: BLE001 — the user's pass failing under a property is that property's failure
            result = PropertyResult(name, False, f"raised {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"[:300])
        if result is not None:
            results.append(result)
    return tuple(results)


def vanished(comparisons_by_probe: Sequence[Sequence[Any]], random: Sequence[float], paths: Sequence[str]) -> list[str]:
    """``not trivial``: per probe (its comparisons), the leaves whose reference gradient
    vanished — its largest element no more than ``TRIVIAL`` × the backward pass's own
    largest for a random cotangent (``random``, per leaf)."""
    found = []
    for k, comparisons in enumerate(comparisons_by_probe, start=1):
        judging = next((c for c in comparisons if c.compared), None)
        if judging is None:
            continue
        for path, leaf, size in zip(paths, judging.leaves, random):
            if size > 0 and leaf.magnitude <= TRIVIAL * size:
                found.append(f"{path} under cotangent {k} (largest {leaf.magnitude:.1e} against {size:.1e} for a random cotangent)")
    return found
