"""Built-in drift tests: psi, ks, wasserstein, chi2 and js, over binned counts.

Every test compares two aligned count vectors, the reference profile's and the current
data's, over the same bins (see :class:`modelcycle.interfaces.DriftTest`). For numeric
columns the bins are made by the reference's sorted ``edges``: bin 0 holds values below
``edges[0]``, bin i holds ``edges[i-1] <= value < edges[i]`` (``np.searchsorted(edges,
value, side="right")``) and the last bin values from ``edges[-1]`` up. Categorical
columns have one bin per top category and a last "other" bin. Each test returns an
effect size, which decides (drifted when >= the threshold), and a p-value or None,
which is only reported. docs/drift.md gives the formulas and the reasons.

* ``psi``: sum of (q - p) ln(q / p) over the bins, p and q the reference and current
  proportions, a proportion of 0 replaced by ``EPSILON`` (1e-4). Numeric columns with
  more than ``GROUPS`` (10) bins are first merged into about ten groups of equal
  reference mass (:func:`group_bins`), so PSI keeps its usual decile meaning.
* ``ks``: the largest difference of the two cumulative proportions at the edges, which
  is the two-sample Kolmogorov-Smirnov statistic evaluated at the edges only (exact
  when the edges include every sample value, below it by at most one bin's mass
  otherwise). p-value: ``scipy.stats.kstwo.sf(D, round(n1 n2 / (n1 + n2)))``, as
  ``scipy.stats.ks_2samp(method="asymp")``.
* ``wasserstein``: the Wasserstein-1 distance between the two binned distributions,
  each interior bin's mass spread uniformly over the bin and each open outer bin's mass
  put on its edge, divided by ``scale`` (the reference std), or by the edge span when
  the scale is missing or zero.
* ``chi2``: Cramér's V of the 2 x K table of reference and current counts with both rows
  weighted to the same total, sqrt(sum (p - q)^2 / (p + q) / 2); p-value of the
  chi-square test of homogeneity on the table of actual counts.
* ``js``: the Jensen-Shannon distance (base 2, in [0, 1]) between the proportions;
  numeric columns are grouped as for psi.

Bins empty on both sides change no result. A side without any count (no non-missing
value) gives ``(nan, None)``; the core reports the column as EMPTY.

scipy is imported on the first p-value, not with the plugin.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from modelcycle.interfaces import DriftTest

NAN = float("nan")
#: numeric columns with more bins than this are merged into about this many groups (psi, js)
GROUPS = 10
#: a proportion of 0 becomes this in psi's logarithm
EPSILON = 1e-4


# -- helpers ---------------------------------------------------------------------------------


def _counts(reference: Any, current: Any, edges: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both count vectors as float64, checked: 1-D, same length, finite, non-negative."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    cur = np.asarray(current, dtype=np.float64).reshape(-1)
    if ref.shape != cur.shape:
        raise ValueError(f"reference has {ref.shape[0]} bins but current has {cur.shape[0]}")
    if edges is not None and len(edges) + 1 != ref.shape[0]:
        raise ValueError(f"{len(edges)} edges make {len(edges) + 1} bins, but the counts have {ref.shape[0]}")
    if ref.shape[0] == 0:
        raise ValueError("no bins to compare")
    for side, counts in (("reference", ref), ("current", cur)):
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError(f"{side} counts must be finite and non-negative")
    return ref, cur


def _empty(ref: np.ndarray, cur: np.ndarray) -> bool:
    return not (ref.sum() > 0 and cur.sum() > 0)


def group_bins(reference: Any, groups: int = GROUPS) -> np.ndarray:
    """The group of each bin when adjacent bins are merged into about `groups` groups of
    equal reference mass: bin i closes a group when the reference's cumulative share
    through it passes a multiple of 1/groups, that is floor(groups C_i) > floor(groups
    C_{i-1}) with C_i the cumulative count through bin i over the total, and some
    reference mass remains after it. Every group therefore has reference mass; a bin the
    reference left empty joins the group before it (the first group when it leads).

    With the profile's percentile bins (about 1% each) the groups are the ten deciles.
    A bin holding several tenths of the reference (a frequent value) forms one group,
    so there may be fewer than `groups`. Returns group indices 0..G-1, one per bin.
    """
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    total = ref.sum()
    cumulative = np.cumsum(ref)
    level = np.floor(groups * cumulative / total)  # exact for integer counts: the quotient is exact when whole
    previous = np.concatenate(([0.0], level[:-1]))
    closes = (level > previous) & (cumulative < total)
    return np.concatenate(([0], np.cumsum(closes[:-1]))).astype(np.intp)


def _grouped(ref: np.ndarray, cur: np.ndarray, edges: Any) -> tuple[np.ndarray, np.ndarray]:
    """Numeric columns with more than GROUPS bins, merged by reference mass; others as they are."""
    if edges is None or ref.shape[0] <= GROUPS:
        return ref, cur
    group = group_bins(ref)
    return np.bincount(group, weights=ref), np.bincount(group, weights=cur)


def _proportions(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum()


# -- the tests -------------------------------------------------------------------------------


class Psi(DriftTest):
    """Population Stability Index: sum of (q - p) ln(q / p) over the bins.

    p and q are the reference and current proportions; a proportion of 0 becomes 1e-4.
    Numeric columns with more than 10 bins are merged first into about ten groups of
    equal reference mass (the deciles), which gives PSI its usual scale. Convention:
    below 0.1 stable, 0.1 to 0.2 a moderate shift, 0.2 and above a significant shift.
    No p-value.
    """

    name = "psi"
    kinds: ClassVar[tuple[str, ...]] = ("numeric", "categorical")
    default_threshold: ClassVar[float] = 0.2

    def compare(self, reference, current, *, edges=None, scale=None) -> tuple[float, float | None]:
        ref, cur = _counts(reference, current, edges)
        if _empty(ref, cur):
            return NAN, None
        ref, cur = _grouped(ref, cur, edges)
        p, q = _proportions(ref), _proportions(cur)
        keep = (p > 0) | (q > 0)
        p = np.where(p[keep] > 0, p[keep], EPSILON)
        q = np.where(q[keep] > 0, q[keep], EPSILON)
        return float(np.sum((q - p) * np.log(q / p))), None


class Ks(DriftTest):
    """Two-sample Kolmogorov-Smirnov statistic on the binned CDFs, with its p-value.

    D is the largest |F_ref - F_cur| over the edges, F the share of values below the
    edge: the exact KS statistic when the edges include every sample value, otherwise
    lower than it by at most the largest bin's share in either sample. The p-value is
    kstwo's survival function at D for n = round(n_ref n_cur / (n_ref + n_cur)), the
    asymptotic method of scipy.stats.ks_2samp. Threshold 0.1: a tenth of the rows on
    the other side of some value.
    """

    name = "ks"
    kinds: ClassVar[tuple[str, ...]] = ("numeric",)
    default_threshold: ClassVar[float] = 0.1

    def compare(self, reference, current, *, edges=None, scale=None) -> tuple[float, float | None]:
        ref, cur = _counts(reference, current, edges)
        if _empty(ref, cur):
            return NAN, None
        difference = np.cumsum(ref)[:-1] / ref.sum() - np.cumsum(cur)[:-1] / cur.sum()
        statistic = float(np.max(np.abs(difference))) if difference.size else 0.0
        return statistic, ks_p_value(statistic, ref.sum(), cur.sum())


def ks_p_value(statistic: float, n_reference: float, n_current: float) -> float:
    """The asymptotic two-sided p-value of a two-sample KS statistic (scipy's "asymp")."""
    from scipy import stats

    n = max(1.0, float(np.round(n_reference * n_current / (n_reference + n_current))))
    return float(np.clip(stats.kstwo.sf(statistic, n), 0.0, 1.0))


class Wasserstein(DriftTest):
    """Wasserstein-1 distance between the binned distributions, over the reference std.

    Each interior bin's mass is spread uniformly between its edges (so both CDFs are
    linear inside a bin and the distance, the integral of |F_ref - F_cur|, is exact for
    those distributions); the open outer bins' mass sits on the outer edges, so they
    add no width. The distance is divided by `scale` (the reference standard deviation)
    or, when it is missing or zero, by the span of the edges; with fewer than two
    distinct edges (a constant reference) it is the share of values that changed bin.
    Threshold 0.1 (a tenth of a standard deviation), Evidently's default. No p-value.
    """

    name = "wasserstein"
    kinds: ClassVar[tuple[str, ...]] = ("numeric",)
    default_threshold: ClassVar[float] = 0.1

    def compare(self, reference, current, *, edges=None, scale=None) -> tuple[float, float | None]:
        if edges is None:
            raise ValueError("wasserstein needs the bin edges of a numeric column")
        ref, cur = _counts(reference, current, edges)
        if _empty(ref, cur):
            return NAN, None
        edges = np.asarray(edges, dtype=np.float64)
        span = float(edges[-1] - edges[0]) if edges.size else 0.0
        if span <= 0:  # no interior bin: the distance counts bins moved, not units
            return 0.5 * float(np.abs(_proportions(ref) - _proportions(cur)).sum()), None
        d = np.cumsum(ref)[:-1] / ref.sum() - np.cumsum(cur)[:-1] / cur.sum()  # at each edge
        return binned_wasserstein(d, edges) / (scale if _usable(scale) else span), None


def _usable(scale: float | None) -> bool:
    return scale is not None and math.isfinite(scale) and scale > 0


def binned_wasserstein(difference: np.ndarray, edges: np.ndarray) -> float:
    """Integral of |d| over [edges[0], edges[-1]], d linear between its values at the edges.

    On an interval of width w from a to b: w (|a| + |b|) / 2 when a and b have the same
    sign, w (a^2 + b^2) / (2 (|a| + |b|)) when d crosses zero inside it.
    """
    a, b = np.abs(difference[:-1]), np.abs(difference[1:])
    width = np.diff(edges)
    same_sign = difference[:-1] * difference[1:] >= 0
    total = a + b
    crossing = np.divide(a * a + b * b, total, out=np.zeros_like(total), where=total > 0)
    return float(np.sum(width * np.where(same_sign, total, crossing)) / 2)


class ChiSquare(DriftTest):
    """Cramér's V of the reference/current table with both rows weighted to the same
    total, and the p-value of the chi-square test of homogeneity.

    V = sqrt(sum (p - q)^2 / (p + q) / 2) over the bins, p and q the proportions: 0 for
    the same mix, 1 for mixes without a common category, and independent of how many rows
    each side has (the plain V of the table shrinks as the sides grow unequal). It equals
    the plain V when both sides have the same count. The p-value is that of the chi-square
    test on the 2 x K table of actual counts (chi2_contingency without correction), bins
    empty on both sides dropped; K - 1 degrees of freedom. Threshold 0.1: a small effect
    in Cohen's terms.
    """

    name = "chi2"
    kinds: ClassVar[tuple[str, ...]] = ("categorical",)
    default_threshold: ClassVar[float] = 0.1

    def compare(self, reference, current, *, edges=None, scale=None) -> tuple[float, float | None]:
        ref, cur = _counts(reference, current, edges)
        if _empty(ref, cur):
            return NAN, None
        keep = (ref + cur) > 0
        ref, cur = ref[keep], cur[keep]
        p, q = _proportions(ref), _proportions(cur)
        statistic = math.sqrt(min(1.0, float(np.sum((p - q) ** 2 / (p + q)) / 2)))
        return statistic, chi2_p_value(ref, cur)


def chi2_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    """Chi-square test of homogeneity of a 2 x K table whose columns are all non-empty."""
    if reference.shape[0] < 2:
        return 1.0
    from scipy import stats

    table = np.vstack([reference, current])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return float(stats.chi2.sf(chi2, reference.shape[0] - 1))


class JensenShannon(DriftTest):
    """Jensen-Shannon distance, base 2: the square root of the JS divergence, in [0, 1].

    JSD = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2, logarithms base 2; no
    epsilon is needed since m > 0 wherever p or q is. Numeric columns with more than 10
    bins are merged first into about ten groups of equal reference mass, as for psi:
    over the profile's hundred fine bins, sampling noise alone would reach the
    threshold. Threshold 0.1, Evidently's default. Symmetric. No p-value.
    """

    name = "js"
    kinds: ClassVar[tuple[str, ...]] = ("numeric", "categorical")
    default_threshold: ClassVar[float] = 0.1

    def compare(self, reference, current, *, edges=None, scale=None) -> tuple[float, float | None]:
        ref, cur = _counts(reference, current, edges)
        if _empty(ref, cur):
            return NAN, None
        ref, cur = _grouped(ref, cur, edges)
        return jensen_shannon(_proportions(ref), _proportions(cur)), None


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """The base-2 Jensen-Shannon distance of two proportion vectors."""
    m = (p + q) / 2
    divergence = 0.0
    for side in (p, q):
        present = side > 0
        divergence += float(np.sum(side[present] * np.log2(side[present] / m[present]))) / 2
    return math.sqrt(min(1.0, max(0.0, divergence)))


DRIFT_TESTS: list[type[DriftTest]] = [Psi, Ks, Wasserstein, ChiSquare, JensenShannon]
