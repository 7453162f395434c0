"""Built-in drift tests: psi, ks, wasserstein, chi2 and js, over binned counts, and auto,
the default, which judges a column by several effect sizes (see `Auto`, near the end).

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
  otherwise). p-value: :func:`kolmogorov_sf` at D for n = round(n1 n2 / (n1 + n2)),
  which is ``scipy.stats.kstwo.sf`` and so ``scipy.stats.ks_2samp(method="asymp")``.
* ``wasserstein``: the Wasserstein-1 distance between the two binned distributions,
  each interior bin's mass spread uniformly over the bin and each open outer bin's mass
  put on its edge, divided by ``scale`` (the reference std), or by the edge span when
  the scale is missing or zero.
* ``chi2``: Cramér's V of the 2 x K table of reference and current counts with both rows
  weighted to the same total, sqrt(sum (p - q)^2 / (p + q) / 2); p-value of the
  chi-square test of homogeneity on the table of actual counts (:func:`chi2_sf`, which is
  ``scipy.stats.chi2.sf``).
* ``js``: the Jensen-Shannon distance (base 2, in [0, 1]) between the proportions;
  numeric columns are grouped as for psi.

Bins empty on both sides change no result. A side without any count (no non-missing
value) gives ``(nan, None)``; the core reports the column as EMPTY.

The p-values need no scipy (importing scipy.stats took longer than evaluating 100,000
rows): they are computed with numpy and math, and agree with scipy to about 1e-12
(see the section "p-values, with numpy and math only" below).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
from modelcycle.plugin import DriftTest

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
    asymptotic method of scipy.stats.ks_2samp (computed here, without scipy). Threshold 0.1: a tenth of the rows on
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
    """The asymptotic two-sided p-value of a two-sample KS statistic: scipy.stats.ks_2samp's
    "asymp" method, kstwo.sf(D, round(n_ref n_cur / (n_ref + n_cur))), without scipy."""
    n = max(1, int(round(float(n_reference) * float(n_current) / (float(n_reference) + float(n_current)))))
    return kolmogorov_sf(statistic, n)


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
    table = np.vstack([reference, current])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return chi2_sf(chi2, reference.shape[0] - 1)


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


# -- p-values, with numpy and math only --------------------------------------------------------
#
# scipy.stats takes about a second to import, longer than the whole evaluation of 100,000 rows,
# and even scipy.special pulls in numpy.f2py and numpy.testing; so the two p-values are computed
# here.
#
# kolmogorov_sf is scipy.stats.kstwo.sf as scipy/stats/_ksstats.py computes it (SciPy, by the
# SciPy developers, BSD-3-Clause license): the same methods, Ruben-Gambino, Durbin's matrix as
# Marsaglia, Tsang and Wang compute it, Pomeranz, Pelz-Good and twice Smirnov's one-sided
# probability, chosen at the same points of n and n x^2 (Simard and L'Ecuyer). One change: the
# last factor n!/n^n of Durbin's method is taken in logarithms instead of a loop of n products.
#
# smirnov_sf (scipy.special.smirnov, double-double arithmetic there) and chi2_sf
# (scipy.special.chdtrc) are finite sums whose terms are binomial and Poisson probabilities; each
# term is computed in Loader's saddle-point form, so that no large logarithms cancel.
#
# tests/test_drift_tests.py holds all three to scipy within 1e-9 relative over every method, for
# n from 1 to 3,000,000; they agree to about 1e-12.

_LOG_2PI = math.log(2 * math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_PI_SQUARED = math.pi**2
_PI_FOUR = math.pi**4
_PI_SIX = math.pi**6
_SQRT3 = math.sqrt(3)
_SCALE_UP = 2.0**128
_SCALE_DOWN = 2.0**-128
#: exp() of less than this is 0 in float64 (cephes' MINLOG)
_MIN_LOG = -708.3964185322641
# Stirling's series: B_2j / (2j (2j - 1)) for j = 8 down to 1, for np.polyval
_STIRLING = (
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
)


def _clip(p: float) -> float:
    return min(1.0, max(0.0, float(p)))


def _stirling_error(k: np.ndarray) -> np.ndarray:
    """log(k!) - ((k + 1/2) log k - k + log(sqrt(2 pi))) for real k > 0, to ~1e-15 absolute."""
    k = np.asarray(k, dtype=np.float64)
    small = k <= 15
    out = np.empty_like(k)
    if small.any():
        ks = k[small]
        lgamma = np.array([math.lgamma(v + 1.0) for v in ks.tolist()])
        out[small] = lgamma - (ks + 0.5) * np.log(ks) + ks - _LOG_2PI / 2
    if not small.all():
        kb = k[~small]
        kk = kb * kb
        out[~small] = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / kk) / kk) / kk) / kk) / kb
    return out


def _deviance(x: np.ndarray, m: np.ndarray | float, d: np.ndarray | float) -> np.ndarray:
    """x log(x / m) + m - x for x > 0, m > 0, given d = x - m (Loader's bd0), without the
    cancellation of the direct formula: m ((1 + t) log1p(t) - t) with t = d / m."""
    t = d / m
    return m * ((x / m) * np.log1p(t) - t)


# -- chi-square ---------------------------------------------------------------------------------


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X chi-square with `dof` (a positive integer) degrees of freedom.

    With y = statistic / 2 this is the regularized upper incomplete gamma Q(dof / 2, y), a
    finite sum for whole and half-whole shapes: the Poisson probability sum_{k < dof/2}
    e^-y y^k / k! for an even dof; erfc(sqrt y) + sum_{k = 1/2, 3/2, ... < dof/2} e^-y y^k / k!
    for an odd one. Each term e^-y y^k / k! is computed as exp(-stirling_error(k) - bd0(k, y))
    / sqrt(2 pi k) (Loader), so no large logarithms cancel: about 1e-14 relative.
    """
    if not statistic > 0:
        return 1.0 if statistic <= 0 else math.nan
    y = statistic / 2
    if dof % 2:  # Q(1/2, y) = erfc(sqrt y), then k = 1/2, 3/2, ...
        total, k = math.erfc(math.sqrt(y)), np.arange(0.5, dof / 2)
    else:  # k = 0 is e^-y, then k = 1, 2, ...
        total, k = math.exp(-y), np.arange(1.0, dof / 2)
    if k.size:
        terms = np.exp(-_stirling_error(k) - _deviance(k, y, k - y)) / np.sqrt(2 * np.pi * k)
        total += float(np.sum(terms))
    return _clip(total)


# -- Kolmogorov-Smirnov -------------------------------------------------------------------------


def smirnov_sf(n: int, x: float) -> float:
    """P(D+_n >= x), the one-sided one-sample KS statistic's survival function, as
    scipy.special.smirnov: Birnbaum and Tingey's sum
    x sum_{v=0}^{floor(n(1-x))} C(n, v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v), each term
    x / a binom_pmf(v; n, a) with a = x + v/n, the pmf by Loader's saddle point form."""
    if math.isnan(x) or n < 1:
        return math.nan
    if n == 1:
        return _clip(1.0 - x)
    if x <= 0.0:
        return 1.0
    if x >= 1.0:
        return 0.0
    exact = Fraction(x) * n
    whole = math.floor(exact)
    alpha = exact - whole  # n x = whole + alpha exactly, 0 <= alpha < 1
    if whole == 0 or (whole == 1 and alpha == 0):  # x <= 1/n
        return _clip(1.0 - x * (1.0 + x) ** (n - 1))
    if -2 * n * x * x < _MIN_LOG:
        return 0.0
    if whole >= n - 1:  # x >= 1 - 1/n
        return _clip((1.0 - x) ** n)
    if n > 1_000_000:  # as scipy: p ~ e^(-(6nx + 1)^2 / 18n)
        log_p = -((6.0 * n * x + 1) ** 2) / 18.0 / n
        return _clip(math.exp(log_p) if log_p < -math.log(2) else 1.0 + math.expm1(log_p))
    nx = float(exact)
    v = np.arange(1.0, n - whole)  # the terms v = 1 .. floor(n (1 - x)); v = 0 is (1 - x)^n, added last
    rest = n - v
    above = (v + whole) + float(alpha)  # n (x + v/n), exact to rounding
    below = (n - whole - 1 - v) + float(1 - alpha)  # n (1 - x - v/n), exact to rounding
    log_pmf = _stirling_error(np.array([float(n)])) - _stirling_error(v) - _stirling_error(rest)
    log_pmf -= _deviance(v, above, -nx) + _deviance(rest, below, nx)
    terms = np.exp(log_pmf) * np.sqrt(n / (2 * np.pi * v * rest)) * (x * n / above)
    return _clip(math.exp(n * math.log1p(-x)) + float(np.sum(terms)))


def _log_factorial_over_power(n: int) -> float:
    """log(n! / n^n), by Stirling's series with n log n taken out first (scipy's)."""
    if n <= 140:
        return math.lgamma(n + 1) - n * math.log(n)
    r = 1.0 / n
    return math.log(n) / 2 - n + _LOG_2PI / 2 + r * float(np.polyval(_STIRLING, r / n))


def _kolmogorov_durbin(n: int, d: float) -> float:
    """P(D_n <= d) by Durbin's matrix algorithm as Marsaglia, Tsang and Wang compute it."""
    if d >= 1.0:
        return 1.0
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = math.ceil(nd)
    h = k - nd
    m = 2 * k - 1
    H = np.zeros([m, m])
    intm = np.arange(1, m + 1)
    v = 1.0 - h**intm
    w = np.empty(m)
    fac = 1.0
    for j in intm:
        w[j - 1] = fac
        fac /= j
        v[j - 1] *= fac
    tt = max(2 * h - 1.0, 0) ** m - 2 * h**m
    v[-1] = (1.0 + tt) * fac
    for i in range(1, m):
        H[i - 1 :, i] = w[: m - i + 1]
    H[:, 0] = v
    H[-1, :] = np.flip(v, axis=0)
    power = np.eye(m)
    nn, exponent, h_exponent = n, 0, 0
    while nn > 0:
        if nn % 2:
            power = power @ H
            exponent += h_exponent
        H = H @ H
        h_exponent *= 2
        if abs(H[k - 1, k - 1]) > _SCALE_UP:
            H /= _SCALE_UP
            h_exponent += 128
        nn //= 2
    p = float(power[k - 1, k - 1])
    if p <= 0:
        return 0.0
    mantissa, e = math.frexp(p)
    return _clip(math.exp(math.log(mantissa) + (e + exponent) * math.log(2) + _log_factorial_over_power(n)))


def _pomeranz_bounds(i: int, n: int, ll: int, ceilf: int, roundf: int) -> tuple[int, int]:
    if i == 0:
        j1, j2 = -ll - ceilf - 1, ll + ceilf - 1
    else:
        half, odd = divmod(i + 1, 2)
        if odd == 0:
            if half == n + 1:
                j1, j2 = n - ll - ceilf - 1, n + ll + ceilf - 1
            else:
                j1, j2 = half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1
        else:
            j1, j2 = half - 1 - ll - 1, half + ll + roundf - 1
    return max(j1 + 2, 0), min(j2, n)


def _kolmogorov_pomeranz(n: int, x: float) -> float:
    """P(D_n <= x) by Pomeranz's recursion."""
    t = n * x
    ll = math.floor(t)
    f = t - ll
    g = min(f, 1.0 - f)
    ceilf = 1 if f > 0 else 0
    roundf = 1 if f > 0.5 else 0
    npwrs = 2 * (ll + 1)
    gpower, twogpower, onem2gpower = np.empty(npwrs), np.empty(npwrs), np.empty(npwrs)
    gpower[0] = twogpower[0] = onem2gpower[0] = 1.0
    exponent = 0
    g_n, two_g_n, one_minus_two_g_n = g / n, 2 * g / n, (1 - 2 * g) / n
    for m in range(1, npwrs):
        gpower[m] = gpower[m - 1] * g_n / m
        twogpower[m] = twogpower[m - 1] * two_g_n / m
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_n / m
    V0, V1 = np.zeros([npwrs]), np.zeros([npwrs])
    V1[0] = 1
    V0s = V1s = 0
    j1, j2 = _pomeranz_bounds(0, n, ll, ceilf, roundf)
    for i in range(1, 2 * n + 2):
        k1 = j1
        V0, V1 = V1, V0
        V0s, V1s = V1s, V0s
        V1.fill(0.0)
        j1, j2 = _pomeranz_bounds(i, n, ll, ceilf, roundf)
        pwrs = gpower if i == 1 or i == 2 * n + 1 else (twogpower if i % 2 else onem2gpower)
        ln2 = j2 - k1 + 1
        if ln2 > 0:
            conv = np.convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2])
            start, length = j1 - k1, j2 - j1 + 1
            V1[:length] = conv[start : start + length]
            if 0 < np.max(V1) < _SCALE_DOWN:
                V1 *= _SCALE_UP
                exponent -= 128
            V1s = V0s + j1 - k1
    answer = float(V1[n - V1s])
    for m in range(1, n + 1):
        if abs(answer) > _SCALE_UP:
            answer *= _SCALE_DOWN
            exponent += 128
        answer *= m
    if exponent:
        answer = math.ldexp(answer, exponent)
    return _clip(answer)


