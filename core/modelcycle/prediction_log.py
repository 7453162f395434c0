"""The prediction log: what `score` served, kept by id, so labels that arrive weeks later
can be joined to the predictions as served and evaluated without re-scoring.

Layout in the store (see docs/storage.md)::

    models/<model>/predictions/<run>/part-00000.parquet …   one segment per scored batch
    models/<model>/predictions/<run>/manifest.json         written last: the run is committed

`<run>` is the scoring time and a random token (`20261204T150102.123456Z-1f3a…`): every
scoring run writes only under its own fresh name, each object is created once with the
store's put-if-absent, and a run becomes visible only when its manifest exists. Concurrent
scorers therefore never touch the same object, and a scorer killed mid-run leaves
segments without a manifest, which readers ignore.

A segment holds the columns `id` (the row's id as text: 75001.0 read from CSV is "75001"),
`model_version`, `scored_at`, `prediction` and, for classifiers, `proba_<class>`. No
features are logged: an evaluation from labels has metrics and prediction drift, never
feature drift.

Joining labels (`evaluate_labels`) is a hash join in bounded memory: the labels file and
the log segments are streamed once, each batch split by a hash of the id into
`buckets = ceil(logged rows / BUCKET_ROWS)` pieces spilled to a temporary folder; then one
bucket at a time is joined and evaluated. Memory holds one bucket: about BUCKET_ROWS logged
rows plus the labels whose ids hash there (their share of the labels file).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import data
from .errors import DataError, NotFoundError
from .interfaces import Store

if TYPE_CHECKING:  # pragma: no cover
    from .project import Project

#: logged rows per bucket of the join: what one bucket holds in memory, besides its labels
BUCKET_ROWS = 1_000_000
ID, VERSION, SCORED_AT, PREDICTION = "id", "model_version", "scored_at", "prediction"
MANIFEST = "manifest.json"


def prefix(model: str) -> str:
    return f"models/{model}/predictions"


def ids_as_text(values: pd.Series, label: str, column: str, offset: int = 0) -> pd.Series:
    """Ids as text, so 7, 7.0 and "7" join; a missing id is a DataError naming the row
    (counted from 1 over the whole input: `offset` rows came before this batch)."""
    from .score import _as_text

    missing = values.isna().to_numpy()
    if missing.any():
        row = offset + int(np.flatnonzero(missing)[0]) + 1
        raise DataError(f"{label}: column '{column}' has no id at row {row}: every row needs an id to join labels")
    text = _as_text(values)
    return pd.Series((values if text is None else text).astype(str).to_numpy(dtype=object), index=values.index)


# -- writing ---------------------------------------------------------------------------------------


def wanted(project: Project, model: str, log: bool | None) -> str | None:
    """The id column when this scoring run is logged (`log`, else the model's prediction_log)."""
    ms = project.settings.models.get(model)
    on = log if log is not None else bool(ms is not None and ms.prediction_log)
    if not on:
        return None
    if ms is None or not ms.id_column:
        raise DataError(
            f"cannot log the predictions of model '{model}': set id_column = \"<column identifying a row>\" "
            f"under [models.{model}] in modelcycle.toml"
        )
    return ms.id_column


def check_id_column(id_column: str, columns: list[str], label: str, model: str) -> None:
    if id_column not in columns:
        shown = ", ".join(map(str, columns[:12])) + (" …" if len(columns) > 12 else "")
        raise DataError(
            f"{label} has no column '{id_column}', the id_column of model '{model}' that the prediction log "
            f"keeps; its columns: {shown}: fix models.{model}.id_column or the input"
        )


class LogWriter:
    """Appends one scoring run's rows to the log: segments as they come, the manifest last."""

    def __init__(self, store: Store, model: str, version: int, id_column: str, scored_at: pd.Timestamp) -> None:
        self.store, self.model, self.version, self.id_column = store, model, version, id_column
        self.scored_at = scored_at
        stamp = scored_at.strftime("%Y%m%dT%H%M%S.%fZ")
        self.run = f"{prefix(model)}/{stamp}-{uuid.uuid4().hex[:12]}"
        self.parts: list[str] = []
        self.rows = 0

    def add(self, scored: pd.DataFrame) -> None:
        """Log the scored rows of one batch (a frame `score` produced) as one segment."""
        if not len(scored):
            return
        columns = [PREDICTION, *[c for c in scored.columns if str(c).startswith("proba_")]]
        ids = ids_as_text(scored[self.id_column], "the scored rows", self.id_column, self.rows)
        frame = pd.DataFrame({ID: ids})
        frame[VERSION] = np.asarray(scored[VERSION], dtype=np.int64)
        frame[SCORED_AT] = pd.to_datetime(scored[SCORED_AT], utc=True).array  # never via Python objects
        for c in columns:
            frame[str(c)] = scored[c].to_numpy()
        buffer = io.BytesIO()
        frame.reset_index(drop=True).to_parquet(buffer, index=False)
        key = f"{self.run}/part-{len(self.parts):05d}.parquet"
        if not self.store.put_if_absent(key, buffer.getvalue()):  # pragma: no cover - the run name is fresh
            raise DataError(f"prediction log segment {key} exists already")
        self.parts.append(key.rsplit("/", 1)[1])
        self.rows += len(frame)

    def tap(self, transform: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[pd.DataFrame], pd.DataFrame]:
        """`transform` that also logs what it returns."""

        def logged(batch: pd.DataFrame) -> pd.DataFrame:
            out = transform(batch)
            self.add(out)
            return out

        return logged

    def add_output(self, output: Any, storage_options: dict[str, Any]) -> None:
        """Log a committed output read back (a folder of parts written on a cluster)."""
        url = output.url.rstrip("/")
        suffix = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}[output.fmt]
        if url.lower().endswith(".tsv"):
            suffix = ".tsv"
        parts = f"{url}/part-*{suffix}"
        ds = data.Dataset(None, url, parts, output.fmt, {}, storage_options)
        for batch in data.iter_batches(ds):
            self.add(batch)

    def commit(self) -> dict[str, Any]:
        """Make the run visible: its manifest, created once, only if every segment is still there."""
        present = {key.rsplit("/", 1)[1] for key in self.store.list(self.run)} if self.rows else set()
        for part in self.parts:
            if part not in present:
                raise DataError(
                    f"prediction log run {self.run}: segment {part} is missing from the store (gc removes the "
                    f"segments of a run that wrote none for an hour): the run was not committed; score again"
                )
        manifest = {
            "model": self.model,
            "version": self.version,
            "id_column": self.id_column,
            "scored_at": self.scored_at.isoformat(),
            "rows": self.rows,
            "parts": self.parts,
        }
        if self.rows:
            self.store.put_json_if_absent(f"{self.run}/{MANIFEST}", manifest)
        return {"run": self.run.rsplit("/", 1)[1], "rows": self.rows}

    def discard(self) -> None:
        """Remove the segments of a run that failed (the manifest was never written)."""
        for part in self.parts:
            self.store.delete(f"{self.run}/{part}")


