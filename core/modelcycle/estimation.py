"""Performance without labels: direct loss estimation for regressions, and a sampling-error
band on every estimated metric.

Regression (DLE, as NannyML's direct loss estimation): at training time a small gradient
boosting model learns, on the holdout, each row's expected absolute and squared error from
its features and the model's prediction. At evaluation time it predicts them for every new
row; the sums merge by addition, so the estimate streams and distributes like the rest of
the evaluation. Estimated MAE = mean predicted |e|; estimated RMSE = sqrt(mean predicted e²).

The holdout is split in `FOLDS` folds; each fold's loss model learns on the other folds
(cross-fitting), so each holdout row's predicted loss comes from a model that never saw
it: the reference's residuals (true loss − estimated loss) are honest, and they give the
band. The stored loss model is then fitted on the whole (bounded) holdout: one small model
per loss is what every evaluated row pays for.

Bands: the sampling error of an estimate on n rows is how far the true metric of n rows
drawn like the holdout strays from the estimate, `unit_std / sqrt(n)`. `unit_std` is
measured once on the holdout: for a regression, the standard deviation of the
out-of-fold residuals; for a classification, that of (true − estimated) metric over
`RESAMPLES` bootstrap resamples of the holdout, times sqrt(holdout rows). The band is the
estimate ± `Z` sampling errors (95%). It covers sampling noise only: under concept drift,
or a shift the loss model or the calibration cannot follow, the truth can leave it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .errors import IntegrityError
from .profile import weighted_calibration_map
from .states import as_numbers

#: the classification bootstrap resamples at most this many holdout rows (a seeded sample beyond)
SAMPLING_ROWS = 5_000
#: the loss model sees at most this many holdout rows (a seeded sample beyond)
MAX_ROWS = 20_000
FOLDS = 2
#: a small model: the loss surface is smoother than the target, and training must stay cheap
LOSS_PARAMS = {"max_iter": 30, "learning_rate": 0.2, "max_leaf_nodes": 15, "min_samples_leaf": 40}
RESAMPLES = 100
Z = 1.959963984540054  # two-sided 95%
LEVEL = 0.95
LOSSES = ("abs", "sq")


# -- features of the loss model ----------------------------------------------------------------


def loss_columns(profile: dict[str, Any], features: list[str]) -> dict[str, dict[str, Any]]:
    """How each feature enters the loss model: numbers as they are, categories as the rank of
    the value among the profile's most frequent ones (others share one code)."""
    spec: dict[str, dict[str, Any]] = {}
    for name in features:
        column = profile["columns"][str(name)]
        entry: dict[str, Any] = {"kind": column["kind"]}
        if column["kind"] == "categorical":
            entry["top"] = list(column["top"])
        spec[str(name)] = entry
    return spec


def loss_matrix(frame: pd.DataFrame, columns: dict[str, dict[str, Any]], prediction: Any) -> np.ndarray:
    """The loss model's input: one float column per feature, then the prediction."""
    out = np.empty((len(frame), len(columns) + 1), dtype="float64")
    for i, (name, spec) in enumerate(columns.items()):
        column = frame[name]
        if spec["kind"] != "categorical":
            out[:, i] = as_numbers(column, spec["kind"])
            continue
        rank = {value: j for j, value in enumerate(spec["top"])}
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        lookup = np.asarray([rank.get(str(u), len(rank)) for u in uniques] + [np.nan], dtype="float64")
        out[:, i] = lookup[codes]
    out[:, -1] = pd.to_numeric(pd.Series(np.asarray(prediction)), errors="coerce").to_numpy(dtype="float64")
    out[np.isinf(out)] = np.nan  # an infinite value is as unknown to the trees as a missing one
    return out


# -- training time -------------------------------------------------------------------------------


MIN_LOSS_ROWS = 20  # fewer holdout rows than this build no loss model (as classification_sampling's guard)


