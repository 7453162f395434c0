"""The train recipe: read → check → split → fit → measure → profile → store → decide → activate.

Everything a user can get wrong (columns, target, task, settings) is checked before
the first fit, so a bad run fails fast and writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import comparison, data, model_versions, rowset
from .activation import decide
from .errors import DataError, NotFoundError, SettingsError
from .estimation import reference_estimation
from .insights import binary_insights, multiclass_insights, normalise, permutation_importances, regression_insights
from .measures import MetricSet, apply_threshold_plan, predict, threshold_plan
from .profile import build_profile, calibration_map, column_kind
from .progress import expect

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context
    from .settings import ModelSettings

Progress = Callable[[str], None]
LIBRARIES = ("modelcycle", "scikit-learn", "pandas", "numpy", "pyarrow", "scipy", "joblib", "skops")
MAX_CLASSES = 200


@dataclass
class TrainResult:
    """What `train` did: the new version, its metrics, and the activation decision."""

    model: str
    version: int
    activated: bool
    metrics: dict[str, float | None]
    decision: dict[str, Any]
    metadata: dict[str, Any] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict, repr=False)
    #: the metrics a table shows first: the primary one, then the checked ones
    leading_metrics: list[str] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        out = {
            "model": self.model,
            "version": self.version,
            "activated": self.activated,
            "metrics": self.metrics,
            "decision": self.decision,
            "threshold": self.metadata.get("threshold"),
        }
        if self.metadata.get("metrics_std"):
            out["metrics_std"] = self.metadata["metrics_std"]
        out["timings"] = self.timings
        return out


def infer_task(y: pd.Series, target: str, model: str) -> str:
    """binary, multiclass or regression from the target's dtype and cardinality.

    Two values: binary. Text: multiclass. Whole numbers 0 … k-1 (k <= 10): multiclass.
    Fractions, or more than 20 distinct values: regression. Other whole numbers
    (ratings 1-5, counts) are ambiguous: the user must say.
    """
    distinct = y.nunique(dropna=True)
    if pd.api.types.is_bool_dtype(y.dtype) or distinct == 2:
        return "binary"
    if not pd.api.types.is_numeric_dtype(y.dtype):
        return "multiclass"
    values = y.dropna().to_numpy(dtype="float64")
    integral = bool(np.all(np.mod(values, 1) == 0))
    if not integral or distinct > 20:
        return "regression"
    if distinct < 2:
        return "binary"  # the one-class check says what is wrong
    if distinct <= 10 and set(np.unique(values)) == set(range(distinct)):
        return "multiclass"  # 0 … k-1: label-encoded classes
    raise SettingsError(
        f"cannot infer the task of target '{target}' (whole numbers with {distinct} distinct "
        'values): set task = "multiclass" or task = "regression"',
        key=f"models.{model}.task",
    )


def select_features(frame: pd.DataFrame, ms: ModelSettings, model: str, label: str) -> list[str]:
    columns = list(frame.columns)
    if ms.target not in columns:
        raise DataError(
            f"{label} has no column '{ms.target}' (the target of model '{model}'); columns: {_some(columns)}"
        )
    if ms.features:
        missing = [c for c in ms.features if c not in columns]
        if missing:
            raise DataError(
                f"{label} has no column '{missing[0]}' (a feature of model '{model}'); columns: {_some(columns)}"
            )
        features = [c for c in ms.features if c not in ms.exclude and c != ms.target]
    else:
        features = [c for c in columns if c != ms.target and c not in ms.exclude]
    if not features:
        raise SettingsError("no feature columns left: check features and exclude", key=f"models.{model}")
    return features


def _some(columns: list[Any], limit: int = 12) -> str:
    shown = ", ".join(map(str, columns[:limit]))
    return shown + (f", … ({len(columns)} in all)" if len(columns) > limit else "")


def check_target(y: pd.Series, task: str, target: str, label: str) -> list[Any] | None:
    missing = int(y.isna().sum())
    if missing:
        raise DataError(f"target '{target}' has {missing} missing values in {label}: drop or fill those rows")
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y.dtype):
            raise DataError(f"target '{target}' in {label} is not numeric ({y.dtype}): a regression needs numbers")
        return None
    classes = sorted(y.unique().tolist(), key=str)
    if len(classes) < 2:
        raise DataError(f"target '{target}' in {label} has a single class ({classes[0]!r}): a classifier needs two")
    if task == "binary" and len(classes) > 2:
        raise SettingsError(f'target \'{target}\' has {len(classes)} classes but task = "binary": use "multiclass"')
    if len(classes) > MAX_CLASSES:
        raise DataError(f"target '{target}' in {label} has {len(classes)} classes: is it really a classification?")
    return classes


def _refuse_nested(frame: pd.DataFrame, columns: list[str], label: str) -> None:
    """Lists, arrays and records (Parquet list and struct columns) are no feature or target a model takes."""
    for column in columns:
        values = frame[column]
        if values.dtype != object and not isinstance(values.dtype, pd.ArrowDtype):
            continue
        first = values.dropna().head(1000)
        kind = next((type(v).__name__ for v in first if isinstance(v, list | tuple | dict | set | np.ndarray)), None)
        if kind is not None:
            raise DataError(
                f"column '{column}' in {label} holds nested values ({kind}, as Parquet list and struct columns do): "
                f'flatten it into plain columns, or leave it out with exclude = ["{column}"]'
            )


def _every_class_trains(y: pd.Series, splits: list[tuple[np.ndarray, np.ndarray]], target: str, label: str) -> None:
    """A class missing from the rows a model is fitted on would leave it unable to predict that class."""
    classes = set(y.unique().tolist())
    for index, (train_rows, _) in enumerate(splits):
        missing = classes - set(y.iloc[train_rows].unique().tolist())
        if missing:
            value = sorted(missing, key=str)[0]
            count = int((y == value).sum())
            where = f"fold {index + 1}" if len(splits) > 1 else "the split"
            raise DataError(
                f"target '{target}' in {label}: class {value!r} has {count} row(s), and {where} leaves none of "
                "them to train on: add rows of that class, or use a split that keeps it in training"
            )


def split_rows(
    frame: pd.DataFrame, y: pd.Series, ms: ModelSettings, task: str, model: str, label: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, holdout) row positions: one pair, or one per fold for kfold."""
    split = ms.split
    positions = np.arange(len(frame))
    classification = task != "regression"
    if split.method == "kfold":
        from sklearn.model_selection import KFold, StratifiedKFold

        if len(frame) < split.folds:
            raise DataError(f"{label} has {len(frame)} rows: too few for {split.folds} folds")
        if classification and y.value_counts().min() >= split.folds:
            folds = StratifiedKFold(n_splits=split.folds, shuffle=True, random_state=split.seed)
            return list(folds.split(positions, y))
        return list(KFold(n_splits=split.folds, shuffle=True, random_state=split.seed).split(positions))
    if len(frame) < 4:
        raise DataError(f"{label} has {len(frame)} rows: too few to split into training and holdout rows")
    if split.method == "time":
        if split.column not in frame.columns:
            raise DataError(f"{label} has no column '{split.column}' (models.{model}.split.column)")
        order = np.argsort(frame[split.column].to_numpy(), kind="stable")
        cut = len(order) - max(1, int(round(len(order) * split.test_size)))
        return [(np.sort(order[:cut]), np.sort(order[cut:]))]
    if split.method == "random":  # a seeded permutation: the same rows for the same seed, always
        shuffled = np.random.default_rng(split.seed).permutation(positions)
        cut = max(1, int(np.ceil(len(positions) * split.test_size)))  # as scikit-learn rounds
        return [(np.sort(shuffled[cut:]), np.sort(shuffled[:cut]))]
    if not classification:
        raise SettingsError(
            "'stratified' needs a classification target; use random", key=f"models.{model}.split.method"
        )
    if y.value_counts().min() < 2:
        raise DataError(f"target in {label}: a class has a single row, too few to stratify; use method = 'random'")
    from sklearn.model_selection import train_test_split  # here: the random split needs none of it

    try:
        train, test = train_test_split(
            positions, test_size=split.test_size, random_state=split.seed, shuffle=True, stratify=y.to_numpy()
        )
    except ValueError as exc:
        raise DataError(f"{label}: cannot split: {exc}") from None
    return [(np.sort(train), np.sort(test))]


