"""Every kind of hand-written derivative, right and with one slip, through the public entry points:

    python -m backprop_reference.reports.derivatives

prints, for each case of ``testbed.layers`` (checked with ``oracles.check_layer``)
and ``testbed.derivatives`` (a torch.autograd.Function, a jax.custom_vjp, an
activation's second derivative, a Hessian–vector product), the verdict of the
correct version, the verdict of the slip with the element it names, and the
wall time of each check (``time.perf_counter``; the first check of a kind
includes loading JAX or torch).
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from backprop_reference import oracles
from backprop_reference.oracles.checks.registration import RegistrationError
from backprop_reference.reference.activations import ACTIVATIONS
from backprop_reference.testbed import derivatives as cases
from backprop_reference.testbed.layers import LAYERS


def _timed(check: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = check()
    return result, time.perf_counter() - start


def _registration(d2f) -> object:
    """The verdict of registering softsign with ``d2f`` (a RegistrationError's message when refused)."""
    saved = dict(ACTIVATIONS)
    try:
        oracles.register_activation("softsign_report", cases.softsign, cases.d_softsign, d2f=d2f, kinks=(0.0,))
        return "OK"
    except RegistrationError as refused:
        return refused
    finally:
        ACTIVATIONS.clear()
        ACTIVATIONS.update(saved)


def rows() -> list[tuple[str, str, float, str, float]]:
    """(case, verdict of the correct one, seconds, verdict of the slip and its element, seconds)."""
    table = []
    for name, layer in LAYERS.items():
        args = layer.inputs(0)
        table.append((name, lambda layer=layer, args=args: oracles.check_layer(layer.forward, layer.backward, *args),
                      lambda layer=layer, args=args: oracles.check_layer(layer.forward, layer.buggy_backward, *args)))
    function, function_slip = cases.torch_functions()
    table.append(("torch.autograd.Function", lambda: oracles.check_torch_function(function, *cases.torch_function_inputs()),
                  lambda: oracles.check_torch_function(function_slip, *cases.torch_function_inputs())))
    rule, rule_slip = cases.custom_vjps()
    table.append(("jax.custom_vjp", lambda: oracles.check_custom_vjp(rule, *cases.custom_vjp_inputs()),
                  lambda: oracles.check_custom_vjp(rule_slip, *cases.custom_vjp_inputs())))
    table.append(("second derivative (d2f)", lambda: _registration(cases.d2_softsign), lambda: _registration(cases.d2_softsign_slip)))
    table.append(("Hessian-vector product", lambda: oracles.check_hvp(cases.log_sum_exp, cases.log_sum_exp_hvp, cases.hvp_point()),
                  lambda: oracles.check_hvp(cases.log_sum_exp, cases.log_sum_exp_hvp_slip, cases.hvp_point())))
    measured = []
    for name, correct, wrong in table:
        verdict, seconds = _timed(correct)
        caught, slip_seconds = _timed(wrong)
        measured.append((name, _status(verdict), seconds, _status(caught), slip_seconds))
    return measured


def _status(result: object) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, RegistrationError):
        return "REFUSED: " + str(result).splitlines()[0]
    worst = result.worst
    named = f" at {worst.element}" if result.status == "WRONG" and worst is not None else ""
    return f"{result.status}{named} (by {', '.join(result.oracles_ran)})"


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    print(f"{'case':26s} | {'correct':38s} | {'s':>5s} | {'with its slip':60s} | {'s':>5s}")
    for name, verdict, seconds, caught, slip_seconds in rows():
        print(f"{name:26s} | {verdict:38s} | {seconds:5.2f} | {caught:60s} | {slip_seconds:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
