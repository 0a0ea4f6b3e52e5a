"""Check a framework's custom derivative rule against its own forward pass:

    oracles.check_torch_function(MyFunction, x, w)   # a torch.autograd.Function's backward
    oracles.check_custom_vjp(my_fn, x, w)            # a jax.custom_vjp's bwd rule

The tempting shortcut — an f that calls the Function under torch, checked by
``check_gradient`` — makes the torch oracle circular: torch.autograd runs the
Function's own backward, so a bug there passes through both sides.  Here the
rule under test is never its own judge: the vector–Jacobian product it gives
(``torch.autograd.grad`` through ``Function.apply``; ``jax.vjp`` of the
decorated function) is checked by ``check_vjp`` against Richardson and central
differences of the forward pass alone — ``Function.apply`` under
``torch.no_grad``, the custom_vjp function called directly (which runs its
primal, never fwd/bwd).  jax, torch and the complex step are listed as skipped,
with that reason.

Both run in float64 by default: float32 and float16 inputs are promoted
(``promote=True``), so the rule's logic is checked to float64 precision and the
verdict says so; ``promote=False`` runs the rule in the inputs' own dtype
(float32 is judged with float32 tolerances; float16 has none, and is refused).
Arguments may be NumPy arrays or torch tensors (jax arrays for a custom_vjp);
anything else (an int, a flag) is passed to the function as it is.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from backprop_reference.oracles.checks import arguments
from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.engine.comparison import asserting
from backprop_reference.oracles.methods.frameworks import describe
from backprop_reference.oracles.checks.products import _check_vjp
from backprop_reference.oracles.engine.problems import Forms, argument_names, check_callable
from backprop_reference.oracles.checks.options import Options
from backprop_reference.oracles.checks.properties import Pass
from backprop_reference.oracles.engine.verdict import Verdict

def _reasons(rule: str, framework: str) -> dict[str, str]:
    """Why each framework oracle does not run on a custom rule (by framework name)."""
    return {
        framework: f"differentiating {rule} with {framework} would run the rule under test, so it cannot judge it",
        "complex-step": f"{rule}'s forward pass runs on real inputs only; numerical derivatives of it in float64 decide",
        "": f"{rule} is a {framework} rule, which the other frameworks cannot run",
    }


def _as_numpy(value: Any) -> Any:
    """A torch tensor or jax array as a NumPy array (bfloat16 as ``ml_dtypes.bfloat16``, exact); anything else as it is."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            import ml_dtypes

            return value.float().numpy().astype(ml_dtypes.bfloat16)
        return value.numpy()
    if type(value).__module__.startswith("jax") and hasattr(value, "dtype"):  # a jax array
        return np.asarray(value)
    return value


def _numpy_dtype(tensor: Any) -> np.dtype:
    return np.dtype(str(tensor.dtype).removeprefix("torch."))


def _numpy_tree(value: Any, root: str = "out") -> Any:
    """Tensors and jax arrays anywhere in a pytree (tuples, lists, dicts) as NumPy arrays."""
    return trees.map_leaves(value, lambda _, leaf: _as_numpy(leaf), root)


def _promoted(args: tuple, names: list[str], promote: bool, who: str) -> tuple[tuple, str]:
    """The arguments as NumPy arrays (tensors and jax arrays converted, in any pytree),
    float64 when ``promote``; and the note naming what was promoted."""
    promoted = []

    def convert(path: str, leaf: Any) -> Any:
        leaf = _as_numpy(leaf)
        if isinstance(leaf, np.ndarray) and leaf.dtype.name == "bfloat16":
            if not promote:  # run as float32, it would be reported as a float32 rule: refused instead
                raise TypeError(f"argument {path} of {who} is bfloat16, which a custom rule is not run in here: pass promote=True to check the rule in float64")
            promoted.append(f"{path}: bfloat16")
            return leaf.astype(np.float64)
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f":
            if leaf.dtype == np.float16 and not promote:
                raise TypeError(f"argument {path} of {who} is float16, which has no tolerance here: pass promote=True to check the rule in float64")
            if promote and leaf.dtype != np.float64:
                promoted.append(f"{path}: {leaf.dtype}")
                leaf = leaf.astype(np.float64)
        return leaf

    converted = tuple(trees.map_leaves(a, convert, name) for a, name in zip(args, names))
    note = f"inputs promoted to float64 ({', '.join(promoted)}): the rule is checked in float64" if promoted else ""
    return converted, note


