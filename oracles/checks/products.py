"""Check any hand-written derivative, not only the gradient of a scalar function:

    check_vjp(f, vjp, *args)            # vjp(cotangent, *args) = ∂⟨cotangent, f(args)⟩/∂args
    check_jvp(f, jvp, *args)            # jvp(tangent, *args)   = d/dt f(args + t·tangent) at t = 0
    check_jacobian(f, jacobian, *args)  # jacobian(*args)       = ∂f/∂args, shaped f(args).shape + arg.shape
    check_hvp(f, hvp, x)                # hvp(v, x)             = ∇²f(x) v, for a scalar f

All run on the one engine (``oracles.checks.judge_problem``): each product is a
problem (``oracles.engine.problems``) that every oracle answers its own way — a
vector–Jacobian product is the gradient of ⟨cotangent, f⟩ (``jax.vjp``'s
reverse mode, ``torch.autograd.grad`` with the cotangent, numerical
derivatives of the contraction); a Jacobian–vector product is a derivative
along a line (``jax.jvp``, ``torch.func.jvp``, the stencils along the tangent,
every output at once); a Hessian–vector product is the Jacobian–vector
product of the gradient (``jax.jvp`` of ``jax.grad``, ``torch.func.jvp`` of
``torch.func.grad``, and differences of the exact gradient along v).  Each
returns one ``Verdict``.

Where no cotangent or tangent is given, ``cotangents``/``tangents`` of them
are drawn (standard Gaussian, from ``seed``) and each element is named with the
one it was found by (``x[3, 1] @ cotangent 2``).  One random direction finds
any error of a linear map with probability one; a second one guards against a
derivative that is right only along the first.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np

from backprop_reference.oracles.checks import arguments, tensors
from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.checks.options import Options
from backprop_reference.oracles.engine.judge import judge_problem
from backprop_reference.oracles.engine.comparison import asserting
from backprop_reference.oracles.methods.frameworks import Framework, OracleCannotRun
from backprop_reference.oracles.checks.properties import Pass, Subject, check_batch, check_batch_outputs, vanished
from backprop_reference.oracles.checks.properties import run as run_properties
from backprop_reference.oracles.engine.problems import Forms, FunctionProblem, JacobianProblem, TangentProblem, check_callable, copied, scalar_at_x, takes_xp
from backprop_reference.oracles.methods.numerical.complex_safe import COMPLEX_SAFE
from backprop_reference.oracles.methods.registry import ORACLES
from backprop_reference.oracles.engine.verdict import Verdict, joined


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return value


def _copies(args: tuple) -> tuple:
    """Fresh copies of the caller's arguments, as their own functions receive them (arrays copied,
    anything else deep-copied: a forward pass that updates its settings cannot change the caller's)."""
    return tuple(trees.map_leaves(a, lambda _, leaf: copied(leaf), "a") for a in args)


def _call(fn: Callable, *args) -> Any:
    return fn(*args, xp=np) if takes_xp(fn) else fn(*args)


def _dtype(ours: Sequence[np.ndarray], args: tuple, argnums: tuple[int, ...]) -> tuple[np.dtype, str]:
    """float32 when the derivative or a differentiated input is float32 (judged with float32 tolerances), and the note."""
    inputs32 = any(isinstance(leaf, np.ndarray) and leaf.dtype == np.float32 for n in argnums for _, leaf in trees.leaves(args[n], "a"))
    if inputs32:
        return np.dtype(np.float32), "float32 inputs evaluated by every oracle on float64 copies; judged with float32 tolerances"
    if any(g.dtype == np.float32 for g in ours):
        return np.dtype(np.float32), "float32 gradients for float64 inputs: judged with float32 tolerances (see the dtypes property)"
    return np.dtype(np.float64), ""


