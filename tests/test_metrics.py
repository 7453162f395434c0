"""The built-in metrics against scikit-learn, on data shipped with scikit-learn: every metric,
with and without sample weights, on subsets missing a class, NaN where undefined; the fast
numpy ROC AUC on ties and weights; and a test plugin adding a metric to a project."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from modelcycle import DataError, hookimpl
from modelcycle.interfaces import Metric
from modelcycle_metrics import register_metrics
from modelcycle_metrics._ranking import binary_average_precision, binary_roc_auc, clear_cache
from sklearn import datasets
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize

METRICS: dict[str, type[Metric]] = {cls.name: cls for cls in register_metrics()}
NAN = float("nan")


@dataclass
class Case:
    y: np.ndarray
    pred: np.ndarray
    proba: np.ndarray | None
    labels: list[Any]


def classifier_case(X: np.ndarray, y: np.ndarray) -> Case:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=1000)).fit(X[::2], y[::2])
    proba = model.predict_proba(X)
    labels = list(model.classes_)
    return Case(y, np.asarray(labels)[proba.argmax(axis=1)], proba, labels)


@pytest.fixture(scope="module")
def binary() -> Case:
    X, y = datasets.load_breast_cancer(return_X_y=True)
    return classifier_case(X, y)


@pytest.fixture(scope="module")
def binary_text() -> Case:
    """String labels, and rounded probabilities: many tied scores."""
    X, y = datasets.load_breast_cancer(return_X_y=True)
    case = classifier_case(X, np.array(["malignant", "benign"], dtype=object)[y])
    case.proba = np.round(case.proba, 2)
    case.proba[:, 0] = 1.0 - case.proba[:, 1]
    return case


@pytest.fixture(scope="module")
def multiclass() -> Case:
    X, y = datasets.load_wine(return_X_y=True)
    return classifier_case(X, y)


@pytest.fixture(scope="module")
def regression() -> Case:
    X, y = datasets.load_diabetes(return_X_y=True)
    model = Ridge(alpha=0.1).fit(X[::2], y[::2])
    return Case(y.astype(float), model.predict(X), None, [])


def weights_of(kind: str, n: int) -> np.ndarray | None:
    rng = np.random.default_rng(7)
    if kind == "none":
        return None
    if kind == "random":
        return rng.random(n) * 3
    return np.bincount(rng.integers(0, n, n), minlength=n).astype(float)  # a bootstrap resample: zeros too


WEIGHTS = ["none", "random", "bootstrap"]


# -- scikit-learn's value for each metric ------------------------------------------------------


def sk_binary(name: str, c: Case, w: np.ndarray | None) -> float:
    pos = c.labels[1]
    y, pred, p1 = c.y, c.pred, c.proba[:, 1]
    kw = {"sample_weight": w}
    prf = {"pos_label": pos, "zero_division": np.nan, **kw}
    return {
        "accuracy": lambda: skm.accuracy_score(y, pred, **kw),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred, **kw),
        "precision": lambda: skm.precision_score(y, pred, **prf),
        "recall": lambda: skm.recall_score(y, pred, **prf),
        "f1": lambda: skm.f1_score(y, pred, **prf),
        "roc_auc": lambda: skm.roc_auc_score(y == pos, p1, **kw),
        "pr_auc": lambda: skm.average_precision_score(y == pos, p1, **kw),
        "log_loss": lambda: skm.log_loss(y, c.proba, labels=c.labels, **kw),
        "brier": lambda: skm.brier_score_loss(y == pos, p1, **kw),
    }[name]()


def sk_multiclass(name: str, c: Case, w: np.ndarray | None) -> float:
    y, pred, proba, labels = c.y, c.pred, c.proba, c.labels
    kw = {"sample_weight": w}
    kind, _, average = name.partition("_")
    if kind in ("precision", "recall", "f1"):
        fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[kind]
        return fn(y, pred, labels=labels, average=average or "macro", zero_division=np.nan, **kw)
    return {
        "accuracy": lambda: skm.accuracy_score(y, pred, **kw),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred, **kw),
        "roc_auc": lambda: skm.roc_auc_score(y, proba, labels=labels, multi_class="ovr", **kw),
        "roc_auc_weighted": lambda: skm.roc_auc_score(
            y, proba, labels=labels, multi_class="ovr", average="weighted", **kw
        ),
        "pr_auc": lambda: skm.average_precision_score(label_binarize(y, classes=labels), proba, **kw),
        "log_loss": lambda: skm.log_loss(y, proba, labels=labels, **kw),
        "brier": lambda: skm.brier_score_loss(y, proba, labels=labels, **kw),
    }[name]()


def sk_regression(name: str, c: Case, w: np.ndarray | None) -> float:
    fn = {
        "rmse": skm.root_mean_squared_error,
        "mae": skm.mean_absolute_error,
        "mape": skm.mean_absolute_percentage_error,
        "median_ae": skm.median_absolute_error,
        "r2": skm.r2_score,
    }[name]
    return fn(c.y, c.pred, sample_weight=w)


def ours(name: str, c: Case, w: np.ndarray | None) -> float:
    return METRICS[name]().compute(c.y, c.pred, c.proba, labels=c.labels, sample_weight=w)


def same(value: float, expected: float) -> bool:
    if math.isnan(expected):
        return math.isnan(value)
    return value == pytest.approx(expected, rel=1e-9, abs=1e-9)


def names_for(task: str) -> list[str]:
    return sorted(n for n, cls in METRICS.items() if task in cls.tasks)


def subset(c: Case, rows: np.ndarray) -> Case:
    return Case(c.y[rows], c.pred[rows], None if c.proba is None else c.proba[rows], c.labels)


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true", UserWarning)
        yield


# -- equal to scikit-learn ---------------------------------------------------------------------


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("name", names_for("binary"))
def test_binary_metrics_equal_scikit_learn(binary, binary_text, name, weights) -> None:
    for case in (binary, binary_text):
        w = weights_of(weights, len(case.y))
        value, expected = ours(name, case, w), sk_binary(name, case, w)
        assert isinstance(value, float)
        assert math.isfinite(expected)
        assert same(value, expected), (name, case.labels, value, expected)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("name", names_for("multiclass"))
def test_multiclass_metrics_equal_scikit_learn(multiclass, name, weights) -> None:
    w = weights_of(weights, len(multiclass.y))
    value, expected = ours(name, multiclass, w), sk_multiclass(name, multiclass, w)
    assert math.isfinite(expected)
    assert same(value, expected), (name, value, expected)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("name", names_for("regression"))
def test_regression_metrics_equal_scikit_learn(regression, name, weights) -> None:
    w = weights_of(weights, len(regression.y))
    value, expected = ours(name, regression, w), sk_regression(name, regression, w)
    assert isinstance(value, float)
    assert same(value, expected), (name, value, expected)


def test_the_positive_class_is_labels_1_whatever_the_order(binary) -> None:
    """Columns follow `labels`: reversed labels and columns make class 0 the positive one."""
    flipped = Case(binary.y, binary.pred, binary.proba[:, ::-1], binary.labels[::-1])
    assert same(ours("roc_auc", flipped, None), skm.roc_auc_score(binary.y == 0, binary.proba[:, 0]))
    assert same(ours("pr_auc", flipped, None), skm.average_precision_score(binary.y == 0, binary.proba[:, 0]))
    assert same(ours("f1", flipped, None), skm.f1_score(binary.y, binary.pred, pos_label=0))
    assert same(ours("brier", flipped, None), skm.brier_score_loss(binary.y == 0, binary.proba[:, 0]))
    assert same(ours("log_loss", flipped, None), ours("log_loss", binary, None))


@pytest.mark.parametrize("k", [4, 20])
def test_many_text_classes_with_unicode_predictions(k) -> None:
    """Labels compared one by one (k <= 16) or hashed (more); y_true object, y_pred unicode, as the core passes them."""
    rng = np.random.default_rng(k)
    labels = [f"c{i:02d}" for i in range(k)]
    proba = rng.dirichlet(np.ones(k), size=600)
    codes = np.array([rng.choice(k, p=row) for row in proba])
    case = Case(np.asarray(labels, dtype=object)[codes], np.asarray(labels)[proba.argmax(axis=1)], proba, labels)
    w = weights_of("random", len(codes))
    for name in ("accuracy", "balanced_accuracy", "f1_macro", "precision_weighted", "roc_auc", "log_loss", "brier"):
        assert same(ours(name, case, w), sk_multiclass(name, case, w)), name


# -- subsets missing a class -------------------------------------------------------------------


@pytest.mark.parametrize("weights", WEIGHTS)
def test_multiclass_subset_without_a_class(multiclass, weights) -> None:
    missing = multiclass.labels[2]
    rows = np.flatnonzero(multiclass.y != missing)
    part = subset(multiclass, rows)
    assert missing in part.pred  # the model still predicts the absent class on some rows
    w = weights_of(weights, len(rows))
    for name in names_for("multiclass"):
        value = ours(name, part, w)
        if name in ("roc_auc", "pr_auc"):  # one-vs-rest curve of the absent class does not exist
            assert math.isnan(value), name
        else:
            assert same(value, sk_multiclass(name, part, w)), name


def test_binary_subset_with_one_class(binary) -> None:
    negatives = subset(binary, np.flatnonzero(binary.y == binary.labels[0]))
    for name in ("roc_auc", "pr_auc", "recall"):
        assert math.isnan(ours(name, negatives, None)), name
    for name in ("accuracy", "balanced_accuracy", "precision", "log_loss", "brier"):
        value = ours(name, negatives, None)
        assert math.isfinite(value) and same(value, sk_binary(name, negatives, None)), name
    positives = subset(binary, np.flatnonzero(binary.y == binary.labels[1]))
    assert ours("pr_auc", positives, None) == 1.0  # every ranking is perfect: as scikit-learn
    assert math.isnan(ours("roc_auc", positives, None))


def test_precision_without_predicted_positives_is_nan(binary) -> None:
    none_predicted = Case(binary.y, np.full(len(binary.y), binary.labels[0]), binary.proba, binary.labels)
    assert math.isnan(ours("precision", none_predicted, None))
    assert ours("recall", none_predicted, None) == 0.0
    assert ours("f1", none_predicted, None) == 0.0


def test_true_labels_the_model_does_not_know(multiclass) -> None:
    y = multiclass.y.copy()
    y[:5] = 9
    case = Case(y, multiclass.pred, multiclass.proba, multiclass.labels)
    assert same(ours("accuracy", case, None), skm.accuracy_score(y, case.pred))
    assert same(ours("balanced_accuracy", case, None), skm.balanced_accuracy_score(y, case.pred))
    for name in ("precision_macro", "recall_weighted", "f1_macro"):
        assert same(ours(name, case, None), sk_multiclass(name, case, None)), name
    with pytest.raises(DataError, match=r"1 class\(es\) the model does not know: 9 \(its classes: 0, 1, 2\)"):
        ours("log_loss", case, None)


# -- NaN where undefined -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(METRICS))
def test_no_rows_or_zero_weights_give_nan(binary, multiclass, regression, name) -> None:
    task = METRICS[name].tasks[0]
    case = {"binary": binary, "multiclass": multiclass, "regression": regression}[task]
    assert math.isnan(ours(name, subset(case, np.arange(0)), None))
    assert math.isnan(ours(name, case, np.zeros(len(case.y))))


def test_r2_is_nan_with_one_row_or_a_constant_target() -> None:
    r2 = METRICS["r2"]()
    assert math.isnan(r2.compute(np.array([3.0]), np.array([2.0]), None, labels=[]))
    assert math.isnan(r2.compute(np.full(4, 2.0), np.arange(4.0), None, labels=[]))
    assert math.isnan(r2.compute(np.arange(4.0), np.arange(4.0), None, labels=[], sample_weight=[0, 0, 1, 0]))


def test_mape_divides_a_zero_target_by_eps_like_scikit_learn() -> None:
    y, pred, w = np.array([0.0, 1.0, 2.0, 0.0]), np.array([0.0, 1.5, 1.0, 1e-20]), np.array([1.0, 2.0, 1.0, 0.5])
    value = METRICS["mape"]().compute(y, pred, None, labels=[], sample_weight=w)
    assert same(value, skm.mean_absolute_percentage_error(y, pred, sample_weight=w))


@pytest.mark.parametrize(
    "weights",
    [[1, 1, 1, 1], [1, 2, 1, 0], [0, 1, 1, 0], [2, 0, 0, 2], [1, 0, 0, 1, 0, 0], [0.5, 0.25, 0.25, 1, 0, 0]],
)
def test_weighted_median_lands_on_scikit_learns_midpoints(weights) -> None:
    w = np.array(weights, dtype=float)
    y = np.arange(len(w), dtype=float) * 1.5
    pred = np.zeros(len(w))
    value = METRICS["median_ae"]().compute(y, pred, None, labels=[], sample_weight=w)
    assert same(value, skm.median_absolute_error(y, pred, sample_weight=w))


# -- declarations ------------------------------------------------------------------------------

B, M, BM, R = ("binary",), ("multiclass",), ("binary", "multiclass"), ("regression",)
DECLARED = {
    # name: (tasks, greater_is_better, needs_proba)
    "accuracy": (BM, True, False),
    "balanced_accuracy": (BM, True, False),
    "precision": (BM, True, False),
    "recall": (BM, True, False),
    "f1": (BM, True, False),
    "precision_macro": (M, True, False),
    "recall_macro": (M, True, False),
    "f1_macro": (M, True, False),
    "precision_weighted": (M, True, False),
    "recall_weighted": (M, True, False),
    "f1_weighted": (M, True, False),
    "roc_auc": (BM, True, True),
    "roc_auc_weighted": (M, True, True),
    "pr_auc": (BM, True, True),
    "log_loss": (BM, False, True),
    "brier": (BM, False, True),
    "rmse": (R, False, False),
    "mae": (R, False, False),
    "mape": (R, False, False),
    "median_ae": (R, False, False),
    "r2": (R, True, False),
}


def test_declarations() -> None:
    assert set(METRICS) == set(DECLARED)
    for name, (tasks, greater, needs_proba) in DECLARED.items():
        cls = METRICS[name]
        assert (tuple(cls.tasks), cls.greater_is_better, cls.needs_proba) == (tasks, greater, needs_proba), name
        assert cls.name == name.lower() and (cls.__doc__ or "").strip(), name


# -- the fast ROC AUC --------------------------------------------------------------------------


@pytest.mark.parametrize("decimals", [1, 2, 6])
def test_fast_ranking_scores_equal_scikit_learn_with_ties_and_weights(decimals) -> None:
    rng = np.random.default_rng(decimals)
    n = 5000
    y = rng.random(n) < 0.3
    score = np.round(np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1), decimals)  # few distinct values: ties
    for w in (None, rng.random(n), np.bincount(rng.integers(0, n, n), minlength=n).astype(float)):
        assert same(binary_roc_auc(y, score, w), skm.roc_auc_score(y, score, sample_weight=w))
        assert same(binary_average_precision(y, score, w), skm.average_precision_score(y, score, sample_weight=w))


def test_the_sort_cache_never_serves_a_changed_array() -> None:
    clear_cache()
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.5
    a, b = rng.random(300), rng.random(300)
    for _ in range(2):  # alternating columns, as a paired bootstrap does
        for score in (a, b):
            w = rng.random(300)
            assert same(binary_roc_auc(y, score, w), skm.roc_auc_score(y, score, sample_weight=w))
    a[:150] = a[150:]  # changed in place: same object, new content
    assert same(binary_roc_auc(y, a), skm.roc_auc_score(y, a))


# -- a metric from a test plugin ---------------------------------------------------------------


class TopDecileLift(Metric):
    """Positive rate among the 10% highest scores, over the overall positive rate."""

    name = "top_decile_lift"
    tasks = ("binary",)
    needs_proba = True

    def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None) -> float:
        positive = np.asarray(y_true) == labels[1]
        top = np.argsort(-proba[:, 1])[: max(1, len(positive) // 10)]
        return float(positive[top].mean() / positive.mean()) if positive.any() else NAN


class LiftPlugin:
    __name__ = "lift"

    @hookimpl
    def register_metrics(self):
        return [TopDecileLift]


def test_a_plugin_metric_is_found_beside_the_built_ins(make_project, monkeypatch, binary) -> None:
    monkeypatch.setenv("MODELCYCLE_BLOCK_PLUGINS", "sklearn")  # only metrics matter here
    project = make_project(plugins=[LiftPlugin()])
    registry = project.host.classes("metrics")
    assert registry["top_decile_lift"].cls is TopDecileLift
    assert registry["top_decile_lift"].source == "explicit"
    assert registry["roc_auc"].plugin == "metrics" and registry["roc_auc"].source == "built-in"
    assert set(DECLARED) < set(registry)
    lift = registry["top_decile_lift"].cls().compute(binary.y, binary.pred, binary.proba, labels=binary.labels)
    assert lift > 1.5
