"""The structure the code promises: layers import downward only, no import
cycle, the report without the test extra, a public surface of exactly the
documented names, and no global JAX or torch setting left changed by a check."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
import torch

from backprop_reference import oracles
from backprop_reference import reference
from backprop_reference.reference import fast
from backprop_reference.reference.array_api import to_numpy
from backprop_reference.reference.cases import make_case
from backprop_reference.reference.precision import jax_float64, torch_full_precision

ROOT = Path(__file__).resolve().parents[1]
NAME = "backprop_reference"  # the one import name; the repository's folders are its sub-packages (pyproject.toml)
PACKAGES = ("reference", "oracles", "testbed", "reports")
# The layers, bottom first, and what each may import from the project: the model
# nothing above it; the checker's oracles the model, its engine the oracles, its
# entry points the engine; the test bed the model; the report all of them.
MAY_IMPORT = {
    "reference": {"reference"},
    "oracles.methods": {"reference", "oracles.methods"},
    "oracles.engine": {"reference", "oracles.methods", "oracles.engine"},
    "oracles.checks": {"reference", "oracles.methods", "oracles.engine", "oracles.checks"},
    "oracles": {"reference", "oracles.methods", "oracles.engine", "oracles.checks", "oracles"},
    "testbed": {"reference", "testbed"},
    "reports": {"reference", "oracles.methods", "oracles.engine", "oracles.checks", "oracles", "testbed", "reports"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join((NAME, *(parts[:-1] if parts[-1] == "__init__" else parts)))


def layer(module: str) -> str:
    """The layer of a project module: ``oracles.engine`` for ``backprop_reference.oracles.engine.judge``,
    ``reference`` for ``backprop_reference.reference.mlp``."""
    parts = module.split(".")[1:]
    name = ".".join(parts[:2])
    return name if name in MAY_IMPORT else parts[0]


MODULES = {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path) -> set[str]:
    """Every project module ``path`` imports, at module level or inside a
    function; ``from package import name`` counts as the submodule when
    ``package.name`` is one."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module for alias in node.names]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] == NAME}
    return found


def _old_names(path: Path) -> set[str]:
    """Imports of the project by a name it no longer has (``import oracles``,
    ``from reports.cli import main``) and relative imports: a module is named one way, by its full name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in PACKAGES):
            found.add("." * node.level + (node.module or ""))
    return found


GRAPH = {module: _imports(path) - {module} for module, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers_import_downward_only(module):
    own = layer(module)
    upward = sorted(name for name in GRAPH[module] if layer(name) not in MAY_IMPORT[own])
    assert not upward, f"{module} ({own}) imports {upward}"


SOURCES = sorted(
    p for folder in (*PACKAGES, "tests", "examples", "docs") if (ROOT / folder).is_dir() for p in (ROOT / folder).rglob("*.py")
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_imports_the_old_top_level_names(path):
    """One import name: the folders are sub-packages of backprop_reference, never packages of their own."""
    assert not _old_names(path), f"{path.relative_to(ROOT)} imports {sorted(_old_names(path))}"


def test_the_checker_is_split_into_its_layers():
    """No flat checker left: every module of ``oracles`` but its table of contents lives in one of its three sub-packages."""
    checker = [m for m in MODULES if m.startswith(f"{NAME}.oracles.")]
    assert sorted(m for m in checker if layer(m) == "oracles") == []
    assert {layer(m) for m in checker} == {"oracles.methods", "oracles.engine", "oracles.checks"}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a path that returns to its start, or None (depth-first search)."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target in graph and target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    """Every project module's imports, function-local ones included; a
    package's ``__init__`` is the module named like the package."""
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_a_planted_upward_import_and_cycle_are_found(tmp_path):
    """The two checks above catch what they look for."""
    planted = tmp_path / "m.py"
    planted.write_text(
        "def f():\n    from backprop_reference.oracles.engine.judge import judge_problem\n"
        "    from backprop_reference.reference import fast\n    import oracles\n    from reports.cli import main\n    from . import x\n"
    )
    assert _imports(planted) == {"backprop_reference.oracles.engine.judge", "backprop_reference.reference.fast"}
    assert _old_names(planted) == {"oracles", "reports.cli", "."}
    assert layer("backprop_reference.oracles.engine.judge") not in MAY_IMPORT["oracles.methods"]  # an upward import is seen
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_report_module_imports_without_hypothesis():
    """Hypothesis is a test extra: ``backprop-report`` must work in a plain install."""
    script = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import importlib, pkgutil\n"
        "from backprop_reference import reports\n"
        "for m in pkgutil.walk_packages(reports.__path__, 'backprop_reference.reports.'):\n"
        "    importlib.import_module(m.name)\n"
        "import backprop_reference.testbed.mutants\n"
        "try:\n"
        "    import backprop_reference.testbed.strategies\n"
        "except ImportError:\n"
        "    print('strategies need hypothesis')\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "strategies need hypothesis"  # the blocking works: only the strategies need it