def _check_promote(promote: object) -> bool:
    if not isinstance(promote, bool):
        raise TypeError(f"promote must be True or False; got {promote!r}")
    return promote


# --- torch.autograd.Function ----------------------------------------------------------------


def check_torch_function(
    function: Any,
    *args: Any,
    cotangent: Any = None,
    cotangents: int = 2,
    argnums: int | tuple[int, ...] | None = None,
    seed: int = 0,
    oracles: Sequence[str] | None = None,
    promote: bool = True,
    implementation: str | None = None,
    properties: bool | Sequence[str] = True,
    nondet_tol: float = 0.0,
    batch: dict[str, int] | None = None,
) -> Verdict:
    """Judge the backward of ``function`` (a ``torch.autograd.Function``
    subclass) at ``args`` against numerical derivatives of its forward.

    The product under test: ``torch.autograd.grad(function.apply(*args),
    inputs, grad_outputs=cotangent)`` for the differentiated inputs
    (``argnums``; default every float array); an input whose gradient the
    backward returns as None counts as a zero gradient.  ``function.apply``
    may return a tensor or a tuple of them."""
    import torch

    if not (isinstance(function, type) and issubclass(function, torch.autograd.Function)):
        raise TypeError(f"function must be a torch.autograd.Function subclass; got {function!r:.80}")
    options = Options(oracles=oracles, seed=seed, implementation=implementation, properties=properties, nondet_tol=nondet_tol)
    promote = _check_promote(promote)
    name = options.named(f"{function.__name__}.backward")
    names = argument_names(function.forward, len(args) + 1)  # forward(ctx, x, w), or forward(x, w) with setup_context
    names = names[1:] if names[0] == "ctx" else argument_names(function.forward, len(args))
    devices = {str(a.device) for a in args if isinstance(a, torch.Tensor)}
    if len(devices) > 1:
        raise ValueError(f"the tensors given to check_torch_function are on different devices ({', '.join(sorted(devices))}): put them on one")
    device = devices.pop() if devices else "cpu"  # the Function runs where its tensors are (a CUDA-only kernel on CUDA)
    arrays, note = _promoted(args, names, promote, "check_torch_function")
    chosen, _ = arguments.choose_argnums(argnums, arrays, names)
    if device != "cpu":
        note = "; ".join(n for n in (note, f"{function.__name__} ran on {device}; the numerical oracles' evaluations too") if n)

    def tensors(values: tuple, grad: Sequence[int] = ()) -> list:
        return [torch.tensor(a, requires_grad=n in grad, device=device) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                else (torch.from_numpy(a.copy()).to(device) if isinstance(a, np.ndarray) else a) for n, a in enumerate(values)]

    def forward_pass(*values) -> tuple[Any, Any]:
        inputs = tensors(values, chosen)
        with torch.enable_grad():
            out = function.apply(*inputs)
        return _numpy_tree(out), (inputs, out)

    def backward_pass(c, cache) -> tuple:
        """torch.autograd.grad through the graph of one forward pass, kept for another call (as gradcheck's
        reentrancy check); dout shares memory with the tensors given, so a write into grad_output shows."""
        inputs, out = cache
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        cs = list(c) if isinstance(c, (tuple, list)) else [c]
        pairs = [(o, _tensor_of(ci, o.dtype)) for o, ci in zip(outs, cs) if isinstance(o, torch.Tensor) and o.requires_grad]
        wanted = [inputs[n] for n in chosen]
        try:
            grads = torch.autograd.grad([o for o, _ in pairs], wanted, [ci for _, ci in pairs], allow_unused=True, retain_graph=True) if pairs else [None] * len(wanted)
        except RuntimeError as error:  # the rule's own failure: the wrong number or shape of gradients
            raise ValueError(f"{function.__name__}.backward failed under torch.autograd: {describe(error)}") from error
        return tuple(np.zeros(w.shape, dtype=_numpy_dtype(w)) if g is None else _as_numpy(g) for w, g in zip(wanted, grads))

    def _tensor_of(values: np.ndarray, dtype) -> Any:
        tensor = torch.from_numpy(values) if isinstance(values, np.ndarray) and values.flags.writeable else torch.as_tensor(values)
        return tensor.to(device=device, dtype=dtype)

    forms = Forms(lambda *values: forward_pass(*values)[0], {}, _reasons(f"{function.__name__}.apply", "torch"))
    verdict = _check_vjp(
        forms, lambda c, *values: backward_pass(c, forward_pass(*values)[1]), arrays,
        dataclasses.replace(options, implementation=name),
        cotangent=None if cotangent is None else _numpy_tree(cotangent, "cotangent"), cotangents=cotangents, argnums=chosen, names=names,
        words=("check_torch_function", f"{function.__name__}.forward", f"{function.__name__}.backward"),
        pass_of=lambda vjp_name, like, single: Pass(forward_pass, backward_pass, lambda raw, a: arguments.returned(raw, like(a), single, vjp_name),
                                                    (f"{function.__name__}.forward", f"{function.__name__}.backward", "its saved tensors"), "grad_output"),
        batch=batch,
    )
    return _noted(verdict, note)


