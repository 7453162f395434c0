"""The evaluation recipe: labelled (or unlabelled) new data → true metrics, drift against
the version's reference profile, estimated performance, one record in the history.

The data is read once, in chunks; each chunk reduces to an `EvaluationState` and the
states merge. Two modes:

* re-score: the data has the model's features; the version (active, or chosen)
  predicts them;
* production: the data carries the predictions served in production
  (`prediction_column`, and `proba_<class>` columns when scored by modelcycle);
  with a `model_version` column, each version's rows are evaluated apart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import data
from .drift_settings import ColumnDrift, column_drift, smallest_detected
from .errors import DataError, NotFoundError
from .estimation import LossSums, auc_from_counts, bands, confusion_metrics, load_loss_model, matrix_metrics
from .evaluation_label import labelled, shown_name
from .history import record_evaluation
from .interfaces import Metric
from .measures import MetricSet
from .model_versions import active_version, format_refusal, load_model, refuse_deleted, version_trainer
from .progress import counting, expect, parquet_rows
from .states import CategoricalState, ExpectedConfusion, NumericState, ScoreHistogram, as_numbers, state_for

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

BATCH_ROWS = 65_536


class EvaluationState:
    """Everything one evaluation accumulates; `merge` adds another state of the same version.

    Metrics keep their own mergeable states (`Metric.partial`); metrics with one
    `state_key` share one state per chunk. Bounded for the built-in metrics.
    """

    def __init__(self, version: dict[str, Any], profile: dict[str, Any], metrics: dict[str, Any]) -> None:
        self.task = version["task"]
        self.labels = version.get("labels") or []
        self.columns = {name: state_for(p) for name, p in profile["columns"].items()}
        self.kinds = {name: p["kind"] for name, p in profile["columns"].items()}
        self.absent: set[str] = set()
        self.prediction = state_for(profile["prediction"])
        self.label = state_for(profile["label"])
        self.rows = 0
        self.labeled = 0
        self.metrics = metrics
        self.metric_states: dict[str, Any] = {}
        self.without_proba = False  # some labelled rows came without probabilities
        self.scores = ScoreHistogram() if self.task == "binary" else None
        self.expected = ExpectedConfusion(len(self.labels)) if self.task == "multiclass" else None
        self.calibration = profile.get("calibration")
        estimation = profile.get("estimation") or {}
        self.sampling = estimation.get("sampling")
        self.loss_columns = (estimation.get("loss_model") or {}).get("columns")
        self.losses = LossSums() if self.loss_columns is not None else None

    def add(self, batch: pd.DataFrame, pred: np.ndarray, proba: np.ndarray | None, y: pd.Series | None) -> None:
        self.rows += len(batch)
        for name, state in self.columns.items():
            if name not in batch.columns:
                self.absent.add(name)
                continue
            column = batch[name]
            state.add(as_numbers(column, self.kinds[name]) if isinstance(state, NumericState) else column)
        if self.task == "binary":
            if proba is not None:  # served labels alone say nothing about the score distribution
                self.prediction.add(proba[:, 1])
        elif isinstance(self.prediction, NumericState):
            self.prediction.add(np.asarray(pred, dtype="float64"))
        else:
            self.prediction.add(pd.Series(pred))
        self._estimate(pred, proba)
        if y is None:
            return
        known = y.notna().to_numpy()
        if not known.any():
            return
        self.labeled += int(known.sum())
        labels = y[known]
        if isinstance(self.label, NumericState):
            self.label.add(pd.to_numeric(labels, errors="coerce").to_numpy(dtype="float64"))
        else:
            self.label.add(labels)
        self._partial(labels.to_numpy(), np.asarray(pred)[known], None if proba is None else proba[known])

    def _partial(self, y_true: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> None:
        if self.task != "regression":
            dtype = np.asarray(self.labels).dtype
            y_true, pred = np.asarray(y_true, dtype=dtype), np.asarray(pred, dtype=dtype)
        self.without_proba |= proba is None
        done: dict[str, Any] = {}
        for metric in self.metrics.values():
            if metric.needs_proba and proba is None:
                continue
            key = state_key(metric)
            if key not in done:
                done[key] = metric.partial(y_true, pred, proba, labels=self.labels)
        self._merge_metric_states(done)

    def _merge_metric_states(self, states: dict[str, Any]) -> None:
        for key, state in states.items():
            mine = self.metric_states.get(key)
            self.metric_states[key] = state if mine is None else mine.merge(state)

    def metric_values(self) -> dict[str, float | None]:
        """Each metric from its merged state; None when undefined or without probabilities."""
        values: dict[str, float | None] = {}
        for name, metric in self.metrics.items():
            key = state_key(metric)
            if key not in self.metric_states or (metric.needs_proba and self.without_proba):
                values[name] = None
                continue
            value = metric.finish(self.metric_states[key], labels=self.labels)
            values[name] = float(value) if value is not None and np.isfinite(value) else None
        return values

    def _estimate(self, pred: np.ndarray, proba: np.ndarray | None) -> None:
        if proba is None:
            return
        if self.scores is not None:
            scores = proba[:, 1]
            calibrated = scores
            if self.calibration:
                calibrated = np.interp(scores, self.calibration["x"], self.calibration["y"])
            self.scores.add(scores, calibrated, _is_label(pred, self.labels[1]))
        elif self.expected is not None:
            index = {str(label): i for i, label in enumerate(self.labels)}
            codes = np.array([index.get(str(p), -1) for p in pred])
            self.expected.add(proba, codes)

    def estimate_losses(self, loss_model: Any, batch: pd.DataFrame, pred: np.ndarray) -> None:
        """Regression: add the loss model's predicted errors of these rows (no labels needed)."""
        if self.losses is not None and loss_model is not None:
            self.losses.add(loss_model, self.loss_columns, batch, pred)

    def merge(self, other: EvaluationState) -> EvaluationState:
        for name, state in self.columns.items():
            state.merge(other.columns[name])
        self.absent |= other.absent
        self.prediction.merge(other.prediction)
        self.label.merge(other.label)
        self.rows += other.rows
        self.labeled += other.labeled
        self.without_proba |= other.without_proba
        self._merge_metric_states(other.metric_states)
        if self.scores is not None and other.scores is not None:
            self.scores.merge(other.scores)
        if self.expected is not None and other.expected is not None:
            self.expected.merge(other.expected)
        if self.losses is not None and other.losses is not None:
            self.losses.merge(other.losses)
        return self


