"""Performance without labels: the regression estimate (a loss model stored with the version)
near the truth and following a shift that raises the error, sampling-error bands that cover
the truth at about their nominal rate, chunking that changes nothing, versions without a
loss model, and the loss model's integrity."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from modelcycle import evaluate as evaluate_module
from modelcycle import hookimpl, open_project
from modelcycle import train as train_module
from modelcycle.cli import main
from modelcycle.errors import IntegrityError
from modelcycle.plugin import Trainer

from tests.conftest import write_settings

REGRESSION = (
    '[models.m]\ndataset = "d"\ntarget = "y"\ntask = "regression"\n'
    'estimator = "sklearn.linear_model.Ridge"\nthreads = 1\n'
)
BINARY = '[models.m]\ndataset = "d"\ntarget = "y"\nestimator = "sklearn.linear_model.LogisticRegression"\nthreads = 1\n'


def noisy(rng: np.random.Generator, rows: int, shift: float = 0.0) -> pd.DataFrame:
    """y = 2·x0 + x1 + noise whose spread grows from 0.2 to 1.7 as x1 passes 1; `shift` moves x1 there."""
    x = rng.normal(size=(rows, 3))
    x[:, 1] += shift
    spread = 0.2 + 1.5 / (1 + np.exp(-3 * (x[:, 1] - 1.0)))
    return pd.DataFrame(
        {
            "x0": x[:, 0],
            "x1": x[:, 1],
            "x2": x[:, 2],
            "colour": np.where(x[:, 2] > 0.5, "red", np.where(x[:, 2] > -0.5, "green", "blue")),
            "y": 2 * x[:, 0] + x[:, 1] + spread * rng.normal(size=rows),
        }
    )


def calibrated(rng: np.random.Generator, rows: int, shift: float = 0.0) -> pd.DataFrame:
    x = rng.normal(loc=shift, size=(rows, 3))
    p = 1 / (1 + np.exp(-(1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.3)))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": (rng.random(rows) < p).astype(int)})


def make(folder: Path, frame: pd.DataFrame, model: str):
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "train.parquet", index=False)
    write_settings(folder, f'[project]\nname = "t"\n[datasets.d]\nurl = "train.parquet"\n{model}')
    project = open_project(folder)
    project.train("m")
    return project


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(1)
    return make(tmp_path_factory.mktemp("reg") / "proj", noisy(rng, 8000), REGRESSION), rng


def test_the_regression_estimate_is_near_the_truth_and_follows_a_shift_into_noise(regression) -> None:
    project, rng = regression
    true_mae = []
    for shift in (0.0, 0.5, 1.0):
        new = noisy(rng, 4000, shift)
        record = project.evaluate("m", new.drop(columns="y"))
        assert record["labeled_rows"] == 0 and record["metrics"] == {}
        truth = project.evaluate("m", new)["metrics"]
        true_mae.append(truth["mae"])
        # within 5% of the true value, shifted or not (the shifts stay where the holdout had rows)
        assert record["estimated"]["mae"] == pytest.approx(truth["mae"], rel=0.05)
        assert record["estimated"]["rmse"] == pytest.approx(truth["rmse"], rel=0.05)
        band = record["estimated_bands"]["mae"]
        assert band["low"] < record["estimated"]["mae"] < band["high"] and band["sampling_error"] > 0
    assert true_mae[2] > 1.6 * true_mae[0]  # the shift really raised the error, and the estimate followed


def test_bands_cover_the_truth_at_about_their_nominal_rate(regression, tmp_path: Path) -> None:
    """40 fresh samples of 1,000 rows like the holdout: the 95% band should hold the truth ~38 times."""
    binary = make(tmp_path / "bin", calibrated(np.random.default_rng(5), 6000), BINARY)
    cases = [(regression[0], lambda rng: noisy(rng, 1000), ("mae", "rmse"))]
    cases.append((binary, lambda rng: calibrated(rng, 1000), ("accuracy", "f1", "roc_auc")))
    rng = np.random.default_rng(11)
    for project, draw, names in cases:
        records = [project.evaluate("m", draw(rng)) for _ in range(40)]
        for name in names:
            errors = np.array([r["metrics"][name] - r["estimated"][name] for r in records])
            bands = [r["estimated_bands"][name] for r in records]
            inside = [b["low"] <= r["metrics"][name] <= b["high"] for r, b in zip(records, bands, strict=True)]
            assert 0.85 <= np.mean(inside) <= 1.0, (name, np.mean(inside))
            # the stated sampling error is the real spread of (true − estimated), not a wide safe margin
            stated = np.mean([b["sampling_error"] for b in bands])
            assert 0.6 <= stated / np.sqrt(np.mean(errors**2)) <= 1.7, (name, stated, errors.std())


def test_the_estimate_does_not_depend_on_the_chunk_size(regression, monkeypatch) -> None:
    project, rng = regression
    new = noisy(rng, 3000, 0.5).drop(columns="y")
    whole = project.evaluate("m", new)
    monkeypatch.setattr(evaluate_module, "BATCH_ROWS", 7)
    chunked = project.evaluate("m", new)
    for name in ("mae", "rmse"):
        assert chunked["estimated"][name] == pytest.approx(whole["estimated"][name], rel=1e-9)
        for key in ("low", "high", "sampling_error"):
            assert chunked["estimated_bands"][name][key] == pytest.approx(whole["estimated_bands"][name][key], rel=1e-9)


def test_production_predictions_with_their_features_get_the_same_estimate(regression) -> None:
    project, rng = regression
    new = noisy(rng, 2000).drop(columns="y")
    rescored = project.evaluate("m", new)
    served = project.score("m", new)
    production = project.evaluate("m", served)
    assert production["mode"] == "production"
    assert production["estimated"]["mae"] == pytest.approx(rescored["estimated"]["mae"], rel=1e-9)
    # without the features the loss model needs, there is no estimate rather than a wrong one
    alone = project.evaluate("m", served[["prediction"]])
    assert alone["estimated"] == {} and alone["estimated_bands"] == {}


def test_the_evaluate_command_shows_the_band(regression, capsys) -> None:
    project, rng = regression
    path = project.settings.root / "new.csv"
    noisy(rng, 500).drop(columns="y").to_csv(path, index=False)
    for extra in ([], ["--json"]):
        with pytest.raises(SystemExit) as info:
            main(["--project", str(project.settings.root), "evaluate", "m", str(path), *extra])
        assert info.value.code == 0
        out = capsys.readouterr().out
        if not extra:
            line = next(x for x in out.splitlines() if x.strip().startswith("estimated"))
            assert re.fullmatch(r"\s+estimated  mae=[0-9.]+±[0-9.]+ rmse=[0-9.]+±[0-9.]+", line), line
    record = json.loads(out)
    assert isinstance(record["estimated"]["mae"], float)
    assert set(record["estimated_bands"]["mae"]) == {"low", "high", "sampling_error"}


def test_a_version_without_a_loss_model_has_no_regression_estimate(tmp_path: Path, monkeypatch) -> None:
    """As versions trained before the loss model existed: evaluation works, `estimated` is empty."""
    monkeypatch.setattr(train_module, "reference_estimation", lambda *args, **kwargs: {})
    project = make(tmp_path / "old", noisy(np.random.default_rng(2), 2000), REGRESSION)
    assert "estimation" not in json.loads(project.registry.read_attachment("m", 1, "profile.json"))
    record = project.evaluate("m", noisy(np.random.default_rng(3), 500))
    assert record["metrics"]["mae"] > 0 and record["estimated"] == {} and record["estimated_bands"] == {}


def test_a_classification_version_without_sampling_errors_still_estimates(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(train_module, "reference_estimation", lambda *args, **kwargs: {})
    project = make(tmp_path / "old", calibrated(np.random.default_rng(2), 2000), BINARY)
    record = project.evaluate("m", calibrated(np.random.default_rng(3), 500).drop(columns="y"))
    assert 0.5 < record["estimated"]["accuracy"] < 1 and record["estimated_bands"] == {}


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_the_loss_model_is_stored_in_the_artifact_format_and_checked_on_load(tmp_path: Path, fmt: str) -> None:
    model = REGRESSION + f'artifact_format = "{fmt}"\n'
    project = make(tmp_path / fmt, noisy(np.random.default_rng(4), 2000), model)
    entry = project.registry.version("m", 1)
    described = entry["attachments"][f"loss_model.{fmt}"]
    assert len(described["sha256"]) == 64
    new = noisy(np.random.default_rng(5), 500)
    assert project.evaluate("m", new)["estimated"]["mae"] > 0
    stored = project.registry.store.get(described["key"])
    project.registry.store.write(described["key"], stored + b"tampered")
    reopened = open_project(project.settings.root)
    with pytest.raises(IntegrityError, match=f"loss_model.{fmt} of model 'm' version 1 does not match its recorded"):
        reopened.evaluate("m", new)


def test_a_profile_naming_an_unrecorded_loss_model_is_refused(regression) -> None:
    from modelcycle.estimation import load_loss_model

    project, _ = regression
    profile = json.loads(project.registry.read_attachment("m", 1, "profile.json"))
    profile["estimation"]["loss_model"].update(attachment="loss_model.skops", format="skops")
    with pytest.raises(IntegrityError, match="names the loss model 'loss_model.skops', which the version does not"):
        load_loss_model(project.registry, "m", 1, profile, "skops", load=lambda data, fmt: pytest.fail("read"))


def test_the_loss_model_reads_infinite_and_unknown_values_as_missing() -> None:
    from modelcycle.estimation import loss_matrix

    frame = pd.DataFrame({"x": [1.0, np.inf, -np.inf], "c": ["red", "violet", None]})
    columns = {"x": {"kind": "numeric"}, "c": {"kind": "categorical", "top": ["blue", "red"]}}
    matrix = loss_matrix(frame, columns, np.array([0.5, np.inf, "n/a"], dtype=object))
    expected = np.array([[1.0, 1.0, 0.5], [np.nan, 2.0, np.nan], [np.nan, np.nan, np.nan]])
    np.testing.assert_array_equal(matrix, expected)  # an unseen category shares the code after the known ones


def test_a_holdout_too_small_for_a_loss_model_gives_no_estimate(tmp_path: Path) -> None:
    """Four rows hold out one: no loss model can be cross-fitted on it, so there is none and no estimate."""
    frame = noisy(np.random.default_rng(3), 4)
    project = make(tmp_path / "tiny", frame, REGRESSION)
    version = project.versions("m")[-1]
    assert not any(name.startswith("loss_model") for name in version.get("attachments", {}))
    record = project.evaluate("m", frame.drop(columns="y"))
    assert record["estimated"] == {} and record["estimated_bands"] == {}
    labelled = project.evaluate("m", frame)
    assert set(labelled["metrics"]) >= {"mae", "rmse"} and labelled["estimated"] == {}


@pytest.mark.parametrize("ties", [False, True])
def test_calibration_map_is_scikit_learns_isotonic_fit(ties: bool) -> None:
    """The map the bands refit a hundred times is the same fit as IsotonicRegression's."""
    from modelcycle.profile import calibration_map
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(3)
    scores = rng.beta(2, 5, 3000)
    if ties:  # a tree model's scores repeat: ties are averaged before the fit
        scores = np.round(scores, 2)
    positive = rng.random(3000) < scores**0.7
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, positive.astype(float))
    ours = calibration_map(positive, scores, points=10_000)
    np.testing.assert_allclose(ours["x"], iso.X_thresholds_)
    np.testing.assert_allclose(ours["y"], iso.y_thresholds_, atol=1e-12)
    thinned = calibration_map(positive, scores)
    grid = np.linspace(0, 1, 501)
    assert len(thinned["x"]) <= 200
    assert np.abs(np.interp(grid, thinned["x"], thinned["y"]) - iso.predict(grid)).max() < 0.05