assert_torch_function = asserting(check_torch_function)


def _noted(verdict: Verdict, note: str) -> Verdict:
    import dataclasses

    return dataclasses.replace(verdict, note="; ".join(n for n in (verdict.note, note) if n)) if note else verdict


# --- jax.custom_vjp -----------------------------------------------------------------------------


def check_custom_vjp(
    fn: Any,
    *args: Any,
    cotangent: Any = None,
    cotangents: int = 2,
    argnums: int | tuple[int, ...] | None = None,
    seed: int = 0,
    oracles: Sequence[str] | None = None,
    promote: bool = True,
    implementation: str | None = None,
    properties: bool | Sequence[str] = True,
    nondet_tol: float = 0.0,
    batch: dict[str, int] | None = None,
) -> Verdict:
    """Judge the bwd rule of ``fn`` (a ``jax.custom_vjp`` function) at
    ``args`` against numerical derivatives of its primal: the product under
    test is ``jax.vjp(fn, *args)[1](cotangent)``, with x64 on while it runs
    (and the caller's setting restored)."""
    import jax

    from backprop_reference.reference.precision import jax_float64

    if not isinstance(fn, jax.custom_vjp):
        raise TypeError(f"fn must be a jax.custom_vjp function; got {fn!r:.80}")
    check_callable(fn, "fn")
    options = Options(oracles=oracles, seed=seed, implementation=implementation, properties=properties, nondet_tol=nondet_tol)
    promote = _check_promote(promote)
    name = options.named(f"{getattr(fn, '__name__', 'custom_vjp')} bwd")
    names = argument_names(fn.fun, len(args))
    arrays, note = _promoted(args, names, promote, "check_custom_vjp")
    chosen, _ = arguments.choose_argnums(argnums, arrays, names)
    tree_map = jax.tree_util.tree_map

    def forward_pass(*values) -> tuple[Any, Any]:
        with jax_float64():
            def partial(*moved):
                full = list(values)
                for n, m in zip(chosen, moved):
                    full[n] = m
                return fn(*full)

            out, pullback = jax.vjp(partial, *(tree_map(jax.numpy.asarray, values[n]) for n in chosen))
            return _numpy_tree(out), pullback

    def backward_pass(c, pullback) -> tuple:
        with jax_float64():
            try:
                grads = pullback(tree_map(jax.numpy.asarray, c))
            except (TypeError, ValueError) as error:  # the rule's own failure: the wrong number, structure or shape of gradients
                raise ValueError(f"the bwd rule of {getattr(fn, '__name__', 'the custom_vjp')} failed under jax.vjp: {describe(error)}") from error
            return tuple(tree_map(np.asarray, g) for g in grads)

    def primal(*values) -> Any:
        with jax_float64():
            return _numpy_tree(fn(*values))  # calling the function runs its primal, never fwd or bwd

    forms = Forms(primal, {}, _reasons("the custom_vjp function", "jax"))
    verdict = _check_vjp(
        forms, lambda c, *values: backward_pass(c, forward_pass(*values)[1]), arrays,
        dataclasses.replace(options, implementation=name),
        cotangent=None if cotangent is None else _numpy_tree(cotangent, "cotangent"), cotangents=cotangents, argnums=chosen, names=names,
        words=("check_custom_vjp", "the primal", "bwd"),
        pass_of=lambda vjp_name, like, single: Pass(forward_pass, backward_pass, lambda raw, a: arguments.returned(raw, like(a), single, vjp_name),
                                                    ("jax.vjp's forward", "bwd", "its residuals"), "g"),
        batch=batch,
    )
    return _noted(verdict, note)


