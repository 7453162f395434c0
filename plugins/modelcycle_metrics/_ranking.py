"""ROC AUC and average precision of one score column, in numpy, with scikit-learn's exact rules.

Both follow ``sklearn.metrics._ranking``: rows ranked by decreasing score, tied scores
grouped into one threshold, the (weighted) true and false positives of each group summed
and accumulated over the groups; the AUC is the trapezoidal area under (fpr, tpr), the
average precision the step sum ``Σ (R_i - R_{i-1}) P_i``. Dropping zero-weight rows and
collinear points, as scikit-learn does, changes no area, only rounding (well below 1e-12).

Sorting is the only O(n log n) step, and a paired bootstrap computes the same scores
under a thousand different weights. So each row's tie group (its rank among the
distinct scores) is kept in a small cache keyed by the column's content (compared
exactly, so a changed array is never mistaken for a cached one): each resample then
costs one weighted bincount over the rows and cumulative sums over the groups.
"""

from __future__ import annotations

import threading

import numpy as np

NAN = float("nan")

#: at most this many columns are kept (two models × a few classes), of at most _CACHE_ROWS rows
#: together: 16 bytes a row (the score and its group), so 16 MB at most
_CACHE_SIZE = 16
_CACHE_ROWS = 1_000_000
_cache: list[tuple[np.ndarray, np.ndarray, int]] = []  # (score copy, group of each row, number of groups)
_lock = threading.Lock()


def _groups(score: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's tie group, numbered by decreasing score (0 = the highest score), and the number of groups."""
    n = score.shape[0]
    for cached, group, count in tuple(_cache):  # a snapshot: other threads may insert meanwhile
        if cached.shape[0] == n and cached[0] == score[0] and cached[-1] == score[-1] and np.array_equal(cached, score):
            return group, count
    order = np.argsort(score)[::-1]  # any order within ties: a group is summed as a whole
    ordered = score[order]
    starts = np.empty(n, dtype=np.intp)
    starts[0] = 0
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:], casting="unsafe")
    group = np.empty(n, dtype=np.intp)
    group[order] = np.cumsum(starts)
    count = int(group[order[-1]]) + 1
    if n <= _CACHE_ROWS:
        with _lock:
            _cache.insert(0, (score.copy(), group, count))
            rows = np.cumsum([entry[0].shape[0] for entry in _cache])
            del _cache[min(_CACHE_SIZE, int(np.searchsorted(rows, _CACHE_ROWS, side="right"))) :]
    return group, count


def _counts(positive: np.ndarray, score: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (weighted) true and false positives at each distinct score, highest first.

    One bincount over (group, class) pairs sums each tie group; cumulative sums over the
    groups then give scikit-learn's counts at its thresholds (the last row of each group).
    """
    group, count = _groups(score)
    sums = np.bincount(2 * group + positive, weights=weights, minlength=2 * count).reshape(count, 2)
    sums = sums.astype(np.float64, copy=False)
    return np.cumsum(sums[:, 1]), np.cumsum(sums[:, 0])


def binary_roc_auc(positive: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Area under the ROC curve of `score` for the rows where `positive` is True; NaN with one class only."""
    if score.shape[0] == 0:
        return NAN
    tps, fps = _counts(positive, score, weights)
    n_pos, n_neg = tps[-1], fps[-1]
    if not (n_pos > 0 and n_neg > 0):
        return NAN
    widths = fps.copy()
    widths[1:] -= fps[:-1]  # the curve starts at (0, 0)
    heights = tps.copy()
    heights[1:] += tps[:-1]
    return float(np.sum(widths * heights) / 2.0 / (n_pos * n_neg))


def binary_average_precision(positive: np.ndarray, score: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Average precision (area under the precision-recall steps); NaN without positive rows."""
    if score.shape[0] == 0:
        return NAN
    tps, fps = _counts(positive, score, weights)
    n_pos = tps[-1]
    if not n_pos > 0:
        return NAN
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    recall = tps / n_pos
    steps = recall.copy()
    steps[1:] -= recall[:-1]  # R_i - R_(i-1), with R_(-1) = 0
    return float(max(0.0, np.sum(steps * precision)))


def clear_cache() -> None:
    """Forget the cached sorts (tests; memory)."""
    with _lock:
        _cache.clear()