# -- reading ---------------------------------------------------------------------------------------


def runs(store: Store, model: str) -> list[dict[str, Any]]:
    """The committed runs of `model`'s log, oldest first, each its manifest plus its "key"."""
    found = []
    for key in store.list(prefix(model)):
        if key.endswith("/" + MANIFEST):
            manifest = store.get_json(key)
            if manifest is not None:
                found.append({**manifest, "key": key.rsplit("/", 1)[0]})
    return sorted(found, key=lambda m: m["key"])


def uncommitted(store: Store, model: str) -> list[str]:
    """Segments of runs that never wrote their manifest (a scorer killed mid-run): for gc."""
    keys = store.list(prefix(model))
    committed = {k.rsplit("/", 1)[0] for k in keys if k.endswith("/" + MANIFEST)}
    return [k for k in keys if k.rsplit("/", 1)[0] not in committed]


def segments(store: Store, manifests: list[dict[str, Any]]) -> Iterator[pd.DataFrame]:
    """Every logged row, one segment at a time."""
    for manifest in manifests:
        for part in manifest["parts"]:
            raw = store.get(f"{manifest['key']}/{part}")
            if raw is None:
                raise DataError(f"prediction log segment {manifest['key']}/{part} is missing from the store")
            yield pd.read_parquet(io.BytesIO(raw))


# -- joining labels --------------------------------------------------------------------------------