class Prepared:
    """What every product check needs, checked before any work: the forms of f,
    the arguments and their names, the differentiated ones, the oracles, and
    f's value at the point (float64, and in the caller's dtypes)."""

    def __init__(self, f: Callable | Forms, args: tuple, names: Sequence[str] | None, argnums: Any, options: Options, derivative: str,
                 who: str, f_name: str = "f", native: tensors.Native | None = None):
        if not isinstance(f, Forms):
            check_callable(f, "f")
        if not args:
            raise ValueError(f"{who} needs the arguments of {f_name} after the derivative: {who}({f_name}, derivative, x, …)")
        self.forms = f if isinstance(f, Forms) else Forms.of(f)
        self.args = args
        self.names = list(names) if names is not None else arguments.roots(f, len(args))
        self.argnums, self.single = arguments.choose_argnums(argnums, args, self.names)
        arguments.check_leaves(args, self.names, self.argnums)
        self.oracles = options.oracles
        self.implementation = options.named(derivative)
        self.seed = options.seed
        self.point = FunctionProblem(self.forms, args, self.names, self.argnums)  # float64 copies
        self.output = arguments.evaluated(self.forms.numpy(*self.point.fresh()), f_name)
        self.output_as_given = arguments.evaluated(self.forms.numpy(*_copies(args)), f_name)
        again = arguments.evaluated(self.forms.numpy(*self.point.fresh()), f_name)
        self.note = "" if _same(self.output, again) else (
            f"{f_name} returned different values for the same inputs (a random draw? seed it, e.g. object_layer(…, numpy_seed=0)): "
            "its derivatives are not defined, and the numerical oracles cannot resolve them"
        )
        self.native = native
        self.precision = None if native is None else native.precision(
            self.forms, self.argnums, k=options.k, atol=options.atol, rtol=options.rtol, derivative=self.implementation)

    def like_arguments(self) -> list[tuple[Any, str]]:
        return [(self.point.args[n], self.names[n]) for n in self.argnums]

    def probes(self, given: Any, count: int, structure: Any, root: str, what: str) -> list[Any]:
        if given is not None and self.native is not None:  # a cotangent or tangent given as the user's arrays
            given = self.native.read_value(given)
        if given is not None:
            return [arguments.given(given, structure, root, what)]
        return arguments.drawn(structure, _check_count(count, f"{what}s"), self.seed, root)

    def judged(self, problem, ours: list[np.ndarray]) -> Verdict:
        dtype, note = _dtype(ours, self.args, self.argnums)
        if self.native is not None:  # the precision rule, or (float64 tensors) what ran where
            dtype = np.dtype(np.float64) if self.precision is not None else np.dtype(self.native.dtype(self.argnums))
            note = "" if self.precision is not None else self.native.note(self.implementation)
        note = "; ".join(n for n in (self.note, note) if n)
        return judge_problem(problem, ours, self.oracles, implementation=self.implementation, dtype=dtype, note=note, precision=self.precision)

    def rounded(self, probe: Any, lead: Any, root: str) -> Any:
        """A drawn probe as the user's derivative receives it (rounded to the dtypes of ``lead``'s leaves), in float64:
        the oracles differentiate at exactly the cotangent or tangent the user's derivative sees."""
        return probe if self.native is None else self.native.rounded(probe, lead, root)


def _same(first: Any, second: Any) -> bool:
    """Two evaluations of f, leaf by leaf, bitwise."""
    return all(np.array_equal(a, b) for (_, a), (_, b) in zip(trees.leaves(first, "out"), trees.leaves(second, "out")))


def _as_dtype_of(probe: Any, like: Any, root: str) -> Any:
    """A probe in the dtypes of the values it stands beside (float32 outputs get a float32 cotangent)."""
    leaves = [leaf for _, leaf in trees.leaves(like, root) if leaf is not None]
    remaining = iter(leaves)
    return trees.map_leaves(probe, lambda _, leaf: leaf.astype(np.asarray(next(remaining)).dtype), root)


def _drawn_note(given: Any, count: int, seed: int, what: str) -> str:
    return "" if given is not None else f"{count} {what}s drawn (standard Gaussian, seed {seed})"


# --- vector–Jacobian products -------------------------------------------------------------------


