"""Hand-derived backpropagation for fully connected networks, one module per
seed document, each converting to one canonical layout (``reference.network``)."""

from reference.activations import ACTIVATIONS, Activation
from reference.losses import LOSSES, Loss
from reference.network import MLP, forward, init_params, loss
from reference.notations import NOTATIONS, can_express, gradients, sgd_step, why_cannot_express
from reference.registration import register_activation, register_loss
from reference import contrib  # noqa: F401  GELU, ELU, SiLU, registered through the public API

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
    "register_activation",
    "register_loss",
    "sgd_step",
    "why_cannot_express",
]
