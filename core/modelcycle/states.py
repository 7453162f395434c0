"""Mergeable partial states: what one chunk of data reduces to, and how chunks add up.

Every state merges by addition (counts, sums) or concatenation (labelled rows), so
the result of an evaluation does not depend on how the data was chunked, or on
which Dask worker saw which partition.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

MAX_NEW_CATEGORIES = 1000
SCORE_BINS = 10_000
#: a DistinctCounts sketch keeps at most this many distinct values (16 bytes each per column)
MAX_DISTINCT = 1 << 20


class ExactSum:
    """The exact sum of float64 values, mergeable: the same result however they are chunked.

    Each value is mantissa * 2**exponent with an integer mantissa; mantissas are summed
    per exponent as Python integers (split in halves so numpy never overflows).
    """

    def __init__(self) -> None:
        self.parts: dict[int, int] = {}

    def add(self, values: np.ndarray) -> None:
        for start in range(0, values.size, 1 << 24):
            self._add(values[start : start + (1 << 24)])

    def _add(self, values: np.ndarray) -> None:
        if not values.size:
            return
        mantissa, exponent = np.frexp(values)
        # the upper and lower 27-bit halves of each 53-bit integer mantissa, as exact floats;
        # summed per exponent (float64 exponents lie in [-1073, 1024]: a bincount, no sort),
        # fewer than 2**26 halves below 2**27 each add up to exact integers
        high = np.floor(mantissa * float(1 << 27))
        low = mantissa * float(1 << 53) - high * float(1 << 26)
        index = exponent + 1074
        upper = np.bincount(index, weights=high)
        lower = np.bincount(index, weights=low)
        for i in np.flatnonzero((upper != 0) | (lower != 0)).tolist():
            e = i - 1074 - 53
            self.parts[e] = self.parts.get(e, 0) + (int(upper[i]) << 26) + int(lower[i])

    def merge(self, other: ExactSum) -> ExactSum:
        for e, v in other.parts.items():
            self.parts[e] = self.parts.get(e, 0) + v
        return self

    def fraction(self) -> Fraction:
        """The sum as an exact fraction (differences of sums stay exact: r2's total sum of squares)."""
        if not self.parts:
            return Fraction(0)
        low = min(self.parts)
        total = sum(v << (e - low) for e, v in self.parts.items())
        return Fraction(total, 1 << -low) if low < 0 else Fraction(total << low)

    def value(self) -> float:
        total = self.fraction()
        try:
            return float(total)
        except OverflowError:  # beyond float64, as numpy's sum would say
            return math.inf if total > 0 else -math.inf


class MeanState:
    """The exact sum and count of per-row values (losses, errors): a mean that merges exactly."""

    def __init__(self, values: np.ndarray | None = None) -> None:
        self.n = 0
        self.total = ExactSum()
        if values is not None:
            self.add(values)

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype="float64")
        self.n += values.shape[0]
        self.total.add(values)

    def merge(self, other: MeanState) -> MeanState:
        self.n += other.n
        self.total.merge(other.total)
        return self

    def mean(self) -> float:
        return self.total.value() / self.n if self.n else float("nan")


