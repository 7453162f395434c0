"""Reference profiles: compact statistics of a version's holdout data, stored with the version.

Drift is later measured against the profile, never against the training data, so
it costs nothing to keep and nothing to re-read. Per column:

* numeric: up to 99 percentile edges of the holdout and the row count in each of the
  bins they make (the outer bins are open), plus count, missing, mean, std, min, max;
* categorical: the 50 most frequent values with their counts, the count of all other
  values ("other") and of missing values.

New data reduces to the same counts over the same edges, which merge by addition:
that is what makes evaluation streamable and distributable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .states import as_numbers  # the conversion evaluation uses, so both measure datetimes alike

TOP_CATEGORIES = 50
PERCENTILES = np.arange(1, 100)


def column_kind(series: pd.Series) -> str:
    """numeric, categorical or datetime: how a column is profiled (booleans count as categorical)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    return "categorical"


def numeric_profile(values: Any, edges: list[float] | None = None) -> dict[str, Any]:
    """Profile numeric values; `edges` fixes the bins (for predicted probabilities, say)."""
    array = np.asarray(values, dtype="float64")
    missing = int(np.isnan(array).sum())
    present = array[~np.isnan(array)]
    if edges is None:
        edges = np.unique(np.percentile(present, PERCENTILES)).tolist() if present.size else []
    counts = np.bincount(np.searchsorted(np.asarray(edges), present, side="right"), minlength=len(edges) + 1)
    return {
        "kind": "numeric",
        "count": int(array.size),
        "missing": missing,
        "edges": [float(e) for e in edges],
        "counts": counts.astype(int).tolist(),
        "mean": float(present.mean()) if present.size else None,
        "std": float(present.std()) if present.size else None,
        "min": float(present.min()) if present.size else None,
        "max": float(present.max()) if present.size else None,
    }


def categorical_profile(values: Any) -> dict[str, Any]:
    series = pd.Series(values)
    missing = int(series.isna().sum())
    counts = series.dropna().astype(str).value_counts()
    top = counts.iloc[:TOP_CATEGORIES]
    return {
        "kind": "categorical",
        "count": int(series.size),
        "missing": missing,
        "top": {str(k): int(v) for k, v in top.items()},
        "other": int(counts.iloc[TOP_CATEGORIES:].sum()),
    }


def column_profile(series: pd.Series) -> dict[str, Any]:
    kind = column_kind(series)
    if kind == "numeric":
        return numeric_profile(series.to_numpy(dtype="float64", na_value=np.nan))
    if kind == "datetime":
        return {**numeric_profile(as_numbers(series, "datetime")), "kind": "datetime"}
    return categorical_profile(series)


PROBABILITY_EDGES = [round(x, 2) for x in np.linspace(0.05, 0.95, 19)]


def prediction_profile(task: str, predictions: Any, proba: Any | None, labels: list[Any] | None) -> dict[str, Any]:
    """Distribution of the model's output on the holdout: scores for binary, labels otherwise."""
    if task == "binary" and proba is not None:
        return {**numeric_profile(np.asarray(proba)[:, 1], edges=PROBABILITY_EDGES), "of": "proba_positive"}
    if task == "regression":
        return {**numeric_profile(predictions), "of": "prediction"}
    return {**categorical_profile(pd.Series(predictions)), "of": "prediction"}


def build_profile(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    task: str,
    predictions: Any,
    proba: Any | None,
    labels: list[Any] | None,
) -> dict[str, Any]:
    """The whole reference profile of a holdout."""
    return {
        "rows": int(len(X)),
        "columns": {str(name): column_profile(X[name]) for name in X.columns},
        "prediction": prediction_profile(task, predictions, proba, labels),
        "label": numeric_profile(y.to_numpy(dtype="float64")) if task == "regression" else categorical_profile(y),
    }


def calibration_map(positive: Any, scores: Any, points: int = 200) -> dict[str, list[float]]:
    """An isotonic map from the model's score to the observed positive rate on the holdout.

    Confidence-based performance estimation (CBPE) trusts calibrated probabilities;
    this map calibrates them with what the holdout showed, without storing the holdout.
    """
    distinct, codes = np.unique(np.asarray(scores, dtype="float64"), return_inverse=True)
    positives = np.bincount(codes, weights=np.asarray(positive, dtype="float64"), minlength=len(distinct))
    return weighted_calibration_map(distinct, positives, np.bincount(codes, minlength=len(distinct)), points)


def weighted_calibration_map(
    distinct: np.ndarray, positives: np.ndarray, weights: np.ndarray, points: int = 200
) -> dict[str, list[float]]:
    """The calibration map from (positive weight, total weight) per distinct score, in score order.

    The same fit as scikit-learn's IsotonicRegression (ties averaged, clipped to [0, 1],
    flat runs trimmed), computed on the distinct scores only: the estimate bands refit it
    on a hundred resamples of the holdout, each only a new weight vector.
    """
    from sklearn.isotonic import isotonic_regression

    used = weights > 0
    x, total = distinct[used], np.asarray(weights, dtype="float64")[used]
    y = isotonic_regression(positives[used] / total, sample_weight=total, y_min=0.0, y_max=1.0)
    if len(y) > 2:  # the inner points of a flat run add nothing to the interpolation
        keep = np.ones(len(y), dtype=bool)
        keep[1:-1] = (y[1:-1] != y[:-2]) | (y[1:-1] != y[2:])
        x, y = x[keep], y[keep]
    if len(x) > points:
        keep = np.unique(np.linspace(0, len(x) - 1, points).round().astype(int))
        x, y = x[keep], y[keep]
    return {"x": [float(v) for v in x], "y": [float(v) for v in y]}