def check_vjp(
    f: Callable,
    vjp: Callable,
    *args: Any,
    cotangent: Any = None,
    cotangents: int = 2,
    argnums: int | tuple[int, ...] | None = None,
    seed: int = 0,
    oracles: Sequence[str] | None = None,
    implementation: str | None = None,
    names: Sequence[str] | None = None,
    properties: bool | Sequence[str] = True,
    nondet_tol: float = 0.0,
    batch: dict[str, int] | None = None,
    k: float = 2.0,
    atol: float | None = None,
    rtol: float | None = None,
) -> Verdict:
    """Judge the hand-written vector–Jacobian product ``vjp`` of ``f`` at ``args``.

    ``f(*args)`` returns an array or a pytree of arrays (written against
    ``xp`` — ``f(*args, xp)`` — or plain NumPy, as for ``check_gradient``);
    ``vjp(cotangent, *args)`` returns ∂⟨cotangent, f(args)⟩/∂a for each
    differentiated argument a: one gradient when one argument is
    differentiated (an array's may come as a 1-tuple, as ``jax.vjp`` returns),
    else a tuple in argument order, each shaped like its argument (dicts as dicts).
    ``argnums``: which arguments are differentiated (default: every argument
    that is a float array or a pytree of them; integer labels, settings dicts
    and other data are passed as they are, a fresh copy each call).
    ``cotangent``: shaped like f's output; without it, ``cotangents`` are drawn
    from ``seed``.  ``names``: the arguments' names in the verdict (default:
    f's parameter names).  ``properties``: which of ``oracles.checks.properties``
    (repeatable, linear, untouched, dtypes, batch) are checked too — all by
    default, ``False`` for none; ``nondet_tol``: the run-to-run difference
    allowed, relative to the largest gradient element (0: bitwise);
    ``batch``: ``{"x": 0}``, the batch axis of the batched arguments (every
    output's is its first), for the batch property.  ``args`` may be torch
    tensors or jax arrays (f and vjp then take them, in their dtype and on their
    device); a low-precision result is judged to its precision (``k``, ``atol``,
    ``rtol``: ``oracles.check_gradient``)."""
    def pass_of(vjp_name: str, like, single) -> Pass:
        return Pass(
            lambda *a: (_call_f(f, *a), a), lambda c, cache: _call(vjp, c, *cache),
            lambda raw, a: arguments.returned(raw, like(a), single, vjp_name), ("f", "vjp", "its arguments"),
        )

    options = Options(oracles=oracles, seed=seed, implementation=implementation, properties=properties, nondet_tol=nondet_tol, k=k, atol=atol, rtol=rtol)
    check_callable(f, "f")
    check_callable(vjp, "vjp")
    native = tensors.intake(args, list(names) if names is not None else arguments.roots(f, len(args)), "check_vjp", argnums=argnums)
    if native is not None:
        names = native.names
        f, vjp, args = native.forms(f), native.calling(vjp, native.evaluate(f), "out"), native.arrays
    return _check_vjp(f, vjp, args, options, cotangent=cotangent, cotangents=cotangents, argnums=argnums, names=names,
                      words=("check_vjp", "f", "vjp"), pass_of=pass_of, batch=batch, native=native)


def _call_f(f: Callable | Forms, *args) -> Any:
    return f.numpy(*args) if isinstance(f, Forms) else _call(f, *args)


