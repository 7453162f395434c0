"""Built-in trainer: any scikit-learn estimator, with careful automatic preprocessing."""

from __future__ import annotations

from modelcycle import hookimpl

from .trainer import SklearnTrainer


@hookimpl
def register_trainers():
    return [SklearnTrainer]


@hookimpl
def categorical_support(estimator):
    from .estimators import categorical_support as native

    return native(estimator)
