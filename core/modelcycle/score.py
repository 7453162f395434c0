"""The score recipe: a version's predictions for new rows, streamed batch by batch.

read a batch → check and coerce it to the version's feature schema → predict → append
`prediction`, `proba_<class>` (classifiers), `model_version` and `scored_at` → write.

Memory stays bounded whatever the input size: the input is read in batches of
`BATCH_ROWS` rows and each scored batch is written before the next is read. Only the
Python API without an output gathers the scored rows, to return them as one DataFrame.

Output contract:

* every input column is kept, in order (extra columns pass through); feature columns are
  written as the model saw them: a numeric feature read as text becomes numbers, a
  categorical feature becomes text; missing values and unseen categories are left to the
  fitted model, which handles them;
* `prediction`: the label (binary: by the version's stored threshold on the positive class's
  probability; multiclass: the most probable class) or the predicted value (regression);
* `proba_<class>`: one probability column per class, class names as text (classifiers only);
* `model_version`: the version number, an integer;
* `scored_at`: one UTC timestamp for the whole run (microseconds): a timestamp type in
  Parquet and DataFrames, ISO 8601 text in CSV (`2025-01-31 12:00:00.123456+00:00`) and
  JSON lines (`2025-01-31T12:00:00.123456Z`).

The output format comes from the suffix: .parquet/.pq, .csv (.tsv: tab-separated),
.jsonl/.ndjson/.json (JSON lines); outputs are not compressed. An existing output is
replaced; a missing local folder is created. Nothing is visible at the output until it is
complete: a local file is written to a hidden temporary file in the same folder, fsynced
and renamed over the output with os.replace; on any other fsspec URL the bytes stream
through `fs.open(path, "wb")`, which on S3 is a multipart upload that becomes visible only
when it completes (on an error the upload is aborted). A `kill -9` leaves at most the
hidden `.<name>.<random>.part` file beside a local output, never a partial output.
Remote outputs use the project's store_options when they share the store's protocol.

With `[ctx] executor = "dask"` the partitions are scored on the cluster and written
as a folder of parts (`part-00000.parquet`, …) with a `_SUCCESS` marker; see
`Output.commit_parts` for when they become visible.

Paths: the Python API resolves relative input and output paths against the project folder
(as dataset urls are); the CLI resolves its INPUT and OUTPUT arguments against the current
folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from . import data, prediction_log
from .errors import DataError, ModelcycleError, NotFoundError
from .measures import predict
from .model_versions import active_version, load_model, refuse_deleted
from .progress import advance, expect, parquet_rows
from .text_values import as_text

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

Progress = Callable[[str], None]

#: rows per batch, read, scored and written at a time
BATCH_ROWS = 65536
#: the columns the recipe adds, besides one proba_<class> per class
PREDICTION, VERSION, SCORED_AT = "prediction", "model_version", "scored_at"
#: text a numeric column may hold for a missing value
MISSING_TEXT = ("", "nan", "na", "n/a", "null", "none", "<na>")
#: suffixes data.format_of reads through, which the writers do not compress
COMPRESSED = (".gz", ".bz2", ".zst", ".xz")


def score(
    ctx: Context,
    model: str,
    source: Any,
    output: str | os.PathLike[str] | None = None,
    *,
    version: int | None = None,
    progress: Progress | None = None,
    log: bool | None = None,
) -> pd.DataFrame | dict[str, Any]:
    """Score `source` (a DataFrame, a dataset name, or a path/URL) with a version of `model`.

    Without `output`: the scored rows as a DataFrame (a DataFrame input keeps its index).
    With `output` (a path or fsspec URL; relative paths start at the project folder): the
    rows are written there and a summary {"model", "version", "rows", "output", …} returned.
    `log` (default: the model's prediction_log) appends the scored rows' ids and predictions
    to the prediction log, for labels that arrive later (see modelcycle.prediction_log).
    """
    step = progress or (lambda message: None)
    settings = ctx.settings
    ctx.require_model(model)
    if version is None:
        version = active_version(ctx, model)
        if version is None:
            raise NotFoundError(f"model '{model}' has no active version: activate one or pass --version N")
    meta = ctx.registry.version(model, version)  # NotFoundError for an unknown version
    refuse_deleted(ctx, model, version)  # the first thing to say of a version gc deleted
    if not meta.get("trainer") or not meta.get("features"):
        raise ModelcycleError(
            f"model '{model}' version {version} records no trainer or no features (it was not made by "
            "'modelcycle train'): it cannot be scored; score another version or retrain"
        )
    target = None
    if output is not None:
        target = settings.resolve_url(os.fspath(output))
        suffix = os.path.splitext(target)[1].lower()
        if suffix in COMPRESSED:
            raise DataError(f"cannot write compressed output {target}: name it .parquet, .csv or .jsonl")
        fmt = data.SUFFIXES.get(suffix)
        if fmt is None:
            raise DataError(f"cannot tell the format of output {target}: name it .parquet, .csv or .jsonl")
        _refuse_inside_store(settings, target)
    dataset = None
    if isinstance(source, pd.DataFrame):
        label = "input"
    elif isinstance(source, str | os.PathLike):
        dataset = data.resolve(settings, os.fspath(source))
        label = f"input {dataset.label}"
    else:
        raise DataError(f"cannot score a {type(source).__name__}: give a pandas DataFrame, a dataset name or a URL")
    id_column = prediction_log.wanted(ctx, model, log)
    if id_column is not None:
        columns = [str(c) for c in source.columns] if dataset is None else data.columns(dataset)
        prediction_log.check_id_column(id_column, columns, label, model)
    fitted = load_model(ctx, model, version)
    scorer = Scorer(model, version, meta, fitted, label)
    logger = None
    if id_column is not None:
        logger = prediction_log.LogWriter(ctx.store, model, version, id_column, scorer.scored_at)
    try:
        result = _run(ctx, scorer, source, dataset, target, label, step, logger)
    except BaseException:
        if logger is not None:
            logger.discard()
        raise
    if logger is not None:
        logged = logger.commit()
        if isinstance(result, dict):
            result["logged"] = logged
    return result


def _run(
    ctx: Context,
    scorer: Scorer,
    source: Any,
    dataset: Any,
    target: str | None,
    label: str,
    step: Progress,
    logger: prediction_log.LogWriter | None,
) -> pd.DataFrame | dict[str, Any]:
    settings = ctx.settings
    transform: Callable[[pd.DataFrame], pd.DataFrame] = scorer if logger is None else logger.tap(scorer)

    def progress_rows(rows: int) -> None:
        advance(step, rows)
        step(f"scored {rows:,} rows")

    expect(step, len(source) if dataset is None else parquet_rows(dataset), stage="scoring")

    if target is None:  # the rows come back as one DataFrame: they are scored here
        batches = _frame_batches(source) if dataset is None else data.iter_batches(dataset, batch_rows=BATCH_ROWS)
        frames = list(_scored(transform, batches, label, progress_rows))
        keep_index = isinstance(source, pd.DataFrame)
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=not keep_index)
    fmt = data.SUFFIXES[os.path.splitext(target)[1].lower()]
    output = Output(target, fmt, _storage_options(settings, target), label)
    if dataset is None:
        written = {"rows": output.stream(transform, _frame_batches(source), progress_rows)}
    elif ctx.executor.ships_tasks:  # workers never open the store: the log is read back from the output
        written = ctx.executor.write(dataset, scorer, output, progress=progress_rows, batch_rows=BATCH_ROWS)
        if logger is not None:
            logger.add_output(output, output.storage_options)
    else:
        written = ctx.executor.write(dataset, transform, output, progress=progress_rows, batch_rows=BATCH_ROWS)
    return {
        "model": scorer.model,
        "version": scorer.version,
        **written,
        "output": target,
        "format": fmt,
        "scored_at": scorer.scored_at.isoformat(),
    }


def _scored(
    transform: Callable[[pd.DataFrame], pd.DataFrame],
    batches: Iterable[pd.DataFrame],
    label: str,
    progress: Callable[[int], None],
) -> Iterator[pd.DataFrame]:
    rows = 0
    for batch in batches:
        if len(batch):
            out = transform(batch)
            rows += len(batch)
            progress(rows)
            yield out
    if rows == 0:
        raise DataError(f"{label} has no rows: nothing to score")


@dataclass(frozen=True)
class Output:
    """Where scored rows go: one file written atomically, or a folder of parts (one per
    partition, from a cluster) that becomes visible only once every part is written."""

    url: str
    fmt: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    label: str = "input"

    def stream(
        self, transform: Callable[[pd.DataFrame], pd.DataFrame], batches: Iterable[pd.DataFrame], progress: Any
    ) -> int:
        """transform(batch) of every batch written to the one output file; the rows written."""
        rows = 0

        def counted(rows_so_far: int) -> None:
            nonlocal rows
            rows = rows_so_far
            progress(rows_so_far)

        with _atomic_output(self.url, self.storage_options) as sink:
            _WRITERS[self.fmt](sink, _scored(transform, batches, self.label, counted), self.label, self.url)
        return rows

    # -- a folder of parts ------------------------------------------------------------------

    def _fs(self) -> tuple[Any, str]:
        import fsspec

        try:
            return fsspec.url_to_fs(self.url, **self.storage_options)
        except (ImportError, ValueError) as exc:
            raise DataError(f"cannot write to {self.url}: {exc}") from None

    def staging(self) -> str:
        """A fresh, hidden place for the parts: beside a local output, inside a remote one
        (`_staging-…`: readers of Parquet and CSV folders skip names starting with _)."""
        fs, path = self._fs()
        tag = uuid.uuid4().hex[:12]
        if _is_local(fs):
            final = Path(path)
            if final.is_file() and final.suffix.lower() not in data.SUFFIXES:
                raise DataError(f"output {self.url} is a file: give a folder name")
            final.parent.mkdir(parents=True, exist_ok=True)
            return str(final.with_name(f".{final.name}.{tag}.parts"))
        return f"{path.rstrip('/')}/_staging-{tag}"

    def write_part(self, staging: str, index: int, frame: pd.DataFrame) -> int:
        """One partition's rows as part `index` in `staging`, atomically; the rows written."""
        fs, _ = self._fs()
        suffix = (
            ".tsv"
            if self.url.lower().endswith(".tsv")
            else {"parquet": ".parquet", "csv": ".csv"}.get(self.fmt, ".jsonl")
        )
        name = f"part-{index:05d}{suffix}"
        url = os.path.join(staging, name) if _is_local(fs) else f"{_protocol(self.url)}{staging}/{name}"
        with _atomic_output(url, self.storage_options) as sink:
            _WRITERS[self.fmt](sink, iter([frame]), self.label, self.url)
        return len(frame)

    def commit_parts(self, staging: str, summary: dict[str, Any]) -> None:
        """Make the parts the output, `_SUCCESS` (the summary, as JSON) written last.

        A local folder appears whole: the staging folder is renamed over the output (an
        older output moves aside first, and is removed after). An object store has no
        rename: the parts are copied into place and `_SUCCESS` comes last, after an older
        output's `_SUCCESS` and parts were removed; readers that wait for `_SUCCESS` never
        see a partial output, and `_staging-…` leftovers of a killed run are skipped by
        every reader and removed by the next run that commits there.
        """
        fs, path = self._fs()
        marker = json.dumps(summary, sort_keys=True).encode()
        if _is_local(fs):
            with open(os.path.join(staging, "_SUCCESS"), "wb") as f:
                f.write(marker)
                f.flush()
                os.fsync(f.fileno())
            final = Path(path)
            old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.old") if final.exists() else None
            if old is not None:
                os.replace(final, old)
            os.replace(staging, final)
            if old is not None:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
            return
        root = path.rstrip("/")
        for name in ["_SUCCESS", *sorted(fs.ls(root, detail=False) if fs.exists(root) else [])]:
            full = name if name.startswith(root) else f"{root}/{name}"
            base = full.rsplit("/", 1)[-1]
            if (base == "_SUCCESS" or base.startswith("part-")) and fs.exists(full):
                fs.rm(full)
        for part in sorted(fs.ls(staging, detail=False)):
            fs.copy(part, f"{root}/{part.rsplit('/', 1)[-1]}")
        fs.pipe(f"{root}/_SUCCESS", marker)
        self.discard_parts(staging)
        for leftover in fs.ls(root, detail=False):
            if leftover.rsplit("/", 1)[-1].startswith("_staging-"):
                with contextlib.suppress(OSError):
                    fs.rm(leftover, recursive=True)

    def discard_parts(self, staging: str) -> None:
        """Remove the parts of a run that failed."""
        fs, _ = self._fs()
        with contextlib.suppress(OSError, FileNotFoundError):
            if _is_local(fs):
                shutil.rmtree(staging)
            else:
                fs.rm(staging, recursive=True)


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _protocol(url: str) -> str:
    return url.split("://", 1)[0] + "://" if "://" in url else ""


def _frame_batches(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), BATCH_ROWS):
        yield frame.iloc[start : start + BATCH_ROWS]


