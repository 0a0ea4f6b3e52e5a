"""Arrays as the user has them: torch tensors and jax arrays, in their own dtype
and on their own device, beside NumPy arrays.

Every entry point takes its arguments through ``intake``.  Plain NumPy float32
and float64 arguments pass through untouched (the checks have always judged
them).  Anything else — torch tensors, jax arrays, NumPy arrays in
``ml_dtypes.bfloat16`` or float16 — becomes a ``Native``: a record of the
framework, the dtype, the device of every leaf, and the arguments as NumPy
arrays holding the same values exactly (float64 stays float64; float32,
float16 and bfloat16 values as float32, which holds them all exactly).  From it:

* ``forms(f)`` — how the oracles evaluate the user's f: the numerical oracles
  call it on float64 tensors (or jax arrays) on the user's device, never in a
  low dtype; the framework's own oracle (torch.autograd for torch code,
  jax.grad for JAX code) differentiates it on float64 copies on that device;
* ``calling(derivative)`` — the user's derivative called as the user calls it:
  with tensors in their own dtype, on their own device, a fresh copy each call;
  what it returns is read back as NumPy (its dtype and device recorded, for the
  ``dtypes`` property);
* ``precision(forms, options)`` — how the result is judged
  (``oracles.engine.precision``): float64 as always; bfloat16, float16, and
  float32 tensors by the framework rule (k × the framework's own autograd in
  that dtype, plus a floor), by the rounding rule where no framework runs the
  forward, or by the user's ``atol``/``rtol``.

Nothing of the user's is moved or cast: their tensors are cloned, never
detached in place, and the verdict's note says what ran where.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from backprop_reference.oracles.checks.arguments import choose_argnums
from backprop_reference.oracles.engine import precision as low
from backprop_reference.oracles.engine.problems import Forms, takes_xp
from backprop_reference.oracles.methods import trees

TORCH_FLOATS = {"torch.float64": "float64", "torch.float32": "float32", "torch.float16": "float16", "torch.bfloat16": "bfloat16"}
NUMPY_FLOATS = ("float64", "float32", "float16", "bfloat16")
ACCEPTED = "float64, float32, float16 or bfloat16"


def framework_of(leaf: Any) -> str | None:
    """``"torch"``, ``"jax"`` or ``"numpy"`` for an array of that framework; None for anything else."""
    if isinstance(leaf, np.ndarray):
        return "numpy"
    module = type(leaf).__module__
    if module.startswith("torch") and hasattr(leaf, "detach"):
        return "torch"
    if module.startswith("jax") and hasattr(leaf, "dtype") and hasattr(leaf, "shape"):
        return "jax"
    return None


def dtype_name(leaf: Any) -> str:
    """A leaf's dtype as a plain name (``bfloat16``, ``float32``, ``int64``, ``complex64``)."""
    return str(leaf.dtype).removeprefix("torch.")


def _is_floating(leaf: Any) -> bool:
    name = dtype_name(leaf)
    return name in NUMPY_FLOATS or name.startswith("float")


def device_of(leaf: Any) -> str:
    framework = framework_of(leaf)
    if framework == "torch":
        return str(leaf.device)
    if framework == "jax":
        devices = list(leaf.devices()) if hasattr(leaf, "devices") else []
        return "cpu" if not devices or devices[0].platform == "cpu" else f"{devices[0].platform}:{devices[0].id}"
    return "cpu"


@dataclass(frozen=True)
class Placed:
    """Where one array leaf lives: its framework, dtype name and device, and its dtype object."""

    framework: str
    dtype: str
    device: str
    native: Any = None

    def describe(self) -> str:
        where = "" if self.framework == "numpy" else f" on {self.device}"
        kind = {"torch": "torch", "jax": "jax", "numpy": "numpy"}[self.framework]
        return f"{kind} {self.dtype}{where}"


def needs_native(args: tuple) -> bool:
    """Whether any leaf is a framework's array or a NumPy array in float16 or bfloat16."""
    for a in args:
        for _, leaf in trees.leaves(a, "a"):
            framework = framework_of(leaf)
            if framework in ("torch", "jax") or (framework == "numpy" and dtype_name(leaf) in ("float16", "bfloat16")):
                return True
    return False


