"""The built-in scikit-learn trainer: estimators, auto preprocessing, threads, artifacts, importances."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from modelcycle.errors import DataError, IntegrityError, SettingsError
from modelcycle.settings import ModelSettings
from modelcycle_sklearn.trainer import SklearnTrainer
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.pipeline import Pipeline

HGB = "sklearn.ensemble.HistGradientBoostingClassifier"
RF = "sklearn.ensemble.RandomForestClassifier"
LR = "sklearn.linear_model.LogisticRegression"
FAST = {
    HGB: {"max_iter": 15},
    RF: {"n_estimators": 15},
    LR: {"max_iter": 500},
    "sklearn.ensemble.HistGradientBoostingRegressor": {"max_iter": 15},
    "sklearn.linear_model.Ridge": {},
}


def trainer(task: str = "binary", estimator: str | None = None, **settings) -> SklearnTrainer:
    default = "sklearn.ensemble.HistGradientBoostingRegressor" if task == "regression" else HGB
    settings.setdefault("params", FAST.get(estimator or default, {}))
    # one thread: OpenMP (HistGradientBoosting) on a busy machine can take 100x longer than it should
    settings.setdefault("threads", 1)
    return SklearnTrainer(ModelSettings(dataset="d", target="y", estimator=estimator, task=task, **settings))


def mixed(n: int = 400, task: str = "binary", seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Every kind of column, with missing values, and a target that depends on several of them."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=n)
    num[::9] = np.nan
    when = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="min"))
    when[::13] = pd.NaT
    X = pd.DataFrame(
        {
            "num": num,
            "count": rng.integers(0, 50, n),
            "nullable": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 5, n)), dtype="Int64"),
            "color": pd.Series(rng.choice(["red", "green", "blue", None], n), dtype="str"),  # pandas 3 str dtype
            "shape": pd.Series(rng.choice(["circle", "square", None], n).tolist(), dtype=object),
            "size": pd.Categorical(rng.choice(["S", "M", "L"], n)),
            "flag": rng.random(n) < 0.5,
            "city": pd.Series([f"city{i}" for i in rng.integers(0, 200, n)], dtype="str"),
            "when": when,
            "when_tz": pd.Timestamp("2024-01-01", tz="Europe/Paris")
            + pd.to_timedelta(rng.integers(0, 10**6, n), unit="min"),
        }
    )
    signal = np.nan_to_num(num) + 1.5 * (X["color"] == "red") + X["flag"] - 0.8 + rng.normal(scale=0.5, size=n)
    if task == "binary":
        y = np.where(signal > 0, "yes", "no")
    elif task == "multiclass":
        y = np.digitize(signal, [-0.5, 0.7])
    else:
        y = signal
    return X, pd.Series(y, name="y")


def hostile(X: pd.DataFrame) -> pd.DataFrame:
    """Rows as production sends them: unseen categories, NaNs everywhere, an extra column, any order."""
    new = X.iloc[:40].copy()
    new["color"] = pd.Series(["purple", None] * 20, dtype="str", index=new.index)
    new["shape"] = "hexagon"
    new["size"] = pd.Categorical(["XXL"] * 40)
    new["city"] = "atlantis"
    new["count"] = np.nan  # no NaN in this column at fit
    new["flag"] = pd.array([True, None] * 20, dtype="boolean")
    new.loc[new.index[::2], "num"] = np.nan
    new.loc[new.index[::3], "when"] = pd.NaT
    new["when"] = new["when"].astype(str)  # a date read from CSV as text
    new["unexpected"] = 42
    return new[list(new.columns[::-1])]


# -- registration ----------------------------------------------------------------------------


def test_registers_the_trainer_without_importing_scikit_learn() -> None:
    code = (
        "import sys, modelcycle_sklearn as p; [cls] = p.register_trainers(); "
        "print(cls.name, cls.formats, 'sklearn' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["sklearn", "('joblib',", "'skops')", "False", "False"]


# -- fitting real data -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("load", "task", "expected"),
    [
        (load_breast_cancer, "binary", "HistGradientBoostingClassifier"),
        (load_wine, "multiclass", "HistGradientBoostingClassifier"),
        (load_diabetes, "regression", "HistGradientBoostingRegressor"),
    ],
)
def test_default_estimator_fits_each_task(load, task: str, expected: str) -> None:
    X, y = load(return_X_y=True, as_frame=True)
    fitted = trainer(task).fit(X, y)
    assert isinstance(fitted, Pipeline)
    assert [name for name, _ in fitted.steps] == ["preprocess", "estimator"]
    assert type(fitted[-1]).__name__ == expected
    if task == "regression":
        assert np.corrcoef(fitted.predict(X), y)[0, 1] > 0.6
    else:
        proba = fitted.predict_proba(X)
        assert list(fitted.classes_) == sorted(y.unique())
        assert proba.shape == (len(X), y.nunique())
        assert np.allclose(proba.sum(axis=1), 1)
        assert (fitted.predict(X) == y).mean() > 0.9


@pytest.mark.parametrize(
    ("task", "estimator"),
    [
        ("binary", HGB),
        ("binary", RF),
        ("binary", LR),
        ("multiclass", LR),
        ("multiclass", HGB),
        ("regression", "sklearn.ensemble.HistGradientBoostingRegressor"),
        ("regression", "sklearn.linear_model.Ridge"),
    ],
)
def test_mixed_columns_fit_and_predict_on_hostile_rows(task: str, estimator: str) -> None:
    X, y = mixed(task=task)
    fitted = trainer(task, estimator).fit(X, y)
    new = hostile(X)
    predictions = fitted.predict(new)
    assert len(predictions) == len(new)
    if task == "regression":
        assert np.isfinite(predictions).all()
    else:
        proba = fitted.predict_proba(new)
        assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1)
        assert set(predictions) <= set(fitted.classes_)
        assert (fitted.predict(X) == y).mean() > 0.7  # it learned something from the mixed columns


def groups(fitted: Pipeline) -> dict[str, tuple[list[str], list[str]]]:
    """transformer name → (its columns, its step names; a lone transformer's class name)."""
    return {
        name: (list(columns), [step for step, _ in getattr(transformer, "steps", [(type(transformer).__name__, None)])])
        for name, transformer, columns in fitted[0].transformers_
        if name != "remainder"
    }


def test_linear_models_get_scaling_and_target_encoding() -> None:
    X, y = mixed()
    fitted = trainer("binary", LR).fit(X, y)
    assert groups(fitted) == {
        "numeric": (["num", "count", "nullable"], ["to_float", "impute", "scale"]),
        "boolean": (["flag"], ["to_float", "impute"]),
        "datetime": (["when", "when_tz"], ["parts", "impute", "scale"]),
        "onehot": (["color", "shape", "size"], ["strings", "encode"]),
        "many": (["city"], ["strings", "encode", "scale"]),
    }
    transformers = fitted[0].named_transformers_
    assert type(transformers["numeric"]["scale"]).__name__ == "StandardScaler"
    assert type(transformers["many"]["encode"]).__name__ == "TargetEncoder"
    # a missing-value indicator only for the columns that had missing values at fit
    assert list(transformers["numeric"]["impute"].indicator_.features_) == [0, 2]  # num, nullable
    names = list(fitted[0].get_feature_names_out())
    assert "datetime__when_dayofweek" in names and "datetime__when_tz_hour" in names
    assert "onehot__color_(missing)" in names


def test_tree_models_get_no_scaling_and_ordinal_codes() -> None:
    X, y = mixed()
    fitted = trainer("binary", RF).fit(X, y)
    steps = {name: step_names for name, (_, step_names) in groups(fitted).items()}
    assert steps["numeric"] == ["to_float", "impute"]
    assert steps["datetime"] == ["parts", "impute"]
    assert type(fitted[0].named_transformers_["many"]["encode"]).__name__ == "OrdinalEncoder"
    unseen = fitted[0].transform(hostile(X))
    assert np.isfinite(unseen).all()


def test_histgradientboosting_takes_categorical_columns_natively_with_a_reserved_code() -> None:
    X, y = mixed()
    model = trainer("binary", HGB)
    fitted = model.fit(X, y)
    native = fitted[0].named_transformers_["native"]
    assert list(groups(fitted)) == ["native", "numeric", "boolean", "datetime"]  # native first, no one-hot
    assert list(native.feature_names_in_) == ["color", "shape", "size", "city"]
    assert fitted[-1].categorical_features == [0, 1, 2, 3]
    # HistGradientBoosting learns where missing values go: no imputation, no indicator columns
    assert groups(fitted)["numeric"][1] == ["to_float"] and groups(fitted)["datetime"][1] == ["parts"]
    assert np.isnan(fitted[0].transform(X)).any()
    assert list(fitted[-1].is_categorical_) == [True] * 4 + [False] * (fitted[-1].n_features_in_ - 4)
    assert native.categories_[0] == ["(missing)", "blue", "green", "red"]
    counts = X["city"].value_counts()
    assert native.categories_[3] == sorted(counts[counts >= 5].index)  # rarer cities share the reserved code
    frame = pd.DataFrame(
        {
            "color": pd.Series(["red", None, "purple"], dtype="str"),  # known, missing, unseen
            "shape": pd.Series(["circle", "square", "hexagon"], dtype=object),
            "size": pd.Categorical(["S", "XXL", None]),
            "city": ["city1", "atlantis", None],
        }
    )
    codes = native.transform(frame)
    assert codes[:, 0].tolist() == [3, 0, 4]  # unseen → the reserved code, len(categories)
    assert codes[:, 1].tolist() == [1, 2, 3]  # shape: (missing), circle, square → 0, 1, 2; hexagon → 3
    assert codes[:, 2].tolist() == [2, 3, 3]  # size: L, M, S; XXL and missing (none at fit) → 3
    assert codes[1:, 3].tolist() == [len(native.categories_[3])] * 2
    rare = pd.Series(["red"] * 10 + ["blue"] * 4, name="c")
    from modelcycle_sklearn.preprocessing import CategoryCodes

    kept = CategoryCodes().fit(rare.to_frame())
    assert kept.categories_ == [["red"]] and kept.transform(pd.DataFrame({"c": ["blue", "gold"]})).tolist() == [
        [1],
        [1],
    ]
    plan = model.describe_fitted(fitted)["preprocessing_plan"]
    assert plan["columns"]["native"] == ["color", "shape", "size", "city"]
    assert plan["notes"] == [
        "color, shape, size, city: categorical, coded for HistGradientBoostingClassifier's own categorical "
        "handling (rare and unseen values share a reserved code)"
    ]


def test_categorical_columns_wider_than_the_estimator_takes_keep_the_usual_encoding() -> None:
    X, y = mixed()
    model = trainer("binary", HGB, params={"max_iter": 15, "max_bins": 6})
    fitted = model.fit(X, y)
    assert groups(fitted)["native"][0] == ["color", "shape", "size"]
    assert groups(fitted)["many"] == (["city"], ["strings", "encode"])
    assert type(fitted[0].named_transformers_["many"]["encode"]).__name__ == "OrdinalEncoder"
    cities = X["city"].nunique()
    assert model.describe_fitted(fitted)["preprocessing_plan"]["notes"][1] == (
        f"city: {cities} categories, beyond the 6 HistGradientBoostingClassifier takes natively: ordinal codes instead"
    )
    assert np.isfinite(fitted.predict_proba(hostile(X))).all()


def test_categorical_features_set_by_the_user_turn_native_handling_off() -> None:
    X, y = mixed()
    fitted = trainer("binary", HGB, params={"max_iter": 15, "categorical_features": None}).fit(X, y)
    assert "native" not in groups(fitted) and "onehot" in groups(fitted)
    assert fitted[-1].categorical_features is None
    assert groups(fitted)["numeric"][1] == ["to_float", "impute"]  # the usual preprocessing, imputation included
    assert trainer("binary", RF).fit(X, y)[0].named_transformers_.get("native") is None  # no native support


def test_the_plugins_answer_travels_with_a_pickled_trainer() -> None:
    import pickle

    from modelcycle.interfaces import CategoricalSupport
    from modelcycle_sklearn.estimators import mark_categorical_features

    class Context:  # what a project hands a trainer: its question hooks answer through `ask`
        task = "binary"

        def ask(self, question, **kwargs):
            assert question == "categorical_support"
            return CategoricalSupport(max_categories=4, configure=mark_categorical_features)

    model = trainer("binary", HGB)
    model.context = Context()
    copy = pickle.loads(pickle.dumps(model))  # as a Dask worker gets it: no context, the answer kept
    assert copy.context is None
    X, y = mixed()
    assert groups(copy.fit(X, y))["native"][0] == ["shape", "size"]  # 3 codes + the reserved one; color needs 5


def test_non_negative_estimators_get_min_max_scaling() -> None:
    X, y = mixed()
    fitted = trainer("binary", "sklearn.naive_bayes.MultinomialNB", params={}).fit(X, y)
    assert type(fitted[0].named_transformers_["numeric"]["scale"]).__name__ == "MinMaxScaler"
    assert (fitted[0].transform(hostile(X)) >= 0).all()


def test_preprocessing_none_gives_the_estimator_the_columns_as_they_are() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :5].copy()
    X.iloc[::7, 0] = np.nan  # HistGradientBoosting takes NaN natively
    fitted = trainer("binary", preprocessing="none").fit(X, y)
    assert type(fitted).__name__ == "HistGradientBoostingClassifier"
    assert list(fitted.feature_names_in_) == list(X.columns)


