"""Bounded, mergeable states of the built-in metrics: what a chunk of labelled rows
reduces to when evaluation streams a file, or a Dask worker reduces a partition.

* label metrics share `LabelPairs`, the counts of each (true, predicted) pair: exact,
  k² integers for k classes;
* ranking metrics (roc_auc, pr_auc) share `ClassScores`: per scored class, how many
  negatives and positives got each distinct score, exact up to a million distinct
  scores and truncated to fewer mantissa bits past that (see
  :class:`modelcycle.states.DistinctCounts`);
* means (log_loss, brier, rmse, mae, mape) keep exact sums (`MeanState`); r2 the exact
  sums of y, y² and squared errors; median_ae the distinct absolute errors.

A state's `merge` adds another; `finish` turns the merged state into the value through
the metric's own `compute` with the counts as sample weights, so a streamed metric and
a metric on all rows at once follow the same rules.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from modelcycle.plugin import DistinctCounts, ExactSum

from ._arrays import as_1d, encode, known_codes, probabilities


class LabelPairs:
    """Counts per (true label, predicted label); pairs with a value outside `labels` apart."""

    def __init__(self, y_true: Any, y_pred: Any, labels: list[Any]) -> None:
        k = len(labels)
        t, p = encode(y_true, labels), encode(y_pred, labels)
        if t.shape != p.shape:
            raise ValueError(f"y_true has {t.shape[0]} rows but y_pred has {p.shape[0]}")
        inside = (t >= 0) & (p >= 0)
        self.matrix = np.bincount(t[inside] * k + p[inside], minlength=k * k).reshape(k, k).astype("int64")
        self.others: Counter[tuple[Any, Any]] = Counter()
        if not inside.all():
            outside = ~inside
            self.others.update(zip(as_1d(y_true)[outside].tolist(), as_1d(y_pred)[outside].tolist(), strict=True))

    def merge(self, other: LabelPairs) -> LabelPairs:
        self.matrix += other.matrix
        self.others.update(other.others)
        return self

    def rows(self, labels: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One row per pair seen, its count as the weight."""
        t, p = np.nonzero(self.matrix)
        values = np.asarray(labels)
        y_true, y_pred, weights = values[t], values[p], self.matrix[t, p].astype("float64")
        if self.others:
            pairs = list(self.others.items())
            y_true = np.concatenate([y_true.astype(object), np.asarray([a for (a, _), _ in pairs], dtype=object)])
            y_pred = np.concatenate([y_pred.astype(object), np.asarray([b for (_, b), _ in pairs], dtype=object)])
            weights = np.concatenate([weights, np.asarray([c for _, c in pairs], dtype="float64")])
        return y_true, y_pred, weights


class ClassScores:
    """Per scored class (binary: the positive one; multiclass: each), the negatives and
    positives at each distinct probability, and each class's number of true rows."""

    def __init__(self, y_true: Any, proba: Any, labels: list[Any]) -> None:
        codes = known_codes(y_true, labels)
        k = len(labels)
        p = probabilities(proba, codes.shape[0], k)
        self.support = np.bincount(codes, minlength=k).astype("int64")
        self.sketches: dict[int, DistinctCounts] = {}
        for c in [1] if k == 2 else range(k):
            sketch = DistinctCounts(columns=2)
            sketch.add(p[:, c], (codes == c).astype("intp"))
            self.sketches[c] = sketch

    def merge(self, other: ClassScores) -> ClassScores:
        self.support += other.support
        for c, sketch in self.sketches.items():
            sketch.merge(other.sketches[c])
        return self

    def curve(self, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positive, score, weight) rows for class c against the rest, two per distinct score."""
        sketch = self.sketches[c].compact()
        n = sketch.values.shape[0]
        positive = np.repeat(np.array([False, True]), n)
        score = np.concatenate([sketch.values, sketch.values])
        weights = np.concatenate([sketch.counts[:, 0], sketch.counts[:, 1]]).astype("float64")
        return positive, score, weights


class R2State:
    """Exact sums of y, y² and the squared errors: the total sum of squares without cancellation."""

    def __init__(self, t: np.ndarray, p: np.ndarray) -> None:
        self.n = t.shape[0]
        self.y, self.y2, self.sse = ExactSum(), ExactSum(), ExactSum()
        self.y.add(t)
        self.y2.add(np.square(t))
        self.sse.add(np.square(t - p))

    def merge(self, other: R2State) -> R2State:
        self.n += other.n
        self.y.merge(other.y)
        self.y2.merge(other.y2)
        self.sse.merge(other.sse)
        return self

    def value(self) -> float:
        if self.n < 2:
            return float("nan")
        total = self.y2.fraction() - self.y.fraction() ** 2 / self.n
        if total == 0:
            return float("nan")
        return float(1 - self.sse.fraction() / total)
