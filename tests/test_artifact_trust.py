"""A store writer cannot make a reader run code: the artifact format comes from the settings, and
skops rebuilds only the classes scikit-learn pipelines are made of."""

from __future__ import annotations

import collections
import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.errors import IntegrityError
from modelcycle.settings import ModelSettings
from modelcycle_sklearn import artifacts
from modelcycle_sklearn.trainer import SklearnTrainer

from tests.conftest import write_settings


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame(
        {
            "x": x,
            "n": rng.integers(0, 5, size=rows).astype(float),
            "city": rng.choice(["paris", "lyon", None], size=rows),
            "day": pd.date_range("2024-01-01", periods=rows, freq="D"),
            "target": (x + rng.normal(size=rows) > 0).astype(int),
        }
    )


class Marker:
    """Pickled, it writes a file when unpickled: what a hostile joblib artifact does."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # noqa: ANN204
        return (Path(self.path).write_text, ("pwned",))


def test_a_stored_format_that_differs_from_the_settings_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_settings(
        folder,
        """
        [datasets.d]
        url = "d.csv"
        [models.m]
        dataset = "d"
        target = "target"
        artifact_format = "skops"
        params = { max_iter = 5 }
        """,
    )
    frame(120).to_csv(folder / "d.csv", index=False)
    project = open_project(folder)
    project.train("m")
    assert project.load_model("m") is not None
    # a store writer swaps the artifact for a pickle and the entry's format (and hash) to match
    marker = tmp_path / "pwned.txt"
    evil = pickle.dumps(Marker(str(marker)))
    store = folder / ".modelcycle"
    entry_path = store / "models/m/versions/00000001.json"
    entry = json.loads(entry_path.read_text())
    evil_key = entry["artifact"]["key"].replace("model.skops", "model.joblib")
    (store / evil_key).write_bytes(evil)
    entry["artifact"].update(key=evil_key, format="joblib", sha256=hashlib.sha256(evil).hexdigest(), size=len(evil))
    entry_path.write_text(json.dumps(entry))
    fresh = open_project(folder)
    with pytest.raises(IntegrityError) as info:
        fresh.load_model("m")
    message = str(info.value)
    assert "stored as 'joblib'" in message and "artifact_format is 'skops'" in message
    with pytest.raises(IntegrityError):
        fresh.score("m", frame(10).drop(columns="target"))
    assert not marker.exists()


def crafted(module: str, cls: str) -> bytes:
    """A real skops file of a fitted scaler, one of whose attributes names `module.cls`."""
    import skops.io as sio
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(np.arange(6.0).reshape(3, 2))
    scaler.extra_ = collections.OrderedDict(a=1)
    data = sio.dumps(scaler)
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = source.read("schema.json").decode()
    assert '"__class__": "OrderedDict"' in schema
    schema = schema.replace('"__class__": "OrderedDict"', f'"__class__": "{cls}"')
    schema = schema.replace('"__module__": "collections"', f'"__module__": "{module}"')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, schema if item.filename == "schema.json" else source.read(item.filename))
    return out.getvalue()


HOSTILE = [
    ("numpy", "memmap"),
    ("multiprocessing.connection", "Listener"),
    ("tempfile", "TemporaryDirectory"),
    ("os", "system"),
    ("io", "FileIO"),
    ("subprocess", "Popen"),
    ("builtins", "eval"),
    ("builtins", "type"),
    ("builtins", "open"),
    ("numpy", "load"),
    ("sklearn.utils._testing", "TempMemmap"),
]


@pytest.mark.parametrize(("module", "cls"), HOSTILE, ids=[f"{m}.{c}" for m, c in HOSTILE])
def test_skops_refuses_classes_no_pipeline_needs(module: str, cls: str) -> None:
    with pytest.raises(IntegrityError, match=f"untrusted type '{module}.{cls}'"):
        artifacts.load(crafted(module, cls), "skops")


def test_the_allow_list_refuses_reexports_and_subclasses_that_touch_files() -> None:
    refused = artifacts.untrusted(
        [
            "numpy.memmap",
            "numpy.ndarray",
            "sklearn.utils._testing.tempfile.TemporaryDirectory",  # a module re-exported under sklearn
            "sklearn.tree._tree.Tree",
            "builtins.dict",
            "builtins.memoryview",
            "collections.OrderedDict",
            "collections.UserDict",
            "scipy.sparse._csr.csr_matrix",
            "scipy.io.FortranFile",
            "modelcycle_sklearn.preprocessing.DateParts",
            "modelcycle_sklearn.artifacts.Any",
        ]
    )
    assert refused == [
        "builtins.memoryview",
        "collections.UserDict",
        "modelcycle_sklearn.artifacts.Any",
        "numpy.memmap",
        "scipy.io.FortranFile",
        "sklearn.utils._testing.tempfile.TemporaryDirectory",
    ]


ESTIMATORS = [
    ("binary", None),
    ("multiclass", None),
    ("regression", None),
    ("binary", "sklearn.ensemble.RandomForestClassifier"),
    ("regression", "sklearn.ensemble.ExtraTreesRegressor"),
    ("binary", "sklearn.ensemble.GradientBoostingClassifier"),
    ("binary", "sklearn.ensemble.AdaBoostClassifier"),
    ("binary", "sklearn.tree.DecisionTreeClassifier"),
    ("binary", "sklearn.linear_model.LogisticRegression"),
    ("multiclass", "sklearn.linear_model.LogisticRegression"),
    ("regression", "sklearn.linear_model.Ridge"),
    ("regression", "sklearn.linear_model.Lasso"),
    ("binary", "sklearn.neighbors.KNeighborsClassifier"),
    ("regression", "sklearn.neighbors.KNeighborsRegressor"),
    ("binary", "sklearn.svm.SVC"),
    ("binary", "sklearn.naive_bayes.GaussianNB"),
    ("binary", "sklearn.neural_network.MLPClassifier"),
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("preprocessing", ["auto", "none"])
@pytest.mark.parametrize(("task", "estimator"), ESTIMATORS, ids=[f"{t}-{e}" for t, e in ESTIMATORS])
def test_every_pipeline_the_trainer_makes_round_trips_through_skops(
    task: str, estimator: str | None, preprocessing: str
) -> None:
    data = frame(150)
    y = data.pop("target")
    if task == "multiclass":
        y = pd.Series(np.arange(len(y)) % 3)
    elif task == "regression":
        y = data["x"] * 2 + 1.0
    if preprocessing == "none":
        data = data[["x", "n"]]
    spec = {"dataset": "d", "target": "target", "task": task, "preprocessing": preprocessing}
    if estimator:
        spec["estimator"] = estimator
    trainer = SklearnTrainer(ModelSettings.model_validate(spec))
    fitted = trainer.fit(data, y)
    loaded = trainer.load(trainer.dump(fitted, "skops"), "skops")
    np.testing.assert_array_equal(loaded.predict(data), fitted.predict(data))


@pytest.mark.parametrize("suffix_only", [False, True])
def test_a_loss_model_stored_as_a_pickle_is_refused_under_skops(tmp_path: Path, suffix_only: bool) -> None:
    """profile.json is in the store too: its writer must not turn a skops loss model into a pickle."""
    folder = tmp_path / "p"
    write_settings(
        folder,
        """
        [datasets.d]
        url = "d.csv"
        [models.m]
        dataset = "d"
        target = "y"
        task = "regression"
        estimator = "sklearn.linear_model.Ridge"
        artifact_format = "skops"
        threads = 1
        """,
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 2))
    data = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "y": 2 * x[:, 0] + x[:, 1] + rng.normal(size=600)})
    data.to_csv(folder / "d.csv", index=False)
    open_project(folder).train("m")
    # the store writer swaps in a pickled loss model, names it in profile.json and fixes every sha256
    marker = tmp_path / "pwned.txt"
    evil = pickle.dumps(Marker(str(marker)))
    store = folder / ".modelcycle"
    entry_path = store / "models/m/versions/00000001.json"
    entry = json.loads(entry_path.read_text())
    attachments = entry["attachments"]
    skops = attachments.pop("loss_model.skops")
    evil_key = skops["key"].replace("loss_model.skops", "loss_model.joblib")
    (store / evil_key).write_bytes(evil)
    attachments["loss_model.joblib"] = {"key": evil_key, "sha256": hashlib.sha256(evil).hexdigest(), "size": len(evil)}
    profile = json.loads((store / attachments["profile.json"]["key"]).read_bytes())
    section = profile["estimation"]["loss_model"]
    section["attachment"] = "loss_model.joblib"
    if not suffix_only:  # with the section's format left as skops, the suffix alone betrays the pickle
        section["format"] = "joblib"
    raw = json.dumps(profile).encode()
    (store / attachments["profile.json"]["key"]).write_bytes(raw)
    attachments["profile.json"].update(sha256=hashlib.sha256(raw).hexdigest(), size=len(raw))
    entry_path.write_text(json.dumps(entry))
    with pytest.raises(IntegrityError, match="'joblib'.*'skops'") as caught:
        open_project(folder).evaluate("m", data)
    assert not marker.exists()
    assert "loss model" in str(caught.value)
