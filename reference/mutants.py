"""A catalogue of realistic derivation bugs ("mutants") in hand-written backprop.

Every mutant is the same small per-sample backprop (``backprop``, BP1–BP4 of
seed 000 in the canonical layout) with one keyword switch turned to the slip
students make.  The checks in this project are only worth something if they
catch these: ``tests/test_bug_detection.py`` shows that jax, torch and central
differences flag every mutant on every fixed network where it ``applies``.

Symbols (per sample, canonical layout)
--------------------------------------
===============  ==============  =============================================
symbol           shape           meaning
===============  ==============  =============================================
``W[l]``         (n_l, n_{l-1})  weights into layer l = 1..L (row = neuron)
``b[l]``         (n_l,)          bias of layer l
``z[l]``         (n_l,)          ``W[l] a[l-1] + b[l]``
``a[l]``         (n_l,)          ``f_l(z[l])``; ``a[0] = x``, ``a[L] = o``
``delta[l]``     (n_l,)          ``∂J/∂z[l]`` (gradient sign)
===============  ==============  =============================================

BP1 δ^L = (∂o/∂z^L)ᵀ ∂J/∂o (= ∂J/∂o ⊙ f'(z^L) for an elementwise f);
BP2 δ^l = (W^{l+1})ᵀ δ^{l+1} ⊙ f_l'(z^l); BP3 ∂J/∂b^l = δ^l;
BP4 ∂J/∂W^l = δ^l (a^{l-1})ᵀ; E is the mean of J over the batch.

Scope: plain networks only — bias mode ``"neuron"`` everywhere, no masks, no
maxout.  ``Mutant.applies`` is False elsewhere and the harness raises
``ValueError`` there.

What ``applies`` promises
-------------------------
``applies(mlp)`` is True exactly on the plain networks where the slip returns
a gradient different from the true one for generic parameters and data (a
batch of N ≥ 2 samples, and targets the loss is meant for: one-hot or
probability rows for cross-entropy, as ``reference.strategies`` draws them).
Where the slip is a no-op (tanh' = 1 − z² on a network without tanh, a
transpose of a 1×1 matrix) it does not apply.  Where the slip does not even
have the right shape (W instead of Wᵀ on a non-square layer) it does not
apply either: ``backprop`` raises ``ValueError`` there, as the student's code
would, instead of returning a wrong gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from reference.activations import Activation
from reference.network import MLP, Params, check_batch, check_params
from reference.shortcuts import O_MINUS_Y

Array = np.ndarray
# A slipped derivative f'(z, a) of one activation, given z and a = f(z).
Derivative = Callable[[Array, Array], Array]
# A slipped ∂J/∂o(y, o) of one loss.
LossDerivative = Callable[[Array, Array], Array]


@dataclass(frozen=True)
class Mutant:
    """One derivation bug: what it is, where it changes the gradient, and the
    wrong gradient itself (canonical layout, same structure as ``params``)."""

    name: str
    description: str
    applies: Callable[[MLP], bool]
    gradients: Callable[[MLP, Params, Array, Array], Params]


# --- the harness: one per-sample backprop with a switch per slip ----------------------


def why_unsupported(mlp: MLP) -> str | None:
    """The harness covers plain textbook networks; ``None`` when ``mlp`` is one."""
    if not mlp.is_plain:
        return f"the mutation harness needs bias='neuron' in every layer and no masks; got {mlp}"
    if any(mlp.is_maxout(l) for l in range(1, mlp.depth + 1)):
        return f"the mutation harness has one z per neuron; maxout layers have k pieces: {mlp}"
    return None


def _sigmoid(z: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -z))


def _f_prime(activation: Activation, z: Array, a: Array, slipped: dict[str, Derivative]) -> Array:
    """f'(z) from the registry, or the slipped form where one is given."""
    if activation.name in slipped:
        return slipped[activation.name](z, a)
    return activation.df(z)


