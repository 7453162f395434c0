"""Which rows `if-better` compares the candidate and the active version on, and both sides there.

A fair comparison uses rows neither model was trained on. By default those are the
candidate's holdout rows minus the rows in the active version's row fingerprint (the
holdout of a grown dataset holds rows the active version learnt, where it shines). With
`activation.on = "<dataset>"` they are that labelled dataset's rows minus the rows either
version was trained on. A version stored before row fingerprints existed has none: the
whole holdout is compared, as before, and the decision says so in its `note`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .activation import Side
from .errors import DataError, ModelcycleError
from .measures import predict
from .model_versions import load_model
from .rowset import ATTACHMENT, RowSet

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context
    from .measures import MetricSet
    from .registry import Registry
    from .settings import ModelSettings, Settings


@dataclass
class Comparison:
    """Both sides measured on the same rows; `incumbent` is None with `problem` when it cannot be."""

    candidate: Side
    incumbent: Side | None = None
    problem: str | None = None
    rows: int = 0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Candidate:
    """What the comparison needs of the model being trained."""

    fitted: Any
    features: list[str]
    target: str
    task: str
    threshold: float | None
    labels: list
    rows: RowSet  # the rows it was fitted on
    metric_set: MetricSet
    value: float  # its primary metric on the holdout, shown when there is nothing to compare with
    training: pd.DataFrame  # its feature columns as trained on: the types other data is coerced to

    def alone(self, rows: int = 0, problem: str | None = None) -> Comparison:
        """No incumbent measured: the candidate's holdout value is what the decision shows."""
        return Comparison(Side(None, self.value, lambda w: np.nan), problem=problem, rows=rows)


def label_column(ms: ModelSettings) -> str:
    return ms.label_column or ms.target


def read_labelled(settings: Settings, ms: ModelSettings, model: str, features: list[str]) -> pd.DataFrame | None:
    """The `activation.on` dataset, read and checked before any fit (None when it is not set)."""
    if ms.activation.on is None:
        return None
    from . import data

    dataset = data.resolve(settings, ms.activation.on)
    frame = data.read_frame(dataset)
    label = label_column(ms)
    needed = f"models.{model}.activation.on compares on it"
    if label not in frame.columns:
        raise DataError(
            f"{dataset.label} has no column '{label}', the label of model '{model}' ({needed}): "
            "add the labels, or set label_column"
        )
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise DataError(f"{dataset.label} has no column '{missing[0]}', a feature of model '{model}' ({needed})")
    return frame


def on_holdout(
    ctx: Context,
    model: str,
    current: dict | None,
    frame: pd.DataFrame,
    positions: np.ndarray,
    y_true: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    candidate: Candidate,
) -> Comparison:
    """Both models on the candidate's holdout rows (`positions` of `frame`) the active version did not see."""
    if current is None:
        return candidate.alone(len(y_true))
    version = current["version"]
    try:
        meta = ctx.registry.version(model, version)
        seen, why = _active_trained_on(ctx, model, version, frame, positions)
        keep = ~seen
        columns = [f["name"] for f in meta.get("features", [])]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            problem = f"active version {version} needs column '{missing[0]}', absent from the new holdout"
            return candidate.alone(problem=problem)
        X = frame.iloc[positions[keep]][columns]
        fitted = load_model(ctx, model, version)
        threshold = meta.get("threshold")
        inc_pred, inc_proba, inc_labels = (
            predict(fitted, X, candidate.task, threshold) if len(X) else _nothing(candidate.labels)
        )
    except ModelcycleError as exc:
        return candidate.alone(problem=f"active version {version} cannot be measured ({exc})")
    problem = _other_classes(version, inc_labels, candidate)
    if problem:
        return candidate.alone(problem=problem)
    y, rows = y_true[keep], int(keep.sum())
    info = {
        "compared_on": "holdout" if why else "holdout-unseen",
        "rows_compared": rows,
        "rows_excluded": int(len(keep) - rows),
    }
    if why:
        info["note"] = f"{why}: compared on the whole holdout"
    elif (meta.get("row_fingerprint") or {}).get("covers") == "all rows":
        info["incumbent_covers"] = "all rows"  # for the reason only: no holdout can hold rows it did not see
    return Comparison(
        _side(candidate, None, y, pred[keep], None if proba is None else proba[keep]),
        _side(candidate, version, y, inc_pred, inc_proba),
        rows=rows,
        info=info,
    )