def _kolmogorov_pelz_good(n: int, x: float) -> float:
    """Pelz and Good's approximation of P(D_n <= x)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    z = math.sqrt(n) * x
    z2, z3, z4, z6 = z**2, z**3, z**4, z**6
    qlog = -_PI_SQUARED / 8 / z2
    if qlog < -708:
        return 0.0
    q = math.exp(qlog)
    k1a, k1b = -z2, _PI_SQUARED / 4
    k2a, k2b, k2c = 6 * z6 + 2 * z4, (2 * z4 - 5 * z2) * _PI_SQUARED / 4, _PI_FOUR * (1 - 2 * z2) / 16
    k3d = _PI_SIX * (5 - 30 * z2) / 64
    k3c = _PI_FOUR * (-60 * z2 + 212 * z4) / 16
    k3b = _PI_SQUARED * (135 * z4 - 96 * z6) / 4
    k3a = -30 * z6 - 90 * z**8
    K = np.zeros(4)
    maxk = math.ceil(16 * z / math.pi)
    for k in range(maxk, 0, -1):
        m = 2 * k - 1
        m2, m4, m6 = m**2, m**4, m**6
        K *= q ** (8 * k)
        K += np.array([1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6])
    K *= q
    K *= _SQRT_2PI
    K /= np.array([z, 6 * z4, 72 * z**7, 6480 * z**10])
    q = math.exp(-_PI_SQUARED / 2 / z2)
    ks = np.arange(maxk, 0, -1)
    ks2 = ks**2
    sqrt3z = _SQRT3 * z
    kspi = np.pi * ks
    qpowers = q**ks2
    K[2] += float(np.sum(ks2 * qpowers)) * (_PI_SQUARED * _SQRT_2PI / (-36 * z3))
    K[3] += float(np.sum((sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qpowers)) * (_PI_SQUARED * _SQRT_2PI / (216 * z6))
    K /= np.power(n * 1.0, np.arange(4) / 2.0)
    return sum(K.tolist())


def kolmogorov_sf(x: float, n: int) -> float:
    """P(D_n >= x), D_n the two-sided one-sample KS statistic of n values: scipy.stats.kstwo.sf,
    with scipy's choice of method by n and n x^2 (Simard and L'Ecuyer)."""
    if math.isnan(x):
        return math.nan
    if x <= 0.5 / n:
        return 1.0
    if x >= 1.0:
        return 0.0
    t = n * x
    if t <= 1.0:  # Ruben and Gambino: exact between 1/(2n) and 1/n
        if t <= 0.5:
            return 1.0
        if n <= 140:
            cdf = float(np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1)))
        else:
            cdf = math.exp(_log_factorial_over_power(n) + n * math.log(2 * t - 1))
        return _clip(1.0 - cdf)
    if t >= n - 1:  # Ruben and Gambino: exact from 1 - 1/n
        return _clip(2 * (1.0 - x) ** n)
    if x >= 0.5:  # exact: the two one-sided events exclude each other
        return _clip(2 * smirnov_sf(n, x))
    nxx = t * x
    if n <= 140:
        if nxx <= 0.754693:
            return _clip(1.0 - _kolmogorov_durbin(n, x))
        if nxx <= 4:
            return _clip(1.0 - _kolmogorov_pomeranz(n, x))
        return _clip(2 * smirnov_sf(n, x))
    if nxx >= 370.0:
        return 0.0
    if nxx >= 2.2:
        return _clip(2 * smirnov_sf(n, x))
    if n <= 100_000 and n * x**1.5 <= 1.4:
        return _clip(1.0 - _kolmogorov_durbin(n, x))
    return _clip(1.0 - _kolmogorov_pelz_good(n, x))


# -- auto: several effect sizes per column, each with a noise bound ------------------------------

#: the default method's measures and their thresholds, by column kind (docs/drift.md says why)
AUTO_THRESHOLDS: dict[str, dict[str, float]] = {
    "numeric": {"wasserstein": 0.05, "ks": 0.04, "missing": 0.03, "out_of_range": 0.0075},
    "categorical": {"shares": 0.01, "new_categories": 0.005, "missing": 0.03},
}
#: the chance that sampling noise alone passes one measure's noise bound (per column and measure)
NOISE_ALPHA = 0.005
#: the Wasserstein noise bound, in units of sqrt(1/n_ref + 1/n_cur) x integral of sqrt(F (1 - F)) / scale
#: (its null mean is about sqrt(2/pi) = 0.80 of that; simulated 99th percentiles 1.4-2.0 and 99.9th
#: 1.4-2.6 for normal, uniform, exponential, lognormal and Poisson columns from 1k to 1M rows)
WASSERSTEIN_NOISE = 2.5


def _z(alpha: float) -> float:
    """The two-sided normal quantile: |N(0, 1)| exceeds it with probability alpha."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / 2)