def library_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def git_commit(folder: Any) -> str | None:
    """The commit of the project folder, when it is in a git work tree."""
    if shutil.which("git") is None:
        return None
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _threads(limit: int | None) -> contextlib.AbstractContextManager[Any]:
    if limit is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=limit)


def train(
    ctx: Context, model: str, *, activate: bool | None = None, full: bool = False, progress: Progress | None = None
) -> TrainResult:
    """Run the train recipe for `model` and apply its activation policy (or the override)."""
    step = progress or (lambda stage: None)
    settings = ctx.settings
    if model not in settings.models:
        known = ", ".join(sorted(settings.models)) or "none"
        raise NotFoundError(f"unknown model '{model}': models in {settings.file.name}: {known}")
    ms = settings.models[model]
    where = f"models.{model}"
    trainer_cls = ctx.plugin_class("trainers", ms.trainer, f"{where}.trainer")
    # the section, with the trainer's own keys, checked against the trainer's Options before any data is read
    trainer_options = ctx.host.validate("trainers", ms.trainer, ms, key=where, settings=settings)
    artifact_format = trainer_cls.format_of(trainer_options)
    if artifact_format not in trainer_cls.formats:
        raise settings.error(
            f"{where}.artifact_format",
            f"trainer '{ms.trainer}' cannot write '{artifact_format}'; it writes: {', '.join(trainer_cls.formats)}",
        )
    metric_classes = ctx.host.classes("metrics")
    timings: dict[str, float] = {}
    started = time.perf_counter()

    step("reading data")
    dataset = data.resolve(settings, ms.dataset)
    frame = data.read_frame(dataset)
    fingerprint = data.fingerprint(dataset)
    timings["read"] = time.perf_counter() - started
    clock = _Clock(timings)
    label = dataset.label
    try:
        features = select_features(frame, ms, model, label)
    except SettingsError as exc:
        raise settings.place(exc) from None
    y_all = frame[ms.target]
    try:
        task = ms.task or infer_task(y_all, ms.target, model)
    except SettingsError as exc:
        raise settings.place(exc) from None
    try:
        check_target(y_all, task, ms.target, label)
    except SettingsError as exc:  # the data contradicts the task the settings give
        raise settings.error(f"{where}.task", exc.problem) from None
    X_all = frame[features]
    _refuse_nested(frame, [*features, ms.target], label)
    empty = [c for c in features if X_all[c].isna().all()]
    if empty:
        raise DataError(
            f"feature '{empty[0]}' is empty (all values missing) in {label}: drop it with exclude = [\"{empty[0]}\"]"
        )
    try:
        make_metric = ctx.maker("metrics", f"{where}.metrics")
        metric_set = MetricSet(metric_classes, task, ms.metrics, ms.primary_metric, where, make_metric)
        plan = threshold_plan(ms.threshold, metric_classes, task, where, make_metric)
    except SettingsError as exc:
        raise settings.place(exc) from None
    try:
        splits = split_rows(frame, y_all, ms, task, model, label)
    except SettingsError as exc:
        raise settings.place(exc) from None
    if task != "regression":
        _every_class_trains(y_all, splits, ms.target, label)
    expect(step, 6 if len(splits) > 1 or full or ms.refit_full else 5, "stages")  # as many as step() calls
    trainer = ctx.create("trainers", ms.trainer, trainer_options, key=where, task=task)
    labelled = comparison.read_labelled(settings, ms, model, features) if ms.activation.policy == "if-better" else None
    clock.lap("split")

    with _threads(ms.threads), ctx.executor.training(), _keys_under(settings, where):
        step("fitting")
        holdout_positions, pred, proba, labels, fold_metrics, fitted = _validate(
            trainer, X_all, y_all, splits, task, metric_set, plan
        )
        threshold = apply_threshold_plan(plan, y_all.iloc[holdout_positions].to_numpy(), proba, labels)
        if task == "binary":
            pred = np.where(proba[:, 1] >= threshold, labels[1], labels[0])
        clock.lap("fit")

        step("measuring")
        X_hold = X_all.iloc[holdout_positions]
        y_hold = y_all.iloc[holdout_positions]
        y_true = y_hold.to_numpy()
        if len(splits) > 1:
            per_fold = []
            for test, (fold_pred, fold_proba) in fold_metrics:
                if task == "binary":
                    fold_pred = np.where(fold_proba[:, 1] >= threshold, labels[1], labels[0])
                per_fold.append(metric_set.compute(y_all.iloc[test].to_numpy(), fold_pred, fold_proba, labels))
            metrics = {k: _mean([m[k] for m in per_fold]) for k in metric_set.metrics}
            metrics_std = {k: _std([m[k] for m in per_fold]) for k in metric_set.metrics}
        else:
            metrics = metric_set.compute(y_true, pred, proba, labels)
            metrics_std = {}
        clock.lap("metrics")
        profile = build_profile(X_hold, y_hold, task=task, predictions=pred, proba=proba, labels=labels)
        if task == "binary":
            profile["calibration"] = calibration_map(y_true == labels[1], proba[:, 1])
        estimation_files = reference_estimation(
            task, X_hold, y_true, pred, proba, labels, profile, artifact_format, ms.split.seed, dump=trainer.dump
        )
        clock.lap("profile")
        insights = _insights(task, y_true, pred, proba, labels, threshold, ms.split.seed)
        importances = trainer.feature_importances(fitted, features)
        insights["feature_importances"] = (
            normalise(importances)
            if importances
            else permutation_importances(
                fitted,
                X_hold,
                y_hold,
                task=task,
                metric=metric_set.primary_metric,
                labels=labels,
                threshold=threshold,
                seed=ms.split.seed,
            )
        )
        clock.lap("insights")

        if len(splits) > 1 or full or ms.refit_full:
            step("refitting on all rows")
            fitted = trainer.fit(X_all, y_all)
            clock.lap("fit")

        step("deciding")
        current = ctx.registry.active(model)
        primary = metric_set.primary_metric
        refit = bool(full or ms.refit_full or len(splits) > 1)
        seen = _rows_fitted_on(frame, [*features, ms.target], splits, refit)
        value = np.nan if metrics[metric_set.primary] is None else metrics[metric_set.primary]
        candidate = comparison.Candidate(
            fitted, features, ms.target, task, threshold, labels, seen, metric_set, value, X_all
        )
        decision = _decision(
            ctx, model, ms, current, activate, labelled, frame, holdout_positions, y_true, pred, proba, candidate
        )
        clock.lap("decide")

    step("saving")
    artifact = trainer.dump(fitted, artifact_format)
    clock.lap("persist")
    split_info = ms.split.model_dump()
    split_info.update(train_rows=int(len(splits[0][0])), holdout_rows=int(len(holdout_positions)))
    metadata = {
        "trainer": ms.trainer,
        **trainer_cls.recorded_settings(trainer_options, task=task),
        **trainer.describe_fitted(fitted),
        "task": task,
        "target": ms.target,
        "labels": [_plain(c) for c in labels] if labels else None,
        "threshold": threshold,
        "threshold_method": ms.threshold if isinstance(ms.threshold, str) else plan[0],
        "features": [{"name": str(c), "dtype": str(X_all[c].dtype), "kind": column_kind(X_all[c])} for c in features],
        "dataset": {
            "name": dataset.name,
            "url": dataset.url,
            "fingerprint": fingerprint,
            "rows": int(len(frame)),
            "format": dataset.format,
        },
        "split": split_info,
        "seed": ms.split.seed,
        "refit_full": refit,
        "row_fingerprint": {**seen.metadata(), "covers": "all rows" if refit else "training rows"},
        "metrics": metrics,
        "metrics_std": metrics_std,
        "primary_metric": metric_set.primary,
        "greater_is_better": primary.greater_is_better,
        "parent_version": current["version"] if current else None,
        "settings_hash": "sha256:"
        + hashlib.sha256(json.dumps(trainer_options.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:32],
        "libraries": library_versions(),
        "git_commit": git_commit(settings.root),
        "durations": {k: round(v, 3) for k, v in timings.items()},  # up to persist: register comes after
        "decision": decision,
    }
    entry = model_versions.record_version(
        ctx,
        model,
        artifact,
        artifact_format=artifact_format,
        metadata=metadata,
        attachments={
            "profile.json": _json(profile),
            "insights.json": _json(insights),
            rowset.ATTACHMENT: seen.to_bytes(),
            **estimation_files,
        },
    )
    decision = {**decision, "candidate": {**decision["candidate"], "version": entry["version"]}}
    if decision["activate"]:
        model_versions.activate(ctx, model, entry["version"], reason=decision["reason"], decision=decision)
    clock.lap("register")
    timings["total"] = time.perf_counter() - started
    rounded = {k: round(v, 3) for k, v in timings.items()}
    return TrainResult(model, entry["version"], bool(decision["activate"]), metrics, decision, entry, rounded)


class _Clock:
    """Seconds per stage of the recipe, added up (the refit counts as fit)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        self.last = now


@contextlib.contextmanager
def _keys_under(settings: Any, where: str) -> Any:
    """A plugin's settings error names keys inside the model's section: name the whole key."""
    try:
        yield
    except SettingsError as exc:
        raise settings.place(exc, where) from None


def _validate(
    trainer: Any, X: pd.DataFrame, y: pd.Series, splits: list, task: str, metric_set: MetricSet, plan: tuple[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list, list, Any]:
    """Fit per split; return holdout positions with their predictions (out-of-fold for kfold).

    The splits go through joblib: one after the other here, or side by side under the
    executor's backend (Dask's, with `executor = "dask"`).
    """
    from joblib import Parallel, delayed

    positions, preds, probas, folds = [], [], [], []
    results = Parallel()(
        delayed(_fit_split)(trainer, X.iloc[train_pos], y.iloc[train_pos], X.iloc[test_pos], task)
        for train_pos, test_pos in splits
    )
    fitted, labels = results[-1][0], results[-1][3]  # the last split's model (kfold: refit_full refits)
    for (_, test_pos), (_, pred, proba, _) in zip(splits, results, strict=True):
        positions.append(test_pos)
        preds.append(pred)
        probas.append(proba)
        folds.append((test_pos, (pred, proba)))
    order = np.concatenate(positions)
    pred = np.concatenate(preds)
    proba = None if probas[0] is None else np.concatenate(probas)
    return order, pred, proba, labels, folds, fitted


def _fit_split(trainer: Any, X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, task: str) -> tuple:
    fitted = trainer.fit(X_train, y_train)
    return (fitted, *predict(fitted, X_test, task, None))


def _rows_fitted_on(frame: pd.DataFrame, columns: list[str], splits: list, refit: bool) -> rowset.RowSet:
    """The stored model's row fingerprint: every row when it was refit on all, else its training rows."""
    return rowset.RowSet.build(frame, columns, None if refit else splits[0][0])


