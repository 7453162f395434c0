"""Two stored versions of a model side by side: metrics on the same rows with the paired
bootstrap difference and its interval, the activation decision between them, what differs
in their settings and lineage, and the curves and importances to overlay.

The rows are those of a labelled dataset (by default the one the activation decision
compares on: `activation.on`, else the model's own dataset) minus the rows either version
was trained on, found through each version's row fingerprint (see rowset.py): the fair
comparison `if-better` makes. A version stored without a fingerprint cannot have its rows
left out; the result says so in its `note`.

The functions take what they need as arguments (settings, registry, a model loader, the
metric classes), never the Project: `Project.compare` is the thin entry point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .activation import Side, decide, paired_bootstrap
from .comparison import trained_rows
from .errors import DataError, ModelcycleError, NotFoundError, SettingsError

if TYPE_CHECKING:  # pragma: no cover
    from .registry import Registry
    from .settings import Settings

#: the two-sided level of the percentile interval of each difference
LEVEL = 0.95

#: metadata compared key by key (dotted paths); the rest (hashes of stored objects, timings) is not lineage
LINEAGE_KEYS = (
    "task",
    "trainer",
    "estimator",
    "params",
    "preprocessing",
    "preprocessing_plan",
    "features",
    "target",
    "labels",
    "threshold",
    "threshold_method",
    "dataset",
    "split",
    "refit_full",
    "row_fingerprint.covers",
    "row_fingerprint.rows",
    "primary_metric",
    "parent_version",
    "settings_hash",
    "git_commit",
    "libraries",
    "created_at",
    "created_by",
)


@dataclass
class MetricDifference:
    """One metric of both versions on the compared rows, and B − A with its bootstrap interval."""

    metric: str
    a: float | None
    b: float | None
    difference: float | None  # b − a
    low: float | None
    high: float | None
    greater_is_better: bool
    better: str | None  # "a", "b", or None when the interval holds 0

    @property
    def verdict(self) -> str:
        return {"a": "A", "b": "B"}.get(self.better or "", "–")


@dataclass
class VersionComparison:
    """What `modelcycle compare` prints and `Project.compare` returns."""

    model: str
    a: int
    b: int
    task: str
    compared_on: str  # the dataset's name, or its path or URL
    source: str  # where the rows came from: "--data", "activation.on" or "dataset"
    rows_compared: int
    rows_excluded: int  # labelled rows left out because a version was trained on them
    note: str | None
    primary_metric: str
    metrics: list[MetricDifference]
    resamples: int
    seed: int
    level: float
    decision: dict[str, Any] | None  # the stored activation decision between the two, if any
    if_better: dict[str, Any]  # what `if-better` decides for B (candidate) over A on these rows
    differences: list[dict[str, Any]]  # {"key", "a", "b"} for each lineage key whose values differ
    same: list[str]  # lineage keys whose values agree
    curves: dict[str, Any] = field(default_factory=dict, repr=False)  # per version, on the compared rows
    importances: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)  # per version, as trained
    html: str | None = None  # where the compare page was written, when one was asked for

    @property
    def rows_from(self) -> str:
        """Where the compared rows come from, for people: "dataset 'd'" or a path."""
        return self.compared_on if self.source == "--data" else f"dataset '{self.compared_on}'"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = [asdict(m) for m in self.metrics]
        if self.html is None:  # the key only when a page was written, as `compare --json` always printed
            del out["html"]
        return out


# -- the whole comparison --------------------------------------------------------------------


def compare_versions(
    settings: Settings,
    registry: Registry,
    load_model: Callable[[int], Any],
    metric_classes: Mapping[str, Any],
    make_metric: Callable[[str], Any],
    model: str,
    a: int,
    b: int,
    *,
    deleted: Collection[int] = (),
    data: str | pd.DataFrame | None = None,
    resamples: int | None = None,
) -> VersionComparison:
    """Compare versions `a` and `b` of `model` on labelled rows neither was trained on.

    `load_model(version)` returns a fitted model; `metric_classes` maps the registered metric
    names to their classes and `make_metric(name)` builds one (through the plugin factory);
    `deleted` the versions gc deleted; `data` a dataset name, path/URL or DataFrame (default: `activation.on`,
    else the model's dataset).
    """
    if model not in settings.models:
        if registry.latest(model) is not None:
            raise NotFoundError(
                f"model '{model}' has stored versions but no [models.{model}] table in {settings.file.name}: "
                "compare needs its target and dataset; put the table back to compare its versions"
            )
        known = ", ".join(sorted(settings.models)) or "none"
        raise NotFoundError(f"unknown model '{model}': models in {settings.file.name}: {known}")
    if a == b:
        raise ModelcycleError(f"compare needs two different versions of '{model}', not {a} twice: name another")
    ms = settings.models[model]
    metas = {}
    for version in (a, b):
        if version in deleted:
            raise NotFoundError(f"model '{model}' version {version} was deleted by gc: choose another version")
        metas[version] = registry.version(model, version)
    task = _same_task(model, a, b, metas[a], metas[b])
    frame, name, where, source = _rows_source(settings, ms, model, data)
    label = ms.label_column or ms.target
    if label not in frame.columns:
        raise DataError(
            f"{where} has no column '{label}', the label of model '{model}': "
            "add the labels, or compare on other labelled data (--data)"
        )
    hashed = frame if label == ms.target else frame.assign(**{ms.target: frame[label]})
    labelled = frame[label].notna().to_numpy()
    seen = np.zeros(len(frame), dtype=bool)
    notes = []
    for version in (a, b):
        rows, why = trained_rows(registry, model, version, hashed)
        seen |= rows
        if why:
            notes.append(f"{why}: its training rows are not left out")
    keep = labelled & ~seen
    excluded = int((labelled & seen).sum())
    if not keep.any():
        raise DataError(
            f"no labelled row of {where} is left once the rows versions {a} and {b} were trained on are left out "
            f"({excluded} excluded): compare on other labelled data with --data FILE"
        )
    rows = frame[keep]
    labels = metas[a].get("labels") or []
    if task != "regression" and [str(c) for c in labels] != [str(c) for c in metas[b].get("labels") or []]:
        raise ModelcycleError(
            f"versions {a} and {b} of '{model}' know different classes ({labels} and {metas[b].get('labels')}): "
            "their metrics cannot be compared"
        )
    y = _truth(rows[label], task, labels, label, where)
    predictions = {v: _predict(model, v, metas[v], load_model(v), rows, where) for v in (a, b)}
    from .measures import MetricSet

    try:
        metric_set = MetricSet(metric_classes, task, ms.metrics, ms.primary_metric, f"models.{model}", make_metric)
    except SettingsError as exc:  # the settings' metrics no longer fit the versions' task
        raise settings.place(exc) from None
    resamples = ms.activation.resamples if resamples is None else resamples
    seed = ms.split.seed
    sides = {
        key: {v: _side(metric, v, y, *predictions[v], labels) for v in (a, b)}
        for key, metric in metric_set.metrics.items()
    }
    metrics = [
        difference(key, sides[key][a], sides[key][b], metric.greater_is_better, len(y), resamples, seed)
        for key, metric in metric_set.metrics.items()
    ]
    primary = metric_set.primary_metric
    verdict = decide(
        "if-better",
        metric=metric_set.primary,
        greater_is_better=primary.greater_is_better,
        candidate=sides[metric_set.primary][b],
        incumbent=sides[metric_set.primary][a],
        min_delta=ms.activation.min_delta,
        significance=ms.activation.significance,
        resamples=resamples,
        seed=seed,
        rows=len(y),
        min_rows=ms.activation.min_rows,
        compared={"compared_on": name, "rows_compared": len(y), "rows_excluded": excluded},
    )
    verdict["reason"] = verdict["reason"].replace("active version", "version")  # A need not be active
    differences, same = lineage_diff(metas[a], metas[b])
    return VersionComparison(
        model=model,
        a=a,
        b=b,
        task=task,
        compared_on=str(name),
        source=source,
        rows_compared=len(y),
        rows_excluded=excluded,
        note="; ".join(notes) or None,
        primary_metric=metric_set.primary,
        metrics=metrics,
        resamples=resamples,
        seed=seed,
        level=LEVEL,
        decision=stored_decision(registry, model, a, b, metas),
        if_better=verdict,
        differences=differences,
        same=same,
        curves={str(v): _curves(task, y, *predictions[v], labels, metas[v].get("threshold")) for v in (a, b)},
        importances={str(v): _importances(registry, model, v) for v in (a, b)},
    )


# -- the pieces, each usable alone --------------------------------------------------------------


def difference(
    metric: str, a: Side, b: Side, greater_is_better: bool, rows: int, resamples: int, seed: int
) -> MetricDifference:
    """B − A on the compared rows and its percentile interval over paired bootstrap resamples.

    The resamples are those of the activation decision (activation.paired_bootstrap: row
    weights drawn in blocks of 100 from generators seeded (seed, block)), so the primary
    metric's interval is made of the very differences `if-better` tests.
    """
    diff = b.value - a.value
    low = high = None
    if np.isfinite(diff) and resamples > 0:
        deltas = paired_bootstrap(b, a, rows=rows, greater_is_better=True, resamples=resamples, seed=seed)
        deltas = deltas[np.isfinite(deltas)]
        if len(deltas):
            tail = (1 - LEVEL) / 2 * 100
            low, high = (float(v) for v in np.percentile(deltas, [tail, 100 - tail]))
    better = None
    if low is not None and high is not None and (low > 0 or high < 0):
        better = "b" if (diff > 0) == greater_is_better else "a"
    return MetricDifference(
        metric, _finite(a.value), _finite(b.value), _finite(diff), low, high, greater_is_better, better
    )


def lineage_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The LINEAGE_KEYS (nested ones flattened to dotted keys) whose values differ, and those that agree."""
    flat_a, flat_b = {}, {}
    for key in LINEAGE_KEYS:
        _flatten(key, _get(a, key), flat_a)
        _flatten(key, _get(b, key), flat_b)
    differences, same = [], []
    for key in sorted(set(flat_a) | set(flat_b), key=_order(flat_a, flat_b)):
        left, right = flat_a.get(key), flat_b.get(key)
        if left == right:
            same.append(key)
        else:
            differences.append({"key": key, "a": left, "b": right})
    return differences, same


def stored_decision(
    registry: Registry, model: str, a: int, b: int, metas: Mapping[int, Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The decision recorded when one of the two was trained with the other active, if there is one."""
    for candidate, incumbent in ((b, a), (a, b)):
        decision = metas[candidate].get("decision") or {}
        if (decision.get("incumbent") or {}).get("version") == incumbent:
            return {**decision, "candidate": {**decision["candidate"], "version": candidate}}
    return None


def _same_task(model: str, a: int, b: int, meta_a: Mapping[str, Any], meta_b: Mapping[str, Any]) -> str:
    task_a, task_b = meta_a.get("task") or "binary", meta_b.get("task") or "binary"
    if task_a != task_b:
        raise ModelcycleError(
            f"version {a} of '{model}' is a {task_a} model and version {b} a {task_b} one: "
            "they cannot be compared on the same metrics"
        )
    return task_a


def _rows_source(
    settings: Settings, ms: Any, model: str, data: str | pd.DataFrame | None
) -> tuple[pd.DataFrame, str, str, str]:
    """(frame, its name, how errors name it, where it came from): --data, else activation.on, else the dataset."""
    from . import data as datasets

    if isinstance(data, pd.DataFrame):
        return data, "a DataFrame", "the DataFrame given", "--data"
    if data is not None:
        name, source = data, "--data"
    else:
        name, source = (ms.activation.on, "activation.on") if ms.activation.on else (ms.dataset, "dataset")
    dataset = datasets.resolve(settings, name)
    return datasets.read_frame(dataset), dataset.name or dataset.url, dataset.label, source


def _truth(column: pd.Series, task: str, labels: list, label: str, where: str) -> np.ndarray:
    if task == "regression":
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.isna().any():
            raise DataError(f"{where}: column '{label}' has non-numeric labels for a regression: fix or blank them")
        return numbers.to_numpy(dtype="float64")
    from .evaluate import _as_labels

    classes = _as_labels(column.to_numpy(), labels, label, where)
    return np.asarray(classes.tolist())  # the classes' own dtype, not object: scikit-learn's curves need it


def _predict(model: str, version: int, meta: Mapping[str, Any], fitted: Any, rows: pd.DataFrame, where: str) -> tuple:
    from .score import Scorer

    pred, proba, _ = Scorer(model, version, dict(meta), fitted, where).predict(rows)
    return pred, proba


def _side(metric: Any, version: int, y: np.ndarray, pred: np.ndarray, proba: Any, labels: list) -> Side:
    value = metric.compute(y, pred, proba, labels=labels)
    return Side(version, value, lambda w: metric.compute(y, pred, proba, labels=labels, sample_weight=w))


def _curves(task: str, y: np.ndarray, pred: np.ndarray, proba: Any, labels: list, threshold: Any) -> dict[str, Any]:
    """ROC, precision-recall and calibration (binary), confusion (multiclass), residuals (regression)."""
    from .insights import binary_insights, multiclass_insights, regression_insights

    if task == "binary":
        return binary_insights(y, proba, labels, 0.5 if threshold is None else threshold)
    if task == "multiclass":
        return multiclass_insights(y, pred, labels)
    return regression_insights(y, pred, 0)


def _importances(registry: Registry, model: str, version: int) -> dict[str, float]:
    import json

    try:
        raw = registry.read_attachment(model, version, "insights.json")
    except ModelcycleError:
        return {}
    return {} if raw is None else dict(json.loads(raw).get("feature_importances") or {})


def _get(meta: Mapping[str, Any], dotted: str) -> Any:
    value: Any = meta
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _flatten(key: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for inner, item in value.items():
            _flatten(f"{key}.{inner}", item, out)
    elif key == "features" and isinstance(value, list):
        out[key] = [f.get("name") if isinstance(f, Mapping) else f for f in value]
        out["features.dtypes"] = [f.get("dtype") for f in value if isinstance(f, Mapping)]
    else:
        out[key] = value


def _order(*flats: Mapping[str, Any]) -> Callable[[str], tuple[int, str]]:
    """LINEAGE_KEYS order first, then the key."""
    rank = {k: i for i, k in enumerate(LINEAGE_KEYS)}
    return lambda key: (min((r for k, r in rank.items() if key == k or key.startswith(k + ".")), default=99), key)


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None
