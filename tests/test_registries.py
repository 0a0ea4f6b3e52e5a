"""Each registry entry's hand-derived derivative against JAX's, and stability."""

import numpy as np
import pytest

from backprop_reference import oracles
from backprop_reference.oracles.methods import jax_oracle
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.cases import valid_pairs
from backprop_reference.reference.losses import LOSSES
from backprop_reference.reference.precision import jax_float64

jax = jax_oracle.jax
jnp = jax_oracle.jnp
ANALYTIC = oracles.engine.tolerances.tolerance_for(np.float64, "jax")

ELEMENTWISE = [name for name, a in ACTIVATIONS.items() if a.elementwise]
EXTREMES = np.array([-1e3, -745.0, -50.0, -37.5, -1.0, -1e-300, 0.0, 1e-300, 1.0, 37.5, 50.0, 745.0, 1e3])


def assert_close(ours, theirs, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    scale = max(float(np.max(np.abs(theirs))), ANALYTIC.floor)
    error = float(np.max(np.abs(ours - theirs))) / scale
    assert error <= ANALYTIC.limit, f"{what}: normalised error {error:.3e} > {ANALYTIC.limit:.0e}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_derivative_matches_jax(name):
    z = np.random.default_rng(0).normal(scale=4.0, size=200)
    z = z[np.abs(z) > 1e-6]  # away from kinks
    with jax_float64():
        jax_df = jax.vmap(jax.grad(jax_oracle.JAX.activation(name)))(jnp.asarray(z))
        assert jax_df.dtype == jnp.float64
        assert_close(ACTIVATIONS[name].f(z), jax_oracle.JAX.activation(name)(jnp.asarray(z)), f"{name}")
    assert_close(ACTIVATIONS[name].df(z), jax_df, f"{name}'")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_stable_for_large_inputs(name):
    activation = ACTIVATIONS[name]
    z = np.stack([EXTREMES, -EXTREMES[::-1]])  # softmax acts on rows
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        values = activation.f(z)
        derivative = activation.jacobian(z) if activation.output_only else activation.df(z)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(derivative))


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_kink_takes_the_left_hand_derivative_as_torch_does(name):
    import torch

    from backprop_reference.oracles.methods import torch_oracle

    activation = ACTIVATIONS[name]
    assert activation.kinks == (0.0,)
    tiny = 1e-300
    left, right = activation.df(np.array([-tiny]))[0], activation.df(np.array([tiny]))[0]
    at_kink = activation.df(np.zeros(1))[0]
    assert at_kink == left and left != right
    zero = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    torch_oracle.ACTIVATIONS[name](zero).sum().backward()
    assert at_kink == float(zero.grad[0])
    # jax.grad takes the right-hand value for leaky_relu: the frameworks differ at the kink.
    jax_value = float(jax.grad(lambda z: jax_oracle.JAX.activation(name)(z).sum())(jnp.zeros(1))[0])
    assert jax_value == (left if name == "relu" else right)


def test_softmax_jacobian_matches_jax():
    z = np.random.default_rng(1).normal(scale=3.0, size=(4, 5))
    for row in z:
        with jax_float64():
            theirs = jax.jacobian(jax_oracle.ACTIVATIONS["softmax"])(jnp.asarray(row))  # [k, i] = ∂o_k/∂z_i
        assert_close(ACTIVATIONS["softmax"].jacobian(row), theirs, "softmax Jacobian")


@pytest.mark.parametrize(("output", "loss"), valid_pairs())
def test_loss_and_derivative_match_jax(output, loss):
    rng = np.random.default_rng(2)
    z = rng.normal(size=(6, 4, 3) if ACTIVATIONS[output].pieces else (6, 4))  # maxout: 3 pieces per unit
    y = LOSSES[loss].targets(rng, (6, 4))
    o = ACTIVATIONS[output].f(z)
    entry = LOSSES[loss]

    def J(o_):  # the loss in terms of o, written with jnp
        if loss == "squared_error":
            return 0.5 * jnp.sum((o_ - y) ** 2, axis=-1)
        if loss == "log_loss":
            return -jnp.sum(y * jnp.log(o_) + (1 - y) * jnp.log1p(-o_), axis=-1)
        return -jnp.sum(y * jnp.log(o_), axis=-1)

    with jax_float64():
        assert_close(entry.J(y, o), J(jnp.asarray(o)), f"{loss}")
        assert_close(entry.dJ_do(y, o), jax.grad(lambda o_: J(o_).sum())(jnp.asarray(o)), f"∂{loss}/∂o")
    if output in entry.from_logits:  # the fused form is the same function
        assert_close(entry.from_logits[output](y, z), entry.J(y, o), f"{loss} from logits")


@pytest.mark.parametrize(("output", "loss"), [(a, l) for a, l in valid_pairs() if a in LOSSES[l].from_logits])
def test_fused_loss_finite_for_saturated_outputs(output, loss):
    z = np.stack([EXTREMES[:5], -EXTREMES[:5]])
    y = LOSSES[loss].targets(np.random.default_rng(3), z.shape)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        assert np.all(np.isfinite(LOSSES[loss].from_logits[output](y, z)))
