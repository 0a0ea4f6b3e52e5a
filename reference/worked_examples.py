"""The seeds' worked examples as data plus code, for the tests and the report.

* Seed 003: the article's network (recovered in ``../shared/NOTATION.md``):
  one step of α = 0.5 takes the output from 0.6718 to 0.6981.
* Seed 004: every printed number lives in ``reference.seed_004_example``; here
  is the same network in the canonical layout, to run through the notations.

Each row pairs a printed number with the value computed here; whether they
agree is computed (to the printed precision), never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backprop_reference.reference import seed_004_example
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import forward
from backprop_reference.reference.notations import sgd_step


@dataclass(frozen=True)
class ExampleRow:
    seed: str
    quantity: str
    printed: str
    computed: float
    agrees: bool
    where: str = ""


def seed_003_network() -> tuple[MLP, Params, np.ndarray, np.ndarray]:
    """x = (1, 0), y = 1, sigmoid everywhere, log loss.  h3 has a bias and no
    x1 connection; g1 has no h3 connection; layers 2 and 3 have no bias;
    x2's weights are unknown and irrelevant (x2 = 0), taken as 0."""
    mlp = MLP(
        (2, 3, 2, 1),
        ("sigmoid", "sigmoid", "sigmoid"),
        "log_loss",
        bias=("neuron", "none", "none"),
        masks=(np.array([[1, 1], [1, 1], [0, 1]]), np.array([[1, 1, 0], [1, 1, 1]]), None),
    )
    params = [
        (np.array([[0.3, 0.0], [0.7, 0.0], [0.0, 0.0]]), np.array([0.5, -0.2, -0.1])),
        (np.array([[-0.5, 0.4, 0.0], [0.3, 0.6, 0.4]]), None),
        (np.array([[0.5, 0.7]]), None),
    ]
    return mlp, params, np.array([[1.0, 0.0]]), np.array([[1.0]])


def seed_004_network() -> tuple[MLP, Params, np.ndarray, np.ndarray]:
    """x = (1, 4, 5), t = (0.1, 0.05); w1…w10 = 0.1 … 0.9, 0.1 wired as in the
    document; one bias per layer shared by its neurons (b1 = b2 = 0.5)."""
    w = {f"w{i}": v for i, v in enumerate([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.1], start=1)}
    mlp = MLP((3, 2, 2), ("sigmoid", "sigmoid"), "squared_error", bias="shared")
    params = [
        (np.array([[w["w1"], w["w3"], w["w5"]], [w["w2"], w["w4"], w["w6"]]]), np.array([0.5])),
        (np.array([[w["w7"], w["w9"]], [w["w8"], w["w10"]]]), np.array([0.5])),
    ]
    return mlp, params, np.array([[1.0, 4.0, 5.0]]), np.array([[0.1, 0.05]])


def _agrees(printed: str, computed: float) -> bool:
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(computed - float(printed)) <= 0.5 * 10.0**-decimals + 1e-12


def seed_003_rows() -> list[ExampleRow]:
    mlp, params, X, Y = seed_003_network()
    before = float(forward(mlp, params, X)[1][-1][0, 0])
    stepped = sgd_step(mlp, params, X, Y, lr=0.5, notation="delta_rule")
    after = float(forward(mlp, stepped, X)[1][-1][0, 0])
    return [
        ExampleRow("003", "output o before the step", "0.6718", before, _agrees("0.6718", before), "网络的输出是 0.6718"),
        ExampleRow("003", "output o after one step, α = 0.5", "0.6981", after, _agrees("0.6981", after), "输出已从 0.6718 增加到 0.6981"),
    ]


def seed_004_rows() -> list[ExampleRow]:
    return [
        ExampleRow("004", f"{row.label}: {row.quantity}", row.printed, float(computed), bool(agrees), row.where)
        for row, computed, agrees in seed_004_example.verdicts()
    ]


def all_rows() -> list[ExampleRow]:
    return seed_003_rows() + seed_004_rows()
