"""The evaluation recipe: true metrics on labelled feedback, drift found where injected and
nowhere else, merge exactness across chunk sizes, estimated performance without labels,
production predictions against re-scoring, the history, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import evaluate as evaluate_module
from modelcycle import hookimpl, open_project
from modelcycle.cli import main
from modelcycle.interfaces import DriftTest
from sklearn.datasets import load_breast_cancer

from tests.conftest import write_settings

FAST = "params = { max_iter = 30 }\nthreads = 1\n"


def cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame


def make(tmp_path: Path, frame: pd.DataFrame, model: str, **kwargs):
    folder = tmp_path / "proj"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "train.parquet", index=False)
    write_settings(folder, f'[project]\nname = "t"\n[datasets.d]\nurl = "train.parquet"\n{model}')
    project = open_project(folder, **kwargs)
    project.train("m")
    return project


@pytest.fixture
def trained(tmp_path: Path):
    """A binary model trained on 400 breast-cancer rows; the other 169 are feedback."""
    frame = cancer().sample(frac=1.0, random_state=0).reset_index(drop=True)
    project = make(tmp_path, frame.iloc[:400], f'[models.m]\ndataset = "d"\ntarget = "target"\n{FAST}')
    return project, frame.iloc[400:].reset_index(drop=True)


def without_noise(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("id", "evaluated_at", "seconds")}


def test_labelled_feedback_gives_true_metrics_and_little_drift(trained) -> None:
    project, feedback = trained
    record = project.evaluate("m", feedback)
    assert {"id", "model", "version", "evaluated_at", "rows", "labeled_rows", "metrics", "estimated", "drift"} <= set(
        record.keys()
    )
    assert (record["rows"], record["labeled_rows"], record["version"]) == (169, 169, 1)
    assert record["metrics"]["roc_auc"] > 0.95
    assert record["drift"]["share"] <= 0.1
    column = record["drift"]["columns"]["mean_radius"]
    assert set(column) >= {"method", "statistic", "p_value", "drifted"} and column["method"] == "auto"
    assert set(record["drift"]["prediction"]) >= {"method", "statistic", "drifted"}
    model = project.load_model("m")
    proba = model.predict_proba(feedback.drop(columns="target"))[:, 1]
    from sklearn.metrics import roc_auc_score

    assert record["metrics"]["roc_auc"] == pytest.approx(roc_auc_score(feedback["target"], proba), abs=1e-9)


def test_covariate_shift_is_found_where_injected_and_not_elsewhere(trained) -> None:
    project, feedback = trained
    shifted = feedback.copy()
    shifted["mean_texture"] = shifted["mean_texture"] + 2 * feedback["mean_texture"].std()
    record = project.evaluate("m", shifted)
    assert record["drift"]["drifted_columns"] == ["mean_texture"]
    assert record["drift"]["columns"]["mean_texture"]["statistic"] > 0.5


def test_label_shift_is_found_in_labels_and_predictions(trained) -> None:
    project, feedback = trained
    malignant = pd.concat([feedback[feedback["target"] == 0]] * 4 + [feedback[feedback["target"] == 1].head(10)])
    record = project.evaluate("m", malignant.reset_index(drop=True))
    assert record["drift"]["label"]["drifted"] is True
    assert record["drift"]["prediction"]["drifted"] is True


def test_new_categories_and_missing_rates_are_reported(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=800), "city": rng.choice(["a", "b", "c"], size=800)})
    frame["y"] = (frame["x"] + (frame["city"] == "a") > 0.3).astype(int)
    project = make(tmp_path, frame, f'[models.m]\ndataset = "d"\ntarget = "y"\n{FAST}')
    new = frame.sample(300, random_state=1).reset_index(drop=True)
    new.loc[:99, "city"] = "zz"
    new.loc[:149, "x"] = np.nan
    record = project.evaluate("m", new)
    city, x = record["drift"]["columns"]["city"], record["drift"]["columns"]["x"]
    assert city["new_categories"] == ["zz"] and city["drifted"] is True
    assert x["missing_rate"] == {"reference": 0.0, "current": 0.5}


def test_results_do_not_depend_on_the_chunk_size(trained, monkeypatch) -> None:
    project, feedback = trained
    big = project.evaluate("m", feedback)
    monkeypatch.setattr(evaluate_module, "BATCH_ROWS", 7)
    small = project.evaluate("m", feedback)
    assert without_noise(small) == without_noise(big)


def test_estimated_performance_tracks_realised_accuracy_on_calibrated_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)

    def draw(rows: int, shift: float = 0.0) -> pd.DataFrame:
        x = rng.normal(loc=shift, size=(rows, 3))
        p = 1 / (1 + np.exp(-(1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.3)))
        return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": (rng.random(rows) < p).astype(int)})

    model = (
        '[models.m]\ndataset = "d"\ntarget = "y"\nestimator = "sklearn.linear_model.LogisticRegression"\nthreads = 1\n'
    )
    project = make(tmp_path, draw(6000), model)
    for shift in (0.0, 0.7):
        new = draw(5000, shift)
        record = project.evaluate("m", new.drop(columns="y"))
        assert record["labeled_rows"] == 0 and record["metrics"] == {}
        realised = project.evaluate("m", new)["metrics"]
        # 5,000 rows: the accuracy's standard error is under 0.007; allow 3 of them plus calibration error
        assert record["estimated"]["accuracy"] == pytest.approx(realised["accuracy"], abs=0.03)
        assert record["estimated"]["roc_auc"] == pytest.approx(realised["roc_auc"], abs=0.03)


def test_production_predictions_match_rescoring(trained) -> None:
    project, feedback = trained
    model = project.load_model("m")
    served = feedback.copy()
    proba = model.predict_proba(feedback.drop(columns="target"))
    served["proba_0"], served["proba_1"] = proba[:, 0], proba[:, 1]
    served["prediction"] = (proba[:, 1] >= 0.5).astype(int)
    served["model_version"] = 1
    production = project.evaluate("m", served)
    rescored = project.evaluate("m", feedback)
    assert production["mode"] == "production" and rescored["mode"] == "rescore"
    for name, value in rescored["metrics"].items():
        assert production["metrics"][name] == pytest.approx(value, abs=1e-6), name
    assert production["drift"]["share"] == rescored["drift"]["share"]


def test_production_predictions_of_two_versions_give_two_records(trained) -> None:
    project, feedback = trained
    project.train("m")
    served = feedback.drop(columns=[c for c in feedback.columns if c.startswith("worst")]).copy()
    served["prediction"] = feedback["target"]
    served["model_version"] = [1, 2] * (len(served) // 2) + [1] * (len(served) % 2)
    records = project.evaluate("m", served)
    assert [r["version"] for r in records] == [1, 2]
    assert [r["rows"] for r in records] == [85, 84]
    assert records[0]["metrics"]["accuracy"] == 1.0 and records[0]["metrics"]["roc_auc"] is None
    assert records[0]["drift"]["columns"]["worst_area"]["absent"] is True


def test_unlabelled_rows_are_counted_and_left_out(trained) -> None:
    project, feedback = trained
    partial = feedback.copy()
    partial["target"] = partial["target"].astype("float64")
    partial.loc[:68, "target"] = np.nan
    record = project.evaluate("m", partial)
    assert (record["rows"], record["labeled_rows"]) == (169, 100)
    assert record["metrics"] == project.evaluate("m", feedback.iloc[69:])["metrics"]


def test_history_and_its_commands(trained, capsys) -> None:
    project, feedback = trained
    for i in range(3):
        project.evaluate("m", feedback.sample(100, random_state=i))
    frame = project.history("m")
    assert list(frame["id"]) == [1, 2, 3] and "roc_auc" in frame.columns and "drift.share" in frame.columns
    assert list(project.history("m", "roc_auc").columns) == ["id", "evaluated_at", "version", "challenger", "roc_auc"]
    folder = str(project.settings.root)
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "history", "m", "--metric", "roc_auc", "--json"])
    values = json.loads(capsys.readouterr().out)
    assert info.value.code == 0 and [v["id"] for v in values] == [1, 2, 3] and 0.9 < values[0]["value"] <= 1
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "history", "m", "--json"])
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 3 and records[0]["drift"]["columns"]
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "history", "m", "--metric", "auc"])
    assert info.value.code == 2 and capsys.readouterr().err.startswith("error: no metric 'auc' in the history")


def test_the_evaluate_command(trained, capsys) -> None:
    project, feedback = trained
    folder = project.settings.root
    feedback.to_csv(folder / "feedback.csv", index=False)
    with pytest.raises(SystemExit) as info:
        main(["--project", str(folder), "evaluate", "m", str(folder / "feedback.csv"), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert info.value.code == 0 and record["labeled_rows"] == 169 and record["id"] == 1
    with pytest.raises(SystemExit) as info:
        main(["--project", str(folder), "evaluate", "m", str(folder / "feedback.csv")])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "evaluation 2 on 169 rows (169 labelled)" in out and "roc_auc=" in out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


BAD = [
    (
        lambda f: f.drop(columns=["mean_radius"]).drop(columns="target"),
        "error: data feedback.csv has neither the prediction column 'prediction' nor the feature 'mean_radius'",
    ),
    (
        lambda f: f.assign(target=np.where(f["target"] == 1, "yes", "no")),
        "error: data feedback.csv: label 'no' in column 'target' is not a class of version 1 (classes: 0, 1)",
    ),
    (lambda f: f.head(0), "error: data feedback.csv has no rows"),
]


@pytest.mark.parametrize(("change", "expected"), BAD)
def test_bad_input_records_nothing(trained, capsys, monkeypatch, change, expected) -> None:
    project, feedback = trained
    folder = project.settings.root
    monkeypatch.chdir(folder)
    change(feedback).to_csv(folder / "feedback.csv", index=False)
    before = snapshot(folder / ".modelcycle")
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "m", "feedback.csv"])
    err = capsys.readouterr().err
    expected = expected.replace("data feedback.csv", f"data {folder / 'feedback.csv'}")  # the path as tried
    assert info.value.code == 2 and err.startswith(expected), err
    assert err.count("\n") == 1
    assert snapshot(folder / ".modelcycle") == before


def test_an_unknown_version_records_nothing(trained, capsys) -> None:
    project, feedback = trained
    folder = project.settings.root
    feedback.to_csv(folder / "feedback.csv", index=False)
    before = snapshot(folder / ".modelcycle")
    with pytest.raises(SystemExit) as info:
        main(["--project", str(folder), "evaluate", "m", str(folder / "feedback.csv"), "--version", "9"])
    assert info.value.code == 2 and capsys.readouterr().err.startswith("error: model 'm' has no version 9")
    assert snapshot(folder / ".modelcycle") == before


class HalfTest(DriftTest):
    """A test plugin's drift test: the share of current rows in the reference's upper half of bins."""

    name = "upper_half"
    kinds = ("numeric",)
    default_threshold = 0.75

    def compare(self, reference, current, *, edges=None, scale=None):
        half = len(current) // 2
        return float(current[half:].sum() / current.sum()), None


class HalfPlugin:
    __name__ = "half"

    @hookimpl
    def register_drift_tests(self):
        return [HalfTest]


def test_a_plugin_drift_test_is_used_by_name(tmp_path: Path) -> None:
    frame = cancer()
    model = (
        f'[models.m]\ndataset = "d"\ntarget = "target"\nfeatures = ["mean_radius", "mean_texture"]\n{FAST}'
        '[models.m.drift]\ncolumns = { mean_radius = "upper_half" }\n'
    )
    project = make(tmp_path, frame, model, plugins=[HalfPlugin()])
    shifted = frame.assign(mean_radius=frame["mean_radius"] + 5)
    column = project.evaluate("m", shifted)["drift"]["columns"]["mean_radius"]
    assert column["method"] == "upper_half" and column["drifted"] is True and column["statistic"] > 0.9


def test_a_long_history_reads_segment_summaries_and_matches_the_full_records(trained) -> None:
    project, feedback = trained
    record = project.evaluate("m", feedback)
    for i in range(70):
        copy = {**record, "rows": i, "id": 999}  # a caller's id never overrides the sequence number
        project.record_evaluation("m", copy)
    summaries_file = project.settings.root / ".modelcycle" / "evaluations" / "m" / "segments" / "000000.summary.json"
    assert summaries_file.exists()
    expected = evaluate_module.history_frame(project.evaluations("m"))
    assert project.history("m").equals(expected)
    assert list(project.history("m")["id"]) == list(range(1, 72))
    summaries_file.unlink()  # a writer killed before the summary: the full segment stands in
    assert project.history("m").equals(expected)


def test_a_misspelled_drift_test_fails_when_the_project_opens(tmp_path: Path) -> None:
    from modelcycle.errors import SettingsError

    write_settings(tmp_path, '[project]\n[datasets.d]\nurl = "d.csv"\n[models.m]\ndataset = "d"\ntarget = "y"\n'
                   '[models.m.drift]\ncolumns = { age = "kss" }\n')
    with pytest.raises(SettingsError, match=r"models.m.drift.columns.age: unknown drift test 'kss'; did you mean 'ks'\?"):
        open_project(tmp_path)