def _is_label(values: Any, label: Any) -> np.ndarray:
    """values == label, compared as text (1, 1.0 and "1" agree), once per distinct value."""
    codes, uniques = pd.factorize(np.asarray(values), use_na_sentinel=True)
    hits = np.asarray([str(u) == str(label) for u in uniques] + [False], dtype=bool)
    return hits[codes]


def state_key(metric: Any) -> str:
    """Which shared state a metric reads: its `state_key`, its name, or "rows" for the default."""
    if type(metric).partial is Metric.partial:
        return "rows"
    return metric.state_key or f"metric:{metric.name}"


# -- drift -------------------------------------------------------------------------------------


def drift_report(ctx: Context, model: str, state: EvaluationState, profile: dict[str, Any]) -> dict[str, Any]:
    """Per column, prediction and label drift against the profile, by effect size."""
    ms = ctx.settings.models.get(model)
    settings = ms.drift if ms is not None else None
    classes = ctx.host.classes("drift_tests")
    make = ctx.maker("drift_tests", f"models.{model}.drift")
    columns: dict[str, Any] = {}
    for name, column in state.columns.items():
        chosen = column_drift(settings, name)
        if chosen.excluded:
            columns[name] = {"method": None, "statistic": None, "p_value": None, "drifted": None, "excluded": True}
            continue
        if name in state.absent:
            columns[name] = {"method": None, "statistic": None, "p_value": None, "drifted": None, "absent": True}
            continue
        columns[name] = _compare(classes, make, settings, name, profile["columns"][name], column, chosen)
    judged = [c for c in columns.values() if c["drifted"] is not None]
    report = {
        "share": (sum(bool(c["drifted"]) for c in judged) / len(judged)) if judged else None,
        "drifted_columns": sorted(n for n, c in columns.items() if c["drifted"]),
        "columns": columns,
        "prediction": _compare(classes, make, settings, None, profile["prediction"], state.prediction),
        "label": _compare(classes, make, settings, None, profile["label"], state.label) if state.labeled else None,
    }
    return report