def test_importing_the_packages_loads_no_framework():
    """JAX and torch take seconds to import: the framework oracles load them on first use."""
    script = "import sys, backprop_reference.oracles, backprop_reference.reference, backprop_reference.testbed.mutants; print(sorted(m for m in ('jax', 'torch') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_public_surfaces_are_the_documented_names():
    for package in (oracles, reference):
        public = {name for name in dir(package) if not name.startswith("_")}
        submodules = {name for name in public if type(getattr(package, name)).__name__ == "module"}
        assert public - submodules == set(package.__all__), package.__name__


# --- no global setting left changed --------------------------------------------------------


NET = reference.MLP((3, 4, 2), ("tanh", "softmax"), "cross_entropy")
CASE = make_case(NET, 0, 1.0, 3)


def _settings() -> tuple:
    backends = torch.backends
    return (
        jax.config.jax_enable_x64,
        jax.config.jax_default_matmul_precision,
        torch.get_float32_matmul_precision(),
        backends.cuda.matmul.fp32_precision,
        backends.cudnn.conv.fp32_precision,
        backends.cudnn.rnn.fp32_precision,
        backends.cuda.matmul.allow_tf32,  # the legacy views of the same flags
        backends.cudnn.allow_tf32,
    )


def _golden(tmp_path):
    config = oracles.GoldenConfig("g", NET, seed=0)
    _, params, X, Y = oracles.golden_inputs(config)
    grads = reference.gradients(NET, params, X, Y)
    path = oracles.save_golden(tmp_path / "g.npz", config, grads, implementation="x")
    return lambda: oracles.compare_golden(path, grads)


def _jax_fast():
    with jax_float64():
        params = [(jax.numpy.asarray(W), jax.numpy.asarray(b)) for W, b in CASE.params]
        X, Y = jax.numpy.asarray(CASE.X), jax.numpy.asarray(CASE.Y)

    def call():
        grads = fast.gradients(NET, params, X, Y, notation="row_major_batch")
        ours = [(to_numpy(dW), to_numpy(db)) for dW, db in grads]
        return oracles.check_network_gradients(NET, CASE.params, CASE.X, CASE.Y, ours, oracles=("jax",))

    return call


class _Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def _cube():
    @jax.custom_vjp
    def cube(x):
        return x**3

    cube.defvjp(lambda x: (x**3, x), lambda x, g: (3 * x**2 * g,))
    return cube


CALLS = {
    "check_gradient": lambda tmp: lambda: oracles.check_gradient(
        lambda x, xp: xp.sum(xp.tanh(x)), lambda x, xp: 1 - xp.tanh(x) ** 2, np.linspace(-1, 1, 5)
    ),
    "check_gradient in batches (jax.vmap)": lambda tmp: lambda: oracles.check_gradient(
        lambda x, xp: xp.sum(xp.tanh(x) ** 2), lambda x, xp: 2 * xp.tanh(x) * (1 - xp.tanh(x) ** 2), np.linspace(-1, 1, 1200)
    ),
    "check_gradient, sampled": lambda tmp: lambda: oracles.check_gradient(
        lambda x, xp: xp.sum(xp.tanh(x) ** 2), lambda x, xp: 2 * xp.tanh(x) * (1 - xp.tanh(x) ** 2), np.linspace(-1, 1, 1200),
        mode="sampled", samples=16, directions=2,
    ),
    "check_network_gradients": lambda tmp: lambda: oracles.check_network_gradients(
        NET, CASE.params, CASE.X, CASE.Y, reference.gradients(NET, CASE.params, CASE.X, CASE.Y), oracles=tuple(oracles.ORACLES)
    ),
    "check_projections": lambda tmp: lambda: oracles.check_projections(
        NET, CASE.params, CASE.X, CASE.Y, reference.gradients(NET, CASE.params, CASE.X, CASE.Y)
    ),
    "compare_golden": _golden,
    "check_vjp": lambda tmp: lambda: oracles.check_vjp(lambda x, xp: xp.tanh(x), lambda c, x: c * (1 - np.tanh(x) ** 2), np.linspace(-1, 1, 4)),
    "check_jvp": lambda tmp: lambda: oracles.check_jvp(lambda x, xp: xp.tanh(x), lambda t, x: t * (1 - np.tanh(x) ** 2), np.linspace(-1, 1, 4)),
    "check_jacobian": lambda tmp: lambda: oracles.check_jacobian(lambda x, xp: xp.tanh(x), lambda x: np.diag(1 - np.tanh(x) ** 2), np.linspace(-1, 1, 3)),
    "check_hvp": lambda tmp: lambda: oracles.check_hvp(lambda x, xp: xp.sum(xp.sin(x)), lambda v, x: -np.sin(x) * v, np.linspace(-1, 1, 3)),
    "check_layer": lambda tmp: lambda: oracles.check_layer(lambda x: (np.tanh(x), np.tanh(x)), lambda d, y: d * (1 - y * y), np.linspace(-1, 1, 4)),
    "check_torch_function": lambda tmp: lambda: oracles.check_torch_function(_Square, torch.linspace(-1, 1, 4)),
    "check_custom_vjp": lambda tmp: lambda: oracles.check_custom_vjp(_cube(), np.linspace(-1, 1, 4)),
    "fast.gradients on jax arrays": lambda tmp: _jax_fast(),
}