def intake(args: tuple, names: Sequence[str], who: str, *, argnums: Any = None, owns_graph: bool = True) -> "Native | None":
    """None where every array argument is a plain NumPy float32/float64 (or integer) array;
    else the arguments as a ``Native``, checked before any work: one framework and one device,
    floating leaves in an accepted dtype, no complex, no tensor that requires grad where the
    check owns the graph, and the differentiated leaves (``argnums``, as the entry point takes
    it) in one dtype, so that one precision rule holds for the result."""
    if not needs_native(args):
        return None
    native = Native(args, names, who, owns_graph)
    native.dtype(choose_argnums(argnums, native.arrays, names)[0])
    return native


class Native:
    """The user's arguments where they live, and their exact NumPy copies (``arrays``)."""

    def __init__(self, args: tuple, names: Sequence[str], who: str, owns_graph: bool):
        self.who, self.originals, self.names = who, args, list(names)
        self.placed: list[list[Placed | None]] = []
        frameworks: dict[str, str] = {}
        for a, root in zip(args, names):
            row = []
            for path, leaf in trees.leaves(a, root):
                framework = framework_of(leaf)
                if framework is None:
                    row.append(None)
                    continue
                name = dtype_name(leaf)
                if name.startswith("complex"):
                    raise TypeError(f"argument {path} of {who} is {framework} {name}: complex arrays are not checked here; accepted: {ACCEPTED} (or integer data)")
                if _is_floating(leaf) and name not in NUMPY_FLOATS:
                    raise TypeError(f"argument {path} of {who} is {framework} {name}, a dtype the oracles cannot run; accepted: {ACCEPTED}")
                if framework == "torch" and owns_graph and getattr(leaf, "requires_grad", False):
                    raise TypeError(
                        f"argument {path} of {who} is a torch tensor that requires grad: {who} calls your functions on its own copies and "
                        f"owns the graph; pass {path}.detach()"
                    )
                frameworks.setdefault(framework, path)
                row.append(Placed(framework, name, device_of(leaf), leaf.dtype))
            self.placed.append(row)
        if len(frameworks) > 1:
            listed = ", ".join(f"{path} is a {framework} array" for framework, path in frameworks.items())
            raise TypeError(f"the arguments of {who} mix frameworks ({listed}): pass them all as one framework's arrays")
        self.framework = next(iter(frameworks))
        devices = {p.device for row in self.placed for p in row if p is not None}
        if len(devices) > 1:
            raise ValueError(f"the arguments of {who} are on different devices ({', '.join(sorted(devices))}): put them on one")
        self.device = devices.pop()
        self.arrays = tuple(self._to_numpy_tree(a, root) for a, root in zip(args, names))
        self.returned: list[Placed] = []  # what the derivative returned last, leaf by leaf
        self.output: Any = None  # f at the user's own arrays (``evaluate``): what a cotangent mirrors
        self.seconds = 0.0
        self._started = time.perf_counter()

    # --- the dtype that one rule judges -------------------------------------------------------------

    def dtype(self, argnums: Sequence[int]) -> str:
        """The one floating dtype of the differentiated leaves (refused when they differ)."""
        seen: dict[str, str] = {}
        for n in argnums:
            for (path, _), placed in zip(trees.leaves(self.originals[n], self.names[n]), self.placed[n]):
                if placed is not None and placed.dtype in NUMPY_FLOATS:
                    seen.setdefault(placed.dtype, path)
        if len(seen) > 1:
            listed = ", ".join(f"{path} is {dtype}" for dtype, path in seen.items())
            raise TypeError(
                f"the differentiated arguments of {self.who} have different dtypes ({listed}): one precision rule must hold for the "
                f"result; pass them in one dtype, or differentiate them in separate checks (argnums=)"
            )
        if not seen:
            kinds = ", ".join(f"{path} is {p.describe()}" for n in argnums for (path, _), p in zip(trees.leaves(self.originals[n], self.names[n]), self.placed[n])
                              if p is not None)
            raise TypeError(f"{self.who} has no floating argument to differentiate ({kinds or 'no arrays'}); accepted: {ACCEPTED}")
        return next(iter(seen))

    def precision(self, forms: Forms, argnums: Sequence[int], *, k: float, atol: float | None, rtol: float | None,
                  derivative: str) -> low.Precision | None:
        """How the derivative's result is judged: None (the float64 or NumPy-float32 table) or a low-precision rule."""
        dtype = self.dtype(argnums)
        if dtype == "float64" or (dtype == "float32" and self.framework == "numpy"):
            return None
        where = self.where(dtype, derivative)
        if atol is not None:
            return low.Precision(dtype, "explicit", atol=atol, rtol=rtol, where=where)
        preferred = [self.framework] if self.framework in ("torch", "jax") else ["torch", "jax"]
        for framework in preferred:
            if forms.runs_on(framework):
                return low.Precision(dtype, "framework", framework=framework, k=k, where=where)
        return low.Precision(dtype, "rounding", where=where)

    def where(self, dtype: str, derivative: str) -> str:
        kind = {"torch": "torch tensors", "jax": "jax arrays", "numpy": "NumPy arrays"}[self.framework]
        device = f" on {self.device}" if self.framework != "numpy" else ""
        return (f"{derivative} ran on your {dtype} {kind}{device}; the oracles on float64 copies{device} (your function evaluated in "
                f"float64, never in {dtype})")

    def note(self, derivative: str) -> str:
        """What ran where (for float64 inputs: no precision rule says it)."""
        kind = {"torch": "torch tensors", "jax": "jax arrays", "numpy": "NumPy arrays"}[self.framework]
        device = f" on {self.device}" if self.framework != "numpy" else ""
        return f"{derivative} ran on your float64 {kind}{device}; the oracles on float64 copies{device}"

    def finished(self, verdict: Any) -> Any:
        """The verdict, its note ending with the time the whole check took (on the user's device, too)."""
        import dataclasses

        took = f"the check took {time.perf_counter() - self._started:.2f} s"
        return dataclasses.replace(verdict, note="; ".join(n for n in (verdict.note, took) if n))

    # --- conversions --------------------------------------------------------------------------------------

    def _to_numpy_tree(self, a: Any, root: str) -> Any:
        return trees.map_leaves(a, lambda _, leaf: to_numpy(leaf) if framework_of(leaf) else leaf, root)

    def native_args(self, arrays: tuple, *, float64: bool = False, passed: list | None = None) -> tuple:
        """``arrays`` (NumPy, shaped like the arguments) as the user's arrays: each leaf in its own
        framework, dtype and device (``float64``: floating leaves in float64, for the oracles).
        ``passed`` collects (NumPy source, the user's array, a pristine copy) for ``written_back``."""
        converted = []
        for a, root, row in zip(arrays, self.names, self.placed):
            remaining = iter(row)
            converted.append(trees.map_leaves(a, lambda _, leaf, r=remaining: self._leaf(leaf, next(r), float64, passed), root))
        return tuple(converted)

    def _leaf(self, value: Any, placed: Placed | None, float64: bool, passed: list | None = None) -> Any:
        if placed is None or not isinstance(value, np.ndarray):
            return value
        dtype = "float64" if float64 and placed.dtype in NUMPY_FLOATS else placed.dtype
        return _watched(value, from_numpy(value, placed.framework, dtype, placed.device), passed)

    def native_like(self, tree: Any, like: Any, root: str, passed: list | None = None) -> Any:
        """A cotangent, tangent or vector (NumPy) as arrays like ``like``'s leaves (the user's output, or arguments), in order."""
        likes = [leaf for _, leaf in trees.leaves(like, root) if leaf is not None]
        remaining = iter(likes)

        def convert(_, leaf):
            model = next(remaining)
            if not isinstance(leaf, np.ndarray) or framework_of(model) is None:
                return leaf
            return _watched(leaf, from_numpy(leaf, framework_of(model), dtype_name(model), device_of(model)), passed)

        return trees.map_leaves(tree, convert, root)

    def calls(self, fn: Callable, extra: Any = None, lead: Any = None, root: str = "out") -> Callable[..., Any]:
        """``fn(*arrays)`` — or ``fn(extra, *arrays)`` with ``lead`` — called on the user's kind of arrays,
        and what it wrote into them written back into the NumPy ones it was given (so that the
        ``untouched`` property sees a write into x or dout, whatever the dtype or device)."""
        def call(*arrays):
            passed: list = []
            leading = () if lead is None else (self.native_like(arrays[0], lead, root, passed),)
            rest = arrays if lead is None else arrays[1:]
            try:
                return fn(*leading, *self.native_args(rest, passed=passed))
            finally:
                written_back(passed)
        return call

    def rounded(self, tree: Any, like: Any, root: str) -> Any:
        """A float64 probe rounded to the dtypes of ``like``'s leaves and back (float64 copies of the values the user's
        derivative receives): the truth is computed at exactly the cotangent the user's derivative sees."""
        native = self.native_like(tree, like, root)
        return trees.map_leaves(native, lambda _, leaf: np.asarray(to_numpy(leaf), np.float64) if framework_of(leaf) else leaf, root)

    def read(self, result: Any) -> Any:
        """What the user's derivative returned, as NumPy (float64 stays float64, lower dtypes as exact float32),
        recording each leaf's framework, dtype and device (``returned``)."""
        self.returned = []

        def convert(_, leaf):
            framework = framework_of(leaf)
            if framework is None:
                return leaf
            self.returned.append(Placed(framework, dtype_name(leaf), device_of(leaf)))
            return to_numpy(leaf)

        return trees.map_leaves(result, convert, "g")

    # --- what the oracles and the checks call ----------------------------------------------------------

    def forms(self, f: Callable, name: str = "f") -> Forms:
        """How each oracle evaluates the user's ``f`` (which takes the user's kind of arrays):
        in NumPy (the numerical oracles) as float64 arrays of the user's framework on the user's device;
        in the user's framework by its own oracle; nowhere else."""
        framework = self.framework
        own = dict(xp=_namespace(framework)) if takes_xp(f) else {}

        def numpy_form(*arrays):
            with _float64(framework):
                return self.read_value(f(*self.native_args(arrays, float64=True), **own))

        def traced_form(*tensors):  # the framework's own oracle: float64 copies (the truth), or the user's dtype
            if framework == "torch" and all(t.dtype == _torch_float64() for t in _floating_tensors(tensors)):
                with at_least_float64():
                    return f(*tensors, **own)
            return f(*tensors, **own)

        if framework == "numpy":
            base = Forms.of(f)
            return Forms(lambda *arrays: self.read_value(f(*self.native_args(arrays, float64=True), **own)), base._traced, base.why_not)
        other = {"torch": "jax", "jax": "torch"}[framework]
        kind = {"torch": "torch tensors", "jax": "jax arrays"}[framework]
        reasons = {
            other: f"{name} is {framework} code (your arguments are {kind}), which {other} cannot run",
            "complex_step": f"{name} is {framework} code: the complex step runs NumPy's complex copies, which it does not take",
            "": f"{name} is {framework} code",
        }
        return Forms(numpy_form, {framework: lambda _framework: traced_form}, reasons, device=_oracle_device(self.device))

    def read_value(self, value: Any) -> Any:
        """f's value as NumPy (float64 stays float64)."""
        return trees.map_leaves(value, lambda _, leaf: to_numpy(leaf) if framework_of(leaf) else leaf, "out")

    def calling(self, derivative: Callable, lead: Any = None, root: str = "out") -> Callable:
        """The user's derivative as the checks call it — ``(extra, *arrays)`` in NumPy when ``lead``
        (a native pytree the extra argument mirrors: the output for a cotangent), else ``(*arrays)`` —
        calling it with the user's arrays: every argument in its own dtype and device; its result read back."""
        own = dict(xp=_namespace(self.framework)) if takes_xp(derivative) else {}
        call = self.calls(lambda *values: derivative(*values, **own), lead=lead, root=root)
        return lambda *arrays: self.read(call(*arrays))

    def evaluate(self, f: Callable) -> Any:
        """f at the user's own arrays (their dtypes, their device): what a cotangent mirrors (kept as ``output``)."""
        own = dict(xp=_namespace(self.framework)) if takes_xp(f) else {}
        self.output = f(*self.native_args(self.arrays), **own)
        return self.output

    def placed_of(self, argnums: Sequence[int]) -> list[Placed | None]:
        """The differentiated leaves' placements, in order (what their gradients must match)."""
        return [placed for n in argnums for placed in self.placed[n] if placed is not None]


