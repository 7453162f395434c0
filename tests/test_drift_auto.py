"""The default drift method ("auto") and per-column drift settings, through `evaluate`.

A model is trained once on 50,000 synthetic rows (a 10,000-row holdout is the reference).
Each shift the old defaults could not see is injected into 20,000 new rows, which go
through the real evaluate path (chunked reading, states, profile comparison); the test
asserts the column drifted, by the measure meant to see it, and that nothing else did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.drift_settings import smallest_detected
from modelcycle.profile import column_profile
from modelcycle.states import NumericState, state_for
from modelcycle_metrics.drift import ChiSquare, JensenShannon, Psi, auto_categorical, auto_numeric

from tests.conftest import write_settings

SHARES = [0.4, 0.25, 0.15, 0.12, 0.08]
CATEGORIES = np.array(["a", "b", "c", "d", "e"], dtype=object)
MODEL = '[models.m]\ndataset = "d"\ntarget = "y"\nparams = { max_iter = 20 }\nthreads = 1\n'


def synthetic(rows: int, seed: int, shares=SHARES) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(50.0, 10.0, rows),
            "u": rng.uniform(0.0, 1.0, rows),
            "c": CATEGORIES[rng.choice(len(shares), rows, p=shares)],
        }
    )
    frame.loc[rng.random(rows) < 0.05, "u"] = np.nan
    frame["y"] = ((frame["x"] - 50) / 10 + (frame["c"] == "a") + rng.normal(0, 1, rows) > 0.5).astype(int)
    return frame


def project_with(folder: Path, drift: str = ""):
    folder.mkdir(parents=True, exist_ok=True)
    write_settings(folder, f'[project]\nname = "t"\n[datasets.d]\nurl = "train.parquet"\n{MODEL}{drift}')
    return open_project(folder)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("auto") / "proj"
    folder.mkdir()
    synthetic(50_000, 0).to_parquet(folder / "train.parquet", index=False)
    project = project_with(folder)
    project.train("m")
    return project


def fresh(seed: int = 1) -> pd.DataFrame:
    return synthetic(20_000, seed)


def reference(project) -> dict:
    import json

    return json.loads(project.registry.read_attachment("m", 1, "profile.json"))


def cap(frame: pd.DataFrame, trained) -> pd.DataFrame:
    p90 = reference(trained)["columns"]["x"]["edges"][89]  # the reference's 90th percentile
    return frame.assign(x=np.minimum(frame["x"], p90))


def unit_error(frame: pd.DataFrame, factor: float) -> pd.DataFrame:
    rows = np.random.default_rng(5).random(len(frame)) < 0.05
    return frame.assign(x=np.where(rows, frame["x"] * factor, frame["x"]))


def more_missing(frame: pd.DataFrame) -> pd.DataFrame:
    rows = np.random.default_rng(6).random(len(frame)) < 0.06
    return frame.assign(x=np.where(rows, np.nan, frame["x"]))


def beyond_range(frame: pd.DataFrame) -> pd.DataFrame:
    rows = np.random.default_rng(7).random(len(frame)) < 0.01
    return frame.assign(x=np.where(rows, 200.0, frame["x"]))


def move(frame: pd.DataFrame, points: float) -> pd.DataFrame:
    shares = list(SHARES)
    shares[3] -= points  # d: 12 % -> 10 %
    shares[4] += points  # e: 8 % -> 10 %
    return synthetic(len(frame), 11, shares)


def new_category(frame: pd.DataFrame) -> pd.DataFrame:
    rows = np.random.default_rng(8).random(len(frame)) < 0.015
    return frame.assign(c=np.where(rows, "zz", frame["c"]))


SHIFTS = {
    "mean +0.1 sd": ("x", "wasserstein", lambda f, t: f.assign(x=f["x"] + 1.0)),
    "spread x1.1": ("x", "wasserstein", lambda f, t: f.assign(x=(f["x"] - 50) * 1.1 + 50)),
    "capped at p90": ("x", "ks", cap),
    "5% of rows x100": ("x", "out_of_range", lambda f, t: unit_error(f, 100.0)),
    "5% of rows x1000": ("x", "out_of_range", lambda f, t: unit_error(f, 1000.0)),
    "missing +6 pp": ("x", "missing", lambda f, t: more_missing(f)),
    "1 pp beyond the range": ("x", "out_of_range", lambda f, t: beyond_range(f)),
    "category move 2 pp": ("c", "shares", lambda f, t: move(f, 0.02)),
    "new category 1.5 %": ("c", "new_categories", lambda f, t: new_category(f)),
}


def test_unchanged_data_drifts_nowhere(trained) -> None:
    drift = trained.evaluate("m", fresh())["drift"]
    assert drift["drifted_columns"] == [] and drift["share"] == 0.0
    x, c = drift["columns"]["x"], drift["columns"]["c"]
    assert x["method"] == "auto" and x["reasons"] == [] and x["score"] < 1
    assert set(x["measures"]) == {"wasserstein", "ks", "out_of_range", "missing", "psi"}
    assert set(c["measures"]) == {"shares", "new_categories", "missing", "js", "psi"}
    assert all(m["statistic"] < m["threshold"] for m in x["measures"].values() if "threshold" in m)


@pytest.mark.parametrize("shift", list(SHIFTS))
def test_each_shift_the_old_defaults_missed_is_flagged_by_its_measure(trained, shift: str) -> None:
    column, measure, change = SHIFTS[shift]
    drift = trained.evaluate("m", change(fresh(), trained))["drift"]
    result = drift["columns"][column]
    assert drift["drifted_columns"] == [column], (shift, drift["drifted_columns"])
    assert result["drifted"] is True and measure in result["reasons"], result["reasons"]
    judged = result["measures"][measure]
    assert judged["statistic"] >= judged["threshold"] and judged["statistic"] > judged["noise"]
    assert result["score"] >= 1


def test_a_tiny_mean_shift_is_not_drift(trained) -> None:
    shifted = fresh().assign(x=lambda f: f["x"] + 0.2)  # 0.02 sd
    assert trained.evaluate("m", shifted)["drift"]["drifted_columns"] == []


def test_each_result_says_what_it_can_see(trained) -> None:
    drift = trained.evaluate("m", fresh())["drift"]
    assert drift["columns"]["x"]["sees"].startswith("flags a mean shift >= 0.05 sd or a spread change >= x1.06")
    assert "outside the reference range" in drift["columns"]["x"]["sees"]
    assert drift["columns"]["c"]["sees"].startswith("flags a category share change >= 1 pp")


def test_the_largest_share_change_names_its_category(trained) -> None:
    result = trained.evaluate("m", move(fresh(), 0.03))["drift"]["columns"]["c"]
    assert result["measures"]["shares"]["category"] in ("d", "e")
    assert result["statistic"] == pytest.approx(result["measures"]["shares"]["statistic"])


# -- per-column settings -----------------------------------------------------------------------


def test_per_column_settings_choose_method_threshold_and_exclusion(trained, tmp_path: Path) -> None:
    folder = trained.settings.root
    text = (folder / "modelcycle.toml").read_text(encoding="utf-8")
    (folder / "modelcycle.toml").write_text(
        text
        + '[models.m.drift.columns.x]\nmethod = "ks"\nthreshold = 0.3\n'
        + "[models.m.drift.columns.u]\nexclude = true\n"
        + "[models.m.drift.columns.c]\nthreshold = { shares = 0.5 }\n",
        encoding="utf-8",
    )
    try:
        project = open_project(folder)
        shifted = move(fresh(), 0.05).assign(x=lambda f: f["x"] + 2.0, u=lambda f: f["u"] * 3)
        drift = project.evaluate("m", shifted)["drift"]
    finally:
        (folder / "modelcycle.toml").write_text(text, encoding="utf-8")
    x, u, c = drift["columns"]["x"], drift["columns"]["u"], drift["columns"]["c"]
    assert x["method"] == "ks" and x["threshold"] == 0.3 and 0.05 < x["statistic"] < 0.3 and x["drifted"] is False
    assert x["sees"].startswith("flags ks >= 0.3: a normal mean shift >= ")
    assert u == {"method": None, "statistic": None, "p_value": None, "drifted": None, "excluded": True}
    assert c["method"] == "auto" and c["measures"]["shares"]["threshold"] == 0.5 and c["drifted"] is False
    assert drift["share"] == 0.0 and drift["drifted_columns"] == []  # u is left out of the share


def test_model_thresholds_reach_the_auto_measures_and_a_column_name_alone_still_works(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    synthetic(20_000, 0).to_parquet(folder / "train.parquet", index=False)
    project = project_with(folder, '[models.m.drift]\nthreshold = { wasserstein = 0.5 }\ncolumns = { c = "chi2" }\n')
    project.train("m")
    drift = project.evaluate("m", synthetic(20_000, 1).assign(x=lambda f: f["x"] + 2.0))["drift"]
    x, c = drift["columns"]["x"], drift["columns"]["c"]
    assert x["measures"]["wasserstein"]["threshold"] == 0.5 and "wasserstein" not in x["reasons"]
    assert c["method"] == "chi2" and c["threshold"] == 0.1


def test_a_named_test_keeps_its_small_sample_guard(trained) -> None:
    """psi chosen by name has no p-value of its own: the KS p-value guards it, as chi-square guards js."""
    folder = trained.settings.root
    text = (folder / "modelcycle.toml").read_text(encoding="utf-8")
    (folder / "modelcycle.toml").write_text(
        text + '[models.m.drift]\nmethod = "psi"\nthreshold = { psi = 0.01 }\n[models.m.drift.columns]\nc = "js"\n'
        '[models.m.drift.columns.u]\nmethod = "wasserstein"\nthreshold = 0.01\n',
        encoding="utf-8",
    )
    try:
        drift = open_project(folder).evaluate("m", fresh().head(60))["drift"]
    finally:
        (folder / "modelcycle.toml").write_text(text, encoding="utf-8")
    for name in ("x", "u", "c"):
        result = drift["columns"][name]
        assert result["statistic"] >= result["threshold"], name  # noise alone reaches a tiny threshold
        assert result["p_value"] > 0.05 and result["drifted"] is False, name


# -- the measures on arrays, the state, and what each default sees ----------------------------------


def counted(profile: dict, values, chunks: int = 1) -> NumericState:
    state = state_for(profile)
    for part in np.array_split(np.asarray(values, dtype="float64"), chunks):
        state.add(part)
    return state


def test_states_count_values_outside_the_reference_range_and_merge_by_addition() -> None:
    rng = np.random.default_rng(0)
    profile = column_profile(pd.Series(rng.normal(size=10_000)))
    values = np.concatenate([rng.normal(size=50_000), [100.0, -100.0, np.nan]])
    whole = counted(profile, values)
    merged = counted(profile, values[:7]).merge(counted(profile, values[7:], chunks=13))
    assert whole.outside == merged.outside >= 2
    assert whole.outside == int(np.sum((values < profile["min"]) | (values > profile["max"])))
    assert np.array_equal(whole.counts, merged.counts) and whole.missing == merged.missing == 1


def test_a_profile_without_minimum_and_maximum_still_evaluates_and_says_what_is_missing(trained) -> None:
    from modelcycle.evaluate import _compare

    profile = {k: v for k, v in reference(trained)["columns"]["x"].items() if k not in ("min", "max")}
    state = counted(profile, fresh()["x"].to_numpy() + 1.0)
    registry = trained.host.classes("drift_tests")
    make = trained.context.maker("drift_tests", "models.m.drift")
    result = _compare(registry, make, None, "x", profile, state)
    assert result["drifted"] is True and "out_of_range" not in result["measures"]
    assert result["notes"] == ["the reference profile has no minimum and maximum: out_of_range not measured"]


def test_the_noise_bound_keeps_small_samples_quiet_where_the_threshold_alone_would_not() -> None:
    rng = np.random.default_rng(3)
    profile = column_profile(pd.Series(rng.normal(size=20_000)))
    flagged = 0
    for _ in range(50):
        state = counted(profile, rng.normal(size=200))
        measures = auto_numeric(profile["counts"], state.counts, edges=profile["edges"], scale=profile["std"])
        flagged += measures["wasserstein"]["drifted"] or measures["ks"]["drifted"]
        assert measures["wasserstein"]["noise"] > 0.05  # at 200 rows noise alone is above the threshold
    assert flagged <= 1
    ref = np.array([4000, 2500, 1500, 1200, 800, 0])
    cur = np.array([39, 26, 16, 10, 9, 0])  # a 2 pp change, on 100 rows
    assert auto_categorical(ref, cur)["shares"]["drifted"] is False


def test_what_each_named_default_sees_matches_the_documented_blind_spots() -> None:
    """The old defaults: PSI 0.2 over deciles needs a 0.46 sd mean shift, JS 0.1 a 7.3 pp move."""
    assert smallest_detected(Psi(), "numeric", 0.2) == pytest.approx(0.458, abs=0.002)
    assert smallest_detected(JensenShannon(), "categorical", 0.1) == pytest.approx(0.073, abs=0.001)
    assert smallest_detected(ChiSquare(), "categorical", 0.1) == pytest.approx(0.0625, abs=0.001)
    assert smallest_detected(Psi(), "numeric", 1e9) is None


# -- datetime columns ---------------------------------------------------------------------------


def dated(rows: int, seed: int, tz: str | None = None) -> pd.DataFrame:
    frame = synthetic(rows, seed)
    rng = np.random.default_rng(seed + 100)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, rows), unit="h")
    frame["when"] = days.tz_localize(tz) if tz else days
    return frame


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_a_datetime_feature_evaluated_on_its_own_training_data_does_not_drift(tmp_path: Path, tz) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    frame = dated(4000, 0, tz)
    frame["when"] = frame["when"].dt.as_unit("us")  # what Parquet and pd.to_datetime give under pandas 3
    frame.to_parquet(folder / "train.parquet", index=False)
    project = project_with(folder)
    project.train("m")
    assert reference(project)["columns"]["when"]["kind"] == "datetime"
    drift = project.evaluate("m", str(folder / "train.parquet"))["drift"]
    assert "when" in drift["columns"] and drift["drifted_columns"] == [], drift["columns"]["when"]
    later = frame.assign(when=frame["when"] + pd.Timedelta(days=400))  # after the training period: out of range
    assert "when" in project.evaluate("m", later)["drift"]["drifted_columns"]