def _shape_errors(mlp: MLP, *, transpose: bool, recursion_weight: str, f_prime_at: str, weight_input: str) -> list[str]:
    """Slips that only have the right shape on square layers; elsewhere the
    student's code fails with a shape error instead of a wrong gradient."""
    problems = []
    if not transpose and len(set(mlp.sizes[1:])) > 1:
        problems.append("W^{l+1} δ^{l+1} without the transpose needs n_1 = … = n_L")
    if recursion_weight == "same" and len(set(mlp.sizes)) > 1:
        problems.append("(W^l)ᵀ δ^{l+1} needs n_0 = … = n_L")
    if f_prime_at == "z_next" and len(set(mlp.sizes[1:])) > 1:
        problems.append("f'(z^{l+1}) in place of f'(z^l) needs n_1 = … = n_L")
    if weight_input == "same" and len(set(mlp.sizes)) > 1:
        problems.append("δ^l (a^l)ᵀ needs n_0 = … = n_L")
    return problems


def backprop(
    mlp: MLP,
    params: Params,
    X: Array,
    Y: Array,
    *,
    delta_sign: float = 1.0,
    transpose: bool = True,
    recursion_weight: str = "next",
    f_prime_at: str = "z",
    hidden_f_prime: bool = True,
    output_f_prime: bool = True,
    output_delta: str = "chain_rule",
    softmax_jacobian: str = "full",
    output_units: str = "sum",
    weight_input: str = "previous",
    batch_reduction: str = "mean",
    bias_samples: str = "all",
    slipped_f_prime: dict[str, Derivative] | None = None,
    slipped_dJ_do: dict[str, LossDerivative] | None = None,
) -> Params:
    """∂E/∂(W^l, b^l) by BP1–BP4, one sample at a time.  Every keyword's
    default is the correct derivation; each other value is one slip:

    * ``delta_sign = -1``: δ = −∂J/∂z (seed 003's convention) used as if it were +∂J/∂z.
    * ``transpose = False``: W^{l+1} δ^{l+1} in BP2.
    * ``recursion_weight = "same"``: (W^l)ᵀ δ^{l+1} in BP2.
    * ``f_prime_at = "z_next"``: f_l'(z^{l+1}) in BP2.
    * ``hidden_f_prime = False`` / ``output_f_prime = False``: the ⊙ f'(z) of BP2 / BP1 left out
      (for softmax, the whole Jacobian: δ^L = ∂J/∂o).
    * ``output_delta = "o_minus_y"``: δ^L = o − y whatever the pair;
      ``"o_minus_y_times_f_prime"``: on the pairs where o − y is exact, δ^L = (o − y) ⊙ f'(z^L)
      (diagonal o(1 − o) for softmax).
    * ``softmax_jacobian = "diagonal"``: ∂o_k/∂z_i kept only for k = i.
    * ``output_units = "mean"``: ∂J/∂o divided by n_L.
    * ``weight_input = "same"``: δ^l (a^l)ᵀ in BP4.
    * ``batch_reduction = "sum"``: the per-sample gradients summed, not averaged.
    * ``bias_samples = "first"``: ∂E/∂b^l is the first sample's δ^l.
    * ``slipped_f_prime``: activation name → a wrong f'(z, a).
    * ``slipped_dJ_do``: loss name → a wrong ∂J/∂o(y, o).
    """
    for argument, value, allowed in (
        ("recursion_weight", recursion_weight, ("next", "same")),
        ("f_prime_at", f_prime_at, ("z", "z_next")),
        ("output_delta", output_delta, ("chain_rule", "o_minus_y", "o_minus_y_times_f_prime")),
        ("softmax_jacobian", softmax_jacobian, ("full", "diagonal")),
        ("output_units", output_units, ("sum", "mean")),
        ("weight_input", weight_input, ("previous", "same")),
        ("batch_reduction", batch_reduction, ("mean", "sum")),
        ("bias_samples", bias_samples, ("all", "first")),
    ):
        if value not in allowed:
            raise ValueError(f"{argument} must be one of {allowed}; got {value!r}")
    reason = why_unsupported(mlp)
    if reason is not None:
        raise ValueError(reason)
    dtype = check_params(mlp, params)
    check_batch(mlp, X, Y, dtype)
    problems = _shape_errors(
        mlp, transpose=transpose, recursion_weight=recursion_weight, f_prime_at=f_prime_at, weight_input=weight_input
    )
    if problems:
        raise ValueError(f"on {mlp} this slip is a shape error, not a wrong gradient: {'; '.join(problems)}")
    slipped = slipped_f_prime or {}
    dJ_do_of = (slipped_dJ_do or {}).get(mlp.loss, mlp.loss_fn.dJ_do)
    shortcut_pair = (mlp.activations[-1], mlp.loss) in O_MINUS_Y.requires
    L = mlp.depth
    W = {l: params[l - 1][0] for l in range(1, L + 1)}
    b = {l: params[l - 1][1] for l in range(1, L + 1)}
    nabla_w = {l: np.zeros_like(W[l]) for l in W}
    nabla_b = {l: np.zeros_like(b[l]) for l in b}
    first_delta: dict[int, Array] = {}

    for n, (x, y) in enumerate(zip(X, Y)):
        a, z = {0: x}, {}
        for l in range(1, L + 1):
            z[l] = W[l] @ a[l - 1] + b[l]
            a[l] = mlp.activation(l).f(z[l])

        # BP1: δ^L = (∂o/∂z^L)ᵀ ∂J/∂o
        f_L = mlp.output_activation
        dJ_do = dJ_do_of(y, a[L])
        if output_units == "mean":
            dJ_do = dJ_do / mlp.sizes[L]  # slip: J averaged over output units
        if output_delta == "o_minus_y":
            delta = a[L] - y  # slip where the pair does not make it exact
        elif output_delta == "o_minus_y_times_f_prime" and shortcut_pair:
            diagonal = _f_prime(f_L, z[L], a[L], slipped) if f_L.elementwise else a[L] * (1.0 - a[L])
            delta = (a[L] - y) * diagonal  # slip: f' already absorbed in o − y
        elif not output_f_prime:
            delta = dJ_do  # slip: f'(z^L) (or the softmax Jacobian) left out
        elif f_L.elementwise:
            delta = dJ_do * _f_prime(f_L, z[L], a[L], slipped)  # BP1
        else:
            do_dz = f_L.jacobian(z[L])  # [k, i] = ∂o_k/∂z_i
            if softmax_jacobian == "diagonal":
                do_dz = np.diag(np.diag(do_dz))  # slip: off-diagonal −o_k o_i dropped
            delta = do_dz.T @ dJ_do  # BP1 with the full Jacobian
        delta = delta_sign * delta

        for l in range(L, 0, -1):
            nabla_w[l] += np.outer(delta, a[l - 1] if weight_input == "previous" else a[l])  # BP4
            nabla_b[l] += delta  # BP3
            if n == 0:
                first_delta[l] = delta
            if l == 1:
                break
            # BP2: δ^{l-1} = (W^l)ᵀ δ^l ⊙ f'(z^{l-1}) — written one layer down
            W_used = W[l] if recursion_weight == "next" else W[l - 1]
            back = (W_used.T if transpose else W_used) @ delta
            f = mlp.activation(l - 1)
            if not hidden_f_prime:
                delta = back
            elif f_prime_at == "z":
                delta = back * _f_prime(f, z[l - 1], a[l - 1], slipped)
            else:
                delta = back * _f_prime(f, z[l], f.f(z[l]), slipped)  # slip: f_{l-1}'(z^l)

    N = X.shape[0] if batch_reduction == "mean" else 1
    return [
        (nabla_w[l] / N, first_delta[l] if bias_samples == "first" else nabla_b[l] / N)
        for l in range(1, L + 1)
    ]