def _watched(source: np.ndarray, native: Any, passed: list | None) -> Any:
    if passed is not None and framework_of(native) in ("torch", "numpy") and source.flags.writeable:
        passed.append((source, native, native.clone() if framework_of(native) == "torch" else native.copy()))
    return native


def written_back(passed: list) -> None:
    """Where the user's function wrote into an array it was given, the NumPy source takes the new
    values (jax arrays are immutable: nothing to watch)."""
    for source, native, pristine in passed:
        if framework_of(native) == "torch":
            import torch

            changed = native.shape != pristine.shape or not torch.equal(native.detach(), pristine.detach())
        else:
            changed = not np.array_equal(native, pristine, equal_nan=True)
        if changed and native.shape == source.shape:
            source[...] = to_numpy(native)


def _namespace(framework: str) -> Any:
    if framework == "torch":
        import torch

        return torch
    if framework == "jax":
        import jax.numpy as jnp

        return jnp
    return np


def _oracle_device(device: str) -> str:
    """The device the torch oracle puts its float64 copies on: the user's CUDA device, else the CPU."""
    return device if device.startswith("cuda") else "cpu"


def _torch_float64():
    import torch

    return torch.float64


def _floating_tensors(values: Any) -> list:
    return [leaf for _, leaf in trees.leaves(values, "a") if framework_of(leaf) == "torch" and leaf.dtype.is_floating_point]


