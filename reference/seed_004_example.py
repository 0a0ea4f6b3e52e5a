"""Seed 004 — every number of the worked example ("形象的例子"), checked by computation.

The network (figure ``dl4002.jpg`` is lost; the wiring below is the text's own)
------------------------------------------------------------------------------
Three inputs, two sigmoid hidden units, two sigmoid outputs, ONE scalar bias per
layer shared by that layer's neurons::

    z_h1 = w1 x1 + w3 x2 + w5 x3 + b1        h1 = σ(z_h1)
    z_h2 = w2 x1 + w4 x2 + w6 x3 + b1        h2 = σ(z_h2)
    z_o1 = w7 h1 + w9 h2 + b2                o1 = σ(z_o1)
    z_o2 = w8 h1 + w10 h2 + b2               o2 = σ(z_o2)
    E = ½ ((o1 − t1)² + (o2 − t2)²)

with x = (1, 4, 5), t = (0.1, 0.05), w1 … w10 = 0.1, 0.2, …, 0.9, 0.1,
b1 = b2 = 0.5 and learning rate α = 0.01; one SGD step
w := w − α ∂E/∂w, b := b − α ∂E/∂b.

This wiring was checked against the seed text and the text agrees with it
everywhere: sections "1 输入层到隐藏层" and "2 隐藏层到输出层" state exactly these
equations; the substitutions "0.1 × 1 + 0.3 × 4 + 0.5 × 5 + 0.5 = 4.3" and
"0.2 × 1 + 0.4 × 4 + 0.6 × 5 + 0.5 = 5.3" put w1, w3, w5 on h1 and w2, w4, w6 on
h2; "0.7 × 0.9866 + 0.9 × 0.9950" and "0.8 × 0.9866 + 0.1 × 0.9950" put w7, w9
on o1 and w8, w10 on o2; the backward pass multiplies ∂E/∂h1 by w7 = 0.7 and
w8 = 0.8 and ∂E/∂h2 by w9 = 0.9 and w10 = 0.1.  Only labels slip: the second
output block is titled ``z_{o_1}`` / ``o1`` but uses w8, w10 and is z_o2 / o2;
the last update is titled ``b_1:=b_2 …`` but updates b2.

Shared biases: b1 enters both z_h1 and z_h2, so ∂E/∂b1 = δ_h1 + δ_h2 with
δ = ∂E/∂z; likewise ∂E/∂b2 = δ_o1 + δ_o2 (the document does this right for b2).
The document's own ∂E/∂b1 formula keeps only two of the four paths,
δ_o1 w7 σ'(z_h1) + δ_o2 w10 σ'(z_h2), dropping δ_o2 w8 σ'(z_h1) and
δ_o1 w9 σ'(z_h2); ``compute`` uses the full chain rule (which, as x1 = 1,
equals ∂E/∂w1 + ∂E/∂w2).

What is and is not in ``PRINTED``
---------------------------------
One row per distinct (quantity, printed number) pair in the example, in the
order of first appearance: the given inputs, targets and parameters as the
text substitutes them, every forward value, every factor of every chain-rule
product (∂E/∂o, ∂o/∂z_o, ∂E/∂h, ∂h/∂z_h, ∂z/∂b), every gradient and every
updated parameter.  A quantity printed again with the same number keeps its
first row; printed again with a different number it gets a second row
(suffix ``_2``).  The document prints no value of the loss E itself, and the
"about 1500 iterations" of section 7 describes a lost plot, so neither has a
row.  ``compute`` always gives the TRUE value of the quantity (float64, from
the equations above), never a value rebuilt from the document's rounded
intermediates, so a row that disagrees is the document's mistake.

Slips outside the worked example (found by reading; no printed numbers)
----------------------------------------------------------------------
The abstract section's matrix identities (row-major, ``out = Z_L W_{L+1} + b̃``):

* b̃_{L+1} is printed ``[[b1, b1], [b2, b2]]``; the text defines it as bᵀ
  repeated down the rows, ``[[b1, b2], [b1, b2]]``, which its own o_ij use.
* ∂J/∂w32 is printed with ∂J/∂o11; it is ∂J/∂o12 z13 + ∂J/∂o22 z23.
* The "Jacobian" in ∂J/∂W = (·)(∂J/∂out) is printed ``[[z11, z21], [z21, z22],
  [z31, z32]]``; it is Z_Lᵀ = ``[[z11, z21], [z12, z22], [z13, z23]]``.
* ∂J/∂z21 is printed with ∂J/∂o12; it is ∂J/∂o21 w11 + ∂J/∂o22 w12.
* W_{L+1}ᵀ is printed ``[[w11, w12, w31], [w21, w22, w33]]``; it is
  ``[[w11, w21, w31], [w12, w22, w32]]``.
* The tanh case is headed "激活函数为sigmoid", and its derivative is written
  ∂J/∂h_L = ((a − b)/(a + b))′ where ∂Z_L/∂h_L is meant.
The abstract section calls the pre-activation h and the activation Z; the
worked example does the opposite (z pre-activation, h hidden output).
``matrix_form`` recomputes the example's gradients with the corrected
row-major identities as a cross-check of ``compute``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class PrintedValue:
    """One number as the seed prints it."""

    label: str  # machine id, a key of ``compute()``
    quantity: str  # what the number is
    printed: str  # exactly the document's digits
    decimals: int  # printed decimal places
    where: str  # a few words of the seed around it, to find it


def _p(label: str, quantity: str, printed: str, where: str) -> PrintedValue:
    """A row whose ``decimals`` is read off the printed digits."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return PrintedValue(label, quantity, printed, decimals, where)


