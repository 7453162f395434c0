"""The ``top_decile_lift`` metric for binary models.

Rank the rows by the positive-class probability, highest first, and take the top 10 %
of the (weighted) rows. The lift is the positive rate among them divided by the
positive rate among all rows: 1 is no better than chance, 10 is the most possible
when positives are at most 10 % of the rows.

Rows with tied scores are one group: when the 10 % cut falls inside a group, that
group's share is counted at its average positive rate, so the result never depends on
the order of the rows, and a row of weight 2 counts exactly like two identical rows
(the bootstraps of the activation policy rely on that).

`partial` and `finish` let evaluation stream: a chunk of rows becomes the counts of
negatives and positives at each distinct score (modelcycle's DistinctCounts sketch),
the counts of all chunks add up, and `finish` runs `compute` on the distinct scores
with the counts as weights. Memory stays bounded however many rows are evaluated.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from modelcycle.plugin import Metric


class TopDecileLift(Metric):
    """Positive rate among the 10 % highest-scored rows over the positive rate among all rows."""

    name = "top_decile_lift"
    tasks: ClassVar[tuple[str, ...]] = ("binary",)
    greater_is_better: ClassVar[bool] = True
    needs_proba: ClassVar[bool] = True
    #: the share of rows in the top group
    share: ClassVar[float] = 0.10

    def compute(
        self, y_true: Any, y_pred: Any, proba: Any | None, *, labels: list[Any], sample_weight: Any | None = None
    ) -> float:
        if proba is None:
            raise ValueError("top_decile_lift needs probabilities (proba is None)")
        y_true = np.asarray(y_true).reshape(-1)
        scores = np.asarray(proba, dtype=np.float64)
        scores = scores[:, 1] if scores.ndim == 2 else scores  # the column of labels[1], the positive class
        if scores.shape[0] != y_true.shape[0]:
            raise ValueError(f"proba has {scores.shape[0]} rows but y_true has {y_true.shape[0]}")
        n = y_true.shape[0]
        weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if weights.shape[0] != n:
            raise ValueError(f"sample_weight has {weights.shape[0]} values for {n} rows")
        positive = (y_true == labels[1]).astype(np.float64)
        total = float(weights.sum())
        if n == 0 or not total > 0:
            return float("nan")
        base_rate = float((weights * positive).sum()) / total
        if base_rate == 0.0:
            return float("nan")  # no positive row: lift is undefined
        # groups of tied scores, highest score first
        _, group = np.unique(-scores, return_inverse=True)
        group_weight = np.bincount(group, weights=weights)
        group_positive = np.bincount(group, weights=weights * positive)
        cap = self.share * total
        before = np.cumsum(group_weight) - group_weight  # weight ranked above each group
        taken = np.clip(cap - before, 0.0, group_weight)  # weight of each group inside the top share
        inside = np.divide(taken, group_weight, out=np.zeros_like(taken), where=group_weight > 0)
        top_rate = float((group_positive * inside).sum()) / cap
        return top_rate / base_rate

    def partial(self, y_true: Any, y_pred: Any, proba: Any | None, *, labels: list[Any]) -> Any:
        from modelcycle.plugin import DistinctCounts

        scores = np.asarray(proba, dtype=np.float64)
        scores = scores[:, 1] if scores.ndim == 2 else scores
        sketch = DistinctCounts(columns=2)  # column 0: negatives, 1: positives
        sketch.add(scores, (np.asarray(y_true).reshape(-1) == labels[1]).astype(np.intp))
        return sketch

    def finish(self, state: Any, *, labels: list[Any]) -> float:
        state.compact()
        n = state.values.shape[0]
        scores = np.concatenate([state.values, state.values])
        y_true = np.asarray([labels[0]] * n + [labels[1]] * n, dtype=object)
        weights = np.concatenate([state.counts[:, 0], state.counts[:, 1]]).astype(np.float64)
        return self.compute(y_true, None, scores, labels=labels, sample_weight=weights)