def _compare(
    classes: Any,
    make: Callable[[str], Any],
    settings: Any,
    name: str | None,
    reference: dict[str, Any],
    current: Any,
    chosen: ColumnDrift | None = None,
) -> dict[str, Any]:
    kind = reference["kind"]
    chosen = chosen or column_drift(settings, name)
    method = chosen.method
    if method not in classes:
        raise DataError(f"unknown drift test '{method}'; registered: {', '.join(sorted(classes))}")
    test_kind = "numeric" if kind == "datetime" else kind
    test = make(method)
    if test_kind not in test.kinds:
        raise DataError(f"drift test '{method}' does not apply to {test_kind} column {name!r}")
    ref_counts = np.asarray(
        reference["counts"] if test_kind == "numeric" else [*reference["top"].values(), reference["other"]],
        dtype="float64",
    )
    cur_counts = (current.counts if isinstance(current, NumericState) else current.aligned()).astype("float64")
    edges = reference.get("edges") if test_kind == "numeric" else None
    scale = reference.get("std") if test_kind == "numeric" else None
    missing = None
    if reference.get("count") and current.n:
        missing = ((reference.get("missing") or 0, reference["count"]), (current.missing, current.n))
    if callable(getattr(test, "judge", None)):
        result = _measured(test, test_kind, ref_counts, cur_counts, edges, scale, missing, reference, current, chosen)
    else:
        result = _named(classes, make, test, test_kind, ref_counts, cur_counts, edges, scale, settings, chosen)
    ref_missing = reference["missing"] / reference["count"] if reference.get("count") else None
    cur_missing = current.missing / current.n if current.n else None
    result["missing_rate"] = {"reference": ref_missing, "current": cur_missing}
    if isinstance(current, CategoricalState) and reference.get("other", 0) == 0:
        result["new_categories"] = current.new_categories()
    if isinstance(current, NumericState):
        result["current"] = current.summary()
    # the current rows per reference bin (the profile's edges, or its top values then all others):
    # what a reference-versus-current histogram is drawn from, a few hundred bytes of integers
    result["counts"] = cur_counts.astype("int64").tolist()
    return result


def _named(classes, make, test, test_kind, ref_counts, cur_counts, edges, scale, settings, chosen) -> dict[str, Any]:
    """A test chosen by name: its effect size decides, guarded by a p-value (the test's own,
    else KS for numeric columns and chi-square for categorical ones) below `significance`."""
    method = test.name
    configured = chosen.thresholds.get(method)
    threshold = float(test.default_threshold if configured is None else configured)
    result: dict[str, Any] = {"method": method, "threshold": threshold}
    if cur_counts.sum() == 0 or ref_counts.sum() == 0:
        result.update(statistic=None, p_value=None, drifted=None)
        return result
    statistic, p_value = test.compare(ref_counts, cur_counts, edges=edges, scale=scale)
    guard = "ks" if test_kind == "numeric" else "chi2"
    if p_value is None and guard in classes:
        _, p_value = make(guard).compare(ref_counts, cur_counts, edges=edges, scale=scale)
    finite = statistic is not None and np.isfinite(statistic)
    p_value = float(p_value) if p_value is not None and np.isfinite(p_value) else None
    # effect size decides; significance only guards against the noise of small samples
    significant = p_value is None or p_value < (settings.significance if settings is not None else 0.05)
    result.update(
        statistic=float(statistic) if finite else None,
        p_value=p_value,
        drifted=bool(statistic >= threshold and significant) if finite else None,
        sees=sensitivity(test, test_kind, threshold),
    )
    return result