def unmutated_gradients(mlp: MLP, params: Params, X: Array, Y: Array) -> Params:
    """The harness with every switch at the correct derivation."""
    return backprop(mlp, params, X, Y)


# --- where each slip changes the gradient ---------------------------------------------


def _plain(mlp: MLP) -> bool:
    return why_unsupported(mlp) is None


def _hidden(mlp: MLP) -> tuple[str, ...]:
    return mlp.activations[:-1]


def _has(name: str) -> Callable[[MLP], bool]:
    return lambda mlp: _plain(mlp) and name in mlp.activations


def _has_loss(name: str) -> Callable[[MLP], bool]:
    return lambda mlp: _plain(mlp) and mlp.loss == name


def _pair(mlp: MLP) -> tuple[str, str]:
    return mlp.activations[-1], mlp.loss


def _always(mlp: MLP) -> bool:
    return _plain(mlp)


def _curved_hidden(mlp: MLP) -> bool:
    """Some hidden layer with f' ≠ 1 (identity's f' is 1, so dropping it changes nothing)."""
    return any(name != "identity" for name in _hidden(mlp))


def _missing_transpose(mlp: MLP) -> bool:
    # W^{l+1} δ has the right shape iff n_1 = … = n_L; a 1×1 W is its own transpose.
    return _plain(mlp) and mlp.depth >= 2 and len(set(mlp.sizes[1:])) == 1 and mlp.sizes[1] >= 2