PRINTED: tuple[PrintedValue, ...] = (
    # Given values ("我们假设x_1=1,x_2=4,x_3=5, 最后的真实结果t_1=0.1,t_2=0.05").
    _p("x1", "input x1 (also ∂z_h/∂w for w1, w2)", "1", "x_1=1,x_2=4"),
    _p("x2", "input x2 (also ∂z_h/∂w for w3, w4)", "4", "x_2=4,x_3=5"),
    _p("x3", "input x3 (also ∂z_h/∂w for w5, w6)", "5", "x_3=5$, 最后的真实结果"),
    _p("t1", "target t1", "0.1", "t_1=0.1,t_2=0.05"),
    _p("t2", "target t2", "0.05", "t_1=0.1,t_2=0.05"),
    # 3 计算hidden layer 和 output layer的值
    _p("w1", "weight w1 (x1 → h1)", "0.1", r"=0.1 \times 1 + 0.3 \times 4"),
    _p("w3", "weight w3 (x2 → h1)", "0.3", r"0.3 \times 4 + 0.5 \times 5"),
    _p("w5", "weight w5 (x3 → h1)", "0.5", r"0.5 \times 5 + 0.5 = 4.3"),
    _p("b1", "hidden-layer bias b1", "0.5", r"0.5 \times 5 + 0.5 = 4.3"),
    _p("z_h1", "pre-activation z_h1 = w1 x1 + w3 x2 + w5 x3 + b1", "4.3", r"+ 0.5 = 4.3"),
    _p("h1", "hidden output h1 = σ(z_h1)", "0.9866", r"\sigma (4.3) = 0.9866"),
    _p("w2", "weight w2 (x1 → h2)", "0.2", r"=0.2 \times 1 + 0.4 \times 4"),
    _p("w4", "weight w4 (x2 → h2)", "0.4", r"0.4 \times 4 + 0.6 \times 5"),
    _p("w6", "weight w6 (x3 → h2)", "0.6", r"0.6 \times 5 + 0.5 = 5.3"),
    _p("z_h2", "pre-activation z_h2 = w2 x1 + w4 x2 + w6 x3 + b1", "5.3", r"+ 0.5 = 5.3"),
    _p("h2", "hidden output h2 = σ(z_h2)", "0.9950", r"\sigma (5.3) = 0.9950"),
    _p("w7", "weight w7 (h1 → o1)", "0.7", r"= 0.7 \times 0.9866 + 0.9"),
    _p("w9", "weight w9 (h2 → o1)", "0.9", r"0.9 \times 0.9950 + 0.5 = 2.0862"),
    _p("b2", "output-layer bias b2", "0.5", r"0.9950 + 0.5 = 2.0862"),
    _p("z_o1", "pre-activation z_o1 = w7 h1 + w9 h2 + b2", "2.0862", r"+ 0.5 = 2.0862"),
    _p("o1", "output o1 = σ(z_o1)", "0.8896", r"\sigma (2.0862) = 0.8896"),
    _p("w8", "weight w8 (h1 → o2)", "0.8", r"= 0.8 \times 0.9866 + 0.1"),
    _p("w10", "weight w10 (h2 → o2)", "0.1", r"0.1 \times 0.9950 + 0.5 = 1.3888"),
    _p("z_o2", "pre-activation z_o2 = w8 h1 + w10 h2 + b2 (titled z_{o_1})", "1.3888", r"+ 0.5 = 1.3888"),
    _p("o2", "output o2 = σ(z_o2) (titled o1)", "0.8004", r"\sigma (1.3888) = 0.8004"),
    # 5 反向传播之倒一层
    _p("dE/dw7", "∂E/∂w7 = (o1 − t1) o1(1 − o1) h1", "0.0765", r"(1-0.8896))0.9866=0.0765"),
    _p("dE/do2", "∂E/∂o2 = o2 − t2", "0.7504", r"=0.7504 \times 0.1598 \times 0.9866"),
    _p("do2/dz_o2", "∂o2/∂z_o2 = o2(1 − o2)", "0.1598", r"=0.7504 \times 0.1598 \times 0.9866"),
    _p("dE/dw8", "∂E/∂w8 = (o2 − t2) o2(1 − o2) h1", "0.1183", r"0.1598 \times 0.9866 = 0.1183"),
    _p("dE/do1", "∂E/∂o1 = o1 − t1", "0.7896", r"=0.7896 \times 0.0983 \times 0.9950"),
    _p("do1/dz_o1", "∂o1/∂z_o1 = o1(1 − o1)", "0.0983", r"=0.7896 \times 0.0983 \times 0.9950"),
    _p("dE/dw9", "∂E/∂w9 = (o1 − t1) o1(1 − o1) h2", "0.0772", r"0.0983 \times 0.9950 = 0.0772"),
    _p("dE/dw10", "∂E/∂w10 = (o2 − t2) o2(1 − o2) h2", "0.1193", r"0.1598 \times 0.9950 = 0.1193"),
    _p("dz/db", "∂z/∂b of its layer's shared bias (factor in ∂E/∂b2, ∂E/∂b1)", "1", r"0.0983 \times 1 + 0.7504"),
    _p("dE/db2", "∂E/∂b2 = δ_o1 + δ_o2 (b2 shared by o1, o2)", "0.1975", r"0.1598 \times 1 =0.1975"),
    # 6 反向传播之倒二层
    _p("dE/dh1", "∂E/∂h1 = δ_o1 w7 + δ_o2 w8", "0.1502", r"0.1598 \times 0.8 = 0.1502"),
    _p("dh1/dz_h1", "∂h1/∂z_h1 = h1(1 − h1)", "0.0132", r"0.1502 \times 0.0132 \times 1"),
    _p("dE/dw1", "∂E/∂w1 = ∂E/∂h1 h1(1 − h1) x1", "0.0020", r"0.0132 \times 1 = 0.0020"),
    _p("dE/dw3", "∂E/∂w3 = ∂E/∂h1 h1(1 − h1) x2", "0.0079", r"0.0132 \times 4 = 0.0079"),
    _p("dE/dw5", "∂E/∂w5 = ∂E/∂h1 h1(1 − h1) x3", "0.0099", r"0.0132 \times 5 = 0.0099"),
    _p("dE/dh2", "∂E/∂h2 = δ_o1 w9 + δ_o2 w10", "0.0818", r"0.1598 \times 0.1 = 0.0818"),
    _p("dh2/dz_h2", "∂h2/∂z_h2 = h2(1 − h2)", "0.0049", r"0.0818 \times 0.0049\times 1"),
    _p("dE/dw2", "∂E/∂w2 = ∂E/∂h2 h2(1 − h2) x1", "0.0004", r"0.0049\times 1 = 0.0004"),
    _p("dE/dw4", "∂E/∂w4 = ∂E/∂h2 h2(1 − h2) x2", "0.0016", r"0.0049 \times 4 = 0.0016"),
    _p("dE/dw6", "∂E/∂w6 = ∂E/∂h2 h2(1 − h2) x3", "0.0020", r"0.0049 \times 5 = 0.0020"),
    _p("do1/dz_o1_2", "∂o1/∂z_o1 = o1(1 − o1), as printed in ∂E/∂b1", "0.9983", r"= 0.7896 \times 0.9983 \times 0.7"),
    _p("dE/db1", "∂E/∂b1 = δ_h1 + δ_h2 (b1 shared by h1, h2)", "0.0008", r"0.0049 \times 1= 0.0008"),
    # 梯度下降, α = 0.01
    _p("alpha", "learning rate α", "0.01", r"令学习率$\alpha=0.01$"),
    _p("w1_new", "w1 − α ∂E/∂w1", "0.1000", r"0.01 \times 0.0020 = 0.1000"),
    _p("w2_new", "w2 − α ∂E/∂w2", "0.2000", r"0.01 \times 0.0004 = 0.2000"),
    _p("w3_new", "w3 − α ∂E/∂w3", "0.2999", r"0.01 \times 0.0079 = 0.2999"),
    _p("w4_new", "w4 − α ∂E/∂w4", "0.4000", r"0.01 \times 0.0016 = 0.4000"),
    _p("w5_new", "w5 − α ∂E/∂w5", "0.4999", r"0.01 \times 0.0099 = 0.4999"),
    _p("w6_new", "w6 − α ∂E/∂w6", "0.6000", r"0.01 \times 0.0020 = 0.6000"),
    _p("w7_new", "w7 − α ∂E/∂w7", "0.6992", r"0.01 \times 0.0765 = 0.6992"),
    _p("w8_new", "w8 − α ∂E/∂w8", "0.7988", r"0.01 \times 0.1183 = 0.7988"),
    _p("w9_new", "w9 − α ∂E/∂w9", "0.8992", r"0.01 \times 0.0772 = 0.8992"),
    _p("w10_new", "w10 − α ∂E/∂w10", "0.0988", r"0.01 \times 0.1193 = 0.0988"),
    _p("b1_2", "old b1, as substituted in its update", "0.1", r"\frac {dE} {db_1} = 0.1 - 0.01"),
    _p("b1_new", "b1 − α ∂E/∂b1", "0.0500", r"0.01 \times 0.0008 = 0.0500"),
    _p("b2_2", "old b2, as substituted in its update (titled b_1:=b_2)", "0.1", r"\frac {dE} {db_2} = 0.1 - 0.01"),
    _p("b2_new", "b2 − α ∂E/∂b2 (titled b_1)", "0.4980", r"0.01 \times 0.1975 = 0.4980"),
)


