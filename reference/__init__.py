"""Hand-derived backpropagation for fully connected networks, one module per
seed document (``reference.notations``), each converting to one canonical
layout (``reference.mlp``).  The model: it imports nothing from the checking
machinery (``oracles``), the test bed (``testbed``) or the report (``reports``)."""

from backprop_reference.reference import contrib  # noqa: F401  GELU, ELU, SiLU, added to the registry like a user's own
from backprop_reference.reference.activations import ACTIVATIONS, Activation
from backprop_reference.reference.losses import LOSSES, Loss
from backprop_reference.reference.mlp import MLP
from backprop_reference.reference.network import forward, init_params, loss
from backprop_reference.reference.notations import NOTATIONS, can_express, gradients, sgd_step, why_cannot_express

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "LOSSES",
    "Loss",
    "MLP",
    "NOTATIONS",
    "can_express",
    "forward",
    "gradients",
    "init_params",
    "loss",
    "sgd_step",
    "why_cannot_express",
]
