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

Labels that arrive later are joined to this log by `label_evaluation.evaluate_labels`.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import data
from .errors import DataError
from .interfaces import Store
from .text_values import as_text

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

ID, VERSION, SCORED_AT, PREDICTION = "id", "model_version", "scored_at", "prediction"
MANIFEST = "manifest.json"


def prefix(model: str) -> str:
    return f"models/{model}/predictions"


def ids_as_text(values: pd.Series, label: str, column: str, offset: int = 0) -> pd.Series:
    """Ids as text, so 7, 7.0 and "7" join; a missing id is a DataError naming the row
    (counted from 1 over the whole input: `offset` rows came before this batch)."""
    missing = values.isna().to_numpy()
    if missing.any():
        row = offset + int(np.flatnonzero(missing)[0]) + 1
        raise DataError(f"{label}: column '{column}' has no id at row {row}: every row needs an id to join labels")
    text = as_text(values)
    return pd.Series((values if text is None else text).astype(str).to_numpy(dtype=object), index=values.index)


# -- writing ---------------------------------------------------------------------------------------


def wanted(ctx: Context, model: str, log: bool | None) -> str | None:
    """The id column when this scoring run is logged (`log`, else the model's prediction_log)."""
    ms = ctx.settings.models.get(model)
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
