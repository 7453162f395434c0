"""Streaming metrics: each built-in metric reduced chunk by chunk (`partial`), merged in
any grouping and finished equals the metric on all rows at once, and the states stay
bounded however many rows stream through."""

from __future__ import annotations

import math
import pickle
from functools import reduce
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modelcycle import states
from modelcycle.interfaces import Metric
from modelcycle.states import DistinctCounts, ExactSum, RowState
from modelcycle_metrics import register_metrics
from sklearn import datasets
from sklearn import metrics as skm

from tests.test_metrics import Case

METRICS: dict[str, type[Metric]] = {cls.name: cls for cls in register_metrics()}


def stream(metric: Metric, case: Case, cuts: list[int], order: str = "left") -> float:
    """`metric` over `case` cut at `cuts`, states merged left to right or as a tree, pickled on the way."""
    bounds = [0, *cuts, len(case.y)]
    parts = [
        metric.partial(
            case.y[a:b], case.pred[a:b], None if case.proba is None else case.proba[a:b], labels=case.labels
        )
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    parts = [pickle.loads(pickle.dumps(p)) for p in parts]  # as a Dask worker hands them back
    if order == "tree":
        while len(parts) > 1:
            parts = [parts[i].merge(parts[i + 1]) if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
        merged = parts[0]
    else:
        merged = reduce(lambda a, b: a.merge(b), parts)
    return metric.finish(merged, labels=case.labels)


def cases() -> dict[str, Case]:
    rng = np.random.default_rng(3)
    X, y = datasets.load_breast_cancer(return_X_y=True)
    from tests.test_metrics import classifier_case

    binary = classifier_case(X, y)
    text = classifier_case(X, np.array(["malignant", "benign"], dtype=object)[y])
    text.proba = np.round(text.proba, 2)  # many tied scores
    text.proba[:, 0] = 1.0 - text.proba[:, 1]
    X, y = datasets.load_wine(return_X_y=True)
    multiclass = classifier_case(X, y)
    X, y = datasets.load_diabetes(return_X_y=True)
    regression = Case(y.astype(float), y + rng.normal(0, 40, len(y)), None, [])
    return {"binary": binary, "binary_text": text, "multiclass": multiclass, "regression": regression}


CASES = cases()
PAIRS = [
    (case, name)
    for case, c in CASES.items()
    for name, cls in METRICS.items()
    if ("regression" if not c.labels else "binary" if len(c.labels) == 2 else "multiclass") in cls.tasks
]


@pytest.mark.parametrize(("case", "name"), PAIRS, ids=[f"{c}-{n}" for c, n in PAIRS])
def test_a_streamed_metric_equals_the_metric_on_all_rows(case: str, name: str) -> None:
    c, metric = CASES[case], METRICS[name]()
    whole = metric.compute(c.y, c.pred, c.proba, labels=c.labels)
    rng = np.random.default_rng(0)
    results = []
    for chunks in (1, 2, 7, 40):
        cuts = sorted(rng.choice(np.arange(1, len(c.y)), chunks - 1, replace=False).tolist())
        for order in ("left", "tree"):
            results.append(stream(metric, c, cuts, order))
    assert results[0] == pytest.approx(whole, rel=1e-12, abs=1e-12)
    assert all(r == results[0] for r in results), results  # exactly the same whatever the chunking


def test_label_metrics_share_one_state_and_count_values_outside_the_labels() -> None:
    accuracy, f1, balanced = METRICS["accuracy"](), METRICS["f1_macro"](), METRICS["balanced_accuracy"]()
    assert accuracy.state_key == f1.state_key == balanced.state_key
    y = np.array([0, 1, 2, 7, 7, 1])
    pred = np.array([0, 2, 2, 1, 0, 1])
    labels = [0, 1, 2]
    state = accuracy.partial(y[:3], pred[:3], None, labels=labels).merge(
        accuracy.partial(y[3:], pred[3:], None, labels=labels)
    )
    assert accuracy.finish(state, labels=labels) == pytest.approx(skm.accuracy_score(y, pred))
    assert balanced.finish(state, labels=labels) == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert f1.finish(state, labels=labels) == pytest.approx(
        skm.f1_score(y, pred, labels=labels, average="macro", zero_division=np.nan)
    )


def test_a_metric_without_a_sketch_keeps_its_rows() -> None:
    class Plain(Metric):
        name = "plain"
        tasks = ("regression",)

        def compute(self, y_true: Any, y_pred: Any, proba: Any, *, labels: list, sample_weight: Any = None) -> float:
            return float(np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred))))

    plain = Plain()
    state = plain.partial([1.0, 2.0], [1.5, 2.0], None, labels=[]).merge(plain.partial([3.0], [0.0], None, labels=[]))
    assert isinstance(state, RowState)
    assert plain.finish(state, labels=[]) == 3.0


def test_distinct_counts_are_exact_below_the_cap_and_bounded_above(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    values = rng.random(20_000)
    exact = DistinctCounts()
    exact.add(values[:5_000])
    exact.add(values[5_000:])
    exact.compact()
    assert exact.bits == 52 and np.array_equal(exact.values, np.unique(values))

    monkeypatch.setattr(states, "MAX_DISTINCT", 500)
    one = DistinctCounts()
    one.add(values)
    one.compact()
    many = reduce(lambda a, b: a.merge(b), [_sketch(part) for part in np.array_split(values, 37)])
    assert one.values.shape[0] <= 500 and one.counts.sum() == 20_000
    assert one.bits < 52
    assert np.array_equal(one.values, many.values) and np.array_equal(one.counts, many.counts)
    assert one.bits == many.bits
    # truncation moves a value toward zero by less than 2**-bits of itself
    assert np.all(np.abs(np.interp(values, one.values, one.values) - values) <= values * 2.0 ** -one.bits + 1e-300)


def test_a_ranking_metric_past_the_cap_stays_close_and_chunk_independent(monkeypatch) -> None:
    rng = np.random.default_rng(9)
    n = 30_000
    y = rng.integers(0, 2, n)
    score = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    case = Case(y, (score > 0.5).astype(int), np.column_stack([1 - score, score]), [0, 1])
    auc = METRICS["roc_auc"]()
    exact = auc.compute(case.y, case.pred, case.proba, labels=case.labels)
    monkeypatch.setattr(states, "MAX_DISTINCT", 2_000)
    streamed = stream(auc, case, [7_000, 7_001, 20_000])
    assert streamed == stream(auc, case, list(range(1_000, n, 1_000)), order="tree")
    assert streamed == pytest.approx(exact, abs=1e-3)
    state = auc.partial(case.y, case.pred, case.proba, labels=case.labels)
    assert state.sketches[1].compact().values.shape[0] <= 2_000


def _sketch(values: np.ndarray) -> DistinctCounts:
    sketch = DistinctCounts()
    sketch.add(values)
    return sketch


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=60),
    st.integers(min_value=0, max_value=60),
)
def test_exact_sums_are_exact_however_the_values_are_split(values: list[float], cut: int) -> None:
    from fractions import Fraction

    whole, parts = ExactSum(), ExactSum()
    whole.add(np.asarray(values))
    left, right = ExactSum(), ExactSum()
    left.add(np.asarray(values[:cut]))
    right.add(np.asarray(values[cut:]))
    parts = left.merge(right)
    exact = sum((Fraction(v) for v in values), Fraction(0))
    assert whole.fraction() == parts.fraction() == exact
    try:
        expected = float(exact)  # correctly rounded
    except OverflowError:
        expected = math.inf if exact > 0 else -math.inf
    assert whole.value() == expected