def _recursion_through_W_l(mlp: MLP) -> bool:
    return _plain(mlp) and mlp.depth >= 2 and len(set(mlp.sizes)) == 1


def _weight_gradient_uses_a_l(mlp: MLP) -> bool:
    return _plain(mlp) and len(set(mlp.sizes)) == 1


def _f_prime_of_next_z(mlp: MLP) -> bool:
    return _plain(mlp) and mlp.depth >= 2 and len(set(mlp.sizes[1:])) == 1 and _curved_hidden(mlp)


def _o_minus_y_misapplied(mlp: MLP) -> bool:
    # Exact for identity + squared error, sigmoid + log loss and softmax +
    # cross-entropy with rows of y summing to one (reference.shortcuts).
    return _plain(mlp) and _pair(mlp) not in O_MINUS_Y.requires


def _o_minus_y_pairs_with_f_prime(mlp: MLP) -> bool:
    # identity + squared error is left out: its f' is 1, so the extra factor is a no-op.
    return _plain(mlp) and _pair(mlp) in {("sigmoid", "log_loss"), ("softmax", "cross_entropy")}


# --- the slipped derivatives ----------------------------------------------------------


def _d_sigmoid_of_a(z: Array, a: Array) -> Array:
    s = _sigmoid(a)
    return s * (1.0 - s)  # slip: σ'(a) = σ(a)(1 − σ(a)), σ applied twice


def _d_tanh_from_z(z: Array, a: Array) -> Array:
    return 1.0 - z**2  # slip: 1 − z² where 1 − tanh²(z) = 1 − a² was meant


def _d_leaky_relu_without_leak(z: Array, a: Array) -> Array:
    return (z > 0).astype(z.dtype)  # slip: relu's [z > 0], the 0.01 slope forgotten


def _d_softplus_missing_denominator(z: Array, a: Array) -> Array:
    return np.exp(z)  # slip: e^z where e^z / (1 + e^z) = σ(z) was meant


def _d_squared_error_without_half(y: Array, o: Array) -> Array:
    return 2.0 * (o - y)  # slip: ∂/∂o of Σ(o − y)², while J = ½ Σ(o − y)²


def _d_log_likelihood(y: Array, o: Array) -> Array:
    return (y - o) / (o * (1.0 - o))  # slip: ∂/∂o of +log-likelihood, not of the loss −log-likelihood


def _d_log_loss_inner_sign(y: Array, o: Array) -> Array:
    return -y / o - (1.0 - y) / (1.0 - o)  # slip: d(1 − o)/do = −1 dropped from the log(1 − o) term


# --- the catalogue --------------------------------------------------------------------


