"""A catalogue of realistic derivation bugs ("mutants") in hand-written backprop.

Every mutant is the same small per-sample backprop (``backprop``, BP1–BP4 of
seed 000 in the canonical layout, each equation one function of
``Equations``) with one equation replaced by the slip students make — a BP2
without the transpose, an output delta of o − y where it is not exact, tanh'
written 1 − z².  The checks in this project are only worth something if they
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
probability rows for cross-entropy, as ``reference.cases`` draws them).
Where the slip is a no-op (tanh' = 1 − z² on a network without tanh, a
transpose of a 1×1 matrix) it does not apply.  Where the slip does not even
have the right shape (W instead of Wᵀ on a non-square layer) it does not
apply either: the mutant's ``shape_error`` says why, and ``Mutant.gradients``
raises ``ValueError`` there, as the student's code would, instead of
returning a wrong gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from backprop_reference.reference.activations import Activation
from backprop_reference.reference.losses import Loss
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.shortcuts import O_MINUS_Y
from backprop_reference.reference.validation import check_network_inputs

Array = np.ndarray


# --- the equations, each once, correct ------------------------------------------------
# Per sample, layers keyed l = 1..L: W[l], z[l], a[l] (a[0] = x).


def registry_f_prime(activation: Activation, z: Array, a: Array) -> Array:
    """f'(z) from the registry (a is there for the slips that use it)."""
    return activation.df(z)


def registry_dJ_do(loss: Loss, y: Array, o: Array) -> Array:
    """∂J/∂o from the loss registry."""
    return loss.dJ_do(y, o)


def output_delta(mlp: MLP, z_L: Array, a_L: Array, y: Array, eq: "Equations") -> Array:
    """BP1: δ^L = (∂o/∂z^L)ᵀ ∂J/∂o (= ∂J/∂o ⊙ f'(z^L) for an elementwise f)."""
    f_L = mlp.output_activation
    dJ_do = eq.dJ_do(mlp.loss_fn, y, a_L)
    if f_L.elementwise:
        return dJ_do * eq.f_prime(f_L, z_L, a_L)
    return eq.jacobian(f_L, z_L).T @ dJ_do  # [k, i] = ∂o_k/∂z_i


def softmax_jacobian(activation: Activation, z: Array) -> Array:
    return activation.jacobian(z)


def hidden_delta(mlp: MLP, W: dict, l: int, delta: Array, z: dict, a: dict, eq: "Equations") -> Array:
    """BP2, written one layer down: δ^{l-1} = (W^l)ᵀ δ^l ⊙ f'(z^{l-1})."""
    return (W[l].T @ delta) * eq.f_prime(mlp.activation(l - 1), z[l - 1], a[l - 1])


def weight_gradient(delta: Array, a: dict, l: int) -> Array:
    """BP4: ∂J/∂W^l = δ^l (a^{l-1})ᵀ."""
    return np.outer(delta, a[l - 1])


def bias_gradient(summed: Array, first: Array, N: int) -> Array:
    """BP3 over the batch: ∂E/∂b^l = the mean of δ^l over the samples."""
    return summed / N


def batch_size(X: Array) -> int:
    """E is the mean over the batch: divide the summed per-sample gradients by N."""
    return X.shape[0]


@dataclass(frozen=True)
class Equations:
    """BP1–BP4 and what they use, each a replaceable function; the defaults
    are the correct derivation, a mutant replaces one."""

    f_prime: Callable[[Activation, Array, Array], Array] = registry_f_prime
    dJ_do: Callable[[Loss, Array, Array], Array] = registry_dJ_do
    jacobian: Callable[[Activation, Array], Array] = softmax_jacobian
    bp1: Callable[..., Array] = output_delta
    bp2: Callable[..., Array] = hidden_delta
    bp4: Callable[[Array, dict, int], Array] = weight_gradient
    bias: Callable[[Array, Array, int], Array] = bias_gradient
    reduction: Callable[[Array], int] = batch_size


CORRECT = Equations()


def why_unsupported(mlp: MLP) -> str | None:
    """The harness covers plain textbook networks; ``None`` when ``mlp`` is one."""
    if not mlp.is_plain:
        return f"the mutation harness needs bias='neuron' in every layer and no masks; got {mlp}"
    if any(mlp.is_maxout(l) for l in range(1, mlp.depth + 1)):
        return f"the mutation harness has one z per neuron; maxout layers have k pieces: {mlp}"
    return None