assert_custom_vjp = asserting(check_custom_vjp)


# --- jax.custom_jvp -----------------------------------------------------------------------------


def check_custom_jvp(
    fn: Any,
    *args: Any,
    tangent: Any = None,
    tangents: int = 2,
    argnums: int | tuple[int, ...] | None = None,
    seed: int = 0,
    oracles: Sequence[str] | None = None,
    promote: bool = True,
    implementation: str | None = None,
) -> Verdict:
    """Judge the jvp rule of ``fn`` (a ``jax.custom_jvp`` function: ``jax.nn.relu``,
    ``jax.nn.softplus``-style rules, most of ``jax.nn``) at ``args`` against numerical
    derivatives of its primal: the product under test is ``jax.jvp(fn, args,
    tangents)[1]`` — the rule's tangent output — with x64 on while it runs (the
    caller's setting restored).  The primal is ``fn`` called directly, which never
    runs the rule; jax, torch and the complex step are listed as skipped, with that
    reason.  At a kink (relu at 0) the rule's value is judged by the one-sided
    derivatives the numerical oracles find there.  ``args`` may be jax arrays or
    NumPy arrays; float32 and float16 inputs are promoted to float64 unless
    ``promote=False`` (as ``check_custom_vjp``).  ``tangent``/``tangents``/``argnums``
    as ``check_jvp``."""
    import jax

    from backprop_reference.reference.precision import jax_float64

    if not isinstance(fn, jax.custom_jvp):
        kind = "a jax.custom_vjp function: check it with check_custom_vjp" if isinstance(fn, jax.custom_vjp) else repr(fn)[:80]
        raise TypeError(f"fn must be a jax.custom_jvp function; got {kind}")
    options = Options(oracles=oracles, seed=seed, implementation=implementation)
    promote = _check_promote(promote)
    name = options.named(f"{getattr(fn, '__name__', 'custom_jvp')} jvp rule")
    names = argument_names(fn.fun, len(args))
    arrays, note = _promoted(args, names, promote, "check_custom_jvp")
    chosen, single = arguments.choose_argnums(argnums, arrays, names)
    tree_map = jax.tree_util.tree_map

    def rule(t, *values) -> Any:
        with jax_float64():
            moved = (t,) if single else tuple(t)
            primals = tuple(tree_map(jax.numpy.asarray, values[n]) for n in chosen)
            tangents_ = tuple(tree_map(lambda leaf, p: jax.numpy.asarray(leaf, dtype=p.dtype), m, p) for m, p in zip(moved, primals))

            def partial(*inputs):
                full = list(values)
                for n, value in zip(chosen, inputs):
                    full[n] = value
                return fn(*full)

            try:
                _, out = jax.jvp(partial, primals, tangents_)
            except (TypeError, ValueError) as error:  # the rule's own failure: a tangent of the wrong structure or shape
                raise ValueError(f"the jvp rule of {getattr(fn, '__name__', 'the custom_jvp')} failed under jax.jvp: {describe(error)}") from error
            return _numpy_tree(out)

    def primal(*values) -> Any:
        with jax_float64():
            return _numpy_tree(fn(*values))  # calling the function runs its primal, never the rule

    from backprop_reference.oracles.checks.products import _check_jvp

    forms = Forms(primal, {}, _reasons("the custom_jvp function", "jax"))
    verdict = _check_jvp(forms, rule, arrays, dataclasses.replace(options, implementation=name), tangent=None if tangent is None else _numpy_tree(tangent, "tangent"),
                         tangents=tangents, argnums=chosen if not single else chosen[0], names=names, native=None, who="check_custom_jvp",
                         derivative=name)
    return _noted(verdict, note)


assert_custom_jvp = asserting(check_custom_jvp)
