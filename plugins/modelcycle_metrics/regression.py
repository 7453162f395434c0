"""Regression metrics, equal to scikit-learn's (with ``sample_weight=``) to 1e-9.

* ``mape`` is scikit-learn's ``mean_absolute_percentage_error``: each row's error is
  ``|y_pred - y_true| / max(|y_true|, eps)`` with eps the float64 machine epsilon
  (2.2e-16). Rows with ``y_true == 0`` are not skipped: a non-zero error on such a row
  makes the result enormous (about 4.5e15 × the error), which flags the problem
  rather than hiding it; a zero error on such a row counts as 0.
* ``median_ae`` with weights is scikit-learn's weighted median (``_weighted_percentile``
  with ``average=True``): the midpoint of the two middle values when the cumulative
  weight lands exactly on half the total.
* ``r2`` is NaN when it is undefined: fewer than two rows, or y_true constant (zero
  weighted variance). scikit-learn's default (``force_finite=True``) would report 1.0
  or 0.0 for a constant y_true instead.
* Any metric on no rows, or on weights summing to zero, is NaN.

Every metric also streams (``partial``, then ``finish`` on the merged states): the
means through exact sums, ``r2`` through exact sums of y, y² and the squared errors,
``median_ae`` through the counts of each distinct absolute error (exact up to a
million distinct errors; see :class:`modelcycle.states.DistinctCounts`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from modelcycle.plugin import DistinctCounts, MeanState, Metric

from ._arrays import NAN, as_1d, weighted_mean, weights_for
from ._partials import R2State


def _inputs(y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    t = as_1d(y_true).astype(np.float64, copy=False)
    p = as_1d(y_pred).astype(np.float64, copy=False)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.shape[0]} rows but y_pred has {p.shape[0]}")
    return t, p, weights_for(sample_weight, t.shape[0])


class _Regression(Metric):
    tasks: ClassVar[tuple[str, ...]] = ("regression",)
    greater_is_better: ClassVar[bool] = False


class _MeanError(_Regression):
    """The mean of a per-row error: it streams through exact sums."""

    def errors(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute(self, y_true, y_pred, proba, *, labels=(), sample_weight=None) -> float:
        t, p, w = _inputs(y_true, y_pred, sample_weight)
        return weighted_mean(self.errors(t, p), w)

    def partial(self, y_true, y_pred, proba, *, labels=()) -> MeanState:
        t, p, _ = _inputs(y_true, y_pred, None)
        return MeanState(self.errors(t, p))

    def finish(self, state: MeanState, *, labels=()) -> float:
        return state.mean()


class Rmse(_MeanError):
    """Root of the mean squared error."""

    name = "rmse"

    def errors(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return (t - p) ** 2

    def compute(self, y_true, y_pred, proba, *, labels=(), sample_weight=None) -> float:
        return float(np.sqrt(super().compute(y_true, y_pred, proba, labels=labels, sample_weight=sample_weight)))

    def finish(self, state: MeanState, *, labels=()) -> float:
        return float(np.sqrt(state.mean()))


class Mae(_MeanError):
    """Mean absolute error."""

    name = "mae"

    def errors(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.abs(p - t)


class Mape(_MeanError):
    """Mean absolute percentage error, as a fraction (0.1 = 10%); y_true = 0 divides by eps (see module)."""

    name = "mape"

    def errors(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.abs(p - t) / np.maximum(np.abs(t), np.finfo(np.float64).eps)


class MedianAe(_Regression):
    """Median absolute error (the weighted median when sample weights are given)."""

    name = "median_ae"

    def compute(self, y_true, y_pred, proba, *, labels=(), sample_weight=None) -> float:
        t, p, w = _inputs(y_true, y_pred, sample_weight)
        errors = np.abs(p - t)
        if errors.shape[0] == 0:
            return NAN
        if w is None:
            return float(np.median(errors))
        return _weighted_median(errors, w)

    def partial(self, y_true, y_pred, proba, *, labels=()) -> DistinctCounts:
        t, p, _ = _inputs(y_true, y_pred, None)
        sketch = DistinctCounts()
        sketch.add(np.abs(p - t))
        return sketch

    def finish(self, state: DistinctCounts, *, labels=()) -> float:
        state.compact()
        if state.values.shape[0] == 0:
            return NAN
        return _weighted_median(state.values, state.counts[:, 0].astype(np.float64))


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """sklearn.utils.stats._weighted_percentile(values, weights, 50, average=True), for one column."""
    if not np.any(weights != 0):
        return NAN
    order = np.argsort(values)
    cdf = np.cumsum(weights[order])
    target = 0.5 * cdf[-1]
    last = values.shape[0] - 1
    i = min(int(np.searchsorted(cdf, target)), last)
    below = values[order[i]]
    if cdf[i] - target > np.finfo(np.float64).eps:
        return float(below)
    j = min(i + 1, last)
    if weights[order[j]] == 0:  # the next row with weight: where the cumulative weight next grows
        j = int(np.searchsorted(cdf, cdf[i], side="right"))
        if j > last:
            j = i
    return float((below + values[order[j]]) / 2)


class R2(_Regression):
    """Coefficient of determination, 1 - SSE / (weighted) total sum of squares; NaN when y_true is constant."""

    name = "r2"
    greater_is_better = True

    def compute(self, y_true, y_pred, proba, *, labels=(), sample_weight=None) -> float:
        t, p, w = _inputs(y_true, y_pred, sample_weight)
        if t.shape[0] < 2:
            return NAN
        mean = weighted_mean(t, w)
        if np.isnan(mean):
            return NAN
        weight = 1.0 if w is None else w
        numerator = np.sum(weight * (t - p) ** 2)
        denominator = np.sum(weight * (t - mean) ** 2)
        if denominator == 0:
            return NAN
        return float(1.0 - numerator / denominator)

    def partial(self, y_true, y_pred, proba, *, labels=()) -> R2State:
        t, p, _ = _inputs(y_true, y_pred, None)
        return R2State(t, p)

    def finish(self, state: R2State, *, labels=()) -> float:
        return state.value()


REGRESSION_METRICS: list[type[Metric]] = [Rmse, Mae, Mape, MedianAe, R2]
