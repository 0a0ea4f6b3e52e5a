"""Register your own activation or loss: checked on registration, then a built-in."""

import numpy as np
import pytest
from hypothesis import given

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.oracles.checks.registration import RegistrationError, check_activation
from backprop_reference.reference import contrib
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.reference.cases import hidden_activations, valid_pairs
from backprop_reference.reference.losses import LOSSES
from backprop_reference.testbed.strategies import cases, networks


@pytest.fixture
def registries():
    """Restore the registries after a test that registers things."""
    saved = dict(ACTIVATIONS), dict(LOSSES)
    yield
    for registry, copy in zip((ACTIVATIONS, LOSSES), saved):
        registry.clear()
        registry.update(copy)


@pytest.mark.parametrize("name", ["gelu", "elu", "silu"])
def test_contributed_activations_pass_every_oracle(name):
    assert name in ACTIVATIONS and name in hidden_activations()  # like a built-in
    verdicts = check_activation(name)
    assert verdicts and all(v.ok for v in verdicts)
    assert {c.oracle for v in verdicts for c in v.comparisons} == set(oracles.ORACLES)  # complex step too


def test_a_wrong_derivative_is_refused_and_not_registered(registries):
    def sigma_only(z, xp):  # d/dz z σ(z) with the z σ(1 − σ) term forgotten
        return 0.5 * (1.0 + xp.tanh(0.5 * z))

    with pytest.raises(RegistrationError, match=r"activation 'bad_silu': df disagrees with jax.grad of f: at z = "):
        oracles.register_activation("bad_silu", contrib.silu, sigma_only)
    assert "bad_silu" not in ACTIVATIONS


def test_an_activation_that_is_not_complex_safe_is_checked_without_complex_step(registries):
    def softplus_plain(z, xp):
        return xp.logaddexp(0.0 * z, z)  # NumPy's logaddexp refuses complex input: complex step cannot run it

    def d_softplus_plain(z, xp):
        return 0.5 * (1.0 + xp.tanh(0.5 * z))

    oracles.register_activation("softplus_plain", softplus_plain, d_softplus_plain, output_range=(0.0, np.inf))
    verdicts = check_activation("softplus_plain")
    ran = {c.oracle for v in verdicts for c in v.comparisons}
    assert "complex_step" not in ran and {"jax", "torch", "central"} <= ran


def quartic(y, o, xp):
    return 0.25 * xp.sum((o - y) ** 4, axis=-1)


def d_quartic(y, o, xp):
    return (o - y) ** 3


def test_register_a_loss_and_use_it_like_a_built_in(registries):
    oracles.register_loss("quartic", quartic, d_quartic)
    assert ("identity", "quartic") in valid_pairs() and ("softmax", "quartic") in valid_pairs()
    mlp = reference.MLP((3, 4, 2), ("elu", "identity"), "quartic")
    params = reference.init_params(mlp, seed=0)
    X, Y = np.random.default_rng(0).standard_normal((5, 3)), np.random.default_rng(1).standard_normal((5, 2))
    for notation in reference.NOTATIONS:
        if reference.can_express(mlp, notation):
            ours = reference.gradients(mlp, params, X, Y, notation=notation)
            verdict = oracles.check_network_gradients(mlp, params, X, Y, ours, oracles=tuple(oracles.ORACLES))
            assert verdict.ok, verdict.message()


def test_a_wrong_loss_derivative_is_refused(registries):
    def forgot_the_cube(y, o, xp):
        return (o - y) ** 2

    with pytest.raises(RegistrationError, match="the hand-written derivative is wrong"):
        oracles.register_loss("quartic_bad", quartic, forgot_the_cube)
    assert "quartic_bad" not in LOSSES


@given(case=cases(networks=networks(structure=False)))
def test_registered_activations_in_random_networks(case):
    # The contributed activations are drawn like the built-ins; this property
    # test just makes sure some examples carry them and agree with jax.
    for notation in reference.NOTATIONS:
        if reference.can_express(case.mlp, notation):
            ours = reference.gradients(case.mlp, case.params, case.X, case.Y, notation=notation)
            oracles.assert_agree(
                ours, oracles.gradients(case.mlp, case.params, case.X, case.Y, oracle="jax"), implementation=notation, oracle="jax",
                terms=oracles.engine.rounding.network_terms(case.mlp, case.params, case.X, case.Y),
            )


BAD = [
    ("name with a space", dict(name="my act"), ValueError, "name must be a lower-case identifier"),
    ("existing name", dict(name="tanh"), ValueError, "'tanh' is already a registered activation; pass replace=True"),
    ("f not callable", dict(f=3), TypeError, "f must be callable"),
    ("df without xp", dict(df=lambda z: z), TypeError, "df must take the array namespace as an argument named xp"),
    ("bad range", dict(output_range=(1.0, 0.0)), ValueError, "output_range must be a"),
    ("kinks a list", dict(kinks=[0.0]), TypeError, "kinks must be a tuple"),
]


@pytest.mark.parametrize(("changes", "error", "match"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_register_activation_rejects(registries, changes, error, match):
    arguments = dict(name="my_act", f=contrib.silu, df=contrib.d_silu)
    arguments.update(changes)
    name, f, df = arguments.pop("name"), arguments.pop("f"), arguments.pop("df")
    with pytest.raises(error, match=match):
        oracles.register_activation(name, f, df, check=False, **arguments)