def _check_vjp(
    f, vjp, args: tuple, options: Options, *, cotangent: Any, cotangents: int, argnums: Any, names: Sequence[str] | None,
    words: tuple[str, str, str], pass_of: Callable[[str, Callable[[tuple], list], bool], Pass], batch: dict[str, int] | None,
    native: tensors.Native | None = None,
) -> Verdict:
    """``check_vjp`` on a validated ``options`` record, with the words its messages use for the
    check, f and the product (``check_layer``'s are ``forward`` and ``backward``), and
    ``pass_of(name, like, single)``: the backward pass in the cache convention, for the
    properties (``like(args)``: what its gradients must mirror, for the arguments it ran on)."""
    who, f_name, vjp_name = words
    check_callable(vjp, vjp_name)
    chosen_properties, tolerance, seed, properties = options.chosen_properties, options.nondet_tol, options.seed, options.properties
    if batch is not None and "batch" not in chosen_properties:
        raise ValueError("batch= declares the batch axes for the batch property, which properties= leaves out")
    if batch is None and properties is not True and "batch" in chosen_properties:
        raise ValueError('properties= names "batch", which needs batch={"x": 0, …}: the batch axis of each batched argument')
    if batch is not None and args:  # checked before any work: the names and differentiated arguments, as Prepared finds them
        early_names = list(names) if names is not None else arguments.roots(f, len(args))
        check_batch(batch, early_names, arguments.choose_argnums(argnums, args, early_names)[0], args)
    prepared = Prepared(f, args, names, argnums, options, vjp_name, who, f_name, native=native)
    axes = check_batch(batch, prepared.names, prepared.argnums, args)
    check_batch_outputs(axes, args, prepared.output)
    lead = None if native is None else native.output
    probes = [prepared.rounded(c, lead, "out") for c in prepared.probes(cotangent, cotangents, prepared.output, "out", "cotangent")]
    like = prepared.like_arguments()

    def judged(k: int, c: Any, count: int) -> Verdict:
        problem = FunctionProblem(prepared.forms, args, prepared.names, prepared.argnums, cotangent=c, where=f"cotangent {k}" if count > 1 else "")
        result = _call(vjp, _as_dtype_of(c, prepared.output_as_given, "out"), *_copies(args))
        return prepared.judged(problem, arguments.returned(result, like, prepared.single, vjp_name))

    def drawn(k: int) -> Any:  # further cotangents, from another stream than the probes'
        probe = prepared.rounded(arguments.drawn(prepared.output, 1, seed + 7919 * (k + 1), "out")[0], lead, "out")
        return _as_dtype_of(probe, prepared.output_as_given, "out")

    verdicts = [judged(k, c, len(probes)) for k, c in enumerate(probes, start=1)]
    notes = [_drawn_note(cotangent, len(probes), seed, "cotangent")]
    random = _largest_per_leaf(arguments.returned(_call(vjp, drawn(0), *_copies(args)), like, prepared.single, vjp_name))
    trivial = vanished([v.comparisons for v in verdicts], random, prepared.point.paths)
    if trivial:  # the oracles' gradient of some argument is 0 for a probe: agreement there proves nothing
        extra = prepared.rounded(arguments.drawn(prepared.output, 1, seed + 104729, "out")[0], lead, "out")
        if len(probes) == 1:  # its elements were named without a probe: named again, "@ cotangent 1"
            verdicts = [judged(1, probes[0], 2)]
        verdicts.append(judged(len(probes) + 1, extra, len(probes) + 1))
        notes.append(
            f"the oracles' gradient vanishes for {'; '.join(trivial)} — agreement there proves nothing, so a drawn "
            f"cotangent {len(probes) + 1} was added"
        )
    verdict = joined(verdicts, "; ".join(n for n in notes if n))
    done = (lambda v: v) if native is None else native.finished
    if not chosen_properties or prepared.note:  # a forward that draws anew each call has no properties to speak of
        return done(verdict)
    subject = Subject(
        pass_of(vjp_name, lambda a: [(a[n], prepared.names[n]) for n in prepared.argnums], prepared.single), args, prepared.names, prepared.point.paths, prepared.argnums,
        _as_dtype_of(probes[0], prepared.output_as_given, "out"), drawn, _dtype([], args, prepared.argnums)[0], tolerance, axes,
        native=native, low=None if prepared.precision is None else prepared.precision.dtype,
    )
    return done(dataclasses.replace(verdict, properties=run_properties(chosen_properties, subject)))


def _largest_per_leaf(leaves: Sequence[np.ndarray]) -> list[float]:
    return [float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0)) for a in (np.asarray(l, np.float64) for l in leaves)]


assert_vjp = asserting(check_vjp)


# --- Jacobian–vector products -------------------------------------------------------------------