@pytest.mark.parametrize("user", ["defaults", "x64, float32 products, TF32 on"])
@pytest.mark.parametrize("entry", list(CALLS))
def test_a_check_leaves_jax_and_torch_settings_as_it_found_them(entry, user, tmp_path):
    call = CALLS[entry](tmp_path)
    backends = torch.backends
    flags = (backends.cuda.matmul, backends.cudnn.conv, backends.cudnn.rnn)
    saved = torch.get_float32_matmul_precision(), [flag.fp32_precision for flag in flags]
    try:
        if user == "defaults":
            before = _settings()
            assert call().ok
            assert _settings() == before
        else:  # a user who allows TF32 and reduced-precision products, and runs JAX in x64
            torch.set_float32_matmul_precision("medium")
            for flag in flags:
                flag.fp32_precision = "tf32"
            with jax.enable_x64(True), jax.default_matmul_precision("float32"):
                before = _settings()
                assert call().ok
                assert _settings() == before
    finally:
        torch.set_float32_matmul_precision(saved[0])
        for flag, value in zip(flags, saved[1]):
            flag.fp32_precision = value


def test_the_precision_contexts_set_full_precision_inside():
    backends = torch.backends
    with torch_full_precision():
        assert torch.get_float32_matmul_precision() == "highest"
        assert (backends.cuda.matmul.fp32_precision, backends.cudnn.conv.fp32_precision) == ("ieee", "ieee")
    with jax_float64():
        assert jax.config.jax_enable_x64 and jax.config.jax_default_matmul_precision == "highest"


# --- the problem interface ------------------------------------------------------------------


def test_every_problem_implements_the_written_interface():
    """The engine's four problems satisfy ``Problem`` and their mode's protocol; the engine and the
    oracles call the interface, never branching on a problem's class or probing it with getattr."""
    from backprop_reference.oracles.engine.problems import FunctionProblem, JacobianProblem, NetworkProblem, TangentProblem
    from backprop_reference.oracles.methods.problem import ColumnsProblem, GradientProblem, Problem, TangentLineProblem

    x = np.linspace(-1.0, 1.0, 3)
    function = FunctionProblem(lambda x, xp: xp.sum(xp.sin(x)), (x,), ["x"], (0,))
    tangent = TangentProblem(lambda x, xp: xp.sin(x), (x,), ["x"], (0,), [np.ones(3)], np.sin(x))
    jacobian = JacobianProblem(lambda x, xp: xp.sin(x), (x,), ["x"], (0,), np.sin(x))
    network = NetworkProblem(NET, CASE.params, CASE.X, CASE.Y)
    for problem, mode in ((function, GradientProblem), (network, GradientProblem), (tangent, TangentLineProblem), (jacobian, ColumnsProblem)):
        assert isinstance(problem, Problem) and isinstance(problem, mode), type(problem).__name__
    assert not isinstance(object(), Problem)
    engine = [p for m, p in MODULES.items() if layer(m) in ("oracles.engine", "oracles.methods") and not m.endswith(".problems")]
    for path in engine:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("isinstance", "getattr") and node.args:
                target = node.args[1] if node.func.id == "isinstance" else node.args[0]
                named = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
                assert not named & {"FunctionProblem", "TangentProblem", "JacobianProblem", "NetworkProblem"}, f"{path.name}:{node.lineno}"
                assert not (node.func.id == "getattr" and named & {"problem"}), f"{path.name}:{node.lineno} probes the problem"