# -- errors ------------------------------------------------------------------------------------------


def test_an_empty_column_is_a_data_error() -> None:
    X, y = mixed()
    X["blank"] = np.nan
    with pytest.raises(DataError) as info:
        trainer().fit(X, y)
    assert str(info.value) == (
        "feature 'blank' is empty (all values missing) in the training data: drop it with exclude = [\"blank\"]"
    )


def test_missing_target_values_are_a_data_error() -> None:
    X, y = mixed(task="regression")
    y[[3, 5]] = np.nan
    with pytest.raises(DataError) as info:
        trainer("regression").fit(X, y)
    assert str(info.value) == "target 'y' has 2 missing values in the training data: drop or fill those rows"


def test_text_without_preprocessing_is_a_data_error_with_the_fix() -> None:
    X, y = mixed()
    with pytest.raises(DataError) as info:
        trainer("binary", LR, preprocessing="none").fit(X[["num", "color"]].fillna({"num": 0, "color": "red"}), y)
    assert str(info.value) == (
        "LogisticRegression rejected the training data: could not convert string to float: 'red'; "
        'preprocessing = "auto" imputes missing values and encodes text and dates'
    )


SETTINGS_ERRORS = [
    (
        "sklearn.ensembl.RandomForestClassifier",
        {},
        "binary",
        "estimator: no module named 'sklearn.ensembl' (for 'sklearn.ensembl.RandomForestClassifier'); "
        "did you mean 'sklearn.ensemble.RandomForestClassifier'?",
    ),
    (
        "sklearn.ensemble.RandomForestClasifier",
        {},
        "binary",
        "estimator: module 'sklearn.ensemble' has no class 'RandomForestClasifier'; "
        "did you mean 'sklearn.ensemble.RandomForestClassifier'?",
    ),
    (
        "sklearn.ensemble.LogisticRegression",
        {},
        "binary",
        "estimator: module 'sklearn.ensemble' has no class 'LogisticRegression'; "
        "did you mean 'sklearn.linear_model.LogisticRegression'?",
    ),
    (
        "collections.OrderedDic",
        {},
        "binary",
        "estimator: module 'collections' has no class 'OrderedDic'; did you mean 'OrderedDict'?",
    ),
    (
        "RandomForestClassifier",
        {},
        "binary",
        "estimator: 'RandomForestClassifier' is not a dotted path to a class like "
        "'sklearn.ensemble.RandomForestClassifier'; did you mean 'sklearn.ensemble.RandomForestClassifier'?",
    ),
    (
        "no_such_package_xyz.Model",
        {},
        "binary",
        "estimator: no module named 'no_such_package_xyz' (for 'no_such_package_xyz.Model'): install the package "
        "that provides it in the environment that runs modelcycle, or fix the path",
    ),
    (
        "sklearn.metrics.roc_auc_score",
        {},
        "binary",
        "estimator: 'sklearn.metrics.roc_auc_score' is a function, not an estimator class",
    ),
    (
        "sklearn.utils.Bunch",
        {},
        "binary",
        "estimator: 'sklearn.utils.Bunch' is not an estimator: it has no fit method",
    ),
    (
        RF.replace("Classifier", "Regressor"),
        {},
        "binary",
        "estimator: 'sklearn.ensemble.RandomForestRegressor' is a regressor but the task is 'binary': use a "
        "classifier such as 'sklearn.ensemble.RandomForestClassifier', or set task = \"regression\" if the task "
        "was inferred wrongly",
    ),
    (
        RF,
        {},
        "regression",
        "estimator: 'sklearn.ensemble.RandomForestClassifier' is a classifier but the task is 'regression': use a "
        'regressor such as \'sklearn.ensemble.RandomForestRegressor\', or set task = "binary" or "multiclass" if '
        "the task was inferred wrongly",
    ),
    (
        "sklearn.cluster.KMeans",
        {},
        "multiclass",
        "estimator: 'sklearn.cluster.KMeans' is neither a classifier nor a regressor; the task 'multiclass' needs "
        "a classifier such as 'sklearn.ensemble.HistGradientBoostingClassifier'",
    ),
    (
        RF,
        {"n_estimators": 5, "bootstrap": False, "max_samples": 0.5},
        "binary",
        "params.bootstrap: `max_sample` cannot be set if `bootstrap=False`. Either switch to `bootstrap=True` or "
        "set `max_sample=None`.",
    ),
]


