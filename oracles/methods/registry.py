"""The oracles: each a name, its kind (its row of the tolerance table) and,
for each mode of problem (``oracles.engine.problems``: a gradient, a product with a
tangent, a Jacobian), the callable that answers it with an ``Answer``.

Adding an oracle is one entry here; every check, test and the report iterate
over ``ORACLES``.  A Jacobian is answered the same way by every oracle, one
column (a product with a tangent) at a time (``_columns``).  The framework oracles' modules import JAX and torch, which
take seconds: their entries load them on first use, so ``import oracles``
stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping


from backprop_reference.oracles.methods import numerical
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.methods.frameworks import OracleCannotRun, load
from backprop_reference.oracles.methods.numerical.stencils import CENTRAL, COMPLEX_STEP, RICHARDSON


@dataclass(frozen=True)
class Oracle:
    name: str
    kind: str  # its row of the tolerance table (oracles.engine.tolerances): analytic, complex_step, richardson, central
    summary: str
    modes: Mapping[str, Callable[..., Answer]]  # problem.mode -> (problem, **options) -> Answer
    numerical: bool  # a numerical oracle: error estimates, and kink brackets where it sees kinks
    per_element: bool = False  # costs evaluations of f for every element (the sampled check spares it most: oracles.engine.sampling)

    def answer(self, problem, **options) -> Answer:
        """This oracle's answer to ``problem``, by its way of computing ``problem.mode``."""
        if problem.mode not in self.modes:
            raise OracleCannotRun(f"{self.name} has no way to compute a {problem.mode}")
        return self.modes[problem.mode](problem, **options)


def _lazy(module: str, function: str, framework: str) -> Callable[..., Answer]:
    """``module.function``, imported on the first call that can use it (``frameworks.load``:
    JAX and torch take seconds to import, and the caller's random state is kept); a
    function with no form in ``framework`` (plain NumPy) is told so without loading it."""

    def run(problem, **options) -> Answer:
        why = problem.why_not(framework)
        if why:
            raise OracleCannotRun(why)
        return getattr(load(module), function)(problem, **options)

    run.__name__ = f"{module.rsplit('.', 1)[-1]}_{function}"
    return run


_jax, _jax_tangent = _lazy("backprop_reference.oracles.methods.jax_oracle", "answer", "jax"), _lazy("backprop_reference.oracles.methods.jax_oracle", "tangent", "jax")
_torch, _torch_tangent = _lazy("backprop_reference.oracles.methods.torch_oracle", "answer", "torch"), _lazy("backprop_reference.oracles.methods.torch_oracle", "tangent", "torch")


def _columns(name: str, tangent: Callable[..., Answer]) -> Callable[..., Answer]:
    """A Jacobian by ``tangent``, one column per input element (``JacobianProblem.columns``)."""

    def jacobian(problem, **options) -> Answer:
        return problem.assemble(name, [(block, index, tangent(column, **options)) for block, index, column in problem.columns()])

    return jacobian


def _oracle(name: str, kind: str, summary: str, gradient: Callable[..., Answer], tangent: Callable[..., Answer], numerical_: bool = False,
            per_element: bool = False) -> Oracle:
    modes = {"gradient": gradient, "tangent": tangent, "jacobian": _columns(name, tangent)}
    return Oracle(name, kind, summary, modes, numerical_, per_element)


ORACLES: dict[str, Oracle] = {
    oracle.name: oracle
    for oracle in (
        _oracle("jax", "analytic", "jax.grad / jax.jvp of an independent JAX forward pass", _jax, _jax_tangent),
        _oracle("torch", "analytic", "torch.autograd / torch.func.jvp, float64 on the CPU by default", _torch, _torch_tangent),
        _oracle(
            "complex_step", "complex_step", "Im E(θ + ih)/h, h = 1e-30, of an independent complex-safe forward pass",
            numerical.oracle(COMPLEX_STEP), numerical.tangent_oracle(COMPLEX_STEP), per_element=True,
        ),
        _oracle(
            "richardson", "richardson", "central differences extrapolated twice (h, h/2, h/4), with error estimates",
            numerical.oracle(RICHARDSON), numerical.tangent_oracle(RICHARDSON), numerical_=True, per_element=True,
        ),
        _oracle(
            "central", "central", "central differences of reference.loss, with error estimates",
            numerical.oracle(CENTRAL), numerical.tangent_oracle(CENTRAL), numerical_=True, per_element=True,
        ),
    )
}

def get_oracle(name: object) -> Oracle:
    if not isinstance(name, str):
        raise TypeError(f"oracle must be a name (str); got {name!r}")
    if name not in ORACLES:
        raise ValueError(f"unknown oracle {name!r}; registered: {', '.join(ORACLES)}")
    return ORACLES[name]


def check_oracle_names(oracles: object) -> tuple[str, ...]:
    """The oracles a check is asked to run, in registry order (``None``: all of them)."""
    if oracles is None:
        return tuple(ORACLES)
    if isinstance(oracles, str) or not isinstance(oracles, (list, tuple)):
        raise TypeError(f"oracles must be None or a sequence of names from {list(ORACLES)}; got {oracles!r}")
    if not oracles:
        raise ValueError(f"oracles must name at least one of {list(ORACLES)}; got {oracles!r}")
    for name in oracles:
        if name not in ORACLES:
            raise ValueError(f"unknown oracle {name!r} in oracles; known: {', '.join(ORACLES)}")
    if len(set(oracles)) != len(oracles):
        raise ValueError(f"oracles names an oracle twice: {oracles!r}")
    return tuple(name for name in ORACLES if name in oracles)  # a fixed, readable order