def _measured(test, test_kind, ref_counts, cur_counts, edges, scale, missing, reference, current, chosen) -> dict:
    """A test with several measures (`judge`, as auto): each against its threshold and its
    noise bound; the column drifted if any one did. Every measure is reported."""
    notes = []
    outside = None
    if isinstance(current, NumericState):
        outside = current.outside if current.range is not None else None
        if outside is None:
            notes.append("the reference profile has no minimum and maximum: out_of_range not measured")
    judged = test.judge(
        test_kind,
        ref_counts,
        cur_counts,
        edges=edges,
        scale=scale,
        missing=missing,
        outside=outside,
        thresholds=chosen.thresholds,
        categories=[*reference["top"], "(other)"] if test_kind == "categorical" else None,
    )
    result: dict[str, Any] = {"method": test.name, **judged}
    if notes:
        result["notes"] = notes
    return result


def sensitivity(test: Any, kind: str, threshold: float) -> str:
    """What a named test flags at `threshold`, in plain words: the smallest normal mean shift
    (numeric) or move between two categories (categorical) that reaches it."""
    key = (type(test), kind, threshold)
    if key not in _SENSITIVITY:
        if len(_SENSITIVITY) >= 256:
            _SENSITIVITY.clear()
        _SENSITIVITY[key] = _sensitivity(test, kind, threshold)
    return _SENSITIVITY[key]


#: (test class, kind, threshold) → what `sensitivity` says: the probe costs about 10 ms, so once each
_SENSITIVITY: dict[tuple[type, str, float], str] = {}


def _sensitivity(test: Any, kind: str, threshold: float) -> str:
    name = test.name
    try:
        shift = smallest_detected(test, kind, threshold)
    except Exception:  # noqa: BLE001 - a plugin test that cannot be probed: say only its threshold
        return f"flags {name} >= {threshold:g}"
    if shift is None:
        return f"flags {name} >= {threshold:g} (no shift this probe tries reaches it)"
    if kind == "numeric":
        return f"flags {name} >= {threshold:g}: a normal mean shift >= {shift:.2g} sd"
    return f"flags {name} >= {threshold:g}: a move >= {shift * 100:.2g} pp between two of five equal categories"


# -- estimated performance -----------------------------------------------------------------------


def estimated_performance(state: EvaluationState) -> dict[str, float | None]:
    """CBPE: expected metrics from the (calibrated) probabilities, no labels needed; DLE for regressions."""
    if state.losses is not None:
        return state.losses.estimates()
    if state.scores is not None and state.scores.confusion.sum() > 0:
        (tn, fp), (fn, tp) = state.scores.confusion
        return {
            **confusion_metrics(tp, fp, fn, tn),
            "roc_auc": auc_from_counts(state.scores.positive, state.scores.negative),
        }
    if state.expected is not None and state.expected.matrix.sum() > 0:
        return matrix_metrics(state.expected.matrix)
    return {}


def estimated_bands(state: EvaluationState, estimated: dict[str, float | None]) -> dict[str, dict[str, float]]:
    """The sampling-error band of each estimate, for the rows it was estimated on (see estimation.py)."""
    if state.scores is not None:
        rows = float(state.scores.confusion.sum())
    elif state.expected is not None:
        rows = float(state.expected.matrix.sum())
    else:
        rows = float(state.losses.n) if state.losses is not None else 0.0
    return bands(estimated, state.sampling, int(round(rows)))


# -- the recipe ------------------------------------------------------------------------------------