def build_loss_model(
    X: pd.DataFrame,
    y: Any,
    pred: Any,
    profile: dict[str, Any],
    features: list[str],
    fmt: str,
    seed: int,
    dump: Callable[[Any, str], bytes],
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Cross-fitted loss models on the holdout: the profile's `estimation` section and the attachment,
    written by `dump` (the version's trainer: the same writer, and trust rules, as the model).

    Below MIN_LOSS_ROWS holdout rows there is nothing to cross-fit on: no loss model, no estimate.
    """
    if len(y) < MIN_LOSS_ROWS:
        return {}, {}
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    started = time.perf_counter()
    y = np.asarray(y, dtype="float64")
    pred = np.asarray(pred, dtype="float64")
    if len(y) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(len(y), MAX_ROWS, replace=False))
        X, y, pred = X.iloc[keep], y[keep], pred[keep]
    columns = loss_columns(profile, features)
    matrix = loss_matrix(X, columns, pred)
    error = y - pred
    targets = {"abs": np.abs(error), "sq": error**2}
    models: dict[str, list[Any]] = {name: [] for name in LOSSES}
    oof = {name: np.zeros(len(y)) for name in LOSSES}

    def fitted(rows: Any, name: str) -> Any:
        model = HistGradientBoostingRegressor(**LOSS_PARAMS, early_stopping=False, random_state=seed)
        return model.fit(matrix[rows], targets[name][rows])

    for fit_rows, held_rows in KFold(FOLDS, shuffle=True, random_state=seed).split(matrix):
        for name in LOSSES:
            oof[name][held_rows] = np.maximum(fitted(fit_rows, name).predict(matrix[held_rows]), 0.0)
    for name in LOSSES:
        models[name].append(fitted(slice(None), name))
    attachment = f"loss_model.{fmt}"
    section = {
        "loss_model": {
            "attachment": attachment,
            "format": fmt,
            "columns": columns,
            "rows": int(len(y)),
            "folds": FOLDS,
            "seconds": round(time.perf_counter() - started, 3),
        },
        "sampling": {
            "rows": int(len(y)),
            "level": LEVEL,
            "unit_std": {
                "mae": float(np.std(targets["abs"] - oof["abs"])),
                "mse": float(np.std(targets["sq"] - oof["sq"])),
            },
            # what does not shrink with the evaluated rows: the loss model's level is learnt from
            # len(y) rows, and its cross-fitted bias on them is what the holdout shows
            "reference_std": {
                metric: float(np.hypot(np.mean(oof[loss] - targets[loss]), np.std(targets[loss]) / np.sqrt(len(y))))
                for metric, loss in (("mae", "abs"), ("mse", "sq"))
            },
        },
    }
    return section, {attachment: dump(models, fmt)}


def classification_sampling(
    task: str, y_true: Any, pred: Any, proba: Any, labels: list[Any], calibration: dict[str, list[float]] | None
) -> dict[str, Any] | None:
    """Bootstrap the holdout: the spread of (true − estimated) metric, scaled to one row.

    Binary estimates also carry the error of the calibration map, fitted on the holdout: each
    resample refits the map and estimates the whole holdout with it; the root mean square
    of (estimated − true) is `reference_std`, which does not shrink with the evaluated rows.
    Multiclass estimates use the raw probabilities: their `reference_std` is the bias
    (estimated − true) the holdout shows, with its own uncertainty.
    """
    if proba is None or not labels:
        return None
    y_true, pred, proba = np.asarray(y_true), np.asarray(pred), np.asarray(proba, dtype="float64")
    n_ref = n = len(y_true)
    if n < 20:
        return None
    if n > SAMPLING_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(n, SAMPLING_ROWS, replace=False))
        y_true, pred, proba, n = y_true[keep], pred[keep], proba[keep], SAMPLING_ROWS
    index = {str(label): i for i, label in enumerate(labels)}
    true_idx = np.asarray([index.get(str(v), -1) for v in y_true])
    pred_idx = np.asarray([index.get(str(v), -1) for v in pred])
    rng = np.random.default_rng(0)
    diffs: dict[str, list[float]] = {}
    refits: dict[str, list[float]] = {}
    ones = np.ones(n)
    if task == "binary":
        distinct, codes = np.unique(proba[:, 1], return_inverse=True)
        scores = (proba[:, 1], codes)
        positive = (true_idx == 1).astype("float64")
        expected = _expected(proba[:, 1], calibration)
    for _ in range(RESAMPLES):
        drawn = rng.integers(0, n, n)
        w = np.bincount(drawn, minlength=n).astype("float64")
        if task == "binary":
            pairs = _binary_metrics(w, true_idx, pred_idx, scores, expected)
            if calibration:  # the map refit on the resample: the same fit, on new weights
                refit = weighted_calibration_map(
                    distinct,
                    np.bincount(codes, weights=w * positive, minlength=len(distinct)),
                    np.bincount(codes, weights=w, minlength=len(distinct)),
                )
                for name, (truth, estimate) in _binary_metrics(
                    ones, true_idx, pred_idx, scores, _expected(proba[:, 1], refit)
                ).items():
                    if truth is not None and estimate is not None:
                        refits.setdefault(name, []).append(estimate - truth)
        else:
            pairs = _multiclass_metrics(w, true_idx, pred_idx, proba)
        for name, (truth, estimate) in pairs.items():
            if truth is not None and estimate is not None:
                diffs.setdefault(name, []).append(truth - estimate)
    unit = {name: float(np.std(values) * np.sqrt(n)) for name, values in diffs.items() if len(values) > 1}
    shrink = np.sqrt(n / n_ref)  # the map was fitted on all n_ref rows, not on the n sampled here
    reference = {name: float(np.sqrt(np.mean(np.square(v))) * shrink) for name, v in refits.items()}
    if task != "binary":  # raw probabilities: the bias the holdout shows, known to within unit/sqrt(n_ref)
        for name, (truth, estimate) in _multiclass_metrics(ones, true_idx, pred_idx, proba).items():
            if name in unit:
                reference[name] = float(np.hypot(estimate - truth, unit[name] / np.sqrt(n_ref)))
    return {"rows": n_ref, "level": LEVEL, "unit_std": unit, "reference_std": reference}


def _binary_metrics(
    w: np.ndarray, true_idx: np.ndarray, pred_idx: np.ndarray, scores: Any, expected: np.ndarray
) -> dict[str, tuple[float | None, float | None]]:
    """(true, estimated) metrics of the rows weighted by `w`; `scores` = (scores, their ranks);
    `expected` = each row's calibrated probability of being positive."""
    _, codes = scores
    actual = (true_idx == 1).astype("float64")
    positive = pred_idx == 1
    out: dict[str, tuple[float | None, float | None]] = {}
    confusions = []
    for p in (actual, expected):
        tp, fp = (w * p)[positive].sum(), (w * (1 - p))[positive].sum()
        fn, tn = (w * p)[~positive].sum(), (w * (1 - p))[~positive].sum()
        confusions.append((tp, fp, fn, tn))
    for name in ("accuracy", "precision", "recall", "f1"):
        out[name] = tuple(_from_confusion(name, *c) for c in confusions)  # type: ignore[assignment]
    out["roc_auc"] = tuple(_auc(codes, w * p, w * (1 - p)) for p in (actual, expected))  # type: ignore[assignment]
    return out


def _expected(scores: np.ndarray, calibration: dict | None) -> np.ndarray:
    """Each row's probability of being positive: its score through the calibration map, if any."""
    return np.interp(scores, calibration["x"], calibration["y"]) if calibration else scores


def _from_confusion(name: str, tp: float, fp: float, fn: float, tn: float) -> float | None:
    return confusion_metrics(tp, fp, fn, tn)[name]


def confusion_metrics(tp: float, fp: float, fn: float, tn: float) -> dict[str, float | None]:
    """Accuracy, precision, recall and f1 of a (possibly expected, fractional) confusion matrix."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return {
        "accuracy": float((tp + tn) / (tp + fp + fn + tn)),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision and recall else None,
    }


def _auc(codes: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> float | None:
    return auc_from_counts(np.bincount(codes, weights=positive), np.bincount(codes, weights=negative))


def auc_from_counts(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """ROC AUC from (expected) positive and negative counts per distinct score, in score order."""
    below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
    pairs = pos.sum() * neg.sum()
    return float((pos * below).sum() + 0.5 * (pos * neg).sum()) / pairs if pairs else None


def _multiclass_metrics(
    w: np.ndarray, true_idx: np.ndarray, pred_idx: np.ndarray, proba: np.ndarray
) -> dict[str, tuple[float | None, float | None]]:
    k = proba.shape[1]
    known = (true_idx >= 0) & (pred_idx >= 0)
    actual = np.bincount(true_idx[known] * k + pred_idx[known], weights=w[known], minlength=k * k).reshape(k, k)
    expected = np.zeros((k, k))
    for j in range(k):
        rows = pred_idx == j
        expected[:, j] = (proba[rows] * w[rows, None]).sum(axis=0)
    out: dict[str, tuple[float | None, float | None]] = {}
    pairs = [matrix_metrics(m) for m in (actual, expected)]
    for name in ("accuracy", "f1_macro"):
        out[name] = (pairs[0][name], pairs[1][name])
    return out


def matrix_metrics(matrix: np.ndarray) -> dict[str, float]:
    """Accuracy and macro f1 of a (possibly expected) k x k confusion matrix, true classes in rows."""
    per_class = []
    for i in range(len(matrix)):
        denominator = matrix[:, i].sum() + matrix[i, :].sum()
        per_class.append(2 * matrix[i, i] / denominator if denominator else 0.0)
    return {"accuracy": float(np.trace(matrix) / matrix.sum()), "f1_macro": float(np.mean(per_class))}


# -- artifact ----------------------------------------------------------------------------------------


def load_loss_model(
    registry: Any,
    model: str,
    version: int,
    profile: dict[str, Any],
    fmt: str,
    *,
    load: Callable[[bytes, str], Any],
    refusal: Callable[[str], str] | None = None,
) -> Any | None:
    """The version's loss models (sha256-checked like the artifact), or None for versions without.
    `load` reads them: the version's trainer, which wrote them as it wrote the model.

    `fmt` is the format that trainer reads (the settings' choice, else its default), never the
    store's: profile.json is written by whoever writes the store, who could turn a skops loss
    model into a pickle that runs code when loaded. A section or attachment naming another
    format is refused; ``refusal(stored)`` ends the error (what chose `fmt`, what to do)."""
    section = (profile.get("estimation") or {}).get("loss_model")
    if not section:
        return None
    attachment = str(section.get("attachment"))
    stored = section.get("format")
    if stored != fmt or attachment != f"loss_model.{fmt}":
        shown = stored if stored != fmt else attachment.rpartition(".")[2]
        why = refusal(shown) if refusal else f"the trainer reads '{fmt}': refusing to load it; retrain"
        raise IntegrityError(
            f"model '{model}' version {version}: its loss model is stored as {shown!r} ({attachment}) but {why}"
        )
    data = registry.read_attachment(model, version, attachment)
    if data is None:
        raise IntegrityError(
            f"model '{model}' version {version}: its profile names the loss model '{attachment}', "
            "which the version does not record; retrain it"
        )
    return load(data, fmt)


# -- evaluation time ---------------------------------------------------------------------------------


class LossSums:
    """Regression estimation state: rows, and the sums of predicted |e| and e²; merges by addition."""

    def __init__(self) -> None:
        self.n = 0
        self.abs = 0.0
        self.sq = 0.0
        self.missing: str | None = None  # a feature the data lacks: no estimate

    def add(self, models: dict[str, list[Any]], columns: dict[str, Any], batch: pd.DataFrame, pred: Any) -> None:
        absent = next((name for name in columns if name not in batch.columns), None)
        if absent is not None:
            self.missing = self.missing or absent
            return
        matrix = loss_matrix(batch, columns, pred)
        known = ~np.isnan(matrix[:, -1])
        if not known.any():
            return
        matrix = matrix[known]
        self.n += int(known.sum())
        self.abs += float(_predict(models["abs"], matrix).sum())
        self.sq += float(_predict(models["sq"], matrix).sum())

    def merge(self, other: LossSums) -> LossSums:
        self.n += other.n
        self.abs += other.abs
        self.sq += other.sq
        self.missing = self.missing or other.missing
        return self

    def estimates(self) -> dict[str, float]:
        if self.missing is not None or self.n == 0:
            return {}
        return {"mae": self.abs / self.n, "rmse": float(np.sqrt(self.sq / self.n))}


def _predict(models: list[Any], matrix: np.ndarray) -> np.ndarray:
    return np.maximum(np.mean([m.predict(matrix) for m in models], axis=0), 0.0)


def bands(estimated: dict[str, Any], sampling: dict[str, Any] | None, rows: int) -> dict[str, dict[str, float]]:
    """Per estimated metric: the sampling error on `rows` rows and the band low/high around the estimate."""
    if not sampling or rows <= 0:
        return {}
    unit = sampling.get("unit_std") or {}
    reference = sampling.get("reference_std") or {}
    out: dict[str, dict[str, float]] = {}
    for name, value in estimated.items():
        if value is None:
            continue
        if name == "rmse" and "mse" in unit:
            mse, error = value**2, float(np.hypot(unit["mse"] / np.sqrt(rows), reference.get("mse", 0.0)))
            low, high = np.sqrt(max(mse - Z * error, 0.0)), np.sqrt(mse + Z * error)
            sampling_error = error / (2 * value) if value > 0 else float(np.sqrt(error))
        elif name in unit:
            sampling_error = float(np.hypot(unit[name] / np.sqrt(rows), reference.get(name, 0.0)))
            low, high = value - Z * sampling_error, value + Z * sampling_error
            if name != "mae":  # a rate
                low, high = max(low, 0.0), min(high, 1.0)
            else:
                low = max(low, 0.0)
        else:
            continue
        out[name] = {"low": float(low), "high": float(high), "sampling_error": float(sampling_error)}
    return out


def reference_estimation(
    task: str,
    X: pd.DataFrame,
    y_true: Any,
    pred: Any,
    proba: Any,
    labels: list[Any] | None,
    profile: dict[str, Any],
    fmt: str,
    seed: int,
    *,
    dump: Callable[[Any, str], bytes],
) -> dict[str, bytes]:
    """At training time: what estimating this version's performance later needs, from its holdout.

    Sets the profile's `estimation` section; returns the attachments to store with the version.
    """
    if task == "regression":
        section, files = build_loss_model(X, y_true, pred, profile, list(X.columns), fmt, seed, dump)
        profile["estimation"] = section
        return files
    sampling = classification_sampling(task, y_true, pred, proba, labels or [], profile.get("calibration"))
    if sampling is not None:
        profile["estimation"] = {"sampling": sampling}
    return {}