class _float64:
    """While the user's f runs on float64 copies: x64 on for JAX, and torch code's casts down
    kept in float64 (``at_least_float64``); both restored afterwards.  Nothing for NumPy."""

    def __init__(self, framework: str):
        self.framework, self.context = framework, None

    def __enter__(self):
        if self.framework == "jax":
            from backprop_reference.reference.precision import jax_float64

            self.context = jax_float64()
        elif self.framework == "torch":
            self.context = at_least_float64()
        if self.context is not None:
            self.context.__enter__()
        return self

    def __exit__(self, *exc):
        if self.context is not None:
            return self.context.__exit__(*exc)
        return False


def to_numpy(leaf: Any) -> np.ndarray:
    """An array of any framework as NumPy on the CPU: float64 stays float64, float32, float16 and
    bfloat16 become float32 (exact); integers keep their dtype."""
    framework = framework_of(leaf)
    if framework == "torch":
        tensor = leaf.detach().cpu()
        name = dtype_name(tensor)
        if name in ("bfloat16", "float16"):
            tensor = tensor.float()
        return tensor.numpy().copy()
    array = np.array(leaf) if framework == "jax" else np.array(leaf, copy=True)
    if dtype_name(array) in ("bfloat16", "float16"):
        array = array.astype(np.float32)
    return array