def check_jvp(
    f: Callable,
    jvp: Callable,
    *args: Any,
    tangent: Any = None,
    tangents: int = 2,
    argnums: int | tuple[int, ...] | None = None,
    seed: int = 0,
    oracles: Sequence[str] | None = None,
    implementation: str | None = None,
    k: float = 2.0,
    atol: float | None = None,
    rtol: float | None = None,
) -> Verdict:
    """Judge the hand-written Jacobian–vector product ``jvp`` of ``f`` at ``args``.

    ``jvp(tangent, *args)`` returns d/dt f(args with each differentiated
    argument a at a + t·tangent_a) at t = 0, shaped like f's output (named
    ``out`` in the verdict: ``out[3]``, ``out[1][0, 2]``).  ``tangent``: one
    array (or pytree) shaped like the differentiated argument, or a tuple of
    them in argument order when several are; without it, ``tangents`` are
    drawn from ``seed``.  Conventions for f and ``argnums`` — and torch
    tensors, jax arrays, low precision (``k``, ``atol``, ``rtol``) — as ``check_vjp``."""
    options = Options(oracles=oracles, seed=seed, implementation=implementation, k=k, atol=atol, rtol=rtol)
    check_callable(f, "f")
    check_callable(jvp, "jvp")
    names = arguments.roots(f, len(args)) if args else []
    native = tensors.intake(args, names, "check_jvp", argnums=argnums)
    if native is not None:
        f, args = native.forms(f), native.arrays
    return _check_jvp(f, jvp, args, options, tangent=tangent, tangents=tangents, argnums=argnums, names=names, native=native, who="check_jvp")


def _check_jvp(f: Callable | Forms, jvp: Callable, args: tuple, options: Options, *, tangent: Any, tangents: int, argnums: Any,
               names: Sequence[str], native: tensors.Native | None, who: str, derivative: str = "jvp") -> Verdict:
    """``check_jvp`` on a validated ``options`` record and f's forms (``check_custom_jvp``'s primal)."""
    seed = options.seed
    prepared = Prepared(f, args, names, argnums, options, derivative, who, native=native)
    like = tuple(prepared.point.args[n] for n in prepared.argnums)
    structure = like[0] if prepared.single else like
    as_given = args[prepared.argnums[0]] if prepared.single else tuple(args[n] for n in prepared.argnums)
    root = prepared.names[prepared.argnums[0]] if prepared.single else "tangent"
    lead = None
    if native is not None:  # the tangent mirrors the differentiated arguments, as the user has them
        lead = native.originals[prepared.argnums[0]] if prepared.single else tuple(native.originals[n] for n in prepared.argnums)
        jvp = native.calling(jvp, lead, root)
    probes = [prepared.rounded(t, lead, root) for t in prepared.probes(tangent, tangents, structure, root, "tangent")]
    verdicts = []
    for k, t in enumerate(probes, start=1):
        leaves = [leaf for _, leaf in trees.leaves(t, root) if leaf is not None]
        problem = TangentProblem(
            prepared.forms, args, prepared.names, prepared.argnums, leaves, prepared.output, where=f"tangent {k}" if len(probes) > 1 else "",
        )
        result = _call(jvp, _as_dtype_of(t, as_given, root), *_copies(args))
        ours = arguments.returned(result, [(prepared.output, "out")], True, "jvp", against="f's output")
        verdicts.append(prepared.judged(problem, ours))
    verdict = joined(verdicts, _drawn_note(tangent, len(probes), seed, "tangent"))
    return verdict if native is None else native.finished(verdict)


assert_jvp = asserting(check_jvp)