class DistinctCounts:
    """How often each distinct float64 value occurred, in `columns` count columns (a score's
    negatives and positives, say): the exact sketch behind ranking metrics and medians.

    Exact while the values seen have at most MAX_DISTINCT distinct values. Past that, every
    value is truncated to fewer mantissa bits (40, 32, 24, 16, 12, 8, …; a relative error
    below 2**-bits) until they fit. Truncation depends on the value and the level only, and
    the level on the set of values only, so the result never depends on how the rows were
    chunked or merged. Raw rows wait in a buffer and are folded in MAX_DISTINCT at a time,
    so a chunk costs an append, not a sort.
    """

    LEVELS = (52, 40, 32, 24, 16, 12, 8, 4, 0)

    def __init__(self, columns: int = 1) -> None:
        self.columns = columns
        self.values = np.empty(0, dtype="float64")
        self.counts = np.empty((0, columns), dtype="int64")
        self.bits = 52
        self._pending: list[tuple[np.ndarray, np.ndarray | None]] = []
        self._pending_rows = 0

    def add(self, values: np.ndarray, column: np.ndarray | None = None) -> None:
        """Count `values` (finite floats), each in count column `column[i]` (0 when None)."""
        values = np.asarray(values, dtype="float64")
        if not values.shape[0]:
            return
        self._pending.append((values.copy(), None if column is None else np.asarray(column, dtype="intp")))
        self._pending_rows += values.shape[0]
        if self._pending_rows >= MAX_DISTINCT:
            self.compact()

    def merge(self, other: DistinctCounts) -> DistinctCounts:
        other.compact()
        self.compact()
        self._fold(other.values, other.counts, min(self.bits, other.bits))  # the coarser level of the two
        return self

    def compact(self) -> DistinctCounts:
        """Fold the buffered rows into (values, counts)."""
        if not self._pending:
            return self
        values = np.concatenate([v for v, _ in self._pending])
        columns = np.concatenate([np.zeros(v.shape[0], dtype="intp") if c is None else c for v, c in self._pending])
        self._pending, self._pending_rows = [], 0
        unique, inverse = np.unique(_truncate(values, self.bits), return_inverse=True)
        cells = np.bincount(inverse * self.columns + columns, minlength=unique.shape[0] * self.columns)
        self._fold(unique, cells.reshape(-1, self.columns).astype("int64"), self.bits)
        return self

    def _fold(self, values: np.ndarray, counts: np.ndarray, bits: int) -> None:
        self.bits = bits
        all_values = _truncate(np.concatenate([self.values, values]), bits)
        all_counts = np.concatenate([self.counts, counts])
        while True:
            unique, inverse = np.unique(all_values, return_inverse=True)
            if unique.shape[0] <= MAX_DISTINCT or self.bits == 0:
                break
            self.bits = next(b for b in self.LEVELS if b < self.bits)
            all_values = _truncate(all_values, self.bits)
        # float64 bincounts of integer counts stay exact below 2**53 rows
        size = unique.shape[0]
        summed = [np.bincount(inverse, weights=all_counts[:, c], minlength=size) for c in range(self.columns)]
        self.values, self.counts = unique, np.stack(summed, axis=1).astype("int64")

    def __getstate__(self) -> dict[str, Any]:
        self.compact()  # a pickled state (a Dask result) carries no buffer
        return self.__dict__.copy()


def _truncate(values: np.ndarray, bits: int) -> np.ndarray:
    """Values with all but the top `bits` of the 52 mantissa bits cleared (toward zero)."""
    if bits >= 52:
        return values
    mask = np.int64(-1) << np.int64(52 - bits)
    return (values.view("int64") & mask).view("float64")


class RowState:
    """A metric's rows kept as they are: the default state of a metric without a sketch.

    Exact, mergeable by concatenation, but its memory grows with the labelled rows.
    """

    def __init__(self, y_true: Any, y_pred: Any, proba: Any | None) -> None:
        self.y_true = [np.asarray(y_true)]
        self.y_pred = [np.asarray(y_pred)]
        self.proba = None if proba is None else [np.asarray(proba, dtype="float32")]

    def merge(self, other: RowState) -> RowState:
        self.y_true += other.y_true
        self.y_pred += other.y_pred
        if self.proba is not None and other.proba is not None:
            self.proba += other.proba
        else:
            self.proba = None
        return self

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        proba = None if self.proba is None else np.concatenate(self.proba).astype("float64")
        return np.concatenate(self.y_true), np.concatenate(self.y_pred), proba


class NumericState:
    """Counts over a reference profile's bins, plus missing count, moments, and how many
    values fell outside the reference's [minimum, maximum] (`outside`: unit errors, new
    ranges; counted only when the reference range is given)."""

    kind = "numeric"

    def __init__(self, edges: list[float], reference_range: tuple[float, float] | None = None) -> None:
        self.edges = np.asarray(edges, dtype="float64")
        self.counts = np.zeros(len(self.edges) + 1, dtype="int64")
        self.range = reference_range
        self.outside = 0
        self.missing = 0
        self.n = 0
        self.total = ExactSum()
        self.squares = ExactSum()
        self.low = np.inf
        self.high = -np.inf

    def add(self, values: Any) -> None:
        array = np.asarray(values, dtype="float64")
        present = array[~np.isnan(array)]
        self.n += array.size
        self.missing += array.size - present.size
        if present.size:
            self.counts += np.bincount(np.searchsorted(self.edges, present, side="right"), minlength=len(self.counts))
            if self.range is not None:
                self.outside += int(np.count_nonzero((present < self.range[0]) | (present > self.range[1])))
            self.total.add(present)
            self.squares.add(np.square(present))
            self.low = min(self.low, float(present.min()))
            self.high = max(self.high, float(present.max()))

    def merge(self, other: NumericState) -> NumericState:
        self.counts += other.counts
        self.outside += other.outside
        self.missing += other.missing
        self.n += other.n
        self.total.merge(other.total)
        self.squares.merge(other.squares)
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        return self

    def summary(self) -> dict[str, Any]:
        present = self.n - self.missing
        mean = self.total.value() / present if present else None
        variance = max(self.squares.value() / present - mean * mean, 0.0) if present else None
        return {
            "count": self.n,
            "missing": self.missing,
            "mean": mean,
            "std": None if variance is None else float(np.sqrt(variance)),
            "min": self.low if present else None,
            "max": self.high if present else None,
        }