class PickleTrainer(Trainer):
    """A third-party trainer whose only artifact format is its own: the core names no format."""

    name = "pickler"
    formats = ("pickle",)
    asked: ClassVar[list[tuple[str, str]]] = []

    def fit(self, X, y):
        from sklearn.linear_model import LinearRegression

        return LinearRegression().fit(X.select_dtypes("number"), y)

    def dump(self, fitted, fmt):
        self.asked.append(("dump", fmt))
        assert fmt in self.formats
        return pickle.dumps(fitted)

    def load(self, data, fmt):
        self.asked.append(("load", fmt))
        assert fmt in self.formats
        return pickle.loads(data)


class PicklePlugin:
    __name__ = "pickle-plugin"

    @hookimpl
    def register_trainers(self):
        return [PickleTrainer]


def test_a_third_party_trainer_writes_and_reads_the_model_and_loss_model_in_its_own_format(tmp_path: Path) -> None:
    """The format comes from the trainer, for the loss model too, and for a model no longer in the settings."""
    folder = tmp_path / "proj"
    folder.mkdir()
    frame = noisy(np.random.default_rng(6), 2000).drop(columns="colour")
    frame.to_parquet(folder / "train.parquet", index=False)
    head = '[project]\nname = "t"\n[datasets.d]\nurl = "train.parquet"\n'
    write_settings(folder, head + '[models.m]\ndataset = "d"\ntarget = "y"\ntask = "regression"\ntrainer = "pickler"\n')
    PickleTrainer.asked.clear()
    open_project(folder, plugins=[PicklePlugin()]).train("m")
    assert PickleTrainer.asked == [("dump", "pickle"), ("dump", "pickle")]  # the loss model, then the model
    project = open_project(folder, plugins=[PicklePlugin()])
    entry = project.registry.version("m", 1)
    assert entry["artifact"]["format"] == "pickle" and "loss_model.pickle" in entry["attachments"]
    write_settings(folder, head)  # the model leaves the settings: its stored versions still load
    gone = open_project(folder, plugins=[PicklePlugin()])
    PickleTrainer.asked.clear()
    assert gone.load_model("m", 1).predict(frame.drop(columns="y").head(3)).shape == (3,)
    record = gone.evaluate("m", frame.head(500), version=1)
    assert record["estimated"]["mae"] > 0
    assert set(PickleTrainer.asked) == {("load", "pickle")}
    entry_path = folder / ".modelcycle/models/m/versions/00000001.json"
    entry = json.loads(entry_path.read_text())
    entry["artifact"]["format"] = "joblib"  # a store writer's claim, refused: the trainer decides
    entry_path.write_text(json.dumps(entry))
    with pytest.raises(IntegrityError) as info:
        open_project(folder, plugins=[PicklePlugin()]).load_model("m", 1)
    assert str(info.value) == (
        "model 'm' version 1: its artifact is stored as 'joblib' but trainer 'pickler' reads 'pickle', "
        "its default format: refusing to load it; retrain"
    )
