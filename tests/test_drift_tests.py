"""The built-in drift tests on real data shipped with scikit-learn.

A reference profile is built with modelcycle.profile from one half of a dataset and
the other half is counted over the same bins, as evaluation will do. Checked: no
drift between random halves, drift for shifted, rescaled and re-mixed columns, the
binned KS against scipy's, the binned Wasserstein against scipy's within its proven
bound, JS's and chi2's definitions, and that at a million rows a tiny shift gives
tiny p-values but effect sizes under their thresholds.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from modelcycle import hookimpl
from modelcycle.interfaces import DriftTest
from modelcycle.profile import categorical_profile, numeric_profile
from modelcycle_metrics import register_drift_tests
from modelcycle_metrics.drift import EPSILON, chi2_sf, group_bins, kolmogorov_sf, ks_p_value, smirnov_sf
from scipy import special, stats
from scipy.spatial.distance import jensenshannon
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

#: the single-statistic tests; "auto", the default's several measures, is tested in test_drift_auto.py
TESTS: dict[str, DriftTest] = {cls.name: cls() for cls in register_drift_tests() if cls.name != "auto"}
NUMERIC = [name for name, test in TESTS.items() if "numeric" in test.kinds]
CATEGORICAL = [name for name, test in TESTS.items() if "categorical" in test.kinds]


def count(edges: list[float], values: np.ndarray) -> np.ndarray:
    """Current values counted over the reference's bins, as the core counts them."""
    return np.bincount(np.searchsorted(np.asarray(edges), values, side="right"), minlength=len(edges) + 1)


def compare_numeric(reference: np.ndarray, current: np.ndarray, names=NUMERIC) -> dict[str, tuple]:
    profile = numeric_profile(reference)
    counts = count(profile["edges"], current)
    return {
        name: TESTS[name].compare(profile["counts"], counts, edges=profile["edges"], scale=profile["std"])
        for name in names
    }