def _decision(
    ctx: Context,
    model: str,
    ms: ModelSettings,
    current: dict | None,
    activate: bool | None,
    labelled: pd.DataFrame | None,
    frame: pd.DataFrame,
    holdout_positions: np.ndarray,
    y_true: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    candidate: comparison.Candidate,
) -> dict[str, Any]:
    """Measure the active version against the candidate on rows neither saw; apply the policy."""
    if ms.activation.policy != "if-better" or activate is not None:
        # Only if-better reads the comparison: the other policies and --activate/--no-activate
        # decide without it, so the active version is neither loaded nor scored.
        compared = candidate.alone(len(y_true))
    elif labelled is not None:
        on = ms.activation.on or ""
        compared = comparison.on_dataset(ctx, model, current, on, labelled, comparison.label_column(ms), candidate)
    else:
        compared = comparison.on_holdout(ctx, model, current, frame, holdout_positions, y_true, pred, proba, candidate)
    primary = candidate.metric_set.primary_metric
    return decide(
        ms.activation.policy,
        metric=candidate.metric_set.primary,
        greater_is_better=primary.greater_is_better,
        candidate=compared.candidate,
        incumbent=compared.incumbent,
        min_delta=ms.activation.min_delta,
        significance=ms.activation.significance,
        resamples=ms.activation.resamples,
        seed=ms.split.seed,
        rows=compared.rows,
        override=activate,
        incumbent_problem=compared.problem,
        min_rows=ms.activation.min_rows,
        compared=compared.info,
    )


def _insights(
    task: str,
    y_true: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    labels: list,
    threshold: float | None,
    seed: int,
) -> dict[str, Any]:
    if task == "binary":
        return binary_insights(y_true, proba, labels, threshold)
    if task == "multiclass":
        return multiclass_insights(y_true, pred, labels)
    return regression_insights(y_true, pred, seed)


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _std(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.std(kept)) if kept else None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _json(value: Any) -> bytes:
    return json.dumps(value, default=_plain, separators=(",", ":")).encode()
