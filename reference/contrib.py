"""GELU, ELU and SiLU, added to the registry as a user's own activations are.

Each is written once against the array namespace ``xp`` (NumPy, jax.numpy,
torch, complex NumPy), with the derivative derived by hand beside it.  They
are added unchecked at import (the check runs every oracle, which is the
machinery's job, not the model's); ``tests/test_registration.py`` runs
``oracles.check_activation`` on each.
"""

from __future__ import annotations

import math

from backprop_reference.reference.registration import add_activation

_C = math.sqrt(2.0 / math.pi)
_A = 0.044715


def gelu(z, xp):
    # GELU, tanh form (Hendrycks & Gimpel): ½ z (1 + tanh(c (z + a z³))), with z³ as z·z·z:
    # NumPy's z**3 is a general power, ten times the cost of the whole rest
    return 0.5 * z * (1.0 + xp.tanh(_C * z * (1.0 + _A * (z * z))))


def d_gelu(z, xp):
    # d/dz: ½ (1 + t) + ½ z (1 − t²) c (1 + 3a z²), t = tanh(c (z + a z³)); 1 − t² as (1 − t)(1 + t)
    z2 = z * z
    t = xp.tanh(_C * z * (1.0 + _A * z2))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t) * (1.0 + t) * _C * (1.0 + 3.0 * _A * z2)


def elu(z, xp):
    # ELU, α = 1: z for z > 0, e^z − 1 otherwise.  The branch reads Re z (complex-safe),
    # and e^z is taken of min(z, 0) only, so it never overflows.
    positive = xp.real(z) > 0
    return xp.where(positive, z, xp.expm1(xp.where(positive, 0.0 * z, z)))


def d_elu(z, xp):
    # d/dz: 1 for z > 0, e^z otherwise (continuous at 0 for α = 1; f'' is not)
    positive = z > 0
    return xp.where(positive, 1.0, xp.exp(xp.where(positive, 0.0 * z, z)))


def silu(z, xp):
    # SiLU / swish: z σ(z) = ½ z (1 + tanh(z/2)) — the tanh form cannot overflow
    return 0.5 * z * (1.0 + xp.tanh(0.5 * z))


def d_silu(z, xp):
    # d/dz: σ(z) + z σ(z)(1 − σ(z)) = ½ (1 + t) + ¼ z (1 − t)(1 + t), t = tanh(z/2)
    t = xp.tanh(0.5 * z)
    return 0.5 * (1.0 + t) + 0.25 * z * (1.0 - t) * (1.0 + t)


add_activation("gelu", gelu, d_gelu, output_range=(-0.17, math.inf))
# ELU is C¹ at 0 but its second derivative jumps there (0 vs e^0 = 1), so a
# difference stencil across 0 converges like h, not h²: declare 0 a kink.
add_activation("elu", elu, d_elu, output_range=(-1.0, math.inf), kinks=(0.0,))
add_activation("silu", silu, d_silu, output_range=(-0.28, math.inf))