# -- one batch ------------------------------------------------------------------------------


class Scorer:
    """Checks, coerces and scores batches against one version's feature schema."""

    def __init__(self, model: str, version: int, meta: dict[str, Any], fitted: Any, label: str) -> None:
        self.model, self.version, self.fitted, self.label = model, version, fitted, label
        self.features: list[dict[str, Any]] = list(meta["features"])
        self.task = meta.get("task") or "binary"
        self.threshold = meta.get("threshold")
        self.scored_at = pd.Timestamp(datetime.now(UTC)).as_unit("us")
        self._stamp = self.scored_at.tz_convert(None).to_datetime64()
        self.rows = 0

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return self.score(batch)

    def feature_frame(self, batch: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The batch's feature columns in the types the model was trained on (a DataError
        names a missing column or a value that cannot be coerced), and the columns changed."""
        names = [f["name"] for f in self.features]
        missing = [n for n in names if n not in batch.columns]
        if missing:
            raise DataError(
                f"{self.label} has no column '{missing[0]}', a feature of model '{self.model}' "
                f"version {self.version}; its columns: {_some(list(batch.columns))}"
            )
        changed = {}
        for feature in self.features:
            coerced = self._coerce(batch[feature["name"]], feature)
            if coerced is not None:
                changed[feature["name"]] = coerced.array
        return _replaced(batch[names], changed), changed

    def predict(self, batch: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None, list]:
        """Predictions, probabilities and classes for a batch, checked and coerced first."""
        X, _ = self.feature_frame(batch)
        out = predict(self.fitted, X, self.task, self.threshold)
        self.rows += len(batch)
        return out

    def score(self, batch: pd.DataFrame) -> pd.DataFrame:
        X, changed = self.feature_frame(batch)
        pred, proba, labels = predict(self.fitted, X, self.task, self.threshold)
        added: dict[str, Any] = {PREDICTION: pred}
        if proba is not None:
            added.update({f"proba_{_text(c)}": proba[:, i] for i, c in enumerate(labels)})
        added[VERSION] = np.full(len(batch), self.version, dtype=np.int64)
        added[SCORED_AT] = pd.to_datetime(np.full(len(batch), self._stamp), utc=True).array
        clash = [name for name in added if name in batch.columns]
        if clash:
            raise DataError(
                f"{self.label} already has a column '{clash[0]}', which scoring adds: drop or rename it "
                "(is it the output of an earlier scoring?)"
            )
        out = pd.concat([_replaced(batch, changed), pd.DataFrame(added, index=batch.index)], axis=1)
        self.rows += len(batch)
        return out

    def _coerce(self, column: pd.Series, feature: dict[str, Any]) -> pd.Series | None:
        """The column in the type the model was trained on (None: it already is), or a DataError."""
        dtype, kind = str(feature.get("dtype", "")), feature.get("kind")
        if dtype.startswith(("datetime", "timedelta")) or kind == "datetime":
            return None  # kept: the fitted model parses dates read as text
        number = ptypes.is_bool_dtype(column.dtype) or ptypes.is_numeric_dtype(column.dtype)
        if dtype in ("bool", "boolean"):
            return None if number else as_text(column)
        if kind == "numeric":
            return None if number else self._as_number(column, feature["name"])
        return as_text(column)

    def _as_number(self, column: pd.Series, name: str) -> pd.Series:
        values = column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column
        numbers = pd.to_numeric(values, errors="coerce")
        if isinstance(numbers.dtype, pd.api.extensions.ExtensionDtype):
            numbers = pd.Series(numbers.to_numpy(dtype="float64", na_value=np.nan), index=column.index)
        failed = numbers.isna().to_numpy() & column.notna().to_numpy()
        if failed.any():
            candidates = column[failed]
            real = ~candidates.astype(str).str.strip().str.lower().isin(MISSING_TEXT)
            if real.any():
                position = int(np.flatnonzero(failed)[int(np.argmax(real.to_numpy()))])
                value = candidates[real].iloc[0]
                raise DataError(
                    f"column '{name}' of {self.label} holds {value!r} (row {self.rows + position + 1}), "
                    f"not a number, but it is a numeric feature of model '{self.model}' version {self.version}: "
                    "fix or blank such values"
                )
        return numbers.rename(column.name)


def _replaced(frame: pd.DataFrame, columns: dict[Any, Any]) -> pd.DataFrame:
    """A shallow copy of `frame` with some columns' values replaced (`frame` itself if none)."""
    if not columns:
        return frame
    out = frame.copy(deep=False)
    for name, values in columns.items():
        out[name] = values
    return out