@pytest.mark.parametrize(("estimator", "params", "task", "message"), SETTINGS_ERRORS)
def test_settings_errors_name_the_key_and_the_fix(estimator: str, params: dict, task: str, message: str) -> None:
    X, y = mixed(n=60, task=task)
    with pytest.raises(SettingsError) as info:
        trainer(task, estimator, params=params).fit(X, y)
    assert str(info.value) == message


def test_an_unknown_parameter_is_named_with_the_valid_ones() -> None:
    with pytest.raises(SettingsError) as info:
        trainer("binary", HGB, params={"max_iters": 5}).fit(*mixed(n=60))
    message = str(info.value)
    assert message.startswith(
        "params.max_iters: HistGradientBoostingClassifier has no parameter 'max_iters'; did you mean 'max_iter'? "
        "valid: categorical_features, class_weight, early_stopping, "
    )
    assert ", max_iter, " in message and "\n" not in message


def test_an_invalid_parameter_value_is_a_settings_error_with_sklearns_words() -> None:
    with pytest.raises(SettingsError) as info:
        trainer("binary", HGB, params={"max_iter": 0}).fit(*mixed(n=60))
    assert str(info.value) == (
        "params.max_iter: The 'max_iter' parameter of HistGradientBoostingClassifier must be an int in the range "
        "[1, inf). Got 0 instead."
    )