def check_jacobian(
    f: Callable,
    jacobian: Callable,
    *args: Any,
    argnums: int | tuple[int, ...] | None = None,
    oracles: Sequence[str] | None = None,
    implementation: str | None = None,
    k: float = 2.0,
    atol: float | None = None,
    rtol: float | None = None,
) -> Verdict:
    """Judge the hand-written full Jacobian of a small ``f`` at ``args``.

    ``f(*args)`` returns one array; each differentiated argument is one array.
    ``jacobian(*args)`` returns ∂f/∂a shaped ``f(args).shape + a.shape`` (as
    ``jax.jacobian``), or a tuple of them in argument order when several
    arguments are differentiated.  Every oracle computes it one column per
    input element (a Jacobian–vector product along it), so the cost grows with
    the number of inputs: meant for small f; for large ones, ``check_vjp``.
    torch tensors and jax arrays as for ``check_vjp``."""
    options = Options(oracles=oracles, implementation=implementation, k=k, atol=atol, rtol=rtol)
    check_callable(f, "f")
    check_callable(jacobian, "jacobian")
    names = arguments.roots(f, len(args)) if args else []
    native = tensors.intake(args, names, "check_jacobian", argnums=argnums)
    if native is not None:
        f, jacobian, args = native.forms(f), native.calling(jacobian), native.arrays
    prepared = Prepared(f, args, names, argnums, options, "jacobian", "check_jacobian", native=native)
    if not isinstance(prepared.output, np.ndarray):
        raise TypeError(f"check_jacobian needs f to return one array; got {type(prepared.output).__name__} (check_jvp and check_vjp take pytrees)")
    for n in prepared.argnums:
        if not isinstance(args[n], np.ndarray):
            raise TypeError(f"check_jacobian differentiates array arguments; {prepared.names[n]} is a {type(args[n]).__name__} (check_vjp takes pytrees)")
    problem = JacobianProblem(prepared.forms, args, prepared.names, prepared.argnums, prepared.output, single=prepared.single)
    like = [(np.empty(shape), name) for shape, name in zip(problem.shapes, problem.layout.names)]
    result = _call(jacobian, *_copies(args))
    blocks = (result,) if prepared.single else (result if isinstance(result, (tuple, list)) else ())
    for block, n, shape in zip(blocks, prepared.argnums, problem.shapes):
        if isinstance(block, np.ndarray) and block.shape != shape:
            raise ValueError(
                f"jacobian must return ∂f/∂{prepared.names[n]} of shape f's output {np.shape(prepared.output)} + "
                f"{prepared.names[n]} {np.shape(args[n])} = {shape}; got shape {block.shape}"
            )
    ours = arguments.returned(result, like, prepared.single, "jacobian")
    verdict = prepared.judged(problem, ours)
    return verdict if native is None else native.finished(verdict)


assert_jacobian = asserting(check_jacobian)


# --- Hessian–vector products ----------------------------------------------------------------------


def _gradient_forms(f: Callable, names: Sequence[str], forms: Forms | None = None) -> Forms:
    """The forms of ∇f with respect to its one argument.  For an ``f(x, xp)``: in each
    framework that differentiates, its own gradient of f; in NumPy, the gradient by the
    first exact oracle that can run (the numerical oracles difference it along v).  For a
    plain ``f(x)``: in NumPy only, its Richardson gradient (the numerical oracles difference
    it along v: second differences)."""
    if forms is None:  # ``forms``: f on the user's tensors (``oracles.checks.tensors``), differentiated by their framework
        forms = Forms.of(f)
        if not takes_xp(f):
            return Forms(_second_differences(f, names), {}, PLAIN_HVP)

    def traced(framework: Framework) -> Callable:
        if framework.gradient is None:
            raise OracleCannotRun(f"{framework.namespace} does not differentiate, so the {framework.name} oracle has no gradient of f to evaluate along v")
        return framework.gradient(forms.on(framework))

    def exact(*args) -> tuple:
        why = []
        for name in ("jax", "torch"):
            try:
                return ORACLES[name].answer(FunctionProblem(forms, args, names, (0,))).gradients[0]
            except OracleCannotRun as reason:
                why.append(f"{name}: {reason}")
        raise OracleCannotRun("no exact gradient of f to difference: " + "; ".join(why))

    return Forms(exact, traced, device=forms.device)


