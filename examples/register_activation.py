"""Register your own activation with its hand-derived derivative.

It is checked against jax, torch, complex step and finite differences on
registration; from then on every notation, property test and report uses it.
For the report: ``python -m backprop_reference.reports --plugin examples.register_activation``
(run from the repository root).
"""

import numpy as np

from backprop_reference import oracles
from backprop_reference import reference


def softsign(z, xp):
    return z / (1.0 + xp.sqrt(z * z))  # |z| written as √(z²): complex-safe for complex step


def d_softsign(z, xp):
    return 1.0 / (1.0 + xp.sqrt(z * z)) ** 2


if "softsign" not in reference.ACTIVATIONS:
    oracles.register_activation("softsign", softsign, d_softsign, output_range=(-1.0, 1.0))

if __name__ == "__main__":
    mlp = reference.MLP((3, 5, 2), ("softsign", "identity"), "squared_error")
    params = reference.init_params(mlp, seed=0)
    X, Y = np.ones((4, 3)), np.zeros((4, 2))
    print("registered; gradient of W^1:\n", reference.gradients(mlp, params, X, Y, notation="delta_rule")[0][0])

    def wrong(z, xp):  # forgot the square
        return 1.0 / (1.0 + xp.sqrt(z * z))

    try:
        oracles.register_activation("softsign_wrong", softsign, wrong)
    except ValueError as error:
        print("refused:", str(error).splitlines()[0])