def backprop(mlp: MLP, params: Params, X: Array, Y: Array, **replaced: Callable) -> Params:
    """∂E/∂(W^l, b^l) by BP1–BP4, one sample at a time, with the equations
    named in ``replaced`` (fields of ``Equations``) swapped for the given
    functions; with none swapped, the correct derivation."""
    unknown = sorted(set(replaced) - set(Equations.__dataclass_fields__))
    if unknown:
        raise ValueError(f"no equation called {', '.join(unknown)}; equations: {', '.join(Equations.__dataclass_fields__)}")
    reason = why_unsupported(mlp)
    if reason is not None:
        raise ValueError(reason)
    check_network_inputs(mlp, params, X, Y)
    eq = replace(CORRECT, **replaced)
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
        delta = eq.bp1(mlp, z[L], a[L], y, eq)  # BP1
        for l in range(L, 0, -1):
            nabla_w[l] += eq.bp4(delta, a, l)  # BP4
            nabla_b[l] += delta  # BP3
            if n == 0:
                first_delta[l] = delta
            if l == 1:
                break
            delta = eq.bp2(mlp, W, l, delta, z, a, eq)  # BP2
    N = eq.reduction(X)
    return [(nabla_w[l] / N, eq.bias(nabla_b[l], first_delta[l], N)) for l in range(1, L + 1)]


def unmutated_gradients(mlp: MLP, params: Params, X: Array, Y: Array) -> Params:
    """The harness with every equation correct."""
    return backprop(mlp, params, X, Y)


# --- the slips: each a replaced equation ------------------------------------------------


def f_prime_slips(**slipped: Callable[[Array, Array], Array]) -> Callable[[Activation, Array, Array], Array]:
    """f' with a wrong ``f'(z, a)`` for the activations named, the registry's elsewhere."""

    def f_prime(activation: Activation, z: Array, a: Array) -> Array:
        if activation.name in slipped:
            return slipped[activation.name](z, a)
        return activation.df(z)

    return f_prime


def dJ_do_slips(**slipped: Callable[[Array, Array], Array]) -> Callable[[Loss, Array, Array], Array]:
    """∂J/∂o with a wrong ``∂J/∂o(y, o)`` for the losses named, the registry's elsewhere."""

    def dJ_do(loss: Loss, y: Array, o: Array) -> Array:
        if loss.name in slipped:
            return slipped[loss.name](y, o)
        return loss.dJ_do(y, o)

    return dJ_do


def _sigmoid(z: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -z))


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


def _dJ_do_mean_over_units(loss: Loss, y: Array, o: Array) -> Array:
    return loss.dJ_do(y, o) / o.shape[-1]  # slip: J averaged over the output units


def _signs_flipped(mlp, z_L, a_L, y, eq):
    return -1.0 * output_delta(mlp, z_L, a_L, y, eq)  # slip: δ = −∂J/∂z (seed 003's sign) used as +∂J/∂z


def o_minus_y(mlp, z_L, a_L, y, eq):
    return a_L - y  # slip where the pair does not make it exact


def _o_minus_y_times_f_prime(mlp, z_L, a_L, y, eq):
    f_L = mlp.output_activation
    if (f_L.name, mlp.loss) not in O_MINUS_Y.requires:
        return output_delta(mlp, z_L, a_L, y, eq)  # the slip is made only where o − y is the shortcut
    diagonal = eq.f_prime(f_L, z_L, a_L) if f_L.elementwise else a_L * (1.0 - a_L)
    return (a_L - y) * diagonal  # slip: f' already absorbed in o − y


def _output_f_prime_dropped(mlp, z_L, a_L, y, eq):
    return eq.dJ_do(mlp.loss_fn, y, a_L)  # slip: f'(z^L) (or the softmax Jacobian) left out


def _diagonal_jacobian(activation: Activation, z: Array) -> Array:
    return np.diag(np.diag(activation.jacobian(z)))  # slip: off-diagonal −o_k o_i dropped


def _bp2_without_transpose(mlp, W, l, delta, z, a, eq):
    return (W[l] @ delta) * eq.f_prime(mlp.activation(l - 1), z[l - 1], a[l - 1])  # slip: W^l δ^l


def _bp2_through_W_below(mlp, W, l, delta, z, a, eq):
    return (W[l - 1].T @ delta) * eq.f_prime(mlp.activation(l - 1), z[l - 1], a[l - 1])  # slip: (W^{l-1})ᵀ δ^l


def _bp2_f_prime_of_next_z(mlp, W, l, delta, z, a, eq):
    f = mlp.activation(l - 1)
    return (W[l].T @ delta) * eq.f_prime(f, z[l], f.f(z[l]))  # slip: f_{l-1}'(z^l)