def _text(value: Any) -> str:
    return str(value.item() if hasattr(value, "item") else value)


def _some(columns: list[Any], limit: int = 12) -> str:
    shown = ", ".join(map(str, columns[:limit]))
    return shown + (f", … ({len(columns)} in all)" if len(columns) > limit else "")


# -- writing ----------------------------------------------------------------------------------


def _location(url: str) -> tuple[str, str]:
    """(scheme, normalised absolute path) of a local path or URL: symlinks resolved, '..' folded."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "file", url
    if scheme in ("file", "local"):
        return "file", os.path.realpath(rest)
    scheme = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}.get(scheme, scheme)
    return scheme, posixpath.normpath("/" + rest.split("?", 1)[0]).rstrip("/")


def _refuse_inside_store(settings: Any, target: str) -> None:
    """Scores never go into the store: they could overwrite a version's entry or an artifact."""
    store = settings.resolve_url(settings.project.store)
    (store_scheme, store_path), (scheme, path) = _location(store), _location(target)
    if scheme == store_scheme and (path == store_path or path.startswith(store_path.rstrip("/") + "/")):
        raise DataError(
            f"output {target} is inside the store ({settings.project.store}), which holds only modelcycle's "
            "own objects: write the scores somewhere else"
        )


def _storage_options(settings: Any, url: str) -> dict[str, Any]:
    """The project's store_options, for an output on the same kind of storage as the store."""
    if "://" not in url:
        return {}
    store = settings.resolve_url(settings.project.store)
    same = "://" in store and store.split("://", 1)[0] == url.split("://", 1)[0]
    return dict(settings.project.store_options) if same else {}