def category_counts(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sides over the reference's top categories plus "other", as the core aligns them."""
    profile = categorical_profile(reference)
    top = list(profile["top"])
    ref = np.array([*profile["top"].values(), profile["other"]])
    values = np.asarray(current).astype(str)
    cur = np.array([*(np.sum(values == c) for c in top), np.sum(~np.isin(values, top))])
    return ref, cur


def halves(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[: n // 2], order[n // 2 :]


def drifted(name: str, statistic: float) -> bool:
    return statistic >= TESTS[name].default_threshold


# -- registration ----------------------------------------------------------------------------


def test_the_built_ins_with_their_kinds_and_thresholds() -> None:
    described = {name: (test.kinds, test.default_threshold) for name, test in TESTS.items()}
    assert described == {
        "psi": (("numeric", "categorical"), 0.2),
        "ks": (("numeric",), 0.1),
        "wasserstein": (("numeric",), 0.1),
        "chi2": (("categorical",), 0.1),
        "js": (("numeric", "categorical"), 0.1),
    }
    assert all(test.__doc__ for test in TESTS.values())


def test_the_docs_table_states_each_tests_columns_and_threshold() -> None:
    """docs/drift.md's summary table must match the classes (NannyML once documented a wrong default)."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "drift.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0].strip("`") in TESTS:
            rows[cells[0].strip("`")] = (tuple(cells[1].split(", ")), float(cells[4]))
    assert rows == {name: (test.kinds, test.default_threshold) for name, test in TESTS.items()}


def test_registering_imports_neither_scipy_nor_pandas() -> None:
    code = (
        "import sys, modelcycle_metrics as p; tests = p.register_drift_tests(); "
        "print(len(tests), 'scipy' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["6", "False", "False"]


def test_p_values_need_no_scipy() -> None:
    """scipy.stats took about a second to import, longer than evaluating 100,000 rows: the KS and
    chi-square p-values are computed with numpy and math only (checked against scipy below)."""
    code = (
        "import sys; from modelcycle_metrics.drift import Ks, ChiSquare; "
        "print(Ks().compare([5, 10, 5], [10, 5, 5], edges=[0.0, 1.0])[1], "
        "ChiSquare().compare([5, 10, 5], [10, 5, 5])[1], 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[2] == "False"
    assert float(out[0]) == pytest.approx(stats.kstwo.sf(0.25, 10), rel=1e-12)
    assert float(out[1]) == pytest.approx(stats.chi2_contingency([[5, 10, 5], [10, 5, 5]], correction=False).pvalue)


class MeanShift(DriftTest):
    """Distance between the binned means (bins at their left edges), over the reference std."""

    name = "mean_shift"
    kinds = ("numeric",)
    default_threshold = 0.25

    def compare(self, reference, current, *, edges=None, scale=None):
        points = np.asarray([edges[0], *edges])
        means = [np.average(points, weights=counts) for counts in (reference, current)]
        return abs(means[1] - means[0]) / scale, None


class MeanShiftPlugin:
    __name__ = "meanshift"

    @hookimpl
    def register_drift_tests(self):
        return [MeanShift]


def test_a_plugin_drift_test_is_found_beside_the_built_ins(make_project, monkeypatch) -> None:
    monkeypatch.setenv("MODELCYCLE_BLOCK_PLUGINS", "sklearn")
    project = make_project(plugins=[MeanShiftPlugin()])
    registry = project.host.classes("drift_tests")
    assert registry["mean_shift"].cls is MeanShift
    assert registry["mean_shift"].plugin == "meanshift" and registry["mean_shift"].source == "explicit"
    assert {name: registry[name].plugin for name in TESTS} == dict.fromkeys(TESTS, "metrics")
    assert registry["psi"].source == "built-in"
    bmi = load_diabetes().data[:, 2]
    profile = numeric_profile(bmi)
    shifted = count(profile["edges"], bmi + bmi.std())
    statistic, _ = (
        registry["mean_shift"].cls().compare(profile["counts"], shifted, edges=profile["edges"], scale=profile["std"])
    )
    assert statistic > 0.5


# -- numeric columns -----------------------------------------------------------------------------


def test_random_halves_of_digits_do_not_drift() -> None:
    """Every non-constant pixel of the 1,797 digits, about 900 rows a side.

    Sampling noise alone sets a floor under every effect size (docs/drift.md lists it by
    size): with 900 rows a side the typical js and wasserstein values between halves are
    about half their thresholds, and a few hundred rows a side would reach them.
    """
    X = load_digits().data
    a, b = halves(len(X))
    columns = [j for j in range(X.shape[1]) if X[:, j].std() > 0]
    assert len(columns) == 61
    worst = dict.fromkeys(NUMERIC, 0.0)
    for j in columns:
        for name, (statistic, _) in compare_numeric(X[a, j], X[b, j]).items():
            worst[name] = max(worst[name], statistic)
    assert all(not drifted(name, value) for name, value in worst.items()), worst


@pytest.mark.parametrize("load", [load_breast_cancer, load_diabetes])
@pytest.mark.parametrize("change", ["shift by one std", "twice as spread", "half as spread"])
def test_shifted_or_rescaled_columns_drift_in_every_numeric_test(load, change: str) -> None:
    X = load().data
    a, b = halves(len(X))
    for j in range(X.shape[1]):
        mean, std = X[a, j].mean(), X[a, j].std()
        current = {
            "shift by one std": X[b, j] + std,
            "twice as spread": mean + 2 * (X[b, j] - mean),
            "half as spread": mean + 0.5 * (X[b, j] - mean),
        }[change]
        results = compare_numeric(X[a, j], current)
        assert all(drifted(name, statistic) for name, (statistic, _) in results.items()), (j, results)


@pytest.mark.parametrize("load", [load_breast_cancer, load_diabetes])
def test_binned_ks_is_scipys_statistic_within_one_bin(load) -> None:
    X = load().data
    a, b = halves(len(X))
    for j in range(X.shape[1]):
        profile = numeric_profile(X[a, j])
        current = count(profile["edges"], X[b, j])
        statistic, p_value = TESTS["ks"].compare(profile["counts"], current, edges=profile["edges"])
        exact = stats.ks_2samp(X[a, j], X[b, j]).statistic
        resolution = max(np.max(np.asarray(profile["counts"]) / len(a)), np.max(current / len(b)))
        assert exact - resolution - 1e-12 <= statistic <= exact + 1e-12
        assert 0 <= p_value <= 1


@pytest.mark.parametrize("load", [load_breast_cancer, load_diabetes])
def test_binned_ks_is_exact_when_the_edges_hold_every_value(load) -> None:
    X = load().data
    a, b = halves(len(X))
    for j in range(X.shape[1]):
        edges = np.unique(np.concatenate([X[a, j], X[b, j]])).tolist()
        statistic, p_value = TESTS["ks"].compare(count(edges, X[a, j]), count(edges, X[b, j]), edges=edges)
        exact = stats.ks_2samp(X[a, j], X[b, j], method="asymp")
        assert statistic == pytest.approx(exact.statistic, abs=1e-12)
        assert p_value == pytest.approx(exact.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("load", [load_breast_cancer, load_diabetes])
def test_binned_wasserstein_is_scipys_within_its_bound(load) -> None:
    """The binned distance is exact for the binned distributions (mass uniform inside a bin,
    the outer bins' mass on the outer edges); against the raw values clipped to the edges,
    it is off by at most the sum over interior bins of width x (reference + current share)."""
    X = load().data
    a, b = halves(len(X))
    for j in range(X.shape[1]):
        profile = numeric_profile(X[a, j])
        edges = np.asarray(profile["edges"])
        ref, cur = np.asarray(profile["counts"]) / len(a), count(profile["edges"], X[b, j]) / len(b)
        statistic, p_value = TESTS["wasserstein"].compare(
            profile["counts"], count(profile["edges"], X[b, j]), edges=profile["edges"], scale=profile["std"]
        )
        clipped = stats.wasserstein_distance(np.clip(X[a, j], edges[0], edges[-1]), np.clip(X[b, j], *edges[[0, -1]]))
        bound = np.sum(np.diff(edges) * (ref[1:-1] + cur[1:-1]))
        assert p_value is None
        assert abs(statistic * profile["std"] - clipped) <= bound + 1e-12
        assert abs(statistic * profile["std"] - clipped) <= 0.02 * profile["std"]  # and much closer in practice


def test_wasserstein_without_a_scale_uses_the_edge_span_and_a_constant_reference_counts_moved_rows() -> None:
    bmi = load_diabetes().data[:, 2]
    profile = numeric_profile(bmi)
    shifted = count(profile["edges"], bmi + 0.01)
    with_std, _ = TESTS["wasserstein"].compare(profile["counts"], shifted, edges=profile["edges"], scale=profile["std"])
    span = profile["edges"][-1] - profile["edges"][0]
    for scale in (None, 0.0, float("nan")):
        statistic, _ = TESTS["wasserstein"].compare(profile["counts"], shifted, edges=profile["edges"], scale=scale)
        assert statistic == pytest.approx(with_std * profile["std"] / span)
    # a constant reference has one edge and no interior bin: the share of rows that moved
    assert TESTS["wasserstein"].compare([0, 100], [30, 70], edges=[5.0], scale=0.0) == (pytest.approx(0.3), None)
    with pytest.raises(ValueError, match="wasserstein needs the bin edges"):
        TESTS["wasserstein"].compare([1, 2], [2, 1])


def test_psi_groups_percentile_bins_into_deciles_of_reference_mass() -> None:
    values = np.random.default_rng(0).normal(size=100_000)
    profile = numeric_profile(values)
    group = group_bins(profile["counts"])
    assert len(profile["counts"]) == 100
    assert group.tolist() == [i // 10 for i in range(100)]
    grouped = np.bincount(group, weights=profile["counts"]) / len(values)
    assert np.allclose(grouped, 0.1, atol=1e-3)
    # the decile PSI by hand, current = reference shifted by 0.3
    shifted = count(profile["edges"], values + 0.3)
    q = np.bincount(group, weights=shifted) / len(values)
    expected = float(np.sum((q - grouped) * np.log(q / grouped)))
    assert TESTS["psi"].compare(profile["counts"], shifted, edges=profile["edges"]) == (pytest.approx(expected), None)


def test_grouping_keeps_reference_mass_in_every_group() -> None:
    # a heavy bin (a frequent value), empty leading and trailing bins
    counts = [0, 0, 5, 5, 40, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0]
    group = group_bins(counts)
    mass = np.bincount(group, weights=counts)
    assert np.all(mass > 0)
    assert group.tolist() == [0, 0, 0, 0, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 6, 6]
    assert np.all(np.diff(group) >= 0)


def test_psi_replaces_empty_proportions_with_epsilon() -> None:
    assert TESTS["psi"].compare([50, 50], [60, 40]) == (pytest.approx(0.1 * math.log(1.2) - 0.1 * math.log(0.8)), None)
    statistic, _ = TESTS["psi"].compare([50, 50, 0], [50, 40, 10])
    p, q = np.array([0.5, 0.5, EPSILON]), np.array([0.5, 0.4, 0.1])
    assert statistic == pytest.approx(float(np.sum((q - p) * np.log(q / p))))


# -- categorical columns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("load", "thinned"),
    [(load_digits, [0, 1, 2, 3]), (load_breast_cancer, [0])],
    ids=["digits", "breast_cancer"],
)
def test_categorical_tests_flag_a_changed_mix_and_not_an_unchanged_one(load, thinned) -> None:
    y = load().target.astype(str)
    a, b = halves(len(y))
    ref, same = category_counts(y[a], y[b])
    rng = np.random.default_rng(1)
    dropped = np.isin(y[b], [str(c) for c in thinned]) & (rng.random(len(b)) < 0.8)
    _, changed = category_counts(y[a], y[b][~dropped])
    for name in CATEGORICAL:
        assert not drifted(name, TESTS[name].compare(ref, same)[0]), name
        assert drifted(name, TESTS[name].compare(ref, changed)[0]), name


def test_a_new_category_lands_in_other_and_drifts() -> None:
    y = load_digits().target.astype(str)
    a, b = halves(len(y))
    current = np.where(np.random.default_rng(2).random(len(b)) < 0.1, "new", y[b])  # 10% of a new value
    ref, cur = category_counts(y[a], current)
    assert ref[-1] == 0 and cur[-1] > 0
    for name in CATEGORICAL:
        statistic, p_value = TESTS[name].compare(ref, cur)
        assert math.isfinite(statistic) and drifted(name, statistic), name
    assert TESTS["chi2"].compare(ref, cur)[1] < 1e-10


def test_chi2_is_cramers_v_of_the_balanced_table_with_the_homogeneity_p_value() -> None:
    y = load_digits().target
    a, b = halves(len(y))
    ref, cur = np.bincount(y[a], minlength=10), np.bincount(y[b][y[b] != 3], minlength=10)
    statistic, p_value = TESTS["chi2"].compare(ref, cur)
    table = np.vstack([ref, cur])
    chi2, expected_p, dof, _ = stats.chi2_contingency(table[:, table.sum(axis=0) > 0], correction=False)
    assert p_value == pytest.approx(expected_p, rel=1e-9)
    assert dof == 9
    # with equal totals, the plain Cramér's V of the table
    ref_800, cur_800 = np.bincount(y[a][:800], minlength=10), np.bincount(y[b][y[b] != 3][:800], minlength=10)
    plain = stats.contingency.association(np.vstack([ref_800, cur_800]), method="cramer")
    assert TESTS["chi2"].compare(ref_800, cur_800)[0] == pytest.approx(plain, rel=1e-12)
    # and unchanged however many rows each side has; only the p-value moves
    bigger, bigger_p = TESTS["chi2"].compare(ref * 100, cur)
    assert bigger == pytest.approx(statistic) and bigger_p < p_value
    assert TESTS["chi2"].compare([10, 0], [0, 5])[0] == pytest.approx(1.0)
    assert TESTS["chi2"].compare([10, 0, 0], [7, 0, 0]) == (0.0, 1.0)


def test_js_is_symmetric_bounded_and_scipys() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        k = int(rng.integers(1, 12))
        p, q = rng.integers(0, 20, k), rng.integers(0, 20, k)
        p[0] += 1
        q[-1] += 1
        forward, backward = TESTS["js"].compare(p, q)[0], TESTS["js"].compare(q, p)[0]
        assert forward == pytest.approx(backward, abs=1e-12)
        assert 0.0 <= forward <= 1.0
        assert forward == pytest.approx(jensenshannon(p, q, base=2), abs=1e-9)
    assert TESTS["js"].compare([5, 0], [0, 3]) == (1.0, None)
    assert TESTS["js"].compare([5, 7], [10, 14]) == (0.0, None)


# -- edge cases --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TESTS))
def test_an_empty_side_is_nan_and_bad_counts_raise(name: str) -> None:
    edges = [0.0, 1.0]
    for reference, current in (([3, 4, 5], [0, 0, 0]), ([0, 0, 0], [3, 4, 5])):
        statistic, p_value = TESTS[name].compare(reference, current, edges=edges, scale=1.0)
        assert math.isnan(statistic) and p_value is None
    with pytest.raises(ValueError, match="reference has 3 bins but current has 2"):
        TESTS[name].compare([1, 2, 3], [1, 2], edges=edges)
    with pytest.raises(ValueError, match="must be finite and non-negative"):
        TESTS[name].compare([1, 2, 3], [1, -2, 3], edges=edges)
    with pytest.raises(ValueError, match="2 edges make 3 bins, but the counts have 4"):
        TESTS[name].compare([1, 2, 3, 4], [1, 2, 3, 4], edges=edges)


@pytest.mark.parametrize("name", sorted(TESTS))
def test_identical_distributions_are_zero(name: str) -> None:
    statistic, p_value = TESTS[name].compare([10, 20, 30, 40], [1, 2, 3, 4], edges=[0.0, 1.0, 2.0], scale=1.0)
    assert statistic == pytest.approx(0.0, abs=1e-12)
    assert p_value is None or p_value == pytest.approx(1.0)


# -- p-values against scipy ---------------------------------------------------------------------------

#: n x^2 picks the method in kolmogorov_sf (as in scipy): these values straddle every switch point
#: (0.754693, 2.2, 4, 370 and n x^1.5 = 1.4), and the sizes straddle n = 140, 100,000 and 1,000,000
KS_NXX = [0.02, 0.3, 0.75, 0.76, 1.5, 2.1, 2.3, 3.9, 4.1, 10.0, 100.0, 369.0, 371.0]
KS_SIZES = [1, 2, 3, 5, 10, 57, 110, 140, 141, 142, 1000, 16_667, 100_000, 100_001, 1_000_001, 3_000_000]


@pytest.mark.parametrize("n", KS_SIZES)
def test_the_ks_p_value_is_scipys_kstwo_by_every_method(n: int) -> None:
    """kolmogorov_sf against scipy.stats.kstwo.sf: Ruben-Gambino below 1/n and from 1 - 1/n,
    Durbin's matrix, Pomeranz, Pelz-Good, twice Smirnov's one-sided probability, and 0."""
    xs = [math.sqrt(c / n) for c in KS_NXX]
    xs += [0.4 / n, 0.5 / n, 0.6 / n, 1 / n, 1.5 / n, 0.3, 0.5, 0.7, 1 - 1.5 / n, 1 - 0.5 / n, 1.0]
    for x in (x for x in xs if 0 <= x <= 1):
        assert kolmogorov_sf(x, n) == pytest.approx(stats.kstwo.sf(x, n), rel=1e-9, abs=1e-300), (n, x)


def test_ks_p_value_uses_the_effective_size_of_both_samples() -> None:
    assert ks_p_value(0.05, 20_000, 100_000) == pytest.approx(stats.kstwo.sf(0.05, 16_667), rel=1e-12)
    assert ks_p_value(0.1, 221, 221) == pytest.approx(stats.kstwo.sf(0.1, 110), rel=1e-12)  # 110.5: to even
    assert ks_p_value(0.3, 1, 1) == 1.0 and ks_p_value(1.0, 1, 1) == 0.0


def test_smirnov_and_chi_square_survival_are_scipys() -> None:
    """The two sums behind the p-values, over sizes and tails where scipy still has digits."""
    rng = np.random.default_rng(4)
    for n in [2, 3, 10, 141, 1000, 16_667]:
        xs = np.concatenate([rng.random(8), rng.random(8) * 5 / math.sqrt(n), [1 / n, 0.5, 1 - 1 / n]])
        for x in xs[(xs >= 0) & (xs <= 1)].tolist():
            assert smirnov_sf(n, x) == pytest.approx(special.smirnov(n, x), rel=1e-9, abs=1e-300), (n, x)
    for n, x in [(100_000, 0.0048), (100_000, 0.3), (500_000, 0.0021)]:  # scipy takes ~1 s for each
        assert smirnov_sf(n, x) == pytest.approx(special.smirnov(n, x), rel=1e-9), (n, x)
    for dof in [*range(1, 60), 99, 100, 1000, 1001, 100_000]:
        for statistic in [0.0, 1e-8, dof / 3, dof, 3 * dof, 10 * dof + 200, 1400.0]:
            expected = stats.chi2.sf(statistic, dof)
            assert chi2_sf(statistic, dof) == pytest.approx(expected, rel=1e-9, abs=1e-300), (dof, statistic)


# -- effect size decides, p-values are reported ------------------------------------------------------


def test_at_a_million_rows_a_tiny_shift_is_significant_but_not_drift() -> None:
    """Evidently's users saw every column drift at full size and none on a 5% sample: with
    enough rows any p-value falls below 0.05. A 1% change on a million rows a side gives
    p-values below 1e-100, yet every effect size stays under half its threshold."""
    rng = np.random.default_rng(0)
    radius = load_breast_cancer().data[:, 0]

    def draw(n: int) -> np.ndarray:  # the column's distribution, smoothed
        return rng.choice(radius, n) + rng.normal(0.0, 0.1 * radius.std(), n)

    n = 1_000_000
    reference = draw(n)
    same = compare_numeric(reference, draw(n))
    shifted = compare_numeric(reference, draw(n) * 1.01)  # every value 1% larger
    assert same["ks"][1] > 1e-3
    assert shifted["ks"][1] < 1e-100
    for name in NUMERIC:
        assert shifted[name][0] < TESTS[name].default_threshold / 2, name
        assert same[name][0] < shifted[name][0] / 5, name

    freq = np.bincount(load_digits().target) / len(load_digits().target)
    moved = freq.copy()
    moved[1] -= 0.01
    moved[7] += 0.01  # 1% of the rows change class
    ref = np.bincount(rng.choice(10, n, p=freq), minlength=10)
    cur = np.bincount(rng.choice(10, n, p=moved), minlength=10)
    assert TESTS["chi2"].compare(ref, cur)[1] < 1e-100
    for name in CATEGORICAL:
        assert TESTS[name].compare(ref, cur)[0] < TESTS[name].default_threshold / 2, name


def test_effect_sizes_depend_on_proportions_only_and_p_values_on_rows() -> None:
    X = load_breast_cancer().data
    a, b = halves(len(X))
    profile = numeric_profile(X[a, 0])
    current = count(profile["edges"], X[b, 0] * 1.05)
    small = {
        name: TESTS[name].compare(profile["counts"], current, edges=profile["edges"], scale=profile["std"])
        for name in TESTS
    }
    large = {
        name: TESTS[name].compare(
            np.asarray(profile["counts"]) * 1000, current * 1000, edges=profile["edges"], scale=profile["std"]
        )
        for name in TESTS
    }
    for name in TESTS:
        assert large[name][0] == pytest.approx(small[name][0], rel=1e-12), name
    assert small["ks"][1] > 0.01 and large["ks"][1] < 1e-100
    assert small["chi2"][1] > 1e-3 and large["chi2"][1] < 1e-100
