"""Golden files: regression tests for gradients.

A *golden file* holds the gradients of one named, reproducible configuration
(a network, a seed, a weight scale, a batch size and a dtype; parameters and
batch come from ``reference.cases.make_case``) together with the
versions that produced them.  A later run recreates the same inputs,
computes its gradients and compares them with the stored ones under the
tolerance policy (``oracles.engine.tolerances``)::

    config = GoldenConfig("tanh-softmax", MLP((3, 5, 2), ("tanh", "softmax"), "cross_entropy"), seed=0)
    mlp, params, X, Y = golden_inputs(config)
    save_golden("grads.npz", config, reference.gradients(mlp, params, X, Y, notation="row_major_batch"),
                implementation="row_major_batch")
    ...
    assert_golden("grads.npz", my_gradients(mlp, params, X, Y), implementation="mine")

The comparison is a ``Verdict`` like every other check's: the golden file is
the reference (``golden grads.npz``), compared with the analytic tolerance of
the configuration's dtype.

File layout (``np.savez``, format version ``FORMAT_VERSION``)
-------------------------------------------------------------
=============  ==========================  =====================================
key            array                       meaning
=============  ==========================  =====================================
``W^l``        float, shape of ``W^l``     ∂E/∂W^l, l = 1..L
``b^l``        float, shape of ``b^l``     ∂E/∂b^l; absent where layer l has no bias
``__meta__``   0-d unicode string          JSON: format, config, implementation,
                                           versions, inputs_sha256
=============  ==========================  =====================================

Only plain numeric arrays and one unicode string are written, never an
object array, so the file is read with ``np.load(path, allow_pickle=False)``
and loading one cannot run code.  ``inputs_sha256`` is a hash of the
parameters and batch the gradients were computed on: when a later run
recreates different inputs from the same configuration (NumPy's random
generator changed, say), the comparison is refused with both hashes named
rather than reported as a gradient regression.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import numbers
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backprop_reference.oracles.methods import trees
from backprop_reference.oracles.methods.answer import Answer
from backprop_reference.oracles.engine.comparison import asserting, judge
from backprop_reference.oracles.checks import tensors
from backprop_reference.oracles.checks.files import write_atomic_with
from backprop_reference.oracles.engine.tolerances import TOLERANCES, Tolerance
from backprop_reference.oracles.engine.verdict import Verdict
from backprop_reference.reference.cases import make_case
from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.validation import FLOAT_DTYPES, check_grads

__all__ = [
    "FORMAT_VERSION",
    "Golden",
    "GoldenConfig",
    "assert_golden",
    "compare_golden",
    "current_versions",
    "golden_inputs",
    "inputs_sha256",
    "load_golden",
    "save_golden",
]

FORMAT_VERSION = 1
META_KEY = "__meta__"
# Whose versions a golden file records; "backprop-reference" is this project.
VERSIONED_PACKAGES = ("numpy", "jax", "torch", "backprop-reference")


# --- the configuration ----------------------------------------------------------


@dataclass(frozen=True)
class GoldenConfig:
    """A named, reproducible configuration: ``make_case(mlp, seed, scale, batch, dtype)``
    gives its parameters and batch (``golden_inputs``)."""

    name: str
    mlp: MLP
    seed: int
    scale: float = 1.0
    batch: int = 4
    dtype: str = "float64"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string naming the configuration; got {self.name!r}")
        if not isinstance(self.mlp, MLP):
            raise TypeError(f"mlp must be a reference.MLP; got {type(self.mlp).__name__}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer (numpy.random.default_rng's seed); got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        if isinstance(self.scale, bool) or not isinstance(self.scale, numbers.Real) or not math.isfinite(self.scale) or self.scale <= 0:
            raise ValueError(f"scale must be a positive finite number (the weight scale of init_params); got {self.scale!r}")
        object.__setattr__(self, "scale", float(self.scale))
        if isinstance(self.batch, bool) or not isinstance(self.batch, numbers.Integral) or self.batch < 1:
            raise ValueError(f"batch must be a positive integer (samples N); got {self.batch!r}")
        object.__setattr__(self, "batch", int(self.batch))
        object.__setattr__(self, "dtype", _dtype_name(self.dtype))

    def to_json(self) -> dict[str, Any]:
        mlp = self.mlp
        masks = None if all(m is None for m in mlp.masks) else list(mlp.masks)  # nested tuples → JSON lists
        return {
            "name": self.name,
            "sizes": list(mlp.sizes),
            "activations": list(mlp.activations),
            "loss": mlp.loss,
            "bias": list(mlp.bias),
            "masks": masks,
            "pieces": mlp.pieces,
            "seed": self.seed,
            "scale": self.scale,
            "batch": self.batch,
            "dtype": self.dtype,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GoldenConfig":
        mlp = MLP(
            sizes=tuple(data["sizes"]),
            activations=tuple(data["activations"]),
            loss=data["loss"],
            bias=tuple(data["bias"]),
            masks=None if data["masks"] is None else tuple(data["masks"]),
            pieces=data["pieces"],
        )
        return cls(data["name"], mlp, data["seed"], data["scale"], data["batch"], data["dtype"])


def _dtype_name(dtype: object) -> str:
    try:
        resolved = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"dtype must be 'float32' or 'float64'; got {dtype!r}") from None
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be 'float32' or 'float64'; got {resolved}")
    return resolved.name


def golden_inputs(config: GoldenConfig) -> tuple[MLP, Params, np.ndarray, np.ndarray]:
    """``(mlp, params, X, Y)`` of ``config``: compute the gradients to save or
    to compare on exactly these."""
    if not isinstance(config, GoldenConfig):
        raise TypeError(f"config must be an oracles.checks.golden.GoldenConfig; got {type(config).__name__}")
    case = make_case(config.mlp, config.seed, config.scale, config.batch, np.dtype(config.dtype))
    return case.mlp, case.params, case.X, case.Y


def inputs_sha256(params: Params, X: np.ndarray, Y: np.ndarray) -> str:
    """sha256 over every parameter and the batch: name, dtype, shape and
    little-endian bytes, in order, so it is the same on every platform."""
    digest = hashlib.sha256()
    named = [(f"{symbol}^{l}", array) for l, pair in enumerate(params, start=1) for symbol, array in zip("Wb", pair)]
    for name, array in named + [("X", X), ("Y", Y)]:
        if array is None:
            digest.update(f"{name}:none;".encode())
            continue
        little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        digest.update(f"{name}:{little.dtype.str}:{little.shape};".encode())
        digest.update(little.tobytes())
    return digest.hexdigest()


def current_versions() -> dict[str, str]:
    """Python and the versions of the packages that make gradients here, by
    their installed metadata (nothing is imported)."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


