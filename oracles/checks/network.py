"""A network's gradients, checked: ``check_network_gradients`` judges
∂E/∂(W^l, b^l) of the canonical objective element by element,
``check_projections`` along random directions when the network is too large
for that; ``answer``/``gradients`` ask one oracle, ``compare`` judges a
gradient against one answer.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from backprop_reference.oracles.checks.options import Options
from backprop_reference.oracles.engine.comparison import asserting, judge
from backprop_reference.oracles.engine.judge import judge_problem
from backprop_reference.oracles.engine.problems import NetworkProblem
from backprop_reference.oracles.engine.tolerances import tolerance_for
from backprop_reference.oracles.engine.verdict import PROJECTION, Verdict
from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.numerical import stencils
from backprop_reference.oracles.methods.numerical.evaluators import network_fixed
from backprop_reference.oracles.methods.registry import ORACLES, get_oracle
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.validation import check_grads, check_network_inputs


def _kink_policy(problem, chosen: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """On a kink, the exact oracles' value is their framework's convention: skip
    them and let the kink-aware numerical oracles decide (central if none was chosen)."""
    if not problem.on_a_kink():
        return chosen, []
    reason = (
        "a pre-activation sits exactly on a kink, where the derivative is a convention "
        "(jax.grad takes the right-hand value for leaky_relu); the kink-aware numerical oracle decides"
    )
    skipped = [(name, reason) for name in chosen if not ORACLES[name].numerical]
    return [name for name in chosen if ORACLES[name].numerical] or ["central"], skipped


def _float64(params: Params) -> Params:
    return [(W.astype(np.float64), None if b is None else b.astype(np.float64)) for W, b in params]


def check_network_gradients(
    mlp: MLP,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    grads: Params,
    *,
    oracles: tuple[str, ...] | list[str] | None = None,
    implementation: str | None = None,
    taylor: bool = False,
) -> Verdict:
    """Judge ``grads`` — ∂E/∂(W^l, b^l) of the canonical mean objective,
    computed by any means — against each of ``oracles``.  ``taylor``: add the
    Taylor remainder test (``oracles.taylor_network``) as a second opinion
    that needs no tolerance; it is shown in the message, not judged (near a
    relu/maxout kink its order is not 2 even for a right gradient)."""
    options = Options(oracles=oracles, implementation=implementation)
    dtype = check_network_inputs(mlp, params, X, Y)
    check_grads(mlp, grads, dtype)
    chosen, implementation = list(options.oracles), options.named("grads")
    note = ""
    if not isinstance(taylor, bool):
        raise TypeError(f"taylor must be True or False; got {taylor!r}")
    if dtype == np.float32:
        params, X, Y = _float64(params), X.astype(np.float64), Y.astype(np.float64)
        note = "float32 gradients judged against oracles run on float64 copies, with float32 tolerances"
    problem = NetworkProblem(mlp, params, X, Y)
    chosen, skipped = _kink_policy(problem, chosen)
    ours = problem.layout.flatten(grads)
    verdict = judge_problem(problem, ours, chosen, implementation=implementation, dtype=dtype, skipped=skipped, note=note)
    if taylor and all(np.all(np.isfinite(g)) for g in ours):  # a non-finite gradient is WRONG already
        from backprop_reference.oracles.checks.taylor import taylor_network

        verdict = dataclasses.replace(verdict, taylor=taylor_network(mlp, params, X, Y, problem.layout.unflatten([np.asarray(g, np.float64) for g in ours])))
    return verdict


assert_network_gradients = asserting(check_network_gradients)


def check_projections(
    mlp: MLP,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    grads: Params,
    *,
    directions: int = 8,
    seed: int = 0,
    implementation: str | None = None,
) -> Verdict:
    """Judge float64 ``grads`` of a network too large for elementwise checks
    along ``directions`` Gaussian directions over all parameters at once,
    comparing the claimed directional derivative v·g with the measured one,
    by a complex step along v:

        D_v = Im E(θ + i h v) / h,   h = 1e-30,

    one complex forward pass per direction whatever the parameter count.  A
    complex step moves no real part, so it never steps across a relu or maxout
    kink, and it has no subtraction, so D_v is exact to rounding.  Since
    E[(v·∇E)²] = ‖∇E‖² for standard Gaussian v, the measured D_v estimate the
    gradient's norm S = √mean(D_v²) without trusting the claimed g; the
    normalised error of direction v is |v·g − D_v| / max(S, floor), judged
    with the complex-step tolerance.

    Detection limits (read these before trusting a pass):

    * An error e = g − ∇E is seen only through v·e ~ N(0, ‖e‖²).  One direction
      misses it with probability P(|N(0, 1)| < τ·S/‖e‖) ≈ 0.8·τ·S/‖e‖ when that
      is small (τ the tolerance, 1e-12 in float64); k independent directions
      miss it with that probability to the power k.  With the default k = 8,
      an error of relative size ‖e‖/‖∇E‖ = 1e-9 is missed with probability
      ≈ (8e-4)⁸ ≈ 2e-25; one of relative size 1e-12 about half the time.
    * It cannot say which element is wrong: a failure names a direction
      (``v·g[d]``), not W^l[i, j].  Follow up with an elementwise oracle on a
      smaller network.
    * It bounds the error vector as a whole: an error confined to a few
      elements is seen in proportion to its norm, not its share of those elements.
    * Exactly at a kink (a pre-activation equal to 0, a maxout tie) the complex
      step takes the left-hand branch, the convention of the hand derivations."""
    options = Options(seed=seed, implementation=implementation)
    seed, implementation = options.seed, options.named("grads")
    dtype = check_network_inputs(mlp, params, X, Y)
    if dtype != np.float64:
        raise TypeError(f"params must be float64 for the projection check; got {dtype}")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be a positive integer; got {directions!r}")
    problem = NetworkProblem(mlp, params, X, Y)
    g = trees.network_layout(grads).flatten(grads) if isinstance(grads, (list, tuple)) else None
    if g is None or [a.shape for a in g] != [a.shape for a in problem.leaves]:
        raise ValueError("grads must be a list of (dW, db) pairs with the shapes of params")
    tolerance = tolerance_for(np.float64, "complex_step")
    rng = np.random.default_rng(seed)
    fixed = [np.zeros(a.shape, dtype=bool) if m is None else m for a, m in zip(problem.leaves, network_fixed(mlp, params))]
    claimed, measured = [], []
    for _ in range(directions):
        v = [rng.standard_normal(a.shape) * ~absent for a, absent in zip(problem.leaves, fixed)]  # absent connections stay absent
        measured.append(stencils.along(stencils.COMPLEX_STEP, problem.along(v))[0])
        claimed.append(float(sum(np.sum(a * b) for a, b in zip(v, g))))
    scale = max(float(np.sqrt(np.mean(np.square(measured)))), tolerance.floor)
    layout = trees.Layout((PROJECTION,), lambda values: list(values), lambda items: list(items))
    answer = Answer("complex_step", layout, [np.array(measured)])
    comparison, _ = judge(layout.names, [np.array(claimed)], answer, implementation=implementation, tolerance=tolerance, scale=scale)
    note = f"along {directions} random Gaussian directions over {sum(a.size for a in g)} parameters (seed {seed}); v·g[d] is direction d"
    return Verdict(implementation, (comparison,), note=note, elements=sum(a.size for a in g))


assert_projections = asserting(check_projections)


# --- one oracle about a network ----------------------------------------------------------------


def answer(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: str = "jax", **options) -> Answer:
    """``oracle``'s answer for ∂E/∂(W^l, b^l) of the canonical objective: its
    gradients (same structure as ``params``), and for a numerical oracle each
    element's error estimate and kink bracket — pass it to ``compare``.
    ``options`` go to the oracle (``device="cuda"`` for torch)."""
    chosen = get_oracle(oracle)
    check_network_inputs(mlp, params, X, Y)
    return chosen.answer(NetworkProblem(mlp, params, X, Y), **options)


def gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: str = "jax", **options) -> Params:
    """∂E/∂(W^l, b^l) of the canonical objective by ``oracle``; same structure as ``params``."""
    return answer(mlp, params, X, Y, oracle, **options).gradients


def numerical_gradients(mlp: MLP, params: Params, X: np.ndarray, Y: np.ndarray, oracle: str = "central") -> Answer:
    """A numerical oracle's ``Answer``: gradients with per-element error
    estimates and kink brackets."""
    if not get_oracle(oracle).numerical:
        raise ValueError(f"oracle {oracle!r} is not numerical: it gives no error estimates or kink brackets")
    return answer(mlp, params, X, Y, oracle)