def _given() -> dict[str, float]:
    """The example's data and parameters (w1 … w10 = 0.1, …, 0.9, 0.1; b1 = b2 = 0.5)."""
    values = {"x1": 1.0, "x2": 4.0, "x3": 5.0, "t1": 0.1, "t2": 0.05, "b1": 0.5, "b2": 0.5, "alpha": 0.01}
    weights = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.1)
    values.update({f"w{i}": w for i, w in enumerate(weights, start=1)})
    return values


def sigma(z: Array | np.float64) -> Array | np.float64:
    """σ(z) = 1 / (1 + e^{−z}), elementwise; σ'(z) = σ(z)(1 − σ(z))."""
    return np.float64(1.0) / (np.float64(1.0) + np.exp(-z))


def compute() -> dict[str, float]:
    """The true value of every label in ``PRINTED``, float64, from the example's equations.

    Forward pass, then the chain rule with δ = ∂E/∂z, then one SGD step.
    Nothing here reuses the document's rounded intermediates.
    """
    g = {k: np.float64(v) for k, v in _given().items()}
    x1, x2, x3, t1, t2 = g["x1"], g["x2"], g["x3"], g["t1"], g["t2"]
    w1, w2, w3, w4, w5, w6, w7, w8, w9, w10 = (g[f"w{i}"] for i in range(1, 11))
    b1, b2, alpha = g["b1"], g["b2"], g["alpha"]

    # Forward.
    z_h1 = w1 * x1 + w3 * x2 + w5 * x3 + b1
    z_h2 = w2 * x1 + w4 * x2 + w6 * x3 + b1
    h1, h2 = sigma(z_h1), sigma(z_h2)
    z_o1 = w7 * h1 + w9 * h2 + b2
    z_o2 = w8 * h1 + w10 * h2 + b2
    o1, o2 = sigma(z_o1), sigma(z_o2)

    # Output layer: E = ½ Σ (o − t)², dE/do = o − t, δ_o = ∂E/∂z_o.
    dE_do1, dE_do2 = o1 - t1, o2 - t2
    do1_dz_o1, do2_dz_o2 = o1 * (1 - o1), o2 * (1 - o2)
    delta_o1, delta_o2 = dE_do1 * do1_dz_o1, dE_do2 * do2_dz_o2
    dz_db = np.float64(1.0)
    dE_dw7, dE_dw9 = delta_o1 * h1, delta_o1 * h2
    dE_dw8, dE_dw10 = delta_o2 * h1, delta_o2 * h2
    dE_db2 = delta_o1 * dz_db + delta_o2 * dz_db  # b2 feeds both z_o1 and z_o2

    # Hidden layer: each h feeds both outputs.
    dE_dh1 = delta_o1 * w7 + delta_o2 * w8
    dE_dh2 = delta_o1 * w9 + delta_o2 * w10
    dh1_dz_h1, dh2_dz_h2 = h1 * (1 - h1), h2 * (1 - h2)
    delta_h1, delta_h2 = dE_dh1 * dh1_dz_h1, dE_dh2 * dh2_dz_h2
    dE_dw1, dE_dw3, dE_dw5 = delta_h1 * x1, delta_h1 * x2, delta_h1 * x3
    dE_dw2, dE_dw4, dE_dw6 = delta_h2 * x1, delta_h2 * x2, delta_h2 * x3
    dE_db1 = delta_h1 * dz_db + delta_h2 * dz_db  # b1 feeds both z_h1 and z_h2

    dE_dw = (dE_dw1, dE_dw2, dE_dw3, dE_dw4, dE_dw5, dE_dw6, dE_dw7, dE_dw8, dE_dw9, dE_dw10)
    values: dict[str, np.float64] = dict(g)
    values.update(z_h1=z_h1, h1=h1, z_h2=z_h2, h2=h2, z_o1=z_o1, o1=o1, z_o2=z_o2, o2=o2)
    values["dE/do1"], values["dE/do2"] = dE_do1, dE_do2
    values["do1/dz_o1"], values["do2/dz_o2"] = do1_dz_o1, do2_dz_o2
    values["do1/dz_o1_2"] = do1_dz_o1  # printed again, with other digits, in ∂E/∂b1
    values["dE/dh1"], values["dE/dh2"] = dE_dh1, dE_dh2
    values["dh1/dz_h1"], values["dh2/dz_h2"] = dh1_dz_h1, dh2_dz_h2
    values["dz/db"] = dz_db
    values["dE/db1"], values["dE/db2"] = dE_db1, dE_db2
    values["b1_2"], values["b2_2"] = b1, b2  # the old biases, as substituted in their updates
    values["b1_new"], values["b2_new"] = b1 - alpha * dE_db1, b2 - alpha * dE_db2
    for i, grad in enumerate(dE_dw, start=1):
        values[f"dE/dw{i}"] = grad
        values[f"w{i}_new"] = g[f"w{i}"] - alpha * grad
    labels = [row.label for row in PRINTED]
    return {label: float(values[label]) for label in labels}