def _mutant(name: str, description: str, applies: Callable[[MLP], bool], **slip) -> Mutant:
    return Mutant(name, description, applies, partial(backprop, **slip))


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        _mutant(
            "missing_transpose",
            "BP2 written as W^{l+1} δ^{l+1} instead of (W^{l+1})ᵀ δ^{l+1}; it only runs, and so goes "
            "unnoticed, when the hidden layers are square.",
            _missing_transpose,
            transpose=False,
        ),
        _mutant(
            "delta_sign_flipped",
            "δ defined as −∂E/∂z (seed 003's convention) but used as +∂E/∂z in ∂E/∂W = δ aᵀ, so every "
            "gradient has the wrong sign.",
            _always,
            delta_sign=-1.0,
        ),
        _mutant(
            "hidden_f_prime_dropped",
            "The ⊙ f'(z^l) of BP2 left out, propagating (W^{l+1})ᵀ δ^{l+1} through the hidden layers as "
            "if they were linear.",
            lambda mlp: _plain(mlp) and _curved_hidden(mlp),
            hidden_f_prime=False,
        ),
        _mutant(
            "sigmoid_prime_of_a",
            "σ'(a) = σ(a)(1 − σ(a)) evaluated at the activation a instead of σ'(z) = a(1 − a), "
            "applying σ twice when the cached output is reused.",
            _has("sigmoid"),
            slipped_f_prime={"sigmoid": _d_sigmoid_of_a},
        ),
        _mutant(
            "tanh_prime_from_z",
            "tanh' written as 1 − z² instead of 1 − tanh²(z) = 1 − a², mixing up the pre-activation and "
            "the activation.",
            _has("tanh"),
            slipped_f_prime={"tanh": _d_tanh_from_z},
        ),
        _mutant(
            "batch_sum_not_mean",
            "The per-sample gradients summed over the batch while the objective is their mean (the 1/N "
            "forgotten), so the gradient is N times too large.",
            _always,
            batch_reduction="sum",
        ),
        _mutant(
            "squared_error_missing_half",
            "∂J/∂o = 2(o − y), the derivative of Σ(o − y)², used with J = ½ Σ(o − y)², so the gradient "
            "is doubled.",
            _has_loss("squared_error"),
            slipped_dJ_do={"squared_error": _d_squared_error_without_half},
        ),
        _mutant(
            "bias_gradient_first_sample",
            "∂E/∂b^l taken as the first sample's δ^l (delta[0] where the mean over rows was meant) "
            "instead of the batch mean of δ^l.",
            _always,
            bias_samples="first",
        ),
        _mutant(
            "recursion_through_W_l",
            "BP2 indexes the weights of the layer being reached, (W^l)ᵀ δ^{l+1}, instead of the layer "
            "δ comes from, (W^{l+1})ᵀ δ^{l+1}; it runs only when every layer is square.",
            _recursion_through_W_l,
            recursion_weight="same",
        ),
        _mutant(
            "weight_gradient_uses_a_l",
            "BP4 written δ^l (a^l)ᵀ, the layer's own activation, instead of δ^l (a^{l-1})ᵀ, the "
            "activation feeding W^l; it runs only when every layer is square.",
            _weight_gradient_uses_a_l,
            weight_input="same",
        ),
        _mutant(
            "o_minus_y_misapplied",
            "δ^L = o − y used for an output/loss pair where it is not exact — classically sigmoid + "
            "squared error, where the factor σ'(z^L) is lost.",
            _o_minus_y_misapplied,
            output_delta="o_minus_y",
        ),
        _mutant(
            "extra_f_prime_on_o_minus_y",
            "f' multiplied onto the o − y shortcut although it already absorbed it, e.g. "
            "δ = (o − y) ⊙ o(1 − o) for softmax + cross-entropy or sigmoid + log loss.",
            _o_minus_y_pairs_with_f_prime,
            output_delta="o_minus_y_times_f_prime",
        ),
        _mutant(
            "softmax_jacobian_diagonal_only",
            "The softmax treated as elementwise, ∂o_k/∂z_i = o_k(1 − o_k)·[k = i], dropping the "
            "off-diagonal −o_k o_i terms (under squared error or cross-entropy).",
            lambda mlp: _plain(mlp) and mlp.activations[-1] == "softmax",
            softmax_jacobian="diagonal",
        ),
        _mutant(
            "log_loss_derivative_sign_flipped",
            "∂/∂o of the log-likelihood, y/o − (1 − y)/(1 − o), used where the loss is the negative "
            "log-likelihood, flipping the sign of ∂J/∂o.",
            _has_loss("log_loss"),
            slipped_dJ_do={"log_loss": _d_log_likelihood},
        ),
        _mutant(
            "output_f_prime_dropped",
            "BP1 written δ^L = ∂J/∂o without ⊙ f'(z^L) — for softmax + cross-entropy the classic "
            "δ = −y/o without the Jacobian.",
            lambda mlp: _plain(mlp) and mlp.activations[-1] != "identity",
            output_f_prime=False,
        ),
        # --- beyond the list ---
        _mutant(
            "leaky_relu_prime_without_leak",
            "leaky_relu' copied from relu' as [z > 0], forgetting the slope 0.01 on the negative side.",
            _has("leaky_relu"),
            slipped_f_prime={"leaky_relu": _d_leaky_relu_without_leak},
        ),
        _mutant(
            "softplus_prime_missing_denominator",
            "softplus' = e^z / (1 + e^z) written as e^z, the chain rule through log(1 + e^z) "
            "stopping at the numerator.",
            _has("softplus"),
            slipped_f_prime={"softplus": _d_softplus_missing_denominator},
        ),
        _mutant(
            "f_prime_of_next_layer_z",
            "BP2 evaluates f'(z^{l+1}) instead of f'(z^l), an off-by-one in the list of cached z's; "
            "it runs only when the hidden and output layers have one width.",
            _f_prime_of_next_z,
            f_prime_at="z_next",
        ),
        _mutant(
            "mean_over_output_units",
            "∂J/∂o divided by n_L, as if J averaged over the output units (a framework's MSE mean) "
            "while it sums over them.",
            lambda mlp: _plain(mlp) and mlp.sizes[-1] >= 2,
            output_units="mean",
        ),
        _mutant(
            "log_loss_inner_derivative_dropped",
            "∂/∂o log(1 − o) written 1/(1 − o), dropping the inner −1, so ∂J/∂o = −y/o − (1 − y)/(1 − o).",
            _has_loss("log_loss"),
            slipped_dJ_do={"log_loss": _d_log_loss_inner_sign},
        ),
    )
}


