"""Fitted models ⇄ bytes: joblib (pickle: trusts the store's hash) and skops (refuses unknown types)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from modelcycle.errors import IntegrityError, ModelcycleError, SettingsError

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

#: skops loads only types from these modules (and their submodules)
TRUSTED_MODULES = ("sklearn", "numpy", "scipy", "builtins", "collections", "modelcycle_sklearn")


def dump(fitted: Any, fmt: str) -> bytes:
    if fmt == "joblib":
        import joblib

        buffer = io.BytesIO()
        joblib.dump(fitted, buffer, compress=JOBLIB_COMPRESS)
        return buffer.getvalue()
    if fmt == "skops":
        sio = _skops()
        data = sio.dumps(fitted, compression=zipfile.ZIP_DEFLATED, compresslevel=SKOPS_COMPRESS)
        refused = untrusted(sio.get_untrusted_types(data=data))
        if refused:  # refuse now rather than store an artifact that can never be loaded
            raise SettingsError(
                f"artifact_format: the fitted model holds type '{refused[0]}', which skops would refuse "
                f'to load (only {_trusted_text()} are trusted): use artifact_format = "joblib"'
            )
        return data
    raise SettingsError(f"artifact_format: unknown format '{fmt}'; use one of: {', '.join(FORMATS)}")


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
            types = sio.get_untrusted_types(data=data)
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


def untrusted(types: list[str]) -> list[str]:
    """The names skops may not rebuild, sorted: anything outside TRUSTED_MODULES, and any
    name in them that is not a class (a function such as builtins.eval or numpy.load
    could run code while the model loads)."""
    return sorted(t for t in types if not _trusted(t))


def _trusted(name: str) -> bool:
    import importlib

    module = next((m for m in TRUSTED_MODULES if name == m or name.startswith(m + ".")), None)
    if module is None:
        return False
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):  # the longest importable module prefix
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return isinstance(obj, type)
    return False


def _trusted_text() -> str:
    return "types from " + ", ".join(TRUSTED_MODULES)


def _skops() -> Any:
    try:
        import skops.io as sio
    except ImportError:
        raise SettingsError(
            "artifact_format: \"skops\" needs the skops package: pip install 'modelcycle[skops]'"
        ) from None
    return sio