def _rate_bound(p1: float, p2: float, n1: float, n2: float, alpha: float) -> float:
    """The noise bound on |p2 - p1| for two sample proportions (pooled two-proportion z-test)."""
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    return _z(alpha) * math.sqrt(max(pooled * (1 - pooled), 0.0) * (1 / n1 + 1 / n2))


def _measure(statistic: float, threshold: float, noise: float) -> dict[str, Any]:
    return {
        "statistic": float(statistic),
        "threshold": float(threshold),
        "noise": float(noise),
        "drifted": bool(statistic >= threshold and statistic > noise),
    }


def _gamma2_quantile(q: float) -> float:
    """x with P(Gamma(2, 1) <= x) = q, that is (1 + x) e^-x = 1 - q, by Newton's method."""
    tail, x = 1 - q, 2.0
    for _ in range(60):
        x -= ((1 + x) * math.exp(-x) - tail) / (-x * math.exp(-x))
    return x


def wasserstein_noise(reference: np.ndarray, edges: np.ndarray, scale: float, n_current: float) -> float:
    """The level that the binned Wasserstein distance between two samples of the reference's
    distribution exceeds with probability below ~0.1 %: WASSERSTEIN_NOISE sqrt(1/n1 + 1/n2)
    times the integral of sqrt(F (1 - F)) over the interior bins (the standard deviation
    of the empirical process, summed), over `scale`."""
    total = reference.sum()
    cumulative = np.cumsum(reference)[:-1] / total
    spread = np.sqrt(np.clip(cumulative * (1 - cumulative), 0, None))
    integral = float(np.sum(np.diff(edges) * (spread[:-1] + spread[1:]) / 2)) if edges.size > 1 else 0.0
    return WASSERSTEIN_NOISE * math.sqrt(1 / total + 1 / n_current) * integral / scale


