"""Small numpy helpers shared by the metrics: weights, weighted means, label codes.

The metrics are computed with numpy directly rather than through scikit-learn's
functions: the results are the same (the tests compare them to 1e-9), but a call
costs microseconds instead of milliseconds of input validation, which matters when
the activation policy recomputes the primary metric on a thousand bootstrap
resamples and the threshold search recomputes a label metric at 200 cuts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from modelcycle.plugin import DataError

NAN = float("nan")


def as_1d(values: Any) -> np.ndarray:
    """A 1-D numpy array (pandas Series, lists and column vectors accepted)."""
    array = np.asarray(values)
    return array.reshape(-1) if array.ndim != 1 else array


def weights_for(sample_weight: Any | None, n: int) -> np.ndarray | None:
    """Sample weights as float64, checked against the number of rows; None stays None."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if weights.shape[0] != n:
        raise ValueError(f"sample_weight has {weights.shape[0]} values for {n} rows")
    return weights


def weighted_mean(values: np.ndarray, weights: np.ndarray | None) -> float:
    """numpy's (and scikit-learn's) average; NaN with no rows or weights summing to zero."""
    if values.shape[0] == 0:
        return NAN
    if weights is None:
        return float(np.mean(values))
    total = np.sum(weights)
    if not total > 0:
        return NAN
    return float(np.sum(values * weights) / total)


def _is_range(labels: Any) -> bool:
    """True when labels are exactly the integers 0, 1, …, k-1 (no bools)."""
    for i, label in enumerate(labels):
        if isinstance(label, bool | np.bool_) or not isinstance(label, int | np.integer) or label != i:
            return False
    return True


def encode(values: Any, labels: Any) -> np.ndarray:
    """Each value's position in `labels` (the proba column order), or -1 when it is not a label."""
    values = as_1d(values)
    k = len(labels)
    if values.dtype.kind in "iu" and _is_range(labels):
        codes = values.astype(np.intp, copy=False)
        outside = (codes < 0) | (codes >= k)
        return np.where(outside, -1, codes) if outside.any() else codes
    if values.dtype.kind == "b" and k == 2 and _is_bools(labels):
        codes = values.astype(np.intp)
        return codes if labels[1] else 1 - codes
    if k <= 16:
        # one vectorised comparison per label beats hashing (object arrays of strings above all)
        codes = np.full(values.shape[0], -1, dtype=np.intp)
        for i in range(k - 1, -1, -1):  # the first of equal labels wins, as with an index lookup
            codes[values == labels[i]] = i
        return codes
    return np.asarray(pd.Index(list(labels)).get_indexer(values), dtype=np.intp)


def _is_bools(labels: Any) -> bool:
    return all(isinstance(label, bool | np.bool_) for label in labels) and bool(labels[0]) != bool(labels[1])


def known_codes(y_true: Any, labels: Any) -> np.ndarray:
    """Codes of y_true for probability metrics, which are undefined for a class the model does not know."""
    codes = encode(y_true, labels)
    if codes.shape[0] and codes.min() < 0:
        unknown = pd.unique(as_1d(y_true)[codes < 0]).tolist()
        shown = ", ".join(map(repr, unknown[:5])) + (", …" if len(unknown) > 5 else "")
        known = ", ".join(map(repr, np.asarray(labels).tolist()))
        raise DataError(
            f"the labels contain {len(unknown)} class(es) the model does not know: {shown} (its classes: {known})"
        )
    return codes


def probabilities(proba: Any, n: int, k: int) -> np.ndarray:
    """proba as float64 of shape (n, k); a 1-D array is the positive-class column of a binary model."""
    if proba is None:
        raise ValueError("this metric needs probabilities (proba is None)")
    array = np.asarray(proba, dtype=np.float64)
    if array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1 and k == 2):
        column = array.reshape(-1)
        array = np.column_stack([1.0 - column, column])
    if array.ndim != 2 or array.shape != (n, k):
        raise ValueError(f"proba has shape {array.shape}; expected ({n}, {k}): one column per label")
    if not np.isfinite(array).all():
        raise ValueError("proba contains NaN or infinite values")
    return array