# --- checking arguments ------------------------------------------------------------


def _checked_path(path: object) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike ending in .npz; got {type(path).__name__}")
    checked = Path(path)
    if checked.suffix != ".npz":
        raise ValueError(f"path must end in .npz (a golden file is an np.savez archive); got {str(path)!r}")
    return checked


def _expected_arrays(config: GoldenConfig) -> list[tuple[str, tuple[int, ...]]]:
    """``[("W^1", shape), ("b^1", shape), …]``, leaving out absent biases."""
    expected = []
    for l in range(1, config.mlp.depth + 1):
        expected.append((f"W^{l}", config.mlp.weight_shape(l)))
        if config.mlp.bias_shape(l) is not None:
            expected.append((f"b^{l}", config.mlp.bias_shape(l)))
    return expected


# --- saving ------------------------------------------------------------------------


def save_golden(path: str | os.PathLike, config: GoldenConfig, grads: Params, *, implementation: str) -> Path:
    """Write ``grads`` (computed on ``golden_inputs(config)``) to the .npz ``path``
    with the configuration, ``implementation`` and the versions that made them.

    The write is atomic: a temporary file beside ``path`` is renamed over it,
    so an interrupted write leaves any previous golden file intact."""
    path = _checked_path(path)
    if not isinstance(config, GoldenConfig):
        raise TypeError(f"config must be an oracles.checks.golden.GoldenConfig; got {type(config).__name__}")
    if not isinstance(implementation, str) or not implementation:
        raise ValueError(f"implementation must be a non-empty name (str); got {implementation!r}")
    grads = tensors.plain_params(grads, "grads")
    check_grads(config.mlp, grads, np.dtype(config.dtype), finite=True, where=f" of configuration {config.name!r}")
    _, params, X, Y = golden_inputs(config)
    meta = {
        "format": FORMAT_VERSION,
        "config": config.to_json(),
        "implementation": implementation,
        "versions": current_versions(),
        "inputs_sha256": inputs_sha256(params, X, Y),
    }
    arrays = {name: np.asarray(array) for name, array in _named(grads)}
    arrays[META_KEY] = np.array(json.dumps(meta, sort_keys=True))  # 0-d unicode, not an object array
    _write_npz_atomic(path, arrays)
    return path


