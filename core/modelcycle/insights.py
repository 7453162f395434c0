"""What the dashboard shows of a version, computed once on the holdout at training time
so that nothing is ever recomputed from raw data: curves, confusion matrices,
calibration, residuals and feature importances."""

from __future__ import annotations

from typing import Any

import numpy as np

CURVE_POINTS = 101
SCATTER_POINTS = 300
PERMUTATION_ROWS = 1000


def _downsample(*arrays: np.ndarray, points: int = CURVE_POINTS) -> list[list[float]]:
    n = len(arrays[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(int)) if n else np.array([], dtype=int)
    return [[round(float(a[i]), 6) for i in keep] for a in arrays]


def binary_insights(y_true: np.ndarray, proba: np.ndarray, labels: list, threshold: float) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

    positive = np.asarray(y_true) == labels[1]
    scores = proba[:, 1]
    out: dict[str, Any] = {"kind": "binary", "labels": [str(x) for x in labels], "threshold": threshold}
    if positive.all() or not positive.any():
        out["roc"] = out["pr"] = None
    else:
        fpr, tpr, _ = roc_curve(positive, scores)
        out["roc"] = dict(zip(("fpr", "tpr"), _downsample(fpr, tpr), strict=True))
        precision, recall, _ = precision_recall_curve(positive, scores)
        out["pr"] = dict(zip(("recall", "precision"), _downsample(recall[::-1], precision[::-1]), strict=True))
    pred = scores >= threshold
    out["confusion"] = confusion_matrix(positive, pred, labels=[False, True]).tolist()
    bins = np.clip((scores * 10).astype(int), 0, 9)
    out["calibration"] = [
        {
            "bin": b,
            "mean_predicted": float(scores[bins == b].mean()),
            "fraction_positive": float(positive[bins == b].mean()),
            "count": int((bins == b).sum()),
        }
        for b in range(10)
        if (bins == b).any()
    ]
    return out


def multiclass_insights(y_true: np.ndarray, pred: np.ndarray, labels: list) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    return {
        "kind": "multiclass",
        "labels": [str(x) for x in labels],
        "confusion": confusion_matrix(y_true, pred, labels=labels).tolist(),
    }


def regression_insights(y_true: np.ndarray, pred: np.ndarray, seed: int) -> dict[str, Any]:
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(pred, dtype="float64")
    residual = y - p
    order = np.argsort(p)
    groups = np.array_split(order, min(20, len(order))) if len(order) else []
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(y), size=min(SCATTER_POINTS, len(y)), replace=False) if len(y) else np.array([], dtype=int)
    return {
        "kind": "regression",
        "residual_quantiles": dict(
            zip(
                ("p05", "p25", "p50", "p75", "p95"),
                np.percentile(residual, [5, 25, 50, 75, 95]).round(6).tolist(),
                strict=True,
            )
        ),
        "residual_mean": float(residual.mean()),
        "residual_std": float(residual.std()),
        "residual_by_prediction": [
            {
                "predicted": float(p[g].mean()),
                "residual_mean": float(residual[g].mean()),
                "residual_std": float(residual[g].std()),
            }
            for g in groups
            if len(g)
        ],
        "predicted_vs_actual": {"predicted": p[sample].round(6).tolist(), "actual": y[sample].round(6).tolist()},
    }


def permutation_importances(
    fitted: Any, X: Any, y: Any, *, task: str, metric: Any, labels: list, threshold: float | None, seed: int
) -> dict[str, float]:
    """Importance per input column: how much `metric` worsens when that column is shuffled.

    All shuffled copies of (a sample of) the holdout go through one predict call, so
    the model's per-call overhead is paid once, not once per column.
    """
    import pandas as pd

    from .measures import predict

    sample = X.sample(n=min(len(X), PERMUTATION_ROWS), random_state=seed)
    y_true = y.loc[sample.index].to_numpy()
    rng = np.random.default_rng(seed)
    copies = [sample]
    for column in sample.columns:
        shuffled = sample.copy()
        shuffled[column] = sample[column].to_numpy()[rng.permutation(len(sample))]
        copies.append(shuffled)
    pred, proba, _ = predict(fitted, pd.concat(copies, ignore_index=True), task, threshold)
    n = len(sample)

    def score(i: int) -> float:
        part = slice(i * n, (i + 1) * n)
        return metric.compute(y_true, pred[part], None if proba is None else proba[part], labels=labels)

    base = score(0)
    sign = 1.0 if metric.greater_is_better else -1.0
    drops = {str(c): sign * (base - score(i + 1)) for i, c in enumerate(sample.columns)}
    return normalise({k: (v if np.isfinite(v) else 0.0) for k, v in drops.items()})


def normalise(importances: dict[str, float]) -> dict[str, float]:
    clipped = {k: max(float(v), 0.0) for k, v in importances.items()}
    total = sum(clipped.values())
    ranked = sorted(clipped.items(), key=lambda kv: -kv[1])
    return {k: (v / total if total > 0 else 0.0) for k, v in ranked}
