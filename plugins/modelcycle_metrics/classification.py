"""Classification metrics. Each equals its scikit-learn counterpart (with ``labels=`` and
``sample_weight=``) to 1e-9; the choices scikit-learn leaves open are fixed as follows.

* The task is read from ``labels``: two labels are a binary problem whose positive
  class is ``labels[1]``; more are multiclass. For multiclass, ``precision``,
  ``recall`` and ``f1`` are the macro averages, ``roc_auc`` and ``pr_auc`` the
  one-vs-rest macro averages.
* Undefined is NaN, never an exception: a precision without predicted rows, a recall
  without true rows, an AUC with one class present, anything on no rows (or weights
  summing to zero). Macro and weighted averages skip the classes whose value is
  undefined (scikit-learn's ``zero_division=np.nan``), so a class absent from a small
  batch does not count as a zero. ``roc_auc`` and ``pr_auc`` are the exception: their
  macro average is NaN when a class has no row, since its one-vs-rest curve does not
  exist (as in scikit-learn's ``roc_auc_score``; its ``average_precision_score`` would
  count such a class, or a binary subset without positives, as 0 with a warning).
  ``roc_auc_weighted`` gives an absent class weight 0, as scikit-learn does.
* Labels outside ``labels`` in ``y_true`` (a class the model never saw): label metrics
  count those rows as misclassified, as scikit-learn does; probability metrics raise
  :class:`modelcycle.DataError` naming them, since the model gave them no probability.
* ``log_loss`` clips probabilities to [eps, 1 - eps] (eps of float64), like scikit-learn.

Every metric also streams: ``partial`` reduces a chunk to a bounded state of
:mod:`._partials` and ``finish`` computes the value from the merged states.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from modelcycle.plugin import MeanState, Metric

from ._arrays import NAN, as_1d, encode, known_codes, probabilities, weighted_mean, weights_for
from ._partials import ClassScores, LabelPairs
from ._ranking import binary_average_precision, binary_roc_auc

BOTH = ("binary", "multiclass")


class _Classification(Metric):
    tasks: ClassVar[tuple[str, ...]] = BOTH


class _LabelMetric(_Classification):
    """A metric of (true, predicted) labels alone: it streams through the pair counts."""

    state_key: ClassVar[str | None] = "label_pairs"

    def partial(self, y_true, y_pred, proba, *, labels) -> LabelPairs:
        return LabelPairs(y_true, y_pred, labels)

    def finish(self, state: LabelPairs, *, labels) -> float:
        y_true, y_pred, weights = state.rows(labels)
        return self.compute(y_true, y_pred, None, labels=labels, sample_weight=weights)


# -- label metrics ------------------------------------------------------------------------------


class Accuracy(_LabelMetric):
    """Share of rows whose predicted label is the true one."""

    name = "accuracy"

    def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None) -> float:
        y_true, y_pred = as_1d(y_true), as_1d(y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"y_true has {y_true.shape[0]} rows but y_pred has {y_pred.shape[0]}")
        correct = (y_true == y_pred).astype(np.float64)
        return weighted_mean(correct, weights_for(sample_weight, y_true.shape[0]))


def _class_sums(y_true: Any, y_pred: Any, labels: Any, sample_weight: Any) -> tuple[np.ndarray, ...]:
    """Per label (in `labels` order): true positives, true rows, predicted rows; weighted.

    One weighted bincount builds the confusion matrix, with an extra row and column for
    values outside `labels`: such a true value is a miss for the predicted class (a false
    positive), such a prediction a miss for the true class, as scikit-learn counts them.
    """
    t, p = encode(y_true, labels), encode(y_pred, labels)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.shape[0]} rows but y_pred has {p.shape[0]}")
    w = weights_for(sample_weight, t.shape[0])
    k = len(labels)
    size = k + 1
    cells = np.where(t < 0, k, t) * size + np.where(p < 0, k, p)
    matrix = np.bincount(cells, w, minlength=size * size).reshape(size, size).astype(np.float64, copy=False)
    return np.diagonal(matrix)[:k].copy(), matrix.sum(axis=1)[:k], matrix.sum(axis=0)[:k]


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is zero."""
    out = np.full(numerator.shape, NAN)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _per_class(kind: str, tp: np.ndarray, true_sum: np.ndarray, pred_sum: np.ndarray) -> np.ndarray:
    if kind == "precision":
        return _divide(tp, pred_sum)
    if kind == "recall":
        return _divide(tp, true_sum)
    return _divide(2.0 * tp, true_sum + pred_sum)  # f1 = 2·tp / (2·tp + fp + fn)