__all__ = ["MUTANTS", "Mutant", "backprop", "unmutated_gradients", "why_unsupported"]


# (name, network, seed): square tanh/sigmoid hidden layers; identity, sigmoid
# and softmax outputs; squared error, log loss and cross-entropy; relu,
# leaky_relu and softplus hidden layers.  Seeds chosen so no relu/leaky_relu
# unit is within 1e-3 of its kink (checked below).
PROBE_NETWORKS = (
    ("square_tanh_sigmoid_identity_se", MLP((3, 3, 3, 3), ("tanh", "sigmoid", "identity"), "squared_error"), 0),
    ("square_sigmoid_tanh_sigmoid_logloss", MLP((3, 3, 3, 3), ("sigmoid", "tanh", "sigmoid"), "log_loss"), 0),
    ("square_tanh_softmax_ce", MLP((3, 3, 3), ("tanh", "softmax"), "cross_entropy"), 0),
    ("square_softplus_softmax_ce", MLP((4, 4, 4), ("softplus", "softmax"), "cross_entropy"), 0),
    ("relu_leaky_softmax_se", MLP((2, 4, 4, 3), ("relu", "leaky_relu", "softmax"), "squared_error"), 0),
    ("softplus_sigmoid_sigmoid_se", MLP((4, 5, 5, 2), ("softplus", "sigmoid", "sigmoid"), "squared_error"), 0),
    ("leaky_softplus_tanh_se", MLP((3, 4, 4, 4), ("leaky_relu", "softplus", "tanh"), "squared_error"), 0),
    ("relu_sigmoid_logloss_one_output", MLP((2, 3, 1), ("relu", "sigmoid"), "log_loss"), 0),
)