def evaluate(
    ctx: Context,
    model: str,
    source: Any,
    *,
    version: int | None = None,
    progress: Callable[[str], None] | None = None,
    name: str | None = None,
    as_of: str | None = None,
) -> list[dict[str, Any]]:
    """Evaluate `model` on `source` (a dataset name, URL or DataFrame); one record per version,
    labelled with `name` and `as_of` (see evaluation_label.py).

    A dataset goes through the project's executor (this process, or a Dask cluster); a
    DataFrame, already in memory here, is evaluated here.
    """
    step = progress or (lambda stage: None)
    ctx.require_model(model)
    ms = ctx.settings.models.get(model)
    dataset = None
    if isinstance(source, pd.DataFrame):
        if source.empty:
            raise DataError("the data has no rows")
        label, columns = "dataframe", [str(c) for c in source.columns]
    else:
        dataset = data.resolve(ctx.settings, str(source))
        label, columns = dataset.label, data.columns(dataset)
    prediction_column = ms.prediction_column if ms is not None else "prediction"
    production = prediction_column in columns
    by_column = production and version is None and "model_version" in columns
    chosen = version if version is not None else (None if by_column else active_version(ctx, model))
    if chosen is None and not by_column:
        raise NotFoundError(f"model '{model}' has no active version: activate one or pass --version N")

    def context(v: int) -> dict[str, Any]:
        refuse_deleted(ctx, model, v)  # its profile is gone: say why, as score and compare do
        return _context(ctx, model, v)

    contexts = {} if chosen is None else {chosen: context(chosen)}
    fitted = {}
    if not production:
        assert chosen is not None
        features = [f["name"] for f in contexts[chosen]["meta"]["features"]]
        missing = [c for c in features if c not in columns]
        if missing:
            raise DataError(
                f"{label} has neither the prediction column '{prediction_column}' nor the feature '{missing[0]}' "
                f"needed to re-score it with version {chosen}"
            )
        from .score import Scorer

        meta = contexts[chosen]["meta"]
        fitted[chosen] = Scorer(model, chosen, meta, load_model(ctx, model, chosen), label)
    executor = None if dataset is None else ctx.executor
    shipped = executor is not None and executor.ships_tasks
    if by_column and shipped:
        # a worker cannot come back for a version's profile: find the versions first
        found = executor.reduce(dataset, DistinctVersions(label), _union, progress=step, batch_rows=BATCH_ROWS)
        contexts.update({v: context(v) for v in sorted(found or ())})
    task = EvaluationTask(
        label,
        production,
        prediction_column,
        None if by_column else chosen,
        contexts,
        fitted,
        loader=None if shipped else context,
    )
    started = time.perf_counter()
    step("evaluating")
    task_run = task
    if not shipped:  # a task shipped to workers cannot count here: the executor reports partitions
        expect(step, len(source) if dataset is None else parquet_rows(dataset))
        task_run = counting(task, step)

    def counted(message: str) -> None:
        step(f"evaluated {message}")

    if executor is None:
        states = task_run(iter(source.iloc[i : i + BATCH_ROWS] for i in range(0, len(source), BATCH_ROWS)))
    else:
        states = executor.reduce(dataset, task_run, merge_states, progress=counted, batch_rows=BATCH_ROWS)
    states = states or {}
    if sum(state.rows for state in states.values()) == 0:
        raise DataError(f"{label} has no rows")
    records = []
    for v, state in sorted(states.items()):
        version_context = {**task.contexts[v], "state": state}
        record = _record(ctx, model, v, version_context, dataset, production, time.perf_counter() - started)
        records.append(labelled(ctx, record, name, as_of, None if dataset is None else dataset.name))
    return [record_evaluation(ctx, model, record) for record in records]


def _context(ctx: Context, model: str, v: int) -> dict[str, Any]:
    """What evaluating version `v` needs: its metadata, reference profile, label column and metrics."""
    ms = ctx.settings.models.get(model)
    meta = ctx.registry.version(model, v)
    raw = ctx.registry.read_attachment(model, v, "profile.json")
    if raw is None:
        raise DataError(f"model '{model}' version {v} has no reference profile: retrain it to evaluate")
    metric_set = MetricSet(
        ctx.host.classes("metrics"),
        meta["task"],
        list(meta.get("metrics", {})),
        meta.get("primary_metric"),
        f"models.{model}",
        ctx.maker("metrics", f"models.{model}.metrics"),
    )
    profile = json.loads(raw)
    return {
        "meta": meta,
        "profile": profile,
        "loss_model": _loss_model(ctx, model, v, meta, profile),
        "label_column": (ms.label_column if ms is not None and ms.label_column else None) or meta["target"],
        "metrics": metric_set.metrics,
    }