def on_dataset(
    ctx: Context, model: str, current: dict | None, name: str, frame: pd.DataFrame, label: str, candidate: Candidate
) -> Comparison:
    """Both models on the labelled rows of dataset `name` that neither was trained on."""
    from .evaluate import _as_labels
    from .score import Scorer

    if current is None:  # nothing to compare with: the candidate's holdout value is shown
        return candidate.alone()
    where = f"dataset '{name}'"
    labelled = frame[label].notna().to_numpy()
    hashed = frame if label == candidate.target else frame.assign(**{candidate.target: frame[label]})
    inc_seen, why = _active_trained_on(ctx, model, current["version"], hashed, None)
    seen = candidate.rows.contains(hashed) | inc_seen
    keep = labelled & ~seen
    rows = frame[keep]
    y = rows[label].to_numpy()
    if candidate.task == "regression":
        numbers = pd.to_numeric(rows[label], errors="coerce")
        if numbers.isna().any():
            raise DataError(f"{where}: column '{label}' has non-numeric labels for a regression: fix or blank them")
        y = numbers.to_numpy(dtype="float64")
    elif len(y):
        y = _as_labels(y, [c.item() if hasattr(c, "item") else c for c in candidate.labels], label, where)
    trained = candidate.training
    features = [{"name": c, "dtype": str(trained[c].dtype), "kind": _kind(trained[c])} for c in candidate.features]
    meta = {"features": features, "task": candidate.task, "threshold": candidate.threshold}
    pred, proba, _ = Scorer(model, 0, meta, candidate.fitted, where).predict(rows) if len(rows) else _nothing()
    own = _side(candidate, None, y, pred, proba)
    version = current["version"]
    try:
        inc_meta = ctx.registry.version(model, version)
        fitted = load_model(ctx, model, version)
        scorer = Scorer(model, version, inc_meta, fitted, where)
        inc_pred, inc_proba, inc_labels = scorer.predict(rows) if len(rows) else _nothing(candidate.labels)
    except ModelcycleError as exc:
        return Comparison(own, problem=f"active version {version} cannot be measured on {where} ({exc})")
    problem = _other_classes(version, inc_labels, candidate)
    if problem:
        return Comparison(own, problem=problem)
    info = {"compared_on": name, "rows_compared": len(y), "rows_excluded": int((labelled & seen).sum())}
    if why:
        info["note"] = f"{why}: only the candidate's training rows are left out"
    return Comparison(own, _side(candidate, version, y, inc_pred, inc_proba), rows=len(y), info=info)


def trained_rows(
    registry: Registry, model: str, version: int, frame: pd.DataFrame, positions: np.ndarray | None = None
) -> tuple[np.ndarray, str | None]:
    """Which rows (at `positions`) the version was trained on, by its row fingerprint; or all
    False and why that is unknown ("version 2 was stored without a row fingerprint")."""
    rows = len(frame) if positions is None else len(positions)
    nothing = np.zeros(rows, dtype=bool)
    try:
        data = registry.read_attachment(model, version, ATTACHMENT)
    except ModelcycleError as exc:  # e.g. changed bytes: never a reason to trust the rows
        return nothing, f"version {version}'s row fingerprint cannot be read ({exc})"
    if data is None:
        return nothing, f"version {version} was stored without a row fingerprint"
    try:
        seen = RowSet.from_bytes(data)
    except ValueError as exc:
        return nothing, f"version {version}'s row fingerprint cannot be read ({exc})"
    if not seen.comparable:
        return nothing, f"version {version}'s row fingerprint was made with another row hashing"
    missing = [c for c in seen.columns if c not in frame.columns]
    if missing:
        return nothing, f"version {version} was trained on column '{missing[0]}', absent here"
    return seen.contains(frame, positions), None


def _active_trained_on(
    ctx: Context, model: str, version: int, frame: pd.DataFrame, positions: np.ndarray | None
) -> tuple[np.ndarray, str | None]:
    """trained_rows of the active version, its reason said of the active version."""
    seen, why = trained_rows(ctx.registry, model, version, frame, positions)
    return seen, None if why is None else f"active {why}"


def _side(candidate: Candidate, version: int | None, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> Side:
    primary, labels = candidate.metric_set.primary_metric, candidate.labels
    value = primary.compute(y, pred, proba, labels=labels) if len(y) else np.nan
    return Side(version, value, lambda w: primary.compute(y, pred, proba, labels=labels, sample_weight=w))


def _other_classes(version: int, inc_labels: list, candidate: Candidate) -> str | None:
    if candidate.task != "regression" and [str(c) for c in inc_labels] != [str(c) for c in candidate.labels]:
        return f"active version {version} knows classes {inc_labels}, the candidate {candidate.labels}"
    return None


def _nothing(labels: list | None = None) -> tuple[np.ndarray, None, list]:
    return np.empty(0), None, list(labels or [])


def _kind(column: pd.Series) -> str:
    from .profile import column_kind

    return column_kind(column)