@contextlib.contextmanager
def _atomic_output(url: str, storage_options: dict[str, Any]) -> Iterator[BinaryIO]:
    """A binary file whose bytes appear at `url` only when the block ends without an error."""
    fs = None
    if "://" in url:
        import fsspec
        from fsspec.implementations.local import LocalFileSystem

        try:
            fs, path = fsspec.url_to_fs(url, **storage_options)
        except (ImportError, ValueError) as exc:
            raise DataError(f"cannot write to {url}: {exc}") from None
        if isinstance(fs, LocalFileSystem):
            fs, url = None, path
    if fs is None:
        final = Path(url)
        if final.is_dir():
            raise DataError(f"output {url} is a folder: give a file name ending .parquet, .csv or .jsonl")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            temp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.part")
            f = open(temp, "xb")  # noqa: SIM115 - closed below, on every path
        except OSError as exc:
            raise DataError(f"cannot write to {url}: {exc}") from None
        try:
            yield f
            f.flush()
            os.fsync(f.fileno())
            f.close()
            os.replace(temp, final)
        except BaseException:
            f.close()
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        return
    try:
        f = fs.open(path, "wb")
    except OSError as exc:
        raise DataError(f"cannot write to {url}: {exc}") from None
    try:
        yield f
    except BaseException:
        with contextlib.suppress(Exception):
            f.discard()  # S3: abort the multipart upload; nothing becomes visible
        with contextlib.suppress(Exception):
            f.closed = True  # never commit it later, from close() or __del__
        raise
    try:
        f.close()  # S3: completes the upload (or the single PUT): the object appears whole
    except OSError as exc:
        raise DataError(f"cannot write to {url}: {exc}") from None