def _loss_model(ctx: Context, model: str, v: int, meta: dict[str, Any], profile: dict[str, Any]) -> Any:
    """Version `v`'s loss model, read by the trainer that wrote it, in that trainer's format; None
    for versions without one (then no trainer is needed: its plugin may be gone)."""
    if not (profile.get("estimation") or {}).get("loss_model"):
        return None
    trainer = version_trainer(ctx, model, v, meta)
    return load_loss_model(
        ctx.registry,
        model,
        v,
        profile,
        trainer.artifact_format,
        load=trainer.load,
        refusal=lambda stored: format_refusal(ctx, model, trainer, stored),
    )


def merge_states(a: dict[int, EvaluationState] | None, b: dict[int, EvaluationState] | None) -> dict:
    """Two partitions' states, version by version."""
    out = dict(a or {})
    for v, state in (b or {}).items():
        out[v] = state if v not in out else out[v].merge(state)
    return out


class EvaluationTask:
    """One partition's evaluation: batches in, one EvaluationState per version out.

    Picklable (it carries the contexts it needs, and the scorers, which check and coerce
    the features as scoring does, of the fitted models it re-scores with), so a Dask worker runs
    it as the local executor does; `loader` (local only) fetches a version's context the
    first time its rows appear in a `model_version` column.
    """

    def __init__(
        self,
        label: str,
        production: bool,
        prediction_column: str,
        version: int | None,
        contexts: dict[int, dict[str, Any]],
        fitted: dict[int, Any],
        loader: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        self.label, self.production, self.prediction_column = label, production, prediction_column
        self.version, self.contexts, self.fitted, self.loader = version, contexts, fitted, loader

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "loader": None}

    def __call__(self, batches: Iterator[pd.DataFrame]) -> dict[int, EvaluationState]:
        states: dict[int, EvaluationState] = {}
        for batch in batches:
            if batch.empty:
                continue
            if self.version is None:
                versions = pd.to_numeric(batch["model_version"], errors="coerce")
                if versions.isna().any():
                    raise DataError(f"{self.label}: column 'model_version' has missing or non-numeric values")
                for v, part in batch.groupby(versions.astype(int), sort=True):
                    self._add(states, int(v), part)
            else:
                self._add(states, self.version, batch)
        return states

    def _context(self, v: int) -> dict[str, Any]:
        if v not in self.contexts:
            if self.loader is None:
                raise DataError(f"{self.label}: version {v} in column 'model_version' was not found before the run")
            self.contexts[v] = self.loader(v)
        return self.contexts[v]

    def _add(self, states: dict[int, EvaluationState], v: int, batch: pd.DataFrame) -> None:
        version_context = self._context(v)
        meta = version_context["meta"]
        if v not in states:
            states[v] = EvaluationState(meta, version_context["profile"], version_context["metrics"])
        task = meta["task"]
        labels = meta.get("labels") or []
        if self.production:
            pred = batch[self.prediction_column].to_numpy()
            proba_columns = [f"proba_{c}" for c in labels]
            proba = (
                batch[proba_columns].to_numpy(dtype="float64")
                if labels and all(c in batch.columns for c in proba_columns)
                else None
            )
            if task != "regression" and labels:
                pred = _as_labels(pred, labels, self.prediction_column, self.label)
        else:
            pred, proba, _ = self.fitted[v].predict(batch)
        label_column = version_context["label_column"]
        y = batch[label_column] if label_column in batch.columns else None
        if y is not None and task != "regression" and y.notna().any():
            mapped = _as_labels(y.to_numpy(), labels, label_column, self.label, keep_missing=True, version=v)
            y = pd.Series(mapped, index=y.index)
        elif y is not None and task == "regression":
            numbers = pd.to_numeric(y, errors="coerce")
            if (numbers.isna() & y.notna()).any():
                raise DataError(f"{self.label}: column '{label_column}' has non-numeric labels for a regression")
            y = numbers
        states[v].add(batch, pred, proba, y)
        states[v].estimate_losses(version_context.get("loss_model"), batch, pred)