def _bp2_without_f_prime(mlp, W, l, delta, z, a, eq):
    return W[l].T @ delta  # slip: ⊙ f'(z^{l-1}) left out


def _bp4_own_activation(delta: Array, a: dict, l: int) -> Array:
    return np.outer(delta, a[l])  # slip: δ^l (a^l)ᵀ


def _summed_over_batch(X: Array) -> int:
    return 1  # slip: the per-sample gradients summed, the 1/N forgotten


def _first_sample_bias(summed: Array, first: Array, N: int) -> Array:
    return first  # slip: ∂E/∂b^l = the first sample's δ^l


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


# --- where a slip does not even have the right shape ------------------------------------


def _square_hidden_and_output(what: str) -> Callable[[MLP], str | None]:
    return lambda mlp: None if len(set(mlp.sizes[1:])) == 1 else f"{what} needs n_1 = … = n_L"


def _square_everywhere(what: str) -> Callable[[MLP], str | None]:
    return lambda mlp: None if len(set(mlp.sizes)) == 1 else f"{what} needs n_0 = … = n_L"


def _runs_anywhere(mlp: MLP) -> str | None:
    return None


# --- the catalogue --------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    """One derivation bug: what it is, where it changes the gradient, which
    equations it replaces, and where it is a shape error instead."""

    name: str
    description: str
    applies: Callable[[MLP], bool]
    replaced: dict[str, Callable] = field(default_factory=dict)
    shape_error: Callable[[MLP], str | None] = _runs_anywhere

    def gradients(self, mlp: MLP, params: Params, X: Array, Y: Array) -> Params:
        """The wrong gradient (canonical layout, same structure as ``params``)."""
        problem = self.shape_error(mlp)
        if problem is not None:
            raise ValueError(f"on {mlp} this slip is a shape error, not a wrong gradient: {problem}")
        return backprop(mlp, params, X, Y, **self.replaced)


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant(
            "missing_transpose",
            "BP2 written as W^{l+1} δ^{l+1} instead of (W^{l+1})ᵀ δ^{l+1}; it only runs, and so goes "
            "unnoticed, when the hidden layers are square.",
            _missing_transpose,
            {"bp2": _bp2_without_transpose},
            _square_hidden_and_output("W^{l+1} δ^{l+1} without the transpose"),
        ),
        Mutant(
            "delta_sign_flipped",
            "δ defined as −∂E/∂z (seed 003's convention) but used as +∂E/∂z in ∂E/∂W = δ aᵀ, so every "
            "gradient has the wrong sign.",
            _always,
            {"bp1": _signs_flipped},
        ),
        Mutant(
            "hidden_f_prime_dropped",
            "The ⊙ f'(z^l) of BP2 left out, propagating (W^{l+1})ᵀ δ^{l+1} through the hidden layers as "
            "if they were linear.",
            lambda mlp: _plain(mlp) and _curved_hidden(mlp),
            {"bp2": _bp2_without_f_prime},
        ),
        Mutant(
            "sigmoid_prime_of_a",
            "σ'(a) = σ(a)(1 − σ(a)) evaluated at the activation a instead of σ'(z) = a(1 − a), "
            "applying σ twice when the cached output is reused.",
            _has("sigmoid"),
            {"f_prime": f_prime_slips(sigmoid=_d_sigmoid_of_a)},
        ),
        Mutant(
            "tanh_prime_from_z",
            "tanh' written as 1 − z² instead of 1 − tanh²(z) = 1 − a², mixing up the pre-activation and "
            "the activation.",
            _has("tanh"),
            {"f_prime": f_prime_slips(tanh=_d_tanh_from_z)},
        ),
        Mutant(
            "batch_sum_not_mean",
            "The per-sample gradients summed over the batch while the objective is their mean (the 1/N "
            "forgotten), so the gradient is N times too large.",
            _always,
            {"reduction": _summed_over_batch},
        ),
        Mutant(
            "squared_error_missing_half",
            "∂J/∂o = 2(o − y), the derivative of Σ(o − y)², used with J = ½ Σ(o − y)², so the gradient "
            "is doubled.",
            _has_loss("squared_error"),
            {"dJ_do": dJ_do_slips(squared_error=_d_squared_error_without_half)},
        ),
        Mutant(
            "bias_gradient_first_sample",
            "∂E/∂b^l taken as the first sample's δ^l (delta[0] where the mean over rows was meant) "
            "instead of the batch mean of δ^l.",
            _always,
            {"bias": _first_sample_bias},
        ),
        Mutant(
            "recursion_through_W_l",
            "BP2 indexes the weights of the layer being reached, (W^l)ᵀ δ^{l+1}, instead of the layer "
            "δ comes from, (W^{l+1})ᵀ δ^{l+1}; it runs only when every layer is square.",
            _recursion_through_W_l,
            {"bp2": _bp2_through_W_below},
            _square_everywhere("(W^l)ᵀ δ^{l+1}"),
        ),
        Mutant(
            "weight_gradient_uses_a_l",
            "BP4 written δ^l (a^l)ᵀ, the layer's own activation, instead of δ^l (a^{l-1})ᵀ, the "
            "activation feeding W^l; it runs only when every layer is square.",
            _weight_gradient_uses_a_l,
            {"bp4": _bp4_own_activation},
            _square_everywhere("δ^l (a^l)ᵀ"),
        ),
        Mutant(
            "o_minus_y_misapplied",
            "δ^L = o − y used for an output/loss pair where it is not exact — classically sigmoid + "
            "squared error, where the factor σ'(z^L) is lost.",
            _o_minus_y_misapplied,
            {"bp1": o_minus_y},
        ),
        Mutant(
            "extra_f_prime_on_o_minus_y",
            "f' multiplied onto the o − y shortcut although it already absorbed it, e.g. "
            "δ = (o − y) ⊙ o(1 − o) for softmax + cross-entropy or sigmoid + log loss.",
            _o_minus_y_pairs_with_f_prime,
            {"bp1": _o_minus_y_times_f_prime},
        ),
        Mutant(
            "softmax_jacobian_diagonal_only",
            "The softmax treated as elementwise, ∂o_k/∂z_i = o_k(1 − o_k)·[k = i], dropping the "
            "off-diagonal −o_k o_i terms (under squared error or cross-entropy).",
            lambda mlp: _plain(mlp) and mlp.activations[-1] == "softmax",
            {"jacobian": _diagonal_jacobian},
        ),
        Mutant(
            "log_loss_derivative_sign_flipped",
            "∂/∂o of the log-likelihood, y/o − (1 − y)/(1 − o), used where the loss is the negative "
            "log-likelihood, flipping the sign of ∂J/∂o.",
            _has_loss("log_loss"),
            {"dJ_do": dJ_do_slips(log_loss=_d_log_likelihood)},
        ),
        Mutant(
            "output_f_prime_dropped",
            "BP1 written δ^L = ∂J/∂o without ⊙ f'(z^L) — for softmax + cross-entropy the classic "
            "δ = −y/o without the Jacobian.",
            lambda mlp: _plain(mlp) and mlp.activations[-1] != "identity",
            {"bp1": _output_f_prime_dropped},
        ),
        # --- beyond the list ---
        Mutant(
            "leaky_relu_prime_without_leak",
            "leaky_relu' copied from relu' as [z > 0], forgetting the slope 0.01 on the negative side.",
            _has("leaky_relu"),
            {"f_prime": f_prime_slips(leaky_relu=_d_leaky_relu_without_leak)},
        ),
        Mutant(
            "softplus_prime_missing_denominator",
            "softplus' = e^z / (1 + e^z) written as e^z, the chain rule through log(1 + e^z) "
            "stopping at the numerator.",
            _has("softplus"),
            {"f_prime": f_prime_slips(softplus=_d_softplus_missing_denominator)},
        ),
        Mutant(
            "f_prime_of_next_layer_z",
            "BP2 evaluates f'(z^{l+1}) instead of f'(z^l), an off-by-one in the list of cached z's; "
            "it runs only when the hidden and output layers have one width.",
            _f_prime_of_next_z,
            {"bp2": _bp2_f_prime_of_next_z},
            _square_hidden_and_output("f'(z^{l+1}) in place of f'(z^l)"),
        ),
        Mutant(
            "mean_over_output_units",
            "∂J/∂o divided by n_L, as if J averaged over the output units (a framework's MSE mean) "
            "while it sums over them.",
            lambda mlp: _plain(mlp) and mlp.sizes[-1] >= 2,
            {"dJ_do": _dJ_do_mean_over_units},
        ),
        Mutant(
            "log_loss_inner_derivative_dropped",
            "∂/∂o log(1 − o) written 1/(1 − o), dropping the inner −1, so ∂J/∂o = −y/o − (1 − y)/(1 − o).",
            _has_loss("log_loss"),
            {"dJ_do": dJ_do_slips(log_loss=_d_log_loss_inner_sign)},
        ),
    )
}


__all__ = ["CORRECT", "Equations", "MUTANTS", "Mutant", "backprop", "o_minus_y", "f_prime_slips", "dJ_do_slips", "unmutated_gradients", "why_unsupported"]


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