def _write_parquet(sink: BinaryIO, batches: Iterator[pd.DataFrame], label: str, target: str) -> None:
    """Row groups batch by batch; the schema is the first batch's, later batches are cast to it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    schema = None
    try:
        for batch in batches:
            table = _to_arrow(batch, label)
            if schema is None:
                # a column with no values in the first batch takes text, which any later value casts to
                fields = [pa.field(f.name, pa.large_string()) if pa.types.is_null(f.type) else f for f in table.schema]
                schema = pa.schema(fields, metadata=table.schema.metadata)
                writer = pq.ParquetWriter(sink, schema)
            writer.write_table(_cast(table, schema, label))
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()  # the sink is thrown away: its footer does not matter
        raise
    if writer is not None:
        writer.close()


def _to_arrow(batch: pd.DataFrame, label: str) -> Any:
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(batch, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"{label}: cannot write as Parquet: {' '.join(str(exc).split())}") from None


def _cast(table: Any, schema: Any, label: str) -> Any:
    import pyarrow as pa

    if table.schema.names != schema.names:
        _same_columns(schema.names, table.schema.names, label)
        table = table.select(schema.names)
    if table.schema.equals(schema, check_metadata=False):
        return table.replace_schema_metadata(schema.metadata)
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        for name in schema.names:
            wanted, found = schema.field(name).type, table.schema.field(name).type
            if wanted != found:
                try:
                    table.column(name).cast(wanted)
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    raise DataError(
                        f"column '{name}' of {label} changes type from {wanted} in the first rows to {found} "
                        "later, which Parquet cannot hold in one file: give the column one type in the input, "
                        "or write .csv or .jsonl"
                    ) from None
        raise DataError(f"{label}: cannot write as Parquet: {' '.join(str(exc).split())}") from None


def _same_columns(first: list[str], found: list[str], label: str) -> None:
    if sorted(map(str, first)) != sorted(map(str, found)):
        extra = [c for c in found if c not in first]
        lost = [c for c in first if c not in found]
        what = f"column '{lost[0]}' disappears" if lost else f"column '{extra[0]}' appears"
        raise DataError(f"{label}: {what} after the first rows: every file of the input needs the same columns")


def _write_csv(sink: BinaryIO, batches: Iterator[pd.DataFrame], label: str, target: str) -> None:
    sep = "\t" if target.lower().endswith(".tsv") else ","
    columns = None
    for batch in batches:
        header = columns is None
        if columns is None:
            columns = list(batch.columns)
        elif list(batch.columns) != columns:
            _same_columns(columns, list(batch.columns), label)
            batch = batch[columns]
        sink.write(batch.to_csv(index=False, header=header, sep=sep).encode("utf-8"))


def _write_jsonl(sink: BinaryIO, batches: Iterator[pd.DataFrame], label: str, target: str) -> None:
    columns = None
    for batch in batches:
        if columns is None:
            columns = list(batch.columns)
        elif list(batch.columns) != columns:
            _same_columns(columns, list(batch.columns), label)
            batch = batch[columns]
        sink.write(_json_lines(batch).encode("utf-8"))


def _json_lines(batch: pd.DataFrame) -> str:
    """One JSON object per row, each number as Python writes it: the shortest text that reads back
    as the same float (8.95, not 8.949999999999999; pandas' writer rounds to 15 decimals instead).
    Dates and times are pandas' ISO text, to the microsecond; missing values are null."""
    import json

    frame = batch.copy(deep=False)
    timed = (ptypes.is_datetime64_any_dtype, ptypes.is_timedelta64_dtype)
    dates = [c for c in frame.columns if any(kind(frame[c]) for kind in timed)]
    if dates:
        iso = json.loads(frame[dates].to_json(orient="values", date_format="iso", date_unit="us"))
        for i, column in enumerate(dates):
            frame[column] = pd.Series([row[i] for row in iso], index=frame.index, dtype=object)
    values = frame.astype(object).where(frame.notna(), None)
    names = [str(c) for c in frame.columns]
    encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=str).encode
    rows = values.itertuples(index=False, name=None)
    return "".join(encode(dict(zip(names, row, strict=True))) + "\n" for row in rows)


_WRITERS: dict[str, Callable[[BinaryIO, Iterator[pd.DataFrame], str, str], None]] = {
    "parquet": _write_parquet,
    "csv": _write_csv,
    "jsonl": _write_jsonl,
}
