"""Check a layer's hand-written backward pass, in the convention of CS231n's ``layers.py``:

    out, cache = forward(*args)
    grads = backward(dout, cache)      # one gradient for one differentiated argument, else a tuple in argument order

    oracles.check_layer(affine_forward, affine_backward, x, w, b)

The backward pass is a vector–Jacobian product: ``backward(dout, cache)`` is
∂⟨dout, out⟩/∂args.  ``check_layer`` is ``check_vjp`` with f = the forward
pass's output and the product = the backward pass on that call's cache, so
every oracle and every kink rule of ``check_vjp`` applies: a plain NumPy
forward is judged by Richardson and central differences (with relu's zeros
and max-pool's ties judged by their one-sided derivatives); a forward written
against ``xp`` — ``forward(x, w, b, xp)`` — by jax, torch and the complex step as well.

Arguments that are not float arrays (a ``conv_param`` dict, integer labels,
a mode string) are data: passed as they are, a fresh deep copy for every
call, so a forward pass that updates them (batchnorm's running averages)
cannot change what the next call sees.

Layers written as objects — ``layer.forward(x)`` caching what it needs,
``layer.backward(dout)`` returning dx and storing parameter gradients —
go through ``object_layer``, which gives the two functions above: each
forward call runs on a fresh deep copy of the layer (its state, and a random
generator it holds, as they were at the start), and the global NumPy random
state can be seeded for each call and restored after (``numpy_seed``).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import numpy as np

from backprop_reference.oracles.checks import tensors
from backprop_reference.oracles.checks.arguments import returned
from backprop_reference.oracles.checks.options import Options
from backprop_reference.oracles.engine.comparison import asserting
from backprop_reference.oracles.checks.products import _check_vjp
from backprop_reference.oracles.engine.problems import Forms, argument_names, check_callable, takes_xp
from backprop_reference.oracles.checks.properties import Pass
from backprop_reference.oracles.engine.verdict import Verdict


def _forms(forward: Callable) -> Forms:
    """f = the forward pass's output, in every framework where ``forward`` takes ``xp``."""
    if takes_xp(forward):
        return Forms(lambda *args: _output(forward(*args, xp=np)), lambda framework: lambda *args: _output(forward(*args, xp=framework.xp)))
    return Forms(
        lambda *args: _output(forward(*args)), {},
        "forward takes no xp argument, so it cannot be traced or run on complex inputs (write forward(x, …, xp) against xp)",
    )


def _output(result: Any) -> Any:
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"forward must return (out, cache); got {type(result).__name__}{f' of length {len(result)}' if isinstance(result, tuple) else ''}")
    return result[0]


def check_layer(
    forward: Callable,
    backward: Callable,
    *args: Any,
    cotangent: Any = None,
    cotangents: int = 2,
    argnums: int | tuple[int, ...] | None = None,
    seed: int = 0,
    oracles: Sequence[str] | None = None,
    implementation: str | None = None,
    properties: bool | Sequence[str] = True,
    nondet_tol: float = 0.0,
    batch: dict[str, int] | None = None,
    k: float = 2.0,
    atol: float | None = None,
    rtol: float | None = None,
) -> Verdict:
    """Judge ``backward`` — ``grads = backward(dout, cache)`` with
    ``out, cache = forward(*args)`` — against every applicable oracle.

    ``argnums``: the differentiated arguments (default: every float array or
    pytree of them), whose gradients ``backward`` returns in that order (one
    gradient when there is one).  ``cotangent``: one ``dout``, shaped like
    ``out``; without it, ``cotangents`` are drawn from ``seed``.  Elements are
    named by the forward pass's parameter names (``w[0, 2] @ cotangent 1``).
    ``properties``, ``nondet_tol``, ``batch``: what else the backward pass must
    satisfy (``oracles.checks.properties``: repeatable, linear in dout, leaves x, dout
    and the cache untouched, each gradient in its argument's dtype, and — with
    ``batch={"x": 0}`` — per-sample passes summing to the batched one).

    ``args`` may be torch tensors or jax arrays: ``forward`` and ``backward`` then
    run on them in their dtype and on their device (``oracles.checks.tensors``), the
    oracles on float64 copies, and a bfloat16, float16 or float32 result is judged
    to its precision (``k``, ``atol``, ``rtol``: ``oracles.check_gradient``)."""
    options = Options(oracles=oracles, seed=seed, implementation=implementation, properties=properties, nondet_tol=nondet_tol, k=k, atol=atol, rtol=rtol)
    check_callable(forward, "forward")
    check_callable(backward, "backward")
    names = argument_names(forward, len(args))
    native = tensors.intake(args, names, "check_layer", argnums=argnums)
    if native is not None:
        return _native_layer(native, forward, backward, args, options, cotangent, cotangents, argnums, names, batch)

    def forward_(*arguments):
        return forward(*arguments, **({"xp": np} if takes_xp(forward) else {}))

    def vjp(dout, *arguments):
        return backward(dout, forward_(*arguments)[1])

    def pass_of(name: str, like, single) -> Pass:
        return Pass(forward_, backward, lambda raw, a: returned(raw, like(a), single, name), ("forward", "backward", "the cache"))

    return _check_vjp(
        _forms(forward), vjp, args, options, cotangent=cotangent, cotangents=cotangents, argnums=argnums,
        names=argument_names(forward, len(args)), words=("check_layer", "forward", "backward"), pass_of=pass_of, batch=batch,
    )


