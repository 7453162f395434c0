"""SklearnTrainer: any scikit-learn estimator, with careful automatic preprocessing.

This module is imported when a project opens, so scikit-learn, pandas and friends are
imported inside the methods that need them, never at the top.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from typing import Any, Literal

from modelcycle.plugin import DataError, Field, ModelcycleError, PluginContext, Trainer, TrainerOptions


class SklearnOptions(TrainerOptions):
    """A `[models.NAME]` section the scikit-learn trainer fits: the core's keys and its own."""

    model_config = {"extra": "forbid"}
    estimator: str | None = Field(None, description="Dotted path of the estimator class.")
    params: dict[str, Any] = Field(default_factory=dict, description="Estimator parameters.")
    preprocessing: Literal["auto", "none"] = Field(
        "auto", description="auto: impute and encode; none: columns as they are."
    )
    artifact_format: Literal["joblib", "skops"] = Field("joblib", description="How the fitted model is serialised.")


class SklearnTrainer(Trainer):
    """Fits any scikit-learn estimator named by its dotted path.

    With ``preprocessing = "auto"`` the fitted model is a ``Pipeline`` of two steps:
    ``preprocess`` (a ColumnTransformer: impute, scale for non-tree models, one-hot or
    target/ordinal-encode text, split dates into parts) and ``estimator``. With ``"none"``
    it is the bare estimator, fitted on the columns as they are.
    """

    name = "sklearn"
    formats = ("joblib", "skops")
    Options = SklearnOptions

    def __init__(self, options: Any, *, context: PluginContext | None = None) -> None:
        if options is not None and not isinstance(options, SklearnOptions):  # from a core section by hand
            options = SklearnOptions.model_validate(options.model_dump())
        super().__init__(options, context=context)

    def fit(self, X: Any, y: Any) -> Any:
        from . import estimators, preprocessing

        settings = self.settings
        params = dict(settings.params)
        path = estimators.estimator_path(settings.estimator, self.task)
        cls = estimators.resolve_class(path)
        estimator = estimators.make_estimator(cls, params)
        estimators.check_task(estimator, path, self.task)

        # Fill in what the user left unset: the thread cap and the recipe's seed.
        known = estimator.get_params(deep=False)
        extra: dict[str, Any] = {}
        if settings.threads is not None and "n_jobs" in known and "n_jobs" not in params:
            extra["n_jobs"] = settings.threads
        if "random_state" in known and "random_state" not in params:
            extra["random_state"] = settings.split.seed
        if extra:
            estimator.set_params(**extra)

        from sklearn.pipeline import Pipeline

        if settings.preprocessing == "auto":
            preprocessing.check_training_data(X, y)
            support = self._categorical_support(estimator)
            preprocessor = preprocessing.build(
                X,
                tree=estimators.is_tree_model(cls),
                classification=self.task != "regression",
                positive=estimators.positive_only(estimator),
                seed=settings.split.seed,
                native_categories=support.max_categories if support else None,
                keep_missing=support is not None and estimators.allows_nan(estimator),
            )
            if support is not None:
                native = next((columns for name, _, columns in preprocessor.transformers if name == "native"), [])
                estimator = support.configure(estimator, list(range(len(native))))  # "native" comes first
            model = Pipeline([("preprocess", preprocessor), ("estimator", estimator)])
        else:
            model = estimator

        if settings.threads is not None:
            from threadpoolctl import threadpool_limits  # BLAS and OpenMP (HistGradientBoosting)

            limits: Any = threadpool_limits(limits=settings.threads)
        else:
            limits = nullcontext()
        with limits, warnings.catch_warnings():
            if "n_jobs" in extra:  # ours, not the user's: e.g. LogisticRegression ignores n_jobs since 1.8
                warnings.filterwarnings("ignore", message=".*'n_jobs' has no effect", category=FutureWarning)
            try:
                model.fit(X, y)
                estimators.trust_own_preprocessor(model[-1] if isinstance(model, Pipeline) else model)
            except ValueError as exc:
                error = estimators.param_error(exc, params)
                if error is not None:
                    raise error from exc
                hint = ""
                if settings.preprocessing == "none":
                    hint = '; preprocessing = "auto" imputes missing values and encodes text and dates'
                raise DataError(f"{cls.__name__} rejected the training data: {estimators.one_line(exc)}{hint}") from exc
        return model

    def _categorical_support(self, estimator: Any) -> Any:
        """The plugins' declaration (the built-in one for HistGradientBoosting outside a project)."""
        from . import estimators

        if "_native" in self.__dict__:  # answered before pickling (a Dask worker has no plugin host)
            return self._native
        if self.context is not None:
            return self.categorical_support(estimator)
        return estimators.categorical_support(estimator)

    def _support_for_settings(self) -> Any:
        """The declaration for the estimator the settings describe (before fit marks any column)."""
        from . import estimators

        try:
            path = estimators.estimator_path(self.settings.estimator, self.task)
            estimator = estimators.make_estimator(estimators.resolve_class(path), dict(self.settings.params))
        except ModelcycleError:
            return None  # fit raises the same error wherever it runs
        return self._categorical_support(estimator)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if self.context is not None and self.settings.preprocessing == "auto" and "_native" not in state:
            state["_native"] = self._support_for_settings()
        return state

    def describe_fitted(self, fitted: Any) -> dict[str, Any]:
        """With auto preprocessing: which columns each encoding got, and why a categorical column was not native."""
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline

        if not isinstance(fitted, Pipeline) or not isinstance(fitted.steps[0][1], ColumnTransformer):
            return {}
        preprocessor, estimator = fitted.steps[0][1], fitted.steps[-1][1]
        groups = {
            name: [str(c) for c in columns] for name, _, columns in preprocessor.transformers_ if name != "remainder"
        }
        plan: dict[str, Any] = {"columns": groups, "notes": []}
        native = groups.get("native")
        if native:
            plan["notes"].append(
                f"{', '.join(native)}: categorical, coded for {type(estimator).__name__}'s own categorical handling "
                "(rare and unseen values share a reserved code)"
            )
        support = self._support_for_settings()
        for group in ("onehot", "many") if support is not None else ():
            if group not in groups:
                continue
            encoder = preprocessor.named_transformers_[group].named_steps["encode"]
            instead = {"OneHotEncoder": "one-hot", "OrdinalEncoder": "ordinal codes"}.get(
                type(encoder).__name__, "target encoding"
            )
            for name, categories in zip(groups[group], encoder.categories_, strict=False):
                plan["notes"].append(
                    f"{name}: {len(categories)} categories, beyond the {support.max_categories} "
                    f"{type(estimator).__name__} takes natively: {instead} instead"
                )
        return {"preprocessing_plan": plan}

    def dump(self, fitted: Any, fmt: str) -> bytes:
        from . import artifacts

        return artifacts.dump(fitted, fmt)

    def load(self, data: bytes, fmt: str) -> Any:
        from . import artifacts

        return artifacts.load(data, fmt)

    def feature_importances(self, fitted: Any, columns: list[str]) -> dict[str, float] | None:
        """feature_importances_ or |coef_| summed per input column, normalised to 1; None without either."""
        import numpy as np
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline

        from . import preprocessing

        estimator, origins = fitted, None
        if isinstance(fitted, Pipeline):
            estimator = fitted.steps[-1][1]
            first = fitted.steps[0][1]
            if len(fitted.steps) != 2 or not isinstance(first, ColumnTransformer):
                return None
            origins = preprocessing.output_origins(first)
        else:
            names = getattr(fitted, "feature_names_in_", None)
            origins = [str(n) for n in names] if names is not None else list(columns)
        raw = _raw_importances(estimator)
        if raw is None or origins is None or len(origins) != len(raw):
            return None
        totals = dict.fromkeys(columns, 0.0)
        for origin, value in zip(origins, raw, strict=True):
            if origin in totals:
                totals[origin] += float(value)
        total = sum(totals.values())
        if not np.isfinite(total) or total <= 0:
            return None
        return {name: value / total for name, value in totals.items()}

    @classmethod
    def recorded_settings(cls, settings: Any, task: str | None = None) -> dict[str, Any]:
        """Estimator path (the task's default when unset: pass settings with task filled in), params, preprocessing."""
        from .estimators import estimator_path

        task = task or settings.task
        estimator = getattr(settings, "estimator", None)
        return {
            # the default depends on the task: unknown (None) rather than a guess when neither is given
            "estimator": estimator_path(estimator, task) if estimator or task else None,
            "params": dict(getattr(settings, "params", None) or {}),
            "preprocessing": getattr(settings, "preprocessing", None) or "auto",
        }


def _raw_importances(estimator: Any) -> Any | None:
    """feature_importances_, else |coef_| summed over classes; None when the estimator has neither."""
    import numpy as np

    for attribute in ("feature_importances_", "coef_"):
        try:
            value = getattr(estimator, attribute)
        except Exception:  # noqa: BLE001 - e.g. SVC(kernel="rbf").coef_ raises AttributeError
            continue
        if value is None:
            continue
        if hasattr(value, "toarray"):  # sparse coef_
            value = value.toarray()
        array = np.abs(np.asarray(value, dtype=np.float64))
        if array.ndim == 2:
            array = array.sum(axis=0)
        if array.ndim == 1:
            return array
    return None