def evaluate_labels(
    project: Project,
    model: str,
    labels: Any,
    *,
    version: int | None = None,
    progress: Callable[[str], None] | None = None,
    name: str | None = None,
    as_of: str | None = None,
) -> list[dict[str, Any]]:
    """Join `labels` (a path/URL, dataset name or DataFrame with the id and label columns) by id to
    the logged predictions and evaluate them as served: one record per version that served them,
    labelled with `name` and `as_of` (see evaluation_label.py)."""
    from .evaluate import EvaluationTask, _context, _record, merge_states
    from .evaluation_label import labelled

    step = progress or (lambda stage: None)
    project._require_model(model)
    ms = project.settings.models.get(model)
    if ms is None or not ms.id_column:
        raise DataError(
            f"model '{model}' has no id_column: set id_column = \"<column identifying a row>\" under "
            f"[models.{model}] to join labels to logged predictions"
        )
    id_column = ms.id_column
    label_column = ms.label_column or ms.target
    source, what, columns = _labels_source(project, labels)
    for needed, role, key in ((id_column, "id", "id_column"), (label_column, "label", "label_column")):
        if needed not in columns:
            shown = ", ".join(map(str, columns[:12])) + (" …" if len(columns) > 12 else "")
            raise DataError(
                f"{what} has no column '{needed}', the {role} column of model '{model}' (models.{model}.{key}); "
                f"its columns: {shown}: are these labels for another model?"
            )
    manifests = runs(project.store, model)
    if version is not None:
        project.registry.version(model, version)  # NotFoundError for an unknown version
        project._refuse_deleted(model, version)
        manifests = [m for m in manifests if m["version"] == version]
    if not manifests:
        which = f"version {version} of model '{model}'" if version is not None else f"model '{model}'"
        raise NotFoundError(
            f"no logged predictions of {which}: score with 'modelcycle score --log' "
            f"(or prediction_log = true under [models.{model}]) before joining labels"
        )
    from .retention import is_deleted

    # gc removed these versions' profiles but not their logged rows: those rows are left out, and counted
    deleted = sorted(v for v in {int(m["version"]) for m in manifests} if is_deleted(project, model, v))
    logged = sum(int(m["rows"]) for m in manifests)
    buckets = max(1, math.ceil(logged / BUCKET_ROWS))
    started = time.perf_counter()
    contexts: dict[int, dict[str, Any]] = {}
    task = EvaluationTask(what, True, PREDICTION, None, contexts, {}, loader=lambda v: _context(project, model, v))
    counts = {"label_rows": 0, "matched": 0, "unmatched": 0, "deleted_version_rows": 0}
    per_version: dict[int, dict[str, int]] = {}
    states: dict[int, Any] = {}
    with tempfile.TemporaryDirectory(prefix="modelcycle-labels-") as spill:
        step("reading labels")
        for batch in source(columns=[id_column, label_column]):
            ids = ids_as_text(batch[id_column], what, id_column, counts["label_rows"])
            values = batch[label_column]
            known = values.notna().to_numpy()
            texts = np.full(len(values), None, dtype=object)
            texts[known] = values[known].astype(str).to_numpy(dtype=object)
            pieces = pd.DataFrame({ID: ids.to_numpy(dtype=object), label_column: texts})
            counts["label_rows"] += len(pieces)
            _spill(pieces, buckets, Path(spill), "labels")
        if counts["label_rows"] == 0:
            raise DataError(f"{what} has no rows")
        step("reading the prediction log")
        for segment in segments(project.store, manifests):
            _spill(segment, buckets, Path(spill), "log")
        for b in range(buckets):
            step(f"joining bucket {b + 1}/{buckets}")
            truth = _read_bucket(Path(spill), b, "labels")
            if truth is None:
                continue
            repeated = truth[ID].duplicated()
            if repeated.any():
                raise DataError(
                    f"{what}: id {truth[ID][repeated].iloc[0]!r} appears more than once: give one label per id"
                )
            served = _read_bucket(Path(spill), b, "log")
            if served is None:
                counts["unmatched"] += len(truth)
                continue
            served = served.sort_values(SCORED_AT, kind="stable").drop_duplicates([VERSION, ID], keep="last")
            if version is not None:
                served = served[served[VERSION] == version]
            hit = truth[ID].isin(served[ID])
            counts["matched"] += int(hit.sum())
            counts["unmatched"] += int((~hit).sum())
            if deleted:
                gone = served[VERSION].isin(deleted)
                counts["deleted_version_rows"] += int(served[ID][gone].isin(truth[ID]).sum())
                served = served[~gone]
            for v, n in served[VERSION].value_counts().items():
                per_version.setdefault(int(v), {"logged": 0, "labelled": 0})["logged"] += int(n)
            joined = served.merge(truth, on=ID, how="inner")
            if joined.empty:
                continue
            for v, n in joined[VERSION].value_counts().items():
                per_version.setdefault(int(v), {"logged": 0, "labelled": 0})["labelled"] += int(n)
            states = merge_states(states, task(iter([joined.reset_index(drop=True)])))
    if counts["matched"] == 0:
        raise DataError(
            f"none of the {counts['label_rows']:,} ids in {what} matches a logged prediction of model '{model}': "
            f"are these labels for another model, or scored without --log?"
        )
    if not states:
        raise DataError(
            f"all {counts['deleted_version_rows']:,} labelled predictions in {what} were served by versions of "
            f"model '{model}' that gc deleted ({', '.join(map(str, deleted))}): their reference profiles are gone, "
            "so nothing is left to evaluate; run gc with a larger --keep while labels are still to come"
        )
    seconds = time.perf_counter() - started
    records = []
    for v, state in sorted(states.items()):
        record = _record(project, model, v, {**task.contexts[v], "state": state}, None, True, seconds)
        record["mode"] = "labels"
        record["dataset"] = source.described
        record["labels"] = {
            "rows": counts["label_rows"],
            "matched": counts["matched"],
            "unmatched": counts["unmatched"],
            "logged_predictions": per_version[v]["logged"],
            "unlabelled_predictions": per_version[v]["logged"] - per_version[v]["labelled"],
            "deleted_version_rows": counts["deleted_version_rows"],
        }
        records.append(labelled(project, record, name, as_of, (source.described or {}).get("name")))
    return [project.record_evaluation(model, record) for record in records]