def _average(values: np.ndarray, average: str, true_sum: np.ndarray) -> float:
    """scikit-learn's _nanaverage: classes with an undefined value are left out."""
    defined = ~np.isnan(values)
    if not defined.any():
        return NAN
    if average == "macro":
        return float(np.mean(values[defined]))
    weights = true_sum[defined]
    if np.sum(weights) == 0:  # as scikit-learn: all weights zero → plain mean
        return float(np.mean(values[defined]))
    return float(np.sum(values[defined] * weights) / np.sum(weights))


class _SetMetric(_LabelMetric):
    kind: ClassVar[str] = ""
    #: "binary" uses the positive class labels[1] when there are two labels, macro otherwise
    average: ClassVar[str] = "binary"

    def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None) -> float:
        tp, true_sum, pred_sum = _class_sums(y_true, y_pred, labels, sample_weight)
        values = _per_class(self.kind, tp, true_sum, pred_sum)
        if self.average == "binary":
            if len(labels) == 2:
                return float(values[1])
            return _average(values, "macro", true_sum)
        return _average(values, self.average, true_sum)


class Precision(_SetMetric):
    """Precision of the positive class labels[1]; for multiclass, the macro average over classes."""

    name = "precision"
    kind = "precision"


class Recall(_SetMetric):
    """Recall of the positive class labels[1]; for multiclass, the macro average over classes."""

    name = "recall"
    kind = "recall"


class F1(_SetMetric):
    """F1 score of the positive class labels[1]; for multiclass, the macro average over classes."""

    name = "f1"
    kind = "f1"


class PrecisionMacro(_SetMetric):
    """Unweighted mean of the per-class precisions."""

    name = "precision_macro"
    kind = "precision"
    average = "macro"
    tasks = ("multiclass",)


class RecallMacro(_SetMetric):
    """Unweighted mean of the per-class recalls."""

    name = "recall_macro"
    kind = "recall"
    average = "macro"
    tasks = ("multiclass",)


class F1Macro(_SetMetric):
    """Unweighted mean of the per-class F1 scores."""

    name = "f1_macro"
    kind = "f1"
    average = "macro"
    tasks = ("multiclass",)


class PrecisionWeighted(_SetMetric):
    """Mean of the per-class precisions weighted by each class's (weighted) number of true rows."""

    name = "precision_weighted"
    kind = "precision"
    average = "weighted"
    tasks = ("multiclass",)


class RecallWeighted(_SetMetric):
    """Mean of the per-class recalls weighted by each class's (weighted) number of true rows."""

    name = "recall_weighted"
    kind = "recall"
    average = "weighted"
    tasks = ("multiclass",)


class F1Weighted(_SetMetric):
    """Mean of the per-class F1 scores weighted by each class's (weighted) number of true rows."""

    name = "f1_weighted"
    kind = "f1"
    average = "weighted"
    tasks = ("multiclass",)


class BalancedAccuracy(_LabelMetric):
    """Mean recall over the classes present in y_true (scikit-learn's balanced_accuracy_score)."""

    name = "balanced_accuracy"

    def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None) -> float:
        tp, true_sum, _ = _class_sums(y_true, y_pred, labels, sample_weight)
        present = true_sum > 0
        recalls = list(tp[present] / true_sum[present])
        # true labels outside `labels` are classes of their own, never predicted: recall 0
        values = as_1d(y_true)
        outside = encode(values, labels) < 0
        if outside.any():
            w = weights_for(sample_weight, values.shape[0])
            if w is not None:
                outside &= w != 0
            recalls += [0.0] * len(pd.unique(values[outside]))
        return float(np.mean(recalls)) if recalls else NAN


# -- probability metrics ------------------------------------------------------------------------


class _ProbaMetric(_Classification):
    needs_proba = True

    def _inputs(self, y_true, proba, labels, sample_weight) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        codes = known_codes(y_true, labels)
        n = codes.shape[0]
        return codes, probabilities(proba, n, len(labels)), weights_for(sample_weight, n)


