"""The train recipe end to end on real data shipped with scikit-learn and on generated
mixed-type data: splits, kfold, refit, thresholds, task inference, artifact formats,
activation policies, and bad data that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import comparison, hookimpl, open_project
from modelcycle.cli import main
from modelcycle.interfaces import Metric
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from tests.conftest import write_settings

FAST = "params = { max_iter = 20 }\nthreads = 1\n"


def project_with(tmp_path: Path, frame: pd.DataFrame, model: str, *, fmt: str = "csv", **kwargs) -> object:
    folder = tmp_path / "proj"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"data.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    write_settings(folder, f'[project]\nname = "t"\n[datasets.d]\nurl = "data.{fmt}"\n{model}')
    return open_project(folder, **kwargs)


def cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame


def mixed(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    city = rng.choice(["paris", "lyon", "nice", "lille"], size=rows)
    frame = pd.DataFrame(
        {
            "x": x,
            "age": rng.integers(18, 90, rows).astype(float),
            "city": city,
            "plan": rng.choice(["basic", "pro", None], size=rows),
            "member": rng.random(rows) > 0.5,
        }
    )
    frame.loc[rng.random(rows) < 0.1, "age"] = np.nan
    logit = 1.5 * x + (city == "paris") * 1.0
    frame["churned"] = (logit + rng.normal(scale=0.5, size=rows) > 0.3).astype(int)
    return frame


CANCER_MODEL = f'[models.m]\ndataset = "d"\ntarget = "target"\n{FAST}'


def test_binary_training_records_everything(tmp_path: Path) -> None:
    project = project_with(tmp_path, cancer(), CANCER_MODEL)
    result = project.train("m")
    assert (result.version, result.activated) == (1, True)
    assert result.metrics["roc_auc"] > 0.95 and set(result.metrics) >= {"roc_auc", "log_loss", "accuracy", "f1"}
    assert result.decision["reason"] == "policy 'always' activates every new version"
    meta = project.show("m")
    assert meta["active"] and meta["task"] == "binary" and meta["threshold"] == 0.5
    assert meta["estimator"] == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert meta["dataset"]["rows"] == 569 and meta["dataset"]["fingerprint"].startswith("sha256:")
    assert meta["split"]["holdout_rows"] == 114 and meta["split"]["train_rows"] == 455
    assert {f["name"] for f in meta["features"]} == set(cancer().columns) - {"target"}
    assert meta["features"][0]["dtype"] == "float64"
    assert set(meta["libraries"]) >= {"python", "scikit-learn", "pandas", "numpy"}
    assert meta["settings_hash"].startswith("sha256:") and meta["parent_version"] is None
    profile = json.loads(project.registry.read_attachment("m", 1, "profile.json"))
    assert profile["rows"] == 114 and profile["columns"]["mean_radius"]["kind"] == "numeric"
    assert sum(profile["columns"]["mean_radius"]["counts"]) == 114
    assert profile["prediction"]["of"] == "proba_positive" and profile["label"]["kind"] == "categorical"
    insights = json.loads(project.registry.read_attachment("m", 1, "insights.json"))
    assert insights["roc"]["fpr"][0] == 0.0 and insights["roc"]["tpr"][-1] == 1.0
    assert np.array(insights["confusion"]).sum() == 114 and len(insights["calibration"]) >= 2
    assert abs(sum(insights["feature_importances"].values()) - 1) < 1e-9
    model = project.load_model("m")
    assert model.predict_proba(cancer().drop(columns="target").head(3)).shape == (3, 2)


@pytest.mark.parametrize(
    ("split", "holdout"),
    [
        ('{ method = "random", test_size = 0.25, seed = 3 }', 143),
        ('{ method = "stratified", test_size = 0.2, seed = 1 }', 114),
        ('{ method = "time", column = "mean_area", test_size = 0.1 }', 57),
    ],
)
def test_split_methods(tmp_path: Path, split: str, holdout: int) -> None:
    project = project_with(tmp_path, cancer(), CANCER_MODEL + f"split = {split}\n")
    meta = project.train("m").metadata
    assert meta["split"]["holdout_rows"] == holdout
    if "time" in split:  # the latest rows validate
        profile = json.loads(project.registry.read_attachment("m", 1, "profile.json"))
        assert profile["columns"]["mean_area"]["min"] >= cancer()["mean_area"].quantile(0.89)


def test_splits_are_deterministic_for_a_seed(tmp_path: Path) -> None:
    project = project_with(tmp_path, cancer(), CANCER_MODEL + 'split = { method = "random", seed = 7 }\n')
    first, second = project.train("m"), project.train("m")
    assert first.metrics == second.metrics


def test_kfold_reports_mean_and_std_and_fits_on_all_rows(tmp_path: Path) -> None:
    project = project_with(tmp_path, cancer(), CANCER_MODEL + 'split = { method = "kfold", folds = 4 }\n')
    result = project.train("m")
    meta = result.metadata
    assert set(meta["metrics_std"]) == set(result.metrics) and meta["metrics_std"]["roc_auc"] > 0
    assert meta["refit_full"] is True and meta["split"]["holdout_rows"] == 569
    assert result.to_json()["metrics_std"] == meta["metrics_std"]


def test_refit_full_keeps_holdout_metrics(tmp_path: Path) -> None:
    plain = project_with(tmp_path / "a", cancer(), CANCER_MODEL).train("m")
    refit = project_with(tmp_path / "b", cancer(), CANCER_MODEL + "refit_full = true\n").train("m")
    assert refit.metrics == plain.metrics and refit.metadata["refit_full"] is True


def test_thresholds_fixed_and_optimised(tmp_path: Path) -> None:
    fixed = project_with(tmp_path / "a", cancer(), CANCER_MODEL + "threshold = 0.3\n").train("m")
    assert fixed.metadata["threshold"] == 0.3 and fixed.metadata["threshold_method"] == "fixed"
    tuned = project_with(tmp_path / "b", cancer(), CANCER_MODEL + 'threshold = "optimize:f1"\n').train("m")
    default = project_with(tmp_path / "c", cancer(), CANCER_MODEL).train("m")
    assert tuned.metadata["threshold_method"] == "optimize:f1"
    assert tuned.metrics["f1"] >= default.metrics["f1"]
    assert 0.0 < tuned.metadata["threshold"] < 1.0


def test_multiclass_and_regression_are_inferred(tmp_path: Path) -> None:
    wine = load_wine(as_frame=True).frame
    result = project_with(tmp_path / "w", wine, f'[models.m]\ndataset = "d"\ntarget = "target"\n{FAST}').train("m")
    assert result.metadata["task"] == "multiclass" and result.metrics["accuracy"] > 0.8
    assert result.metadata["labels"] == [0, 1, 2]
    diabetes = load_diabetes(as_frame=True).frame
    result = project_with(tmp_path / "r", diabetes, f'[models.m]\ndataset = "d"\ntarget = "target"\n{FAST}').train("m")
    assert result.metadata["task"] == "regression" and result.metadata["threshold"] is None
    assert set(result.metrics) == {"rmse", "mae", "r2", "median_ae"} and result.metrics["r2"] > 0.2


def test_mixed_types_with_nans_and_unseen_categories(tmp_path: Path) -> None:
    project = project_with(tmp_path, mixed(), f'[models.m]\ndataset = "d"\ntarget = "churned"\n{FAST}', fmt="parquet")
    result = project.train("m")
    assert result.metrics["roc_auc"] > 0.8
    kinds = {f["name"]: f["kind"] for f in result.metadata["features"]}
    assert kinds == {
        "x": "numeric",
        "age": "numeric",
        "city": "categorical",
        "plan": "categorical",
        "member": "categorical",
    }
    new = mixed(5, seed=9).drop(columns="churned")
    new.loc[0, "city"] = "marseille"
    new.loc[1, "x"] = np.nan
    new["extra"] = 1
    assert project.load_model("m").predict_proba(new).shape == (5, 2)


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_artifact_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    project = project_with(
        tmp_path, mixed(), f'[models.m]\ndataset = "d"\ntarget = "churned"\n{FAST}artifact_format = "{fmt}"\n'
    )
    project.train("m")
    assert project.show("m")["artifact"]["format"] == fmt
    fresh = open_project(project.settings.root)
    proba = fresh.load_model("m").predict_proba(mixed(20, seed=3).drop(columns="churned"))
    assert proba.shape == (20, 2)


class LiftPlugin:
    __name__ = "lift"

    @hookimpl
    def register_metrics(self):
        class TopDecileLift(Metric):
            name = "top_decile_lift"
            tasks = ("binary",)
            needs_proba = True

            def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None):
                positive = np.asarray(y_true) == labels[1]
                top = np.argsort(-proba[:, 1])[: max(1, len(positive) // 10)]
                return float(positive[top].mean() / positive.mean())

        return [TopDecileLift]


def test_a_plugin_metric_is_used_by_name(tmp_path: Path) -> None:
    text = CANCER_MODEL + 'metrics = ["roc_auc", "top_decile_lift"]\nprimary_metric = "top_decile_lift"\n'
    project = project_with(tmp_path, cancer(), text, plugins=[LiftPlugin()])
    result = project.train("m")
    assert set(result.metrics) == {"roc_auc", "top_decile_lift"} and result.metrics["top_decile_lift"] > 1.2
    assert result.decision["metric"] == "top_decile_lift"


# -- activation policies ----------------------------------------------------------------------

DUMMY = 'estimator = "sklearn.dummy.DummyClassifier"\nparams = { strategy = "prior" }\n'
GOOD = 'estimator = "sklearn.linear_model.LogisticRegression"\nparams = { max_iter = 500 }\n'


def policy_project(tmp_path: Path, estimator: str) -> tuple[Path, object]:
    text = (
        f'[models.m]\ndataset = "d"\ntarget = "target"\nthreads = 1\n{estimator}'
        '[models.m.activation]\npolicy = "if-better"\n'
    )
    project = project_with(tmp_path, cancer(), text)
    return project.settings.root / "modelcycle.toml", project


def switch_estimator(settings_file: Path, old: str, new: str) -> object:
    settings_file.write_text(settings_file.read_text().replace(old, new))
    return open_project(settings_file)


def test_if_better_accepts_a_clearly_better_candidate(tmp_path: Path) -> None:
    settings_file, project = policy_project(tmp_path, DUMMY)
    first = project.train("m")
    assert first.activated and first.decision["reason"] == "no version is active: the first version is activated"
    result = switch_estimator(settings_file, DUMMY, GOOD).train("m")
    decision = result.decision
    assert result.activated and decision["p_value"] < 0.05 and decision["delta"] > 0.3
    assert decision["incumbent"]["version"] == 1 and decision["candidate"]["version"] == 2
    log = open_project(settings_file).show("m")["activations"]
    assert log[-1]["version"] == 2 and log[-1]["decision"]["p_value"] == decision["p_value"]
    assert log[-1]["reason"].startswith("roc_auc improved from 0.5 to 0.9")


def test_if_better_refuses_a_worse_candidate(tmp_path: Path) -> None:
    settings_file, project = policy_project(tmp_path, GOOD)
    project.train("m")
    result = switch_estimator(settings_file, GOOD, DUMMY).train("m")
    assert not result.activated and result.decision["delta"] < 0
    assert "does not beat active version 1's" in result.decision["reason"]
    assert open_project(settings_file).active_version("m") == 1


def test_if_better_refuses_a_candidate_that_is_not_significantly_better(tmp_path: Path) -> None:
    _, project = policy_project(tmp_path, GOOD)
    project.train("m")
    result = project.train("m")  # the same model again: no improvement at all
    assert not result.activated and result.decision["p_value"] == 1.0
    assert "is not a significant improvement (paired bootstrap p=1" in result.decision["reason"]
    assert project.active_version("m") == 1


def test_manual_policy_and_overrides(tmp_path: Path, capsys) -> None:
    text = CANCER_MODEL + '[models.m.activation]\npolicy = "manual"\n'
    project = project_with(tmp_path, cancer(), text)
    assert not project.train("m").activated and project.active_version("m") is None
    assert project.train("m", activate=True).decision["reason"] == "--activate overrode the policy 'manual'"
    folder = str(project.settings.root)
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "train", "m", "--no-activate", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert info.value.code == 0
    assert set(out) >= {"model", "version", "activated", "metrics", "decision"}
    assert out["activated"] is False and set(out["decision"]) >= {"policy", "reason", "candidate", "incumbent"}
    assert out["decision"]["reason"] == "--no-activate overrode the policy 'manual'"
    with pytest.raises(SystemExit):
        main(["--project", folder, "train", "m", "--no-activate"])
    assert "  not activated: --no-activate overrode the policy 'manual'\n" in capsys.readouterr().out
    assert open_project(folder).active_version("m") == 2
    stages = ["read", "split", "fit", "metrics", "profile", "insights", "decide", "persist", "register", "total"]
    assert list(out["timings"]) == stages and all(v >= 0 for v in out["timings"].values())
    assert out["timings"]["total"] >= sum(v for k, v in out["timings"].items() if k != "total") - 0.01
    stored = open_project(folder).registry.version("m", 3)["durations"]
    assert set(stored) == set(stages[: stages.index("persist") + 1])  # stored before the version is registered


def test_policies_that_do_not_compare_never_load_the_active_version(tmp_path: Path, monkeypatch) -> None:
    project = project_with(tmp_path, cancer(), CANCER_MODEL)  # policy "always", the default
    project.train("m")
    loaded: list[object] = []
    original = comparison.load_model  # the comparison loads the incumbent through this name
    monkeypatch.setattr(comparison, "load_model", lambda *a, **k: loaded.append(a) or original(*a, **k))
    decision = project.train("m").decision
    assert decision["reason"] == "policy 'always' activates every new version"
    assert decision["incumbent"] is None and decision["rows_compared"] is None and loaded == []


# -- bad input: one line, exit 2, nothing written ------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def broken_cancer(kind: str) -> pd.DataFrame:
    frame = cancer()
    if kind == "nan_target":
        frame.loc[3, "target"] = np.nan
    elif kind == "one_class":
        frame["target"] = 1
    elif kind == "empty_feature":
        frame["mean_radius"] = np.nan
    return frame


BAD_TRAININGS = [
    ("nan_target", CANCER_MODEL, "error: target 'target' has 1 missing values in dataset 'd': drop or fill those rows"),
    ("one_class", CANCER_MODEL, "error: target 'target' in dataset 'd' has a single class (1): a classifier needs two"),
    (
        "empty_feature",
        CANCER_MODEL,
        "error: feature 'mean_radius' is empty (all values missing) in dataset 'd': drop it with exclude = [\"mean_radius\"]",
    ),
    (
        "ok",
        CANCER_MODEL.replace('target = "target"', 'target = "label"'),
        "error: dataset 'd' has no column 'label' (the target of model 'm'); columns: mean_radius",
    ),
    (
        "ok",
        CANCER_MODEL + 'estimator = "sklearn.ensemble.NoSuchForest"\n',
        "error: modelcycle.toml: models.m.estimator: ",
    ),
    (
        "ok",
        CANCER_MODEL.replace("max_iter = 20", "max_iterations = 20"),
        "error: modelcycle.toml: models.m.params.max_iterations: ",
    ),
    (
        "ok",
        CANCER_MODEL + 'metrics = ["roc_auc", "nope"]\n',
        "error: modelcycle.toml: models.m.metrics: unknown metric 'nope'",
    ),
    (
        "ok",
        CANCER_MODEL + 'threshold = "optimize:roc_auc"\n',
        "error: modelcycle.toml: models.m.threshold: cannot optimise 'roc_auc'; label metrics: ",
    ),
    (
        "ok",
        CANCER_MODEL + 'task = "regression"\nestimator = "sklearn.ensemble.HistGradientBoostingClassifier"\n',
        "error: modelcycle.toml: models.m.estimator: ",
    ),
]


@pytest.mark.parametrize(("kind", "model", "expected"), BAD_TRAININGS)
def test_bad_training_input(tmp_path: Path, capsys, kind: str, model: str, expected: str) -> None:
    project = project_with(tmp_path, broken_cancer(kind), model)
    folder = project.settings.root
    before = snapshot(folder)
    with pytest.raises(SystemExit) as info:
        main(["--project", str(folder), "train", "m"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith(expected), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert snapshot(folder) == before


def test_an_empty_file_and_a_missing_file(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "p"
    write_settings(folder, f'[project]\n[datasets.d]\nurl = "data.csv"\n{CANCER_MODEL}')
    (folder / "data.csv").write_text("")
    for expected in ("error: dataset 'd' is empty: ", f"error: dataset 'd': no file at {(folder / 'data.csv').resolve()}: "):
        with pytest.raises(SystemExit) as info:
            main(["--project", str(folder), "train", "m"])
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.startswith(expected), err
        (folder / "data.csv").unlink(missing_ok=True)
    assert not (folder / ".modelcycle").exists()


def test_an_ambiguous_task_says_how_to_set_it(tmp_path: Path) -> None:
    frame = cancer()
    frame["grade"] = (frame["mean_radius"] // 3).astype(int)
    from modelcycle.errors import SettingsError

    with pytest.raises(
        SettingsError,
        match=r"modelcycle.toml: models.m.task: cannot infer the task of target \'grade\' \(whole numbers "
        r'with \d+ distinct values\): set task = "multiclass" or task = "regression"',
    ):
        project_with(tmp_path, frame, f'[models.m]\ndataset = "d"\ntarget = "grade"\n{FAST}').train("m")