def auto_numeric(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    edges: Any,
    scale: float | None,
    missing: tuple[tuple[float, float], tuple[float, float]] | None = None,
    outside: float | None = None,
    thresholds: dict[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """The default method's measures for a numeric column, each judged against its threshold
    and its noise bound: Wasserstein distance in reference standard deviations (mean and
    spread shifts), KS distance (mass piled at a value: capping), the share of values outside
    the reference's range (unit errors), and the change of missing rate. `missing` is
    ((missing, rows) of the reference, (missing, rows) of the current data); `outside`
    the current values outside the reference's [min, max]. Measures without their inputs
    are left out."""
    limits = {**AUTO_THRESHOLDS["numeric"], **(thresholds or {})}
    ref, cur = _counts(reference, current, edges)
    edges = np.asarray(edges, dtype=np.float64)
    n1, n2 = float(ref.sum()), float(cur.sum())
    measures: dict[str, dict[str, Any]] = {}
    if n1 > 0 and n2 > 0:
        span = float(edges[-1] - edges[0]) if edges.size else 0.0
        distance, _ = Wasserstein().compare(ref, cur, edges=edges, scale=scale)
        if span > 0:
            noise = wasserstein_noise(ref, edges, scale if _usable(scale) else span, n2)
        else:  # a constant reference: the distance is a share of values
            noise = _rate_bound(0.0, distance, n1, n2, NOISE_ALPHA)
        measures["wasserstein"] = _measure(distance, limits["wasserstein"], noise)
        d, p_value = Ks().compare(ref, cur, edges=edges)
        # reported: the D that noise passes with probability NOISE_ALPHA (asymptotically); decided: the p-value
        ks = _measure(d, limits["ks"], math.sqrt(-math.log(NOISE_ALPHA / 2) / 2 * (1 / n1 + 1 / n2)))
        ks["drifted"] = bool(d >= limits["ks"] and p_value < NOISE_ALPHA)
        ks["p_value"] = p_value
        measures["ks"] = ks
        if outside is not None:
            # without drift, the chance that a new value falls outside the range of n1 reference
            # values is the sum of two spacings, about Gamma(2) / (n1 + 1): its upper quantile,
            # plus the binomial noise of n2 values around it
            chance = _gamma2_quantile(1 - NOISE_ALPHA / 2) / (n1 + 1)
            noise = chance + _z(NOISE_ALPHA) * math.sqrt(chance / n2)
            measures["out_of_range"] = _measure(outside / n2, limits["out_of_range"], noise)
        measures["psi"] = {"statistic": Psi().compare(ref, cur, edges=edges)[0], "reported": True}
    _missing(measures, missing, limits["missing"])
    return measures


def _missing(measures: dict[str, Any], missing: Any, threshold: float) -> None:
    if missing is None:
        return
    (m1, rows1), (m2, rows2) = missing
    if rows1 > 0 and rows2 > 0:
        p1, p2 = m1 / rows1, m2 / rows2
        measures["missing"] = _measure(abs(p2 - p1), threshold, _rate_bound(p1, p2, rows1, rows2, NOISE_ALPHA))
        measures["missing"]["change"] = p2 - p1


def auto_categorical(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    missing: tuple[tuple[float, float], tuple[float, float]] | None = None,
    thresholds: dict[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """The default method's measures for a categorical column (counts over the reference's
    categories, then "other"): the largest change of one category's share, in proportion
    points, judged bin by bin against a noise bound (Bonferroni over the bins); the share of
    categories the reference never saw (when it kept all of its categories, "other" is
    empty there); and the change of missing rate. Jensen-Shannon and PSI are reported."""
    limits = {**AUTO_THRESHOLDS["categorical"], **(thresholds or {})}
    ref, cur = _counts(reference, current, None)
    n1, n2 = float(ref.sum()), float(cur.sum())
    measures: dict[str, dict[str, Any]] = {}
    if n1 > 0 and n2 > 0:
        p, q = ref / n1, cur / n2
        new = ref[-1] == 0  # the reference kept every category: "other" holds only unseen ones
        shares = slice(0, -1) if new else slice(None)
        bins = int(np.count_nonzero((ref + cur)[shares] > 0)) or 1
        pooled = (ref + cur)[shares] / (n1 + n2)
        noise = _z(NOISE_ALPHA / bins) * np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        change = np.abs(q - p)[shares]
        if change.size:
            over = (change >= limits["shares"]) & (change > noise)
            largest = int(np.argmax(np.where(over, change, -1.0))) if over.any() else int(np.argmax(change))
            measures["shares"] = _measure(change[largest], limits["shares"], noise[largest])
            measures["shares"]["bin"] = largest
        if new:
            share = float(q[-1])
            bound = _rate_bound(0.0, share, n1, n2, NOISE_ALPHA)
            measures["new_categories"] = _measure(share, limits["new_categories"], bound)
        measures["js"] = {"statistic": jensen_shannon(p, q), "reported": True}
        measures["psi"] = {"statistic": Psi().compare(ref, cur)[0], "reported": True}
    _missing(measures, missing, limits["missing"])
    return measures


class Auto(DriftTest):
    """The default: several effect sizes per column, each against its threshold and a noise
    bound, the column drifted when any of them is. Numeric: Wasserstein distance in
    reference standard deviations (>= 0.05), KS distance (>= 0.04, p < 0.005), share of
    values outside the reference range (>= 0.75 %), missing rate (change >= 3 pp).
    Categorical: one category's share (change >= 1 pp), unseen categories (>= 0.5 %),
    missing rate. Through `compare` (counts only) the statistic is the largest measure
    over its threshold: 1 at the threshold."""

    name = "auto"
    kinds: ClassVar[tuple[str, ...]] = ("numeric", "categorical")
    default_threshold: ClassVar[float] = 1.0
    #: the measures whose thresholds `[models.NAME.drift] threshold` may set
    measures: ClassVar[tuple[str, ...]] = tuple(dict.fromkeys(k for kind in AUTO_THRESHOLDS.values() for k in kind))

    def compare(self, reference, current, *, edges=None, scale=None) -> tuple[float, float | None]:
        ref, cur = _counts(reference, current, edges)
        if _empty(ref, cur):
            return NAN, None
        if edges is None:
            measures = auto_categorical(ref, cur)
            p_value = ChiSquare().compare(ref, cur)[1]
        else:
            measures = auto_numeric(ref, cur, edges=edges, scale=scale)
            p_value = measures["ks"]["p_value"]
        return auto_score(measures), p_value

    def judge(
        self,
        kind: str,
        reference: Any,
        current: Any,
        *,
        edges: Any = None,
        scale: float | None = None,
        missing: Any = None,
        outside: float | None = None,
        thresholds: dict[str, float] | None = None,
        categories: list[str] | None = None,
    ) -> dict[str, Any]:
        """The whole result for one column: `statistic` and `threshold` of the main measure
        (Wasserstein, or the largest share change), `drifted` if any measure is, `reasons`
        (the measures that drifted), `measures`, `score` and `sees` (in plain words)."""
        limits = {k: float((thresholds or {}).get(k, v)) for k, v in AUTO_THRESHOLDS[kind].items()}
        ref, cur = _counts(reference, current, edges)
        p_value = None
        if kind == "numeric":
            measures = auto_numeric(
                ref, cur, edges=edges, scale=scale, missing=missing, outside=outside, thresholds=limits
            )
            main = measures.get("wasserstein")
            p_value = measures.get("ks", {}).get("p_value")
        else:
            measures = auto_categorical(ref, cur, missing=missing, thresholds=limits)
            main = measures.get("shares")
            if main is not None and categories is not None:
                main["category"] = categories[main["bin"]]
            if not _empty(ref, cur):
                p_value = ChiSquare().compare(ref, cur)[1]
        judged = [m for m in measures.values() if "drifted" in m]
        reasons = sorted(k for k, m in measures.items() if m.get("drifted"))
        return {
            "statistic": None if main is None else main["statistic"],
            "threshold": limits["wasserstein" if kind == "numeric" else "shares"],
            "p_value": p_value,
            "drifted": (bool(reasons) if main is not None or reasons else None) if judged else None,
            "reasons": reasons,
            "score": auto_score(measures) if judged else None,
            "measures": measures,
            "sees": sensitivity_words(kind, limits),
        }


def sensitivity_words(kind: str, limits: dict[str, float]) -> str:
    """What the default method flags with these thresholds, in plain words (noise permitting)."""
    if kind == "numeric":
        w, ks = limits["wasserstein"], limits["ks"]
        return (
            f"flags a mean shift >= {w:.2g} sd or a spread change >= x{1 + w / math.sqrt(2 / math.pi):.3g} "
            f"(Wasserstein), {ks * 100:.3g} % of values piled up or moved past some value (KS), "
            f">= {limits['out_of_range'] * 100:.3g} % of values outside the reference range, "
            f"a missing-rate change >= {limits['missing'] * 100:.3g} pp"
        )
    return (
        f"flags a category share change >= {limits['shares'] * 100:.3g} pp, "
        f">= {limits['new_categories'] * 100:.3g} % of values in unseen categories, "
        f"a missing-rate change >= {limits['missing'] * 100:.3g} pp"
    )


def auto_score(measures: dict[str, dict[str, Any]]) -> float:
    """The largest statistic over its threshold among the measures past their noise bound,
    else the largest over its threshold: >= 1 exactly when a measure drifted."""
    judged = [m for m in measures.values() if "threshold" in m]
    if not judged:
        return NAN
    ratios = [m["statistic"] / m["threshold"] for m in judged if m["drifted"]]
    if ratios:
        return float(max(ratios))
    return float(min(max(m["statistic"] / m["threshold"] for m in judged), 1.0 - 1e-9))


DRIFT_TESTS: list[type[DriftTest]] = [Psi, Ks, Wasserstein, ChiSquare, JensenShannon, Auto]