# -- threads and seeds ---------------------------------------------------------------------------------


class ThreadRecorder(ClassifierMixin, BaseEstimator):
    """Records the thread pools' sizes while it fits."""

    def __init__(self, n_jobs=None):
        self.n_jobs = n_jobs

    def fit(self, X, y):
        import sklearn.ensemble  # noqa: F401 - loads scikit-learn's OpenMP runtime
        from threadpoolctl import threadpool_info

        self.pools_ = {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_threads_caps_the_thread_pools_during_fit_and_fills_in_n_jobs() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    fitted = trainer("binary", f"{__name__}.ThreadRecorder", params={}, threads=1).fit(X, y)
    assert fitted[-1].n_jobs == 1
    assert fitted[-1].pools_ and set(fitted[-1].pools_.values()) == {1}, fitted[-1].pools_


def test_threads_sets_n_jobs_unless_the_user_did() -> None:
    X, y = mixed()
    assert trainer("binary", RF, threads=2).fit(X, y)[-1].n_jobs == 2
    assert trainer("binary", RF, params={"n_estimators": 5, "n_jobs": 1}, threads=2).fit(X, y)[-1].n_jobs == 1
    assert trainer("binary", RF, threads=None).fit(X, y)[-1].n_jobs is None


def test_the_split_seed_makes_fits_repeatable_unless_params_set_random_state() -> None:
    X, y = mixed()
    seeded = trainer("binary", RF, split={"seed": 7})
    first, second = seeded.fit(X, y), seeded.fit(X, y)
    assert first[-1].random_state == 7
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert trainer("binary", RF, params={"n_estimators": 5, "random_state": 3}).fit(X, y)[-1].random_state == 3


# -- artifacts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
@pytest.mark.parametrize(("task", "estimator"), [("binary", HGB), ("multiclass", LR), ("binary", RF)])
def test_dump_load_round_trip_predicts_identically(fmt: str, task: str, estimator: str) -> None:
    X, y = mixed(task=task)
    model = trainer(task, estimator)
    fitted = model.fit(X, y)
    data = model.dump(fitted, fmt)
    assert isinstance(data, bytes)
    loaded = model.load(data, fmt)
    new = hostile(X)
    assert np.array_equal(loaded.predict_proba(new), fitted.predict_proba(new))
    assert list(loaded.classes_) == list(fitted.classes_)


class Shout(TransformerMixin, BaseEstimator):
    """A transformer from a module skops has no reason to trust."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def untrusted_pipeline() -> Pipeline:
    from sklearn.linear_model import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    return Pipeline([("shout", Shout()), ("model", LogisticRegression(max_iter=50))]).fit(X[:, :3], y)


def test_skops_refuses_to_load_an_untrusted_type() -> None:
    import skops.io

    data = skops.io.dumps(untrusted_pipeline())
    with pytest.raises(IntegrityError) as info:
        trainer().load(data, "skops")
    assert str(info.value) == (
        f"artifact holds untrusted type '{__name__}.Shout': skops refuses to load it; "
        "only the estimators, arrays and containers of scikit-learn pipelines are trusted"
    )


def test_skops_refuses_to_dump_what_it_could_not_load() -> None:
    with pytest.raises(SettingsError) as info:
        trainer().dump(untrusted_pipeline(), "skops")
    assert str(info.value) == (
        f"artifact_format: the fitted model holds type '{__name__}.Shout', which skops would refuse to load "
        "(only the estimators, arrays and containers of scikit-learn pipelines are trusted): "
        'use artifact_format = "joblib"'
    )


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_unreadable_bytes_are_an_integrity_error(fmt: str) -> None:
    with pytest.raises(IntegrityError, match=f"^artifact cannot be read as {fmt}: "):
        trainer().load(b"not an artifact", fmt)


# -- importances and description ---------------------------------------------------------------------------


def test_feature_importances_sum_per_input_column() -> None:
    X, y = mixed()
    model = trainer("binary", RF, params={"n_estimators": 30})
    importances = model.feature_importances(model.fit(X, y), list(X.columns))
    assert list(importances) == list(X.columns)
    assert sum(importances.values()) == pytest.approx(1)
    assert all(value >= 0 for value in importances.values())
    # the target depends on num, color and flag: they outrank the pure-noise low-cardinality columns
    assert min(importances["num"], importances["color"], importances["flag"]) > importances["shape"]


def test_feature_importances_from_coefficients_of_a_multiclass_linear_model() -> None:
    X, y = mixed(task="multiclass")
    model = trainer("multiclass", LR)
    importances = model.feature_importances(model.fit(X, y), list(X.columns))
    assert list(importances) == list(X.columns)
    assert sum(importances.values()) == pytest.approx(1)
    assert max(importances, key=importances.get) in {"num", "color", "flag"}


def test_feature_importances_without_preprocessing_and_without_any() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = trainer("binary", RF, preprocessing="none")
    importances = model.feature_importances(model.fit(X, y), list(X.columns))
    assert list(importances) == list(X.columns) and sum(importances.values()) == pytest.approx(1)
    hgb = trainer("binary", HGB)
    assert hgb.feature_importances(hgb.fit(X, y), list(X.columns)) is None  # the core permutes instead


def test_describe_records_the_estimator_actually_used() -> None:
    settings = ModelSettings(dataset="d", target="y", params={"max_iter": 5})
    assert SklearnTrainer.recorded_settings(settings, task="regression") == {
        "estimator": "sklearn.ensemble.HistGradientBoostingRegressor",
        "params": {"max_iter": 5},
        "preprocessing": "auto",
    }
    assert SklearnTrainer.recorded_settings(ModelSettings(dataset="d", target="y", task="binary"))["estimator"] == HGB
    assert SklearnTrainer.recorded_settings(settings)["estimator"] is None  # unknown until the task is
    given = ModelSettings(dataset="d", target="y", estimator=LR, preprocessing="none")
    assert SklearnTrainer.recorded_settings(given) == {"estimator": LR, "params": {}, "preprocessing": "none"}


def test_skops_refuses_functions_even_from_trusted_modules() -> None:
    """FunctionTransformer(func=eval) names builtins.eval: a function, never trusted."""
    from modelcycle.errors import SettingsError
    from modelcycle_sklearn.artifacts import dump, untrusted
    from sklearn.preprocessing import FunctionTransformer

    assert untrusted(["builtins.eval", "numpy.load", "sklearn.pipeline.Pipeline"]) == ["builtins.eval", "numpy.load"]
    with pytest.raises(SettingsError, match="holds type 'builtins.eval', which skops would refuse to load"):
        dump(FunctionTransformer(func=eval), "skops")