class _Source:
    """Labels read in batches: a DataFrame, or a dataset (name, path or URL)."""

    def __init__(self, frame: pd.DataFrame | None, dataset: Any) -> None:
        self.frame, self.dataset = frame, dataset
        self.described = None if dataset is None else {"name": dataset.name, "url": dataset.url}

    def __call__(self, columns: list[str]) -> Iterator[pd.DataFrame]:
        if self.frame is not None:
            step = 65_536
            for start in range(0, len(self.frame), step):
                yield self.frame.iloc[start : start + step][columns]
            return
        yield from data.iter_batches(self.dataset, columns=columns)


def _labels_source(project: Project, labels: Any) -> tuple[_Source, str, list[str]]:
    if isinstance(labels, pd.DataFrame):
        return _Source(labels, None), "the labels", [str(c) for c in labels.columns]
    if isinstance(labels, str | os.PathLike):
        dataset = data.resolve(project.settings, os.fspath(labels))
        what = f"labels {dataset.url}" if dataset.name is None else f"labels {dataset.label}"
        return _Source(None, dataset), what, data.columns(dataset)
    raise DataError(f"cannot read labels from a {type(labels).__name__}: give a DataFrame, a dataset name or a URL")


def _bucket_of(ids: pd.Series, buckets: int) -> np.ndarray:
    if buckets == 1:
        return np.zeros(len(ids), dtype=np.int64)
    hashes = pd.util.hash_array(np.asarray(ids, dtype=object))
    return (hashes % np.uint64(buckets)).astype(np.int64)


def _spill(frame: pd.DataFrame, buckets: int, folder: Path, side: str) -> None:
    """Each bucket's rows of `frame` as one more Parquet piece under folder/<bucket>/<side>/."""
    where = _bucket_of(frame[ID], buckets)
    for b in np.unique(where):
        piece = frame[where == b]
        target = folder / str(int(b)) / side
        target.mkdir(parents=True, exist_ok=True)
        piece.to_parquet(target / f"{uuid.uuid4().hex}.parquet", index=False)


def _read_bucket(folder: Path, bucket: int, side: str) -> pd.DataFrame | None:
    target = folder / str(bucket) / side
    if not target.is_dir():
        return None
    pieces = [pd.read_parquet(p) for p in sorted(target.iterdir())]
    frame = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    frame[ID] = pd.Series(frame[ID].to_numpy(dtype=object), index=frame.index, dtype=object)  # hashes fast
    return frame