class CategoricalState:
    """Counts per category (at most MAX_NEW_CATEGORIES outside the reference's), plus missing."""

    kind = "categorical"

    def __init__(self, reference: list[str]) -> None:
        self.reference = list(reference)
        self.known = set(self.reference)
        self.counts: dict[str, int] = {}
        self.overflow = 0
        self.missing = 0
        self.n = 0

    def add(self, values: Any) -> None:
        series = pd.Series(values)
        self.n += len(series)
        present = series.dropna()
        self.missing += len(series) - len(present)
        for category, count in present.astype(str).value_counts().items():
            self._count(str(category), int(count))

    def _count(self, category: str, count: int) -> None:
        if category in self.counts or category in self.known or len(self.counts) < len(self.known) + MAX_NEW_CATEGORIES:
            self.counts[category] = self.counts.get(category, 0) + count
        else:
            self.overflow += count

    def merge(self, other: CategoricalState) -> CategoricalState:
        for category, count in other.counts.items():
            self._count(category, count)
        self.overflow += other.overflow
        self.missing += other.missing
        self.n += other.n
        return self

    def aligned(self) -> np.ndarray:
        """Counts over the reference's categories, then everything else in one bin."""
        known = [self.counts.get(c, 0) for c in self.reference]
        other = sum(v for c, v in self.counts.items() if c not in self.known) + self.overflow
        return np.asarray([*known, other], dtype="int64")

    def new_categories(self, limit: int = 10) -> list[str]:
        unseen = sorted(((v, c) for c, v in self.counts.items() if c not in self.known), reverse=True)
        return [c for _, c in unseen[:limit]]

    def summary(self) -> dict[str, Any]:
        return {"count": self.n, "missing": self.missing}


def state_for(profile: dict[str, Any]) -> NumericState | CategoricalState:
    """An empty state shaped like one profile entry."""
    if profile["kind"] in ("numeric", "datetime"):
        low, high = profile.get("min"), profile.get("max")
        return NumericState(profile["edges"], None if low is None or high is None else (float(low), float(high)))
    return CategoricalState(list(profile["top"]))


def as_numbers(series: pd.Series, kind: str) -> np.ndarray:
    """Values as float64 for a numeric or datetime profile (datetimes as epoch seconds).

    Training and evaluation both convert through here, so a datetime means the same number
    whatever its unit (pandas 3 reads microseconds) or time zone (aware ones count in UTC).
    """
    if kind == "datetime":
        parsed = pd.to_datetime(series, errors="coerce", utc=True).dt.tz_convert(None).dt.as_unit("ns")
        seconds = parsed.to_numpy(dtype="datetime64[ns]").view("int64").astype("float64") / 1e9
        seconds[parsed.isna().to_numpy()] = np.nan
        return seconds
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


class ScoreHistogram:
    """Binary confidence-based estimation state: per score bin, the sum of calibrated
    probabilities of each class, and the expected confusion counts at the threshold."""

    def __init__(self) -> None:
        self.positive = np.zeros(SCORE_BINS, dtype="float64")
        self.negative = np.zeros(SCORE_BINS, dtype="float64")
        self.confusion = np.zeros((2, 2), dtype="float64")  # [true][predicted], expected

    def add(self, scores: np.ndarray, calibrated: np.ndarray, predicted_positive: np.ndarray) -> None:
        bins = np.clip((scores * SCORE_BINS).astype(int), 0, SCORE_BINS - 1)
        self.positive += np.bincount(bins, weights=calibrated, minlength=SCORE_BINS)
        self.negative += np.bincount(bins, weights=1.0 - calibrated, minlength=SCORE_BINS)
        self.confusion[1, 1] += calibrated[predicted_positive].sum()
        self.confusion[0, 1] += (1.0 - calibrated[predicted_positive]).sum()
        self.confusion[1, 0] += calibrated[~predicted_positive].sum()
        self.confusion[0, 0] += (1.0 - calibrated[~predicted_positive]).sum()

    def merge(self, other: ScoreHistogram) -> ScoreHistogram:
        self.positive += other.positive
        self.negative += other.negative
        self.confusion += other.confusion
        return self


class ExpectedConfusion:
    """Multiclass estimation state: E[C[true i, predicted j]] = sum of p_i over rows predicted j."""

    def __init__(self, classes: int) -> None:
        self.matrix = np.zeros((classes, classes), dtype="float64")

    def add(self, proba: np.ndarray, predicted: np.ndarray) -> None:
        for j in range(self.matrix.shape[1]):
            rows = predicted == j
            if rows.any():
                self.matrix[:, j] += proba[rows].sum(axis=0)

    def merge(self, other: ExpectedConfusion) -> ExpectedConfusion:
        self.matrix += other.matrix
        return self