def matrix_form() -> dict[str, float]:
    """∂E/∂w and ∂E/∂b again, by the corrected row-major identities of the abstract section.

    One sample X (1×3); W is (inputs × outputs): W1 = [[w1, w2], [w3, w4], [w5, w6]],
    W2 = [[w7, w8], [w9, w10]]; b̃ repeats the shared scalar bias on every entry.
    In the abstract section's names (H the pre-activation, Z = σ(H)):
    ∂E/∂W = Z_prevᵀ ∂E/∂H, ∂E/∂Z_prev = ∂E/∂H Wᵀ, ∂E/∂H = ∂E/∂Z ⊙ Z(1 − Z), and
    a scalar bias shared by a layer gets the sum of all entries of ∂E/∂H.
    """
    g = _given()
    X = np.array([[g["x1"], g["x2"], g["x3"]]])
    T = np.array([[g["t1"], g["t2"]]])
    W1 = np.array([[g["w1"], g["w2"]], [g["w3"], g["w4"]], [g["w5"], g["w6"]]])
    W2 = np.array([[g["w7"], g["w8"]], [g["w9"], g["w10"]]])
    Z1 = sigma(X @ W1 + g["b1"])  # (h1, h2)
    O = sigma(Z1 @ W2 + g["b2"])  # (o1, o2)
    dE_dH2 = (O - T) * O * (1 - O)  # (δ_o1, δ_o2)
    dE_dH1 = (dE_dH2 @ W2.T) * Z1 * (1 - Z1)  # (δ_h1, δ_h2)
    dE_dW2, dE_dW1 = Z1.T @ dE_dH2, X.T @ dE_dH1
    out = {f"dE/dw{2 * r + c + 1}": float(dE_dW1[r, c]) for r in range(3) for c in range(2)}
    out.update({f"dE/dw{2 * r + c + 7}": float(dE_dW2[r, c]) for r in range(2) for c in range(2)})
    out["dE/db1"], out["dE/db2"] = float(dE_dH1.sum()), float(dE_dH2.sum())
    return out


def agrees(row: PrintedValue, computed: float) -> bool:
    """Whether ``computed`` rounds to ``row.printed`` at the printed precision."""
    return abs(computed - float(row.printed)) <= 0.5 * 10.0**-row.decimals + 1e-12


def verdicts() -> list[tuple[PrintedValue, float, bool]]:
    """(row, true value, agrees) for every printed number, in document order."""
    values = compute()
    return [(row, values[row.label], agrees(row, values[row.label])) for row in PRINTED]
