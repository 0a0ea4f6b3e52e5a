"""Checks declared in a module, for ``backprop-check`` and reports of your own gradients.

Two ways to declare, both read by ``collected(module)``:

* a zero-argument function decorated with ``@oracles.declare`` (or
  ``@oracles.declare("a name")``) that returns the ``Verdict`` of any entry
  point — ``check_gradient``, ``check_layer``, ``check_vjp``,
  ``check_torch_function``, … — it stays an ordinary function (pytest may
  call it too);
* a module-level list ``CHECKS`` of ``(function, derivative, inputs)`` tuples,
  each judged by ``check_gradient(function, derivative, inputs)``, or of
  ``oracles.Check(name, entry_point, *args, **kwargs)`` for any other entry point.

Nothing runs at declaration: a check runs when ``Declared.run`` is called.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from backprop_reference.oracles.checks.gradient import check_gradient
from backprop_reference.oracles.engine.verdict import Verdict

MARK = "__backprop_check__"


def declare(function: Callable | str | None = None, *, name: str | None = None):
    """Mark a zero-argument function returning a ``Verdict`` as a check; ``@declare``,
    ``@declare("name")`` or ``@declare(name="name")``.  Returns the function unchanged."""
    if isinstance(function, str):
        name, function = function, None

    def mark(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"@declare marks a function; got {type(fn).__name__}")
        parameters = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if parameters:
            raise TypeError(f"@declare marks a function called without arguments; {fn.__name__} needs {', '.join(p.name for p in parameters)}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"name must be a non-empty str; got {name!r}")
        setattr(fn, MARK, name or fn.__name__)
        return fn

    return mark if function is None else mark(function)


@dataclass(frozen=True)
class Check:
    """One check of any entry point, declared in a ``CHECKS`` list: ``entry(*args, **kwargs)``."""

    name: str
    entry: Callable[..., Verdict]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __init__(self, name: str, entry: Callable[..., Verdict], *args: Any, **kwargs: Any):
        if not isinstance(name, str) or not name:
            raise TypeError(f"Check needs a non-empty name first; got {name!r}")
        if not callable(entry):
            raise TypeError(f"Check {name!r}: the entry point must be callable (oracles.check_layer, …); got {entry!r:.60}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "entry", entry)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)

    def __call__(self) -> Verdict:
        return self.entry(*self.args, **self.kwargs)


@dataclass(frozen=True)
class Declared:
    """A check found in a module: its name and how to run it."""

    name: str
    call: Callable[[], Any]
    where: str  # "module.function" or "module.CHECKS[2]"
    taylor: Callable[[], Any] | None = None  # the Taylor remainder test, where the check is of a scalar function's gradient

    def run(self) -> Verdict:
        verdict = self.call()
        if not isinstance(verdict, Verdict):
            raise TypeError(f"check {self.name!r} ({self.where}) returned {type(verdict).__name__}, not an oracles.Verdict "
                            "(return the result of oracles.check_…, not its assert_ form)")
        return verdict


def collected(module: Any) -> list[Declared]:
    """The checks ``module`` declares: decorated functions in definition order, then ``CHECKS``."""
    found = []
    functions = [value for value in vars(module).values()  # its own, not those it imports from another checks module
                 if callable(value) and hasattr(value, MARK) and getattr(value, "__module__", module.__name__) == module.__name__]
    functions.sort(key=lambda fn: getattr(getattr(fn, "__code__", None), "co_firstlineno", 0))
    for fn in functions:
        found.append(Declared(getattr(fn, MARK), fn, f"{module.__name__}.{fn.__name__}"))
    checks = getattr(module, "CHECKS", None)
    if checks is None:
        return found
    if not isinstance(checks, (list, tuple)):
        raise TypeError(f"{module.__name__}.CHECKS must be a list of (function, derivative, inputs) tuples or oracles.Check; got {type(checks).__name__}")
    for i, entry in enumerate(checks):
        where = f"{module.__name__}.CHECKS[{i}]"
        if isinstance(entry, Check):
            found.append(Declared(entry.name, entry, where))
        elif isinstance(entry, tuple) and len(entry) == 3 and not (callable(entry[0]) and callable(entry[1])):
            which = "function" if not callable(entry[0]) else "derivative"
            raise TypeError(f"{where}: the {which} must be callable; got {type(entry[0 if which == 'function' else 1]).__name__}")
        elif isinstance(entry, tuple) and len(entry) == 3:
            f, derivative, inputs = entry
            name = f"{getattr(f, '__name__', 'f')} / {getattr(derivative, '__name__', 'grad')}"
            found.append(Declared(name, lambda f=f, d=derivative, x=inputs: check_gradient(f, d, x), where,
                                  _taylor(f, derivative, inputs)))
        else:
            raise TypeError(f"{where} must be a (function, derivative, inputs) tuple or an oracles.Check; got {entry!r:.80}")
    names = [d.name for d in found]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{module.__name__} declares checks with the same name: {', '.join(map(repr, repeated))} "
                         "(name them: oracles.Check(name, oracles.check_gradient, f, derivative, inputs), or @oracles.declare(name))")
    return found


def _taylor(f: Callable, derivative: Callable, x: Any) -> Callable[[], Any] | None:
    """The Taylor remainder test of ``derivative`` as ``f``'s gradient at ``x``: for one
    array argument (a tuple of arguments has no single direction to step along)."""
    import numpy as np

    from backprop_reference.oracles.engine.problems import takes_xp
    from backprop_reference.oracles.checks.taylor import taylor_test

    if not isinstance(x, np.ndarray):
        return None

    def numpy_form(fn):
        return (lambda a: fn(a, xp=np)) if takes_xp(fn) else fn

    return lambda: taylor_test(numpy_form(f), numpy_form(derivative), x)
