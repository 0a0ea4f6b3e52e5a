"""Golden files: regression tests for gradients.

A *golden file* holds the gradients of one named, reproducible configuration
(a network, a seed, a weight scale, a batch size and a dtype; parameters and
batch come from ``reference.strategies.make_case``) together with the
versions that produced them.  A later run recreates the same inputs,
computes its gradients and compares them with the stored ones under the
tolerance policy (``oracles.tolerances``)::

    config = GoldenConfig("tanh-softmax", MLP((3, 5, 2), ("tanh", "softmax"), "cross_entropy"), seed=0)
    mlp, params, X, Y = golden_inputs(config)
    save_golden("grads.npz", config, reference.gradients(mlp, params, X, Y, notation="row_major_batch"),
                implementation="row_major_batch")
    ...
    assert_golden("grads.npz", my_gradients(mlp, params, X, Y), implementation="mine")

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
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from oracles.comparison import Comparison, compare
from oracles.tolerances import TOLERANCES, Tolerance
from reference.network import FLOAT_DTYPES, MLP, Params

__all__ = [
    "FORMAT_VERSION",
    "Golden",
    "GoldenConfig",
    "GoldenVerdict",
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
        raise TypeError(f"config must be an oracles.golden.GoldenConfig; got {type(config).__name__}")
    # Imported here: reference.strategies needs Hypothesis, which `import oracles` does not.
    from reference.cases import make_case

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


def _check_grads(config: GoldenConfig, grads: object, *, finite: bool) -> None:
    """Raise naming ``grads[i][j]`` unless ``grads`` is shaped like the
    configuration's parameters, in its dtype (and, with ``finite``, finite)."""
    mlp = config.mlp
    if not isinstance(grads, (list, tuple)) or len(grads) != mlp.depth:
        got = f"{len(grads)} entries" if isinstance(grads, (list, tuple)) else type(grads).__name__
        raise TypeError(f"grads must be a list of (dW, db) pairs, one per layer (L = {mlp.depth}) of {config.name!r}; got {got}")
    for l, pair in enumerate(grads, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"grads[{l - 1}] must be a (dW^{l}, db^{l}) pair; got {type(pair).__name__}")
        for position, (symbol, shape) in enumerate((("W", mlp.weight_shape(l)), ("b", mlp.bias_shape(l)))):
            grad, where = pair[position], f"grads[{l - 1}][{position}] ({symbol}^{l})"
            if shape is None:
                if grad is not None:
                    raise ValueError(f"{where} must be None: layer {l} of {config.name!r} has bias mode 'none'")
                continue
            if not isinstance(grad, np.ndarray):
                raise TypeError(f"{where} must be a numpy.ndarray; got {type(grad).__name__}")
            if grad.dtype != np.dtype(config.dtype):
                raise TypeError(f"{where} has dtype {grad.dtype} but configuration {config.name!r} is {config.dtype}; convert explicitly")
            if grad.shape != shape:
                raise ValueError(f"{where} must have shape {shape} for configuration {config.name!r}; got {grad.shape}")
            if finite and not np.all(np.isfinite(grad)):
                bad = tuple(int(i) for i in np.argwhere(~np.isfinite(grad))[0])
                element = f"{symbol}^{l}[{', '.join(map(str, bad))}]"
                raise ValueError(f"{where} must be finite to be saved as golden; {element} = {float(grad[bad])!r}")


# --- saving ------------------------------------------------------------------------


def save_golden(path: str | os.PathLike, config: GoldenConfig, grads: Params, *, implementation: str) -> Path:
    """Write ``grads`` (computed on ``golden_inputs(config)``) to the .npz ``path``
    with the configuration, ``implementation`` and the versions that made them.

    The write is atomic: a temporary file beside ``path`` is renamed over it,
    so an interrupted write leaves any previous golden file intact."""
    path = _checked_path(path)
    if not isinstance(config, GoldenConfig):
        raise TypeError(f"config must be an oracles.golden.GoldenConfig; got {type(config).__name__}")
    if not isinstance(implementation, str) or not implementation:
        raise ValueError(f"implementation must be a non-empty name (str); got {implementation!r}")
    _check_grads(config, grads, finite=True)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # A file object, not a name: np.savez appends ".npz" to a name without that suffix.
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        current = os.umask(0)
        os.umask(current)
        os.chmod(temporary, 0o666 & ~current)  # mkstemp makes 0600; a golden file is for reading
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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


