"""Evaluating labels that arrive later: joined by id to the predictions the log kept
(see prediction_log), and evaluated as served, one record per version that served them.

Joining labels (`evaluate_labels`) is a hash join in bounded memory: the labels file and
the log segments are streamed once, each batch split by a hash of the id into
`buckets = ceil(logged rows / BUCKET_ROWS)` pieces spilled to a temporary folder; then one
bucket at a time is joined and evaluated. Memory holds one bucket: about BUCKET_ROWS logged
rows plus the labels whose ids hash there (their share of the labels file).
"""

from __future__ import annotations

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
from .evaluate import EvaluationTask, _context, _record, merge_states
from .evaluation_label import labelled
from .history import record_evaluation
from .model_versions import refuse_deleted
from .prediction_log import ID, PREDICTION, SCORED_AT, VERSION, ids_as_text, runs, segments
from .retention import is_deleted

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

#: logged rows per bucket of the join: what one bucket holds in memory, besides its labels
BUCKET_ROWS = 1_000_000


# -- joining labels --------------------------------------------------------------------------------


def evaluate_labels(
    ctx: Context,
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
    step = progress or (lambda stage: None)
    ctx.require_model(model)
    ms = ctx.settings.models.get(model)
    if ms is None or not ms.id_column:
        raise DataError(
            f"model '{model}' has no id_column: set id_column = \"<column identifying a row>\" under "
            f"[models.{model}] to join labels to logged predictions"
        )
    id_column = ms.id_column
    label_column = ms.label_column or ms.target
    source, what, columns = _labels_source(ctx, labels)
    for needed, role, key in ((id_column, "id", "id_column"), (label_column, "label", "label_column")):
        if needed not in columns:
            shown = ", ".join(map(str, columns[:12])) + (" …" if len(columns) > 12 else "")
            raise DataError(
                f"{what} has no column '{needed}', the {role} column of model '{model}' (models.{model}.{key}); "
                f"its columns: {shown}: are these labels for another model?"
            )
    manifests = runs(ctx.store, model)
    if version is not None:
        ctx.registry.version(model, version)  # NotFoundError for an unknown version
        refuse_deleted(ctx, model, version)
        manifests = [m for m in manifests if m["version"] == version]
    if not manifests:
        which = f"version {version} of model '{model}'" if version is not None else f"model '{model}'"
        raise NotFoundError(
            f"no logged predictions of {which}: score with 'modelcycle score --log' "
            f"(or prediction_log = true under [models.{model}]) before joining labels"
        )
    # gc removed these versions' profiles but not their logged rows: those rows are left out, and counted
    deleted = sorted(v for v in {int(m["version"]) for m in manifests} if is_deleted(ctx, model, v))
    logged = sum(int(m["rows"]) for m in manifests)
    buckets = max(1, math.ceil(logged / BUCKET_ROWS))
    started = time.perf_counter()
    contexts: dict[int, dict[str, Any]] = {}
    task = EvaluationTask(what, True, PREDICTION, None, contexts, {}, loader=lambda v: _context(ctx, model, v))
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
        for segment in segments(ctx.store, manifests):
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
        record = _record(ctx, model, v, {**task.contexts[v], "state": state}, None, True, seconds)
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
        records.append(labelled(ctx, record, name, as_of, (source.described or {}).get("name")))
    return [record_evaluation(ctx, model, record) for record in records]


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


def _labels_source(ctx: Context, labels: Any) -> tuple[_Source, str, list[str]]:
    if isinstance(labels, pd.DataFrame):
        return _Source(labels, None), "the labels", [str(c) for c in labels.columns]
    if isinstance(labels, str | os.PathLike):
        dataset = data.resolve(ctx.settings, os.fspath(labels))
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
