"""Predictions and metrics as the recipes use them: which metrics a model reports, how a
binary model's threshold turns probabilities into labels, and how it is optimised."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._plugins import Registered
from .errors import SettingsError

DEFAULT_METRICS = {
    "binary": ["roc_auc", "log_loss", "accuracy", "f1", "pr_auc", "brier"],
    "multiclass": ["accuracy", "f1_macro", "f1_weighted", "log_loss", "roc_auc"],
    "regression": ["rmse", "mae", "r2", "median_ae"],
}
DEFAULT_PRIMARY = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}


class MetricSet:
    """The metrics one model reports: their names checked against the registered classes, the
    objects built by `make(name)`, which the caller makes from its context (the one plugin
    factory), so that this stays free of the project."""

    def __init__(
        self,
        classes: Mapping[str, Registered],
        task: str,
        names: list[str],
        primary: str | None,
        where: str,
        make: Callable[[str], Any],
    ) -> None:
        names = list(names) or DEFAULT_METRICS[task]
        primary = primary or (DEFAULT_PRIMARY[task] if DEFAULT_PRIMARY[task] in names else names[0])
        self.task = task
        self.metrics: dict[str, Any] = {}
        # each name is checked under the key it was written at: a primary metric outside
        # `metrics` is reported as primary_metric's
        for key, name in [(f"{where}.metrics", n) for n in names] + [(f"{where}.primary_metric", primary)]:
            if name not in classes:
                usable = sorted(n for n, r in classes.items() if task in r.cls.tasks)
                raise SettingsError(f"unknown metric '{name}'; metrics for {task} tasks: {', '.join(usable)}", key=key)
            if task not in classes[name].cls.tasks:
                raise SettingsError(f"metric '{name}' does not apply to {task} tasks", key=key)
            if name not in self.metrics:
                self.metrics[name] = make(name)
        self.primary = primary

    @property
    def primary_metric(self) -> Any:
        return self.metrics[self.primary]

    def compute(
        self, y_true: Any, pred: Any, proba: Any | None, labels: list[Any], weights: Any | None = None
    ) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for name, metric in self.metrics.items():
            value = metric.compute(y_true, pred, proba, labels=labels, sample_weight=weights)
            out[name] = float(value) if value is not None and np.isfinite(value) else None
        return out


def predict(fitted: Any, X: Any, task: str, threshold: float | None) -> tuple[np.ndarray, np.ndarray | None, list]:
    """Labels (or values), probabilities (or None) and the class order of a fitted model."""
    if task == "regression":
        return np.asarray(fitted.predict(X)), None, []
    proba = np.asarray(fitted.predict_proba(X), dtype="float64")
    labels = list(fitted.classes_)
    if task == "binary":
        cut = 0.5 if threshold is None else threshold
        pred = np.where(proba[:, 1] >= cut, labels[1], labels[0])
    else:
        pred = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
        pred = pred.astype(np.asarray(labels).dtype)
    return pred, proba, labels


def optimize_threshold(metric: Any, y_true: Any, proba: np.ndarray, labels: list) -> float:
    """The cut on the positive-class probability that optimises `metric` on the holdout."""
    scores = proba[:, 1]
    candidates = np.unique(np.quantile(scores, np.linspace(0.0, 1.0, 201)))
    best, best_value = 0.5, None
    sign = 1.0 if metric.greater_is_better else -1.0
    for cut in candidates:
        pred = np.where(scores >= cut, labels[1], labels[0])
        value = metric.compute(y_true, pred, proba, labels=labels)
        if np.isfinite(value) and (best_value is None or sign * value > sign * best_value):
            best, best_value = float(cut), value
    return best


def threshold_plan(
    setting: float | str | None,
    metrics: Mapping[str, Registered],
    task: str,
    where: str,
    make: Callable[[str], Any],
) -> tuple[str, Any]:
    """Check a threshold setting before any fitting: ("none"|"default"|"fixed"|"optimize", value);
    the metric optimised is built by `make(name)`."""
    if task != "binary":
        if setting is not None:
            raise SettingsError(f"only binary models take a threshold (this one is {task})", key=f"{where}.threshold")
        return "none", None
    if setting is None:
        return "default", 0.5
    if isinstance(setting, int | float):
        if not 0.0 <= float(setting) <= 1.0:
            raise SettingsError(f"{setting} is not a probability between 0 and 1", key=f"{where}.threshold")
        return "fixed", float(setting)
    if isinstance(setting, str) and setting.startswith("optimize:"):
        name = setting.split(":", 1)[1]
        if name not in metrics or "binary" not in metrics[name].cls.tasks or metrics[name].cls.needs_proba:
            usable = sorted(n for n, r in metrics.items() if "binary" in r.cls.tasks and not r.cls.needs_proba)
            raise SettingsError(
                f"cannot optimise '{name}'; label metrics: {', '.join(usable)}", key=f"{where}.threshold"
            )
        return "optimize", make(name)
    raise SettingsError(
        f"give a probability (0.4) or optimize:METRIC (optimize:f1), not {setting!r}", key=f"{where}.threshold"
    )


def apply_threshold_plan(plan: tuple[str, Any], y_true: Any, proba: np.ndarray | None, labels: list) -> float | None:
    kind, value = plan
    if kind == "optimize":
        assert proba is not None
        return optimize_threshold(value, y_true, proba, labels)
    return value