def from_numpy(array: np.ndarray, framework: str, dtype: str, device: str) -> Any:
    """A NumPy array as ``framework``'s array in ``dtype`` on ``device`` (a fresh copy)."""
    if framework == "torch":
        import torch

        target = getattr(torch, dtype) if dtype in NUMPY_FLOATS else None
        tensor = torch.from_numpy(np.array(array, copy=True))
        return tensor.to(device=device, dtype=target) if target is not None else tensor.to(device)
    if framework == "jax":
        import jax.numpy as jnp

        if dtype in NUMPY_FLOATS:
            return jnp.asarray(np.asarray(array, low.numpy_dtype(dtype)) if dtype != "float64" else np.asarray(array, np.float64))
        return jnp.asarray(array)
    if dtype in NUMPY_FLOATS:
        return np.array(array, dtype=low.numpy_dtype(dtype))
    return np.array(array, copy=True)


def plain_params(grads: Any, name: str) -> Any:
    """A network's gradient list ``[(dW, db), …]`` with torch tensors and jax arrays in float32 or
    float64 as NumPy arrays of the same dtype; a lower dtype is refused (a golden file holds its
    configuration's dtype exactly: nothing is converted behind the caller's back)."""
    if not isinstance(grads, (list, tuple)):
        return grads

    def convert(leaf: Any) -> Any:
        if framework_of(leaf) in ("torch", "jax"):
            if dtype_name(leaf) not in ("float32", "float64"):
                raise TypeError(f"{name} holds a {framework_of(leaf)} {dtype_name(leaf)} array; a golden file holds float32 or float64 gradients")
            return to_numpy(leaf)
        return leaf

    return [tuple(convert(a) for a in pair) if isinstance(pair, (list, tuple)) else pair for pair in grads]


# --- the float64 truth of torch code that casts down ----------------------------------------------


def at_least_float64():
    """A ``torch.overrides.TorchFunctionMode`` under which a float64 tensor cast to a lower
    float dtype (``x.float()``, ``x.half()``, ``x.bfloat16()``, ``x.to(torch.float32)``,
    ``x.to(device, torch.float16)``) stays float64: kernel code that computes "in float32
    inside" (``x.float()`` … ``.to(x.dtype)``) computes in float64 when the oracles evaluate
    it on float64 copies — the float64 truth of the same mathematics.  Only the oracles'
    float64 evaluations run under it; the user's own calls, and the framework's run in the
    user's dtype, never do."""
    import torch
    from torch.overrides import TorchFunctionMode

    lower = (torch.float32, torch.float16, torch.bfloat16)
    casts = {torch.Tensor.float, torch.Tensor.half, torch.Tensor.bfloat16}

    class AtLeastFloat64(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = dict(kwargs or {})
            source = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if source is not None and source.dtype == torch.float64:
                if func in casts:
                    return source
                if func is torch.Tensor.to:
                    if kwargs.get("dtype") in lower:
                        kwargs["dtype"] = torch.float64
                    args = tuple(torch.float64 if a in lower else a for a in args)
            return func(*args, **kwargs)

    return AtLeastFloat64()