def _named(grads: Params) -> list[tuple[str, np.ndarray]]:
    return [(f"{symbol}^{l}", array) for l, pair in enumerate(grads, start=1) for symbol, array in zip("Wb", pair) if array is not None]


def _write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    for key, array in arrays.items():
        if array.dtype.hasobject:  # np.savez would pickle it; never write one
            raise TypeError(f"{key} has dtype object; a golden file holds only numeric arrays and one string")
    write_atomic_with(path, lambda handle: np.savez(handle, **arrays))  # a file object: np.savez appends ".npz" to a bare name


# --- loading -----------------------------------------------------------------------


@dataclass(frozen=True)
class Golden:
    """A golden file's contents.  ``grads`` is shaped like the configuration's
    parameters (``None`` for absent biases); its arrays are read-only."""

    config: GoldenConfig
    grads: tuple[tuple[np.ndarray, np.ndarray | None], ...]
    implementation: str
    versions: dict[str, str]
    inputs_sha256: str
    format: int


def load_golden(path: str | os.PathLike) -> Golden:
    """Read a golden file written by ``save_golden``, refusing pickled objects,
    unknown format versions and missing or unexpected keys."""
    path = _checked_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path {str(path)!r}: no golden file there; write one with save_golden")
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as error:  # a bare pickle, or a .npy of an object array
        raise ValueError(f"path {str(path)!r} is not a golden file ({error}); golden files hold no pickled objects and are never unpickled") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"path {str(path)!r} holds a single .npy array, not an np.savez archive of gradients")
    with archive:
        arrays = {key: _read_array(archive, key, path) for key in archive.files}
    meta = _read_meta(arrays.pop(META_KEY, None), path)
    config = _read_config(meta["config"], path)
    expected = _expected_arrays(config)
    missing = [name for name, _ in expected if name not in arrays]
    unexpected = sorted(set(arrays) - {name for name, _ in expected})
    if missing or unexpected:
        raise ValueError(f"path {str(path)!r} does not match configuration {config.name!r}: missing keys {missing}, unexpected keys {unexpected}")
    for name, shape in expected:
        array = arrays[name]
        if array.shape != shape or array.dtype != np.dtype(config.dtype):
            raise ValueError(f"path {str(path)!r}: {name} is {array.dtype} {array.shape}; configuration {config.name!r} needs {config.dtype} {shape}")
        array.flags.writeable = False
    grads = tuple(
        (arrays[f"W^{l}"], arrays.get(f"b^{l}")) for l in range(1, config.mlp.depth + 1)
    )
    return Golden(config, grads, meta["implementation"], dict(meta["versions"]), meta["inputs_sha256"], meta["format"])


def _read_array(archive: Any, key: str, path: Path) -> np.ndarray:
    try:
        array = archive[key]
    except ValueError as error:  # numpy refuses the object array under allow_pickle=False
        raise ValueError(f"path {str(path)!r}: key {key!r} holds a pickled object array ({error}); golden files hold none and are never unpickled") from None
    if array.dtype.kind not in "fiuU":
        raise ValueError(f"path {str(path)!r}: key {key!r} has dtype {array.dtype}; golden files hold only numeric arrays and one string")
    return array