class DistinctVersions:
    """The values of a `model_version` column, as a set: what a cluster evaluates first."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, batches: Iterator[pd.DataFrame]) -> set[int]:
        found: set[int] = set()
        for batch in batches:
            versions = pd.to_numeric(batch["model_version"], errors="coerce")
            if versions.isna().any():
                raise DataError(f"{self.label}: column 'model_version' has missing or non-numeric values")
            found.update(int(v) for v in versions.unique())
        return found


def _union(a: set[int] | None, b: set[int] | None) -> set[int]:
    return (a or set()) | (b or set())


def _as_labels(
    values: np.ndarray, labels: list, column: str, label: str, keep_missing: bool = False, version: int | None = None
) -> np.ndarray:
    """Values mapped onto the version's classes by their text, so 1, 1.0 and "1" agree.

    Only the distinct values are looked at: a million rows with two classes cost two lookups.
    """
    by_text = {str(c): c for c in labels}
    by_text.update({str(float(c)): c for c in labels if isinstance(c, int | float) and not isinstance(c, bool)})
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    texts = [str(u) for u in uniques]
    unknown = sorted(t for t in texts if t not in by_text)
    if unknown:
        what = "label" if keep_missing else "value"
        of = f"version {version}" if version is not None else "the model"
        raise DataError(
            f"{label}: {what} {unknown[0]!r} in column '{column}' is not a class of {of} "
            f"(classes: {', '.join(map(str, labels))})"
        )
    if (codes < 0).any() and not keep_missing:
        raise DataError(f"{label}: column '{column}' has missing values")
    mapped = np.asarray([by_text[t] for t in texts] + [None], dtype=object)
    return mapped[codes]  # code -1 (missing) takes the trailing None


def _record(
    ctx: Context,
    model: str,
    version: int,
    version_context: dict[str, Any],
    dataset: Any,
    production: bool,
    seconds: float,
) -> dict[str, Any]:
    state, profile = version_context["state"], version_context["profile"]
    metrics: dict[str, float | None] = state.metric_values() if state.labeled else {}
    estimated = estimated_performance(state)
    return {
        "model": model,
        "version": version,
        "active_version": (ctx.registry.active(model) or {}).get("version"),  # another: a challenger's
        "evaluated_at": ctx.clock().isoformat(),
        "rows": state.rows,
        "labeled_rows": state.labeled,
        "mode": "production" if production else "rescore",
        "dataset": None if dataset is None else {"name": dataset.name, "url": dataset.url},
        "metrics": metrics,
        "estimated": estimated,
        "estimated_bands": estimated_bands(state, estimated),
        "drift": drift_report(ctx, model, state, profile),
        "seconds": round(seconds, 3),
    }


# -- history ----------------------------------------------------------------------------------------


def history_frame(records: list[dict[str, Any]], metric: str | None = None) -> pd.DataFrame:
    """One row per evaluation: time, version (and whether it was a challenger's), rows, the dataset (or
    evaluation) name and as_of, every metric, drift share, estimates; with `metric`, that one alone."""
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "id": r["id"],
            "evaluated_at": pd.Timestamp(r["evaluated_at"]),
            "version": r["version"],
            # evaluated while another version was active (None: no version was active, or not recorded)
            "challenger": None if r.get("active_version") is None else r["version"] != r["active_version"],
            "rows": r["rows"],
            "labeled_rows": r["labeled_rows"],
        }
        row.update(dataset=shown_name(r), as_of=r.get("as_of"))  # what the data was, the period it covers
        row.update(r.get("metrics") or {})
        row["drift.share"] = (r.get("drift") or {}).get("share")
        row.update({f"estimated.{k}": v for k, v in (r.get("estimated") or {}).items()})
        rows.append(row)
    empty = ["id", "evaluated_at", "version", "challenger", "rows", "labeled_rows"]
    frame = pd.DataFrame(rows, columns=None if rows else empty)
    if metric is not None:
        always = ("id", "evaluated_at", "version", "challenger")
        if metric in always:
            raise NotFoundError(f"'{metric}' is always shown: give --metric a metric, such as roc_auc or drift.share")
        if metric not in frame.columns and rows:
            known = ", ".join(c for c in frame.columns if c not in always)
            raise NotFoundError(f"no metric '{metric}' in the history; recorded: {known}")
        frame = frame[["id", "evaluated_at", "version", "challenger", metric]] if rows else frame
    return frame