class _LossMetric(_ProbaMetric):
    """The mean of a per-row loss: it streams through exact sums."""

    greater_is_better = False

    def losses(self, codes: np.ndarray, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None) -> float:
        codes, p, w = self._inputs(y_true, proba, labels, sample_weight)
        return weighted_mean(self.losses(codes, p), w)

    def partial(self, y_true, y_pred, proba, *, labels) -> MeanState:
        codes, p, _ = self._inputs(y_true, proba, labels, None)
        return MeanState(self.losses(codes, p))

    def finish(self, state: MeanState, *, labels) -> float:
        return state.mean()


class LogLoss(_LossMetric):
    """Mean negative log-likelihood of the true class (probabilities clipped to [eps, 1-eps])."""

    name = "log_loss"

    def losses(self, codes: np.ndarray, p: np.ndarray) -> np.ndarray:
        eps = np.finfo(np.float64).eps
        return -np.log(np.clip(p[np.arange(codes.shape[0]), codes], eps, 1 - eps))


class Brier(_LossMetric):
    """Binary: mean squared error of the positive-class probability. Multiclass: mean over
    rows of the summed squared errors over classes (scikit-learn's brier_score_loss)."""

    name = "brier"

    def losses(self, codes: np.ndarray, p: np.ndarray) -> np.ndarray:
        if p.shape[1] == 2:
            return ((codes == 1) - p[:, 1]) ** 2
        errors = p.copy()
        errors[np.arange(codes.shape[0]), codes] -= 1.0
        return np.sum(errors**2, axis=1)


def _one_vs_rest(score_fn, codes, p, w, average: str) -> float:
    """Per-class scores of class c against the rest, averaged (macro or support-weighted)."""
    k = p.shape[1]
    scores = np.array([score_fn(codes == c, np.ascontiguousarray(p[:, c]), w) for c in range(k)])
    return _average_classes(scores, np.bincount(codes, w, minlength=k).astype(np.float64), average)


def _average_classes(scores: np.ndarray, support: np.ndarray, average: str) -> float:
    if average == "macro":
        return float(np.mean(scores))
    if not np.sum(support) > 0:
        return NAN
    scores = np.where(support == 0, 0.0, scores)  # as scikit-learn: an absent class has weight 0
    return float(np.sum(scores * support) / np.sum(support))


class _RankingMetric(_ProbaMetric):
    """A ranking metric of the probabilities: it streams through the counts per distinct score."""

    state_key: ClassVar[str | None] = "class_scores"
    average: ClassVar[str] = "macro"

    def score(self, positive: np.ndarray, score: np.ndarray, weights: np.ndarray | None) -> float:
        raise NotImplementedError

    def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None) -> float:
        codes, p, w = self._inputs(y_true, proba, labels, sample_weight)
        if len(labels) == 2 and self.average == "macro":
            return self.score(codes == 1, np.ascontiguousarray(p[:, 1]), w)
        return _one_vs_rest(self.score, codes, p, w, self.average)

    def partial(self, y_true, y_pred, proba, *, labels) -> ClassScores:
        return ClassScores(y_true, proba, labels)

    def finish(self, state: ClassScores, *, labels) -> float:
        if len(labels) == 2:  # a binary state scores the positive class only (class 0's AUC is the same)
            return self.score(*state.curve(1))
        scores = np.array([self.score(*state.curve(c)) for c in range(len(labels))])
        return _average_classes(scores, state.support.astype(np.float64), self.average)


class RocAuc(_RankingMetric):
    """Area under the ROC curve of proba[:, 1]; for multiclass, the one-vs-rest macro average."""

    name = "roc_auc"

    def score(self, positive, score, weights) -> float:
        return binary_roc_auc(positive, score, weights)


class RocAucWeighted(RocAuc):
    """One-vs-rest ROC AUC averaged with each class's (weighted) number of true rows as weight."""

    name = "roc_auc_weighted"
    tasks = ("multiclass",)
    average = "weighted"


class PrAuc(_RankingMetric):
    """Average precision of proba[:, 1]; for multiclass, the one-vs-rest macro average."""

    name = "pr_auc"

    def score(self, positive, score, weights) -> float:
        return binary_average_precision(positive, score, weights)


CLASSIFICATION_METRICS: list[type[Metric]] = [
    Accuracy,
    BalancedAccuracy,
    Precision,
    Recall,
    F1,
    PrecisionMacro,
    RecallMacro,
    F1Macro,
    PrecisionWeighted,
    RecallWeighted,
    F1Weighted,
    RocAuc,
    RocAucWeighted,
    PrAuc,
    LogLoss,
    Brier,
]