assert_layer = asserting(check_layer)


def _native_layer(native: tensors.Native, forward: Callable, backward: Callable, args: tuple, options: Options, cotangent: Any,
                  cotangents: int, argnums: Any, names: Sequence[str], batch: dict[str, int] | None) -> Verdict:
    """``check_layer`` on the user's tensors: forward and backward on them, the oracles on float64 copies."""
    forward_ = native.calls(forward)  # the user's forward on their own arrays (dtype, device)

    def backward_(dout, cache):
        return native.read(native.calls(lambda d: backward(d, cache), lead=lead)(dout))

    def vjp(dout, *arrays):
        return backward_(dout, forward_(*arrays)[1])

    def pass_of(name: str, like, single) -> Pass:
        return Pass(forward_, backward_, lambda raw, a: returned(raw, like(a), single, name), ("forward", "backward", "the cache"))

    lead = native.evaluate(lambda *tensors_: _output(forward(*tensors_)))
    forms = native.forms(lambda *tensors_: _output(forward(*tensors_)), name="forward")
    return _check_vjp(
        forms, vjp, native.arrays, options, cotangent=cotangent, cotangents=cotangents, argnums=argnums,
        names=names, words=("check_layer", "forward", "backward"), pass_of=pass_of, batch=batch, native=native,
    )


def object_layer(
    layer: Any,
    *,
    parameters: Sequence[str] = (),
    gradients: Sequence[str] | None = None,
    forward: str = "forward",
    backward: str = "backward",
    numpy_seed: int | None = None,
) -> tuple[Callable, Callable]:
    """``(forward, backward)`` in the ``check_layer`` convention for an object
    layer: ``layer.forward(x)`` → out, ``layer.backward(dout)`` → dx (method
    names in ``forward``/``backward``).

    ``parameters``: attribute names of arrays to differentiate too
    (``("W", "b")``); the returned forward takes them after x —
    ``forward(x, W, b)`` — and sets them on the copy; ``gradients``: the
    attributes where ``backward`` leaves their gradients (default ``dW``,
    ``db``: "d" + the name); backward then returns ``(dx, dW, db)``.

    Every forward call runs on a fresh ``copy.deepcopy`` of ``layer``: its
    caches, running statistics and any random generator it holds start as
    they were.  ``numpy_seed``: for layers drawing from NumPy's global random
    state (``np.random.rand``), the state is seeded with it for each forward
    call and restored afterwards, so each call draws the same mask."""
    if not hasattr(layer, forward) or not callable(getattr(layer, forward)):
        raise TypeError(f"layer must have a method {forward!r}; {type(layer).__name__} has none")
    if not hasattr(layer, backward) or not callable(getattr(layer, backward)):
        raise TypeError(f"layer must have a method {backward!r}; {type(layer).__name__} has none")
    if isinstance(parameters, str) or not all(isinstance(p, str) for p in parameters):
        raise TypeError(f"parameters must be a sequence of attribute names; got {parameters!r}")
    for name in parameters:
        if tensors.framework_of(getattr(layer, name, None)) is None:
            raise TypeError(f"layer.{name} must be an array (NumPy, torch or jax) to be differentiated; got {type(getattr(layer, name, None)).__name__}")
    gradients = tuple(gradients) if gradients is not None else tuple(f"d{name}" for name in parameters)
    if len(gradients) != len(parameters):
        raise ValueError(f"gradients must name one attribute per parameter ({len(parameters)}); got {gradients!r}")
    if numpy_seed is not None and (isinstance(numpy_seed, bool) or not isinstance(numpy_seed, int)):
        raise TypeError(f"numpy_seed must be None or an int; got {numpy_seed!r}")

    def forward_(x, *values):
        if len(values) != len(parameters):
            raise TypeError(
                f"this layer's forward takes x and its parameters ({', '.join(parameters) or 'none'}), in that order: "
                f"pass them to check_layer after x; got {len(values)} after x"
            )
        fresh = copy.deepcopy(layer)
        for name, value in zip(parameters, values):
            setattr(fresh, name, value)
        saved = np.random.get_state() if numpy_seed is not None else None
        try:
            if numpy_seed is not None:
                np.random.seed(numpy_seed)
            out = getattr(fresh, forward)(x)
        finally:
            if saved is not None:
                np.random.set_state(saved)
        return out, fresh

    def backward_(dout, fresh):
        dx = getattr(fresh, backward)(dout)
        if not parameters:
            return dx
        missing = [name for name in gradients if not hasattr(fresh, name)]
        if missing:
            raise ValueError(
                f"layer.{backward} left no attribute {', '.join(map(repr, missing))}: name where it stores the parameters' "
                f"gradients with gradients=(…) (one per parameter, in order: {', '.join(parameters)})"
            )
        return (dx, *(getattr(fresh, name) for name in gradients))

    forward_.__signature__ = _signature(("x", *parameters))  # elements named x[…], W[…]
    return forward_, backward_


def _signature(names: Sequence[str]):
    import inspect

    return inspect.Signature([inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names])