@dataclass(frozen=True)
class GoldenVerdict:
    """The outcome of comparing gradients with a golden file.  ``comparison``
    is ``None`` when the inputs changed (the gradients were not compared)."""

    ok: bool
    path: Path
    config: GoldenConfig
    implementation: str
    golden_implementation: str
    comparison: Comparison | None
    inputs_sha256_then: str
    inputs_sha256_now: str
    versions_then: dict[str, str]
    versions_now: dict[str, str]

    @property
    def inputs_changed(self) -> bool:
        return self.inputs_sha256_then != self.inputs_sha256_now

    @property
    def version_differences(self) -> tuple[tuple[str, str, str], ...]:
        """``(package, then, now)`` for every recorded version that differs."""
        packages = list(self.versions_then) + [p for p in self.versions_now if p not in self.versions_then]
        return tuple(
            (p, self.versions_then.get(p, "unrecorded"), self.versions_now.get(p, "unrecorded"))
            for p in packages
            if self.versions_then.get(p) != self.versions_now.get(p)
        )

    def message(self) -> str:
        status = "OK" if self.ok else ("INPUTS CHANGED" if self.inputs_changed else "WRONG")
        lines = [
            f"{self.implementation} against golden {self.path.name} (configuration {self.config.name!r}, "
            f"written by {self.golden_implementation}): {status}"
        ]
        if self.inputs_changed:
            lines.append(
                f"  the configuration now recreates different inputs: parameters and batch hashed "
                f"{self.inputs_sha256_then} when the golden file was written, {self.inputs_sha256_now} now "
                f"(NumPy's random generator, init_params or make_case changed?); gradients not compared — "
                f"regenerate the golden file if the change is intended"
            )
        if self.comparison is not None:
            lines.append(f"  {self.comparison.message()}")
        differences = self.version_differences
        if differences:
            lines.append("  versions changed since it was written: " + ", ".join(f"{p} {a} → {b}" for p, a, b in differences))
        else:
            lines.append("  versions: the same as when it was written")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()


def compare_golden(
    path: str | os.PathLike, grads: Params, *, implementation: str = "current", tolerance: Tolerance | None = None
) -> GoldenVerdict:
    """Compare ``grads`` (computed on ``golden_inputs`` of the file's
    configuration) with the golden ones; the golden file is ``desired``.

    The default tolerance is the analytic one for the configuration's dtype:
    golden gradients are exact derivations, not numerical estimates."""
    golden = load_golden(path)
    path = Path(path)
    config = golden.config
    if not isinstance(implementation, str) or not implementation:
        raise ValueError(f"implementation must be a non-empty name (str); got {implementation!r}")
    if tolerance is None:
        tolerance = TOLERANCES[(config.dtype, "analytic")]
    elif not isinstance(tolerance, Tolerance):
        raise TypeError(f"tolerance must be an oracles.Tolerance or None (the analytic row for the dtype); got {tolerance!r}")
    _check_grads(config, grads, finite=False)  # non-finite values are compared, and fail naming the element
    _, params, X, Y = golden_inputs(config)
    sha_now = inputs_sha256(params, X, Y)
    comparison = None
    if sha_now == golden.inputs_sha256:
        # Golden float32 arrays go in as exact float64 copies: compare() asks a float32
        # implementation for a float64 oracle and looks free-form oracle labels up otherwise.
        desired = [tuple(None if a is None else a.astype(np.float64) for a in pair) for pair in golden.grads]
        comparison = compare(list(grads), desired, implementation=implementation, oracle=f"golden {path.name}", tolerance=tolerance)
    return GoldenVerdict(
        ok=comparison is not None and comparison.ok,
        path=path,
        config=config,
        implementation=implementation,
        golden_implementation=golden.implementation,
        comparison=comparison,
        inputs_sha256_then=golden.inputs_sha256,
        inputs_sha256_now=sha_now,
        versions_then=golden.versions,
        versions_now=current_versions(),
    )


def assert_golden(
    path: str | os.PathLike, grads: Params, *, implementation: str = "current", tolerance: Tolerance | None = None
) -> GoldenVerdict:
    """``compare_golden``, raising ``AssertionError`` with the verdict's message unless it is ok."""
    verdict = compare_golden(path, grads, implementation=implementation, tolerance=tolerance)
    if not verdict.ok:
        raise AssertionError(verdict.message())
    return verdict