def _read_meta(array: np.ndarray | None, path: Path) -> dict[str, Any]:
    if array is None:
        raise ValueError(f"path {str(path)!r} has no {META_KEY!r} key: not a golden file written by save_golden")
    if array.dtype.kind != "U" or array.ndim != 0:
        raise ValueError(f"path {str(path)!r}: {META_KEY!r} must be a 0-d string of JSON; got {array.dtype} {array.shape}")
    try:
        meta = json.loads(str(array))
    except json.JSONDecodeError as error:
        raise ValueError(f"path {str(path)!r}: {META_KEY!r} is not valid JSON ({error})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"path {str(path)!r}: {META_KEY!r} must be a JSON object; got {type(meta).__name__}")
    if "format" not in meta:
        raise ValueError(f"path {str(path)!r}: {META_KEY!r} has no 'format' version")
    if meta["format"] != FORMAT_VERSION:
        raise ValueError(f"path {str(path)!r} has golden format version {meta['format']!r}; this code reads version {FORMAT_VERSION} only")
    missing = [key for key in ("config", "implementation", "versions", "inputs_sha256") if key not in meta]
    if missing:
        raise ValueError(f"path {str(path)!r}: {META_KEY!r} lacks {missing}")
    return meta


def _read_config(data: object, path: Path) -> GoldenConfig:
    fields = ("name", "sizes", "activations", "loss", "bias", "masks", "pieces", "seed", "scale", "batch", "dtype")
    if not isinstance(data, dict) or any(field not in data for field in fields):
        have = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"path {str(path)!r}: the stored config must hold {list(fields)}; got {have}")
    try:
        return GoldenConfig.from_json(data)
    except (TypeError, ValueError) as error:
        raise ValueError(f"path {str(path)!r}: the stored config is not valid: {error}") from None


# --- comparing ---------------------------------------------------------------------


def version_differences(then: dict[str, str], now: dict[str, str]) -> tuple[tuple[str, str, str], ...]:
    """``(package, then, now)`` for every recorded version that differs."""
    packages = list(then) + [p for p in now if p not in then]
    return tuple((p, then.get(p, "unrecorded"), now.get(p, "unrecorded")) for p in packages if then.get(p) != now.get(p))


def compare_golden(
    path: str | os.PathLike, grads: Params, *, implementation: str = "current", tolerance: Tolerance | None = None
) -> Verdict:
    """Compare ``grads`` (computed on ``golden_inputs`` of the file's
    configuration) with the golden ones; the golden file is ``desired``.

    The default tolerance is the analytic one for the configuration's dtype:
    golden gradients are exact derivations, not numerical estimates.  When the
    configuration now recreates different inputs than the file was written
    from, nothing is compared: the verdict fails with both hashes named."""
    golden = load_golden(path)
    path = Path(path)
    config = golden.config
    if not isinstance(implementation, str) or not implementation:
        raise ValueError(f"implementation must be a non-empty name (str); got {implementation!r}")
    if tolerance is None:
        tolerance = TOLERANCES[(config.dtype, "analytic")]
    elif not isinstance(tolerance, Tolerance):
        raise TypeError(f"tolerance must be an oracles.engine.tolerances.Tolerance or None (the analytic row for the dtype); got {tolerance!r}")
    grads = tensors.plain_params(grads, "grads")
    check_grads(config.mlp, grads, np.dtype(config.dtype), where=f" of configuration {config.name!r}")  # non-finite values are compared, and fail naming the element
    _, params, X, Y = golden_inputs(config)
    sha_now = inputs_sha256(params, X, Y)
    reference = f"golden {path.name}"
    layout = trees.network_layout(golden.grads)
    changed = version_differences(golden.versions, current_versions())
    note = f"configuration {config.name!r}, written by {golden.implementation}; " + (
        "versions changed since it was written: " + ", ".join(f"{p} {a} → {b}" for p, a, b in changed)
        if changed else "versions: the same as when it was written"
    )
    elements = sum(int(np.size(a)) for a in layout.flatten(golden.grads))
    if sha_now != golden.inputs_sha256:
        why = (
            f"INPUTS CHANGED: the configuration now recreates different inputs: parameters and batch hashed "
            f"{golden.inputs_sha256} when the golden file was written, {sha_now} now "
            f"(NumPy's random generator, init_params or make_case changed?); gradients not compared — "
            f"regenerate the golden file if the change is intended"
        )
        return Verdict(implementation, (), ((reference, why),), note, elements=elements)
    # Golden float32 arrays go in as exact float64 copies, as an oracle run in float64 would give them.
    desired = [np.asarray(a, dtype=np.float64) for a in layout.flatten(golden.grads)]
    answer = Answer(reference, layout, layout.unflatten(desired))
    comparison, _ = judge(layout.names, layout.flatten(grads), answer, implementation=implementation, tolerance=tolerance)
    return Verdict(implementation, (comparison,), note=note, elements=elements)


assert_golden = asserting(compare_golden)
