"""Fitted models ⇄ bytes: joblib (pickle: trusts the store's hash) and skops (refuses unknown types)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from modelcycle.plugin import IntegrityError, ModelcycleError, SettingsError

from .estimators import one_line

FORMATS = ("joblib", "skops")

#: zlib level 3. Measured (2 CPUs, best of 5): a 100-iteration HistGradientBoostingClassifier in its
#: Pipeline (breast cancer) 340 KiB → 133 KiB, dump 19 → ~25-40 ms, load 16 → ~18-29 ms; a 100-tree
#: RandomForest (11k rows) 1.1 MiB → 295 KiB, dump 30 → 74 ms, load 25 → 53 ms. Level 1 is ~5-10%
#: larger, 6 and 9 save under 6% more and 9 doubles the dump time. Artifacts are written once and
#: read by every score, often from S3, where 3-4x fewer bytes outweigh tens of milliseconds.
JOBLIB_COMPRESS = 3

#: zlib level of the skops zip file: stored uncompressed, skops files were 18-120x the size of joblib's
#: level-3 files in our measurements; deflated at 6, 2-6x.
SKOPS_COMPRESS = 6

#: skops loads only classes defined in these packages, and of those only what a fitted pipeline holds
#: (see `_trusted`): estimators and their parts, arrays, dtypes, scalars, sparse matrices, plain containers.
TRUSTED_MODULES = ("sklearn", "numpy", "scipy", "builtins", "collections", "modelcycle_sklearn")

_BUILTINS = (
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "str",
    "bytes",
    "bytearray",
    "int",
    "float",
    "complex",
    "bool",
    "slice",
    "NoneType",
    "range",
)
_COLLECTIONS = ("OrderedDict", "defaultdict", "Counter")
#: parts of fitted sklearn estimators that are not estimators themselves: trees, tree predictors,
#: cross-validation splitters, distance metrics, neighbour trees, optimizers, losses and links
_SKLEARN_PARTS = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.BaseCrossValidator",
    "sklearn.metrics._dist_metrics.DistanceMetric",
    "sklearn.metrics._dist_metrics.DistanceMetric64",
    "sklearn.metrics._dist_metrics.DistanceMetric32",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neural_network._stochastic_optimizers.BaseOptimizer",
    "sklearn._loss.loss.BaseLoss",
    "sklearn._loss._loss.CyLossFunction",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss.link.BaseLink",
    "sklearn._loss.link.Interval",
)


def dump(fitted: Any, fmt: str) -> bytes:
    if fmt == "joblib":
        import joblib

        buffer = io.BytesIO()
        joblib.dump(fitted, buffer, compress=JOBLIB_COMPRESS)
        return buffer.getvalue()
    if fmt == "skops":
        sio = _skops()
        data = sio.dumps(fitted, compression=zipfile.ZIP_DEFLATED, compresslevel=SKOPS_COMPRESS)
        refused = untrusted(_types(sio, data))
        if refused:  # refuse now rather than store an artifact that can never be loaded
            raise SettingsError(
                f"the fitted model holds type '{refused[0]}', which skops would refuse "
                f'to load (only {_trusted_text()} are trusted): use artifact_format = "joblib"',
                key="artifact_format",
            )
        return data
    raise SettingsError(f"unknown format '{fmt}'; use one of: {', '.join(FORMATS)}", key="artifact_format")


def load(data: bytes, fmt: str) -> Any:
    if fmt == "joblib":
        import joblib

        try:
            return joblib.load(io.BytesIO(data))
        except ModuleNotFoundError as exc:
            raise ModelcycleError(
                f"artifact needs module '{exc.name}', which is not installed here: install it where models are loaded"
            ) from None
        except Exception as exc:  # noqa: BLE001 - truncated or foreign bytes
            raise IntegrityError(f"artifact cannot be read as joblib: {one_line(exc)}") from None
    if fmt == "skops":
        sio = _skops()
        try:
            types = _types(sio, data)
        except Exception as exc:  # noqa: BLE001 - not a skops zip file
            raise IntegrityError(f"artifact cannot be read as skops: {one_line(exc)}") from None
        refused = untrusted(types)
        if refused:
            raise IntegrityError(
                f"artifact holds untrusted type '{refused[0]}': skops refuses to load it; "
                f"only {_trusted_text()} are trusted"
            )
        try:
            return sio.loads(data, trusted=types)
        except Exception as exc:  # noqa: BLE001
            raise IntegrityError(f"artifact cannot be read as skops: {one_line(exc)}") from None
    raise IntegrityError(f"artifact format '{fmt}' is unknown to the sklearn trainer (it knows {', '.join(FORMATS)})")


def _types(sio: Any, data: bytes) -> list[str]:
    """Every type and function the file names, whether or not skops trusts it by default: each
    must pass `_trusted`, since a class skops trusts (numpy.memmap) can still touch files."""
    import json

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set(sio.get_untrusted_types(data=data))
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(found)


def untrusted(types: list[str]) -> list[str]:
    """The names skops may not rebuild, sorted: anything but the classes a fitted pipeline is made
    of. A function (builtins.eval, numpy.load) could run code while the model loads; a class
    re-exported under a trusted name (a module's `tempfile`) or one that touches files, sockets or
    processes (numpy.memmap, multiprocessing.connection.Listener) could too."""
    return sorted(t for t in types if not _trusted(t))


def _resolve(name: str) -> Any:
    """The object `name` names, by its longest importable module prefix; None if nothing is there."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        return obj
    return None


def _trusted(name: str) -> bool:
    root = name.split(".", 1)[0]
    if root not in TRUSTED_MODULES:
        return False
    obj = _resolve(name)
    if not isinstance(obj, type) or f"{obj.__module__}.{obj.__qualname__}" != name:
        return False  # a function, or a class under another module's name (a re-export)
    if root == "builtins":
        return obj.__name__ in _BUILTINS
    if root == "collections":
        return obj.__name__ in _COLLECTIONS
    if root == "numpy":
        import numpy as np

        return (
            obj is np.ndarray
            or issubclass(obj, np.dtype | np.generic | np.random.BitGenerator)
            or obj in (np.random.Generator, np.random.RandomState)
        )
    if root == "scipy":
        from scipy import sparse

        return issubclass(obj, sparse.spmatrix | sparse.sparray)
    from sklearn.base import BaseEstimator

    if root == "modelcycle_sklearn":
        return issubclass(obj, BaseEstimator) and obj.__module__ == "modelcycle_sklearn.preprocessing"
    if issubclass(obj, BaseEstimator):
        return True
    parts = [_resolve(part) for part in _SKLEARN_PARTS]
    return issubclass(obj, tuple(part for part in parts if isinstance(part, type)))


def _trusted_text() -> str:
    return "the estimators, arrays and containers of scikit-learn pipelines"


def _skops() -> Any:
    try:
        import skops.io as sio
    except ImportError:
        raise SettingsError(
            "\"skops\" needs the skops package: pip install 'modelcycle[skops]'", key="artifact_format"
        ) from None
    return sio