def _second_differences(f: Callable, names: Sequence[str]) -> Callable:
    """∇f of a plain NumPy f, for the numerical oracles to difference along v: by the complex
    step where f proves complex-safe at the point (NumPy functions often are; exact to rounding,
    so the differences along v are as accurate as for an exact gradient), else by Richardson."""
    on_complex = Forms(f, {COMPLEX_SAFE.name: lambda framework: f}, "")
    plain = Forms.of(f)

    def gradient(*args) -> Any:
        try:
            return ORACLES["complex_step"].answer(FunctionProblem(on_complex, args, names, (0,))).gradients[0]
        except OracleCannotRun:  # not complex-safe here: an abs, a cast, a comparison on complex values
            return ORACLES["richardson"].answer(FunctionProblem(plain, args, names, (0,))).gradients[0]

    return gradient


PLAIN_HVP = (
    "f takes no xp argument, so no framework differentiates it: its Hessian–vector product is judged by "
    "second differences alone (Richardson and central differences along v of its complex-step gradient where f "
    "is complex-safe, else of its Richardson gradient); "
    "write f(x, xp) for jax's and torch's exact second derivatives"
)


def check_hvp(
    f: Callable,
    hvp: Callable,
    x: Any,
    *,
    v: Any = None,
    vectors: int = 2,
    seed: int = 0,
    oracles: Sequence[str] | None = None,
    implementation: str | None = None,
    k: float = 2.0,
    atol: float | None = None,
    rtol: float | None = None,
) -> Verdict:
    """Judge the hand-written Hessian–vector product ``hvp(v, x)`` = ∇²f(x) v
    of a scalar ``f(x)`` or ``f(x, xp)`` at ``x`` (an array or a pytree of them).

    The oracles, for an ``f(x, xp)``: ``jax.jvp`` of ``jax.grad`` (forward over
    reverse), ``torch.func.jvp`` of ``torch.func.grad``, and Richardson and
    central differences of the exact gradient along v (jax's, else torch's).
    For a plain ``f(x)``: second differences only — Richardson and central
    differences along v of f's complex-step gradient where f is complex-safe
    (checked at each point), else of its Richardson gradient — and the verdict says so.
    ``v``: shaped like x; without it, ``vectors`` are drawn from ``seed``.
    Elements are named by x's name (``x[3]`` is (∇²f v) at x[3]).  ``x`` may be a
    torch tensor or jax array (f and hvp then take it, and its framework's own
    second derivative is the exact oracle), as for ``check_vjp``."""
    options = Options(oracles=oracles, seed=seed, implementation=implementation, k=k, atol=atol, rtol=rtol)
    check_callable(f, "f")
    check_callable(hvp, "hvp")
    names = arguments.roots(f, 1)
    native = tensors.intake((x,), names, "check_hvp", argnums=0)
    forms = None
    if native is not None:
        forms, hvp, lead, x = native.forms(f), native.calling(hvp, native.originals[0], names[0]), native.originals[0], native.arrays[0]
        f = forms.numpy
    arguments.check_leaves((x,), names, (0,))
    scalar_at_x(_call(f, *_copies((x,))), "f")
    gradient = _gradient_forms(f, names, forms)
    prepared = Prepared(gradient, (x,), names, 0, options, "hvp", "check_hvp", native=native)
    if native is None and not takes_xp(f):
        prepared.note = "; ".join(n for n in (prepared.note, PLAIN_HVP) if n)
    probes = [prepared.rounded(d, lead if native is not None else None, names[0]) for d in prepared.probes(v, vectors, prepared.point.args[0], names[0], "vector")]
    verdicts = []
    for k, direction in enumerate(probes, start=1):
        leaves = [leaf for _, leaf in trees.leaves(direction, names[0]) if leaf is not None]
        problem = TangentProblem(
            gradient, (x,), names, (0,), leaves, prepared.output, out_root=names[0], where=f"vector {k}" if len(probes) > 1 else "",
        )
        result = _call(hvp, _as_dtype_of(direction, x, names[0]), *_copies((x,)))
        ours = arguments.returned(result, [(prepared.point.args[0], names[0])], True, "hvp")
        verdicts.append(prepared.judged(problem, ours))
    verdict = joined(verdicts, _drawn_note(v, len(probes), seed, "vector"))
    return verdict if native is None else native.finished(verdict)


assert_hvp = asserting(check_hvp)
