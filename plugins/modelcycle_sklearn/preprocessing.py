"""preprocessing = "auto": what a careful data scientist does to a DataFrame before fit.

The result is a ColumnTransformer with one pipeline per kind of column; it selects columns by
name, so extra columns at predict time are ignored. Unseen categories and missing values at
predict time never fail: they become "(missing)", an all-zeros one-hot row, an unknown or reserved
code, or an imputed number.

The transformers defined here end up inside stored artifacts: joblib pickles them and skops
trusts them by module name (``modelcycle_sklearn.``). Renaming or moving them breaks the
loading of every artifact already stored.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd
from modelcycle.plugin import DataError
from pandas.api import types as ptypes
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder

#: the category that stands for a missing value in text columns
MISSING = "(missing)"
#: what a date-time column becomes, each a number
DATE_PARTS = ("year", "month", "day", "dayofweek", "hour")
_DATE_ATTRIBUTES = {"dayofweek": "day_of_week"}  # pandas 3 deprecates .dt.dayofweek
#: text columns with more distinct values than this are target- or ordinal-encoded, not one-hot
MAX_ONEHOT = 20
#: one-hot categories seen fewer times than this at fit encode as all zeros, like unseen ones
MIN_FREQUENCY = 5


# -- transformers (stored inside artifacts: keep names and modules stable) -------------------


class ToFloat(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Numbers, booleans (0/1) and durations (seconds) as float64; missing or unparseable → NaN."""

    def fit(self, X: Any, y: Any = None) -> ToFloat:
        _remember_input(self, X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = _frame(X)
        out = np.empty(frame.shape, dtype=np.float64)
        for i in range(frame.shape[1]):
            out[:, i] = _as_float(frame.iloc[:, i])
        return out


class CategoryStrings(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Text, categories and any other values as str, with missing values as the category "(missing)".

    Encoders then see one uniform type, whatever pandas made of the column (object, ``str``,
    ``category``, mixed values).
    """

    def fit(self, X: Any, y: Any = None) -> CategoryStrings:
        _remember_input(self, X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = _frame(X)
        out = np.empty(frame.shape, dtype=object)
        for i in range(frame.shape[1]):
            values = frame.iloc[:, i].to_numpy(dtype=object)
            text = values.astype(str).astype(object)
            text[pd.isna(values)] = MISSING
            out[:, i] = text
        return out


class CategoryCodes(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Text and categories as codes 0 … k-1 of `categories` (per column), with missing values as the
    category "(missing)"; rare and unseen values share the reserved code k.

    For estimators that handle categorical columns themselves (HistGradientBoosting's
    `categorical_features`): one column in, one column out, no one-hot. `categories` given
    up front (counted by `build`) or, when None, the values seen at least `min_frequency`
    times at fit (all of them if none is).
    """

    def __init__(self, categories: list[list[str]] | None = None, min_frequency: int = MIN_FREQUENCY) -> None:
        self.categories = categories
        self.min_frequency = min_frequency

    def fit(self, X: Any, y: Any = None) -> CategoryCodes:
        _remember_input(self, X)
        frame = _frame(X)
        if self.categories is not None:
            self.categories_ = [list(c) for c in self.categories]
        else:
            self.categories_ = [_kept(frame.iloc[:, i], self.min_frequency) for i in range(frame.shape[1])]
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = _frame(X)
        out = np.empty(frame.shape, dtype=np.float64)
        for i, categories in enumerate(self.categories_):
            # each distinct value is turned into text and looked up once, not once per row
            positions, distinct = pd.factorize(frame.iloc[:, i], use_na_sentinel=True)
            lookup = pd.Index(categories, dtype=object).get_indexer(
                _text(pd.Series(np.append(np.asarray(distinct, dtype=object), None), dtype=object))
            )  # the appended None is the missing value: position -1 picks it
            lookup[lookup < 0] = len(categories)
            out[:, i] = lookup[positions]
        return out


def _text(column: pd.Series) -> pd.Series:
    """The column as text with missing values as "(missing)": one uniform type for any dtype."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # text per category, not per row
        names = np.append(np.asarray(column.cat.categories.astype(str), dtype=object), MISSING)
        return pd.Series(names[column.cat.codes.to_numpy()], index=column.index, dtype=object)
    if ptypes.is_string_dtype(column.dtype) and not ptypes.is_object_dtype(column.dtype):
        return column.astype(object).where(column.notna(), MISSING)
    values = column.to_numpy(dtype=object)
    text = values.astype(str).astype(object)
    text[pd.isna(values)] = MISSING
    return pd.Series(text, index=column.index, dtype=object)


def _kept(column: pd.Series, min_frequency: int) -> list[str]:
    """The values (as text) seen at least `min_frequency` times (all of them if none is), sorted."""
    positions, distinct = pd.factorize(column, use_na_sentinel=True)
    tally = np.bincount(positions + 1, minlength=len(distinct) + 1)  # slot 0: missing values
    names = _text(pd.Series(np.append(None, np.asarray(distinct, dtype=object)), dtype=object))
    counts = pd.Series(tally, index=names.to_numpy()).groupby(level=0).sum()  # 1 and "1" are one category
    counts = counts[counts > 0]
    frequent = counts[counts >= min_frequency]
    return sorted(str(c) for c in (frequent if len(frequent) else counts).index)


class FloatArray(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """check_array(X, dtype=float64, ensure_all_finite=False): the step HistGradientBoosting's own
    preprocessor makes with a function, as a class skops can trust (see estimators.trust_own_preprocessor)."""

    def fit(self, X: Any, y: Any = None) -> FloatArray:
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        from sklearn.utils import check_array

        return check_array(X, dtype=[np.float64], ensure_all_finite=False)


class DateParts(TransformerMixin, BaseEstimator):
    """Each date-time column as year, month, day, dayofweek and hour (local time when tz-aware)."""

    def fit(self, X: Any, y: Any = None) -> DateParts:
        _remember_input(self, X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = _frame(X)
        out = np.empty((frame.shape[0], frame.shape[1] * len(DATE_PARTS)), dtype=np.float64)
        for i in range(frame.shape[1]):
            stamps = _as_datetime(frame.iloc[:, i])
            for j, part in enumerate(DATE_PARTS):
                values = getattr(stamps.dt, _DATE_ATTRIBUTES.get(part, part))
                out[:, i * len(DATE_PARTS) + j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = _input_names(self, input_features)
        return np.asarray([f"{name}_{part}" for name in names for part in DATE_PARTS], dtype=object)


def _remember_input(estimator: BaseEstimator, X: Any) -> None:
    estimator.n_features_in_ = X.shape[1]
    columns = getattr(X, "columns", None)
    if columns is not None and all(isinstance(c, str) for c in columns):
        estimator.feature_names_in_ = np.asarray(list(columns), dtype=object)


def _input_names(estimator: BaseEstimator, input_features: Any) -> list[str]:
    if input_features is not None:
        return [str(name) for name in input_features]
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return list(names)
    return [f"x{i}" for i in range(estimator.n_features_in_)]


def _frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X, dtype=object) if not hasattr(X, "shape") else X
    return pd.DataFrame(array)


def _as_float(column: pd.Series) -> np.ndarray:
    dtype = column.dtype
    if ptypes.is_timedelta64_dtype(dtype):
        return column.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    if ptypes.is_bool_dtype(dtype) or ptypes.is_numeric_dtype(dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    # text or objects at predict time (a CSV read without types): numbers, or true/false words
    numbers = pd.to_numeric(column, errors="coerce")
    words = column.astype("string").str.strip().str.lower().map({"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0})
    return numbers.where(numbers.notna(), words).to_numpy(dtype=np.float64, na_value=np.nan)


def _as_datetime(column: pd.Series) -> pd.Series:
    if ptypes.is_datetime64_any_dtype(column.dtype):
        return column
    try:  # text at predict time (a CSV read without types)
        return pd.to_datetime(column, errors="coerce", format="mixed")
    except (TypeError, ValueError):  # mixed time zones
        return pd.to_datetime(column, errors="coerce", format="mixed", utc=True)


# -- the plan ---------------------------------------------------------------------------------


def column_kind(column: pd.Series) -> str:
    """ "boolean", "numeric", "datetime" or "categorical" (anything else: text, category, objects)."""
    dtype = column.dtype
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_timedelta64_dtype(dtype) or (ptypes.is_numeric_dtype(dtype) and not ptypes.is_complex_dtype(dtype)):
        return "numeric"
    return "categorical"


def check_training_data(X: Any, y: Any) -> None:
    """Refuse what no preprocessing can fix, naming the column."""
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"the trainer needs a pandas DataFrame of features, got {type(X).__name__}")
    if X.shape[0] == 0:
        raise DataError("the training data has no rows")
    if X.shape[1] == 0:
        raise DataError("the training data has no feature columns: check features and exclude")
    bad = [c for c in X.columns if not isinstance(c, str)]
    if bad:
        raise DataError(f"column name {bad[0]!r} is not text: name every column (a header row in CSV)")
    for name in X.columns:
        if X[name].isna().all():
            raise DataError(
                f"feature '{name}' is empty (all values missing) in the training data: "
                f'drop it with exclude = ["{name}"]'
            )
    missing = int(pd.isna(pd.Series(y)).sum()) if y is not None else 0
    if missing:
        target = getattr(y, "name", None) or "target"
        raise DataError(f"target '{target}' has {missing} missing values in the training data: drop or fill those rows")


def build(
    X: pd.DataFrame,
    *,
    tree: bool,
    classification: bool,
    positive: bool = False,
    seed: int = 0,
    native_categories: int | None = None,
    keep_missing: bool = False,
) -> ColumnTransformer:
    """The ColumnTransformer for these columns, before fit.

    `tree`: no scaling, ordinal codes for many categories. Otherwise StandardScaler (MinMaxScaler
    when the estimator takes only non-negative inputs) and target encoding for many categories.
    `native_categories`: the estimator handles categorical columns itself, up to this many codes
    per column: those columns come first, as CategoryCodes ("native"); wider ones are encoded as usual.
    `keep_missing`: the estimator handles missing numbers itself (HistGradientBoosting): no imputation.
    """
    groups: dict[str, list[str]] = {
        "native": [],
        "numeric": [],
        "boolean": [],
        "datetime": [],
        "onehot": [],
        "many": [],
    }
    native: list[list[str]] = []
    for name in X.columns:
        kind = column_kind(X[name])
        if kind == "categorical" and native_categories is not None:
            kept = _kept(X[name], MIN_FREQUENCY)
            if len(kept) + 1 <= native_categories:  # + 1: the reserved code of rare and unseen values
                groups["native"].append(name)
                native.append(kept)
                continue
        if kind == "categorical":
            kind = "onehot" if X[name].nunique(dropna=True) <= MAX_ONEHOT else "many"
        groups[kind].append(name)

    def scaled(*steps: tuple[str, Any]) -> Pipeline:
        if not tree:
            steps += (("scale", MinMaxScaler(clip=True) if positive else StandardScaler()),)
        return Pipeline(list(steps))

    def impute(strategy: str) -> tuple[tuple[str, Any], ...]:
        if keep_missing:  # the estimator learns where missing values go; imputing costs more than the fit
            return ()
        # add_indicator: a 0/1 column for each feature that had missing values at fit, and only those
        return (("impute", SimpleImputer(strategy=strategy, add_indicator=True, keep_empty_features=True)),)

    if tree:
        many = Pipeline(
            [
                ("strings", CategoryStrings()),
                ("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float64)),
            ]
        )
    else:
        many = scaled(("strings", CategoryStrings()), ("encode", _target_encoder(classification, seed)))
    pipelines = {
        "numeric": scaled(("to_float", ToFloat()), *impute("median")),
        "boolean": Pipeline([("to_float", ToFloat()), *impute("most_frequent")]),
        "datetime": scaled(("parts", DateParts()), *impute("median")),
        "onehot": Pipeline(
            [
                ("strings", CategoryStrings()),
                (
                    "encode",
                    OneHotEncoder(
                        categories=_frequent_categories(X[groups["onehot"]]) if groups["onehot"] else "auto",
                        handle_unknown="ignore",
                        sparse_output=False,
                    ),
                ),
            ]
        ),
        "many": many,
        "native": CategoryCodes(categories=native),
    }
    transformers = [(kind, pipelines[kind], columns) for kind, columns in groups.items() if columns]
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def _frequent_categories(X: pd.DataFrame) -> list[list[str]]:
    """Per column, the categories seen at least MIN_FREQUENCY times (all of them if none is).

    Given to OneHotEncoder up front: counted here by pandas, fitting takes a tenth of the time
    OneHotEncoder's own min_frequency counting takes on text. Rarer categories, like unseen
    ones, encode as all zeros.
    """
    text = CategoryStrings().fit(X).transform(X)
    out = []
    for i in range(text.shape[1]):
        counts = pd.Series(text[:, i]).value_counts()
        frequent = counts[counts >= MIN_FREQUENCY]
        out.append(sorted(str(c) for c in (frequent if len(frequent) else counts).index))
    return out


def _target_encoder(classification: bool, seed: int) -> TargetEncoder:
    """Cross-fitted target encoding with seeded folds (scikit-learn 1.9 moved the seed into `cv`)."""
    if inspect.signature(TargetEncoder).parameters["random_state"].default != "deprecated":
        return TargetEncoder(random_state=seed)
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = StratifiedKFold if classification else KFold
    return TargetEncoder(cv=folds(n_splits=5, shuffle=True, random_state=seed))


# -- from outputs back to input columns ----------------------------------------------------------


def output_origins(preprocessor: ColumnTransformer) -> list[str] | None:
    """The input column behind each output column of a fitted ColumnTransformer, or None if unknown."""
    width = sum(s.stop - s.start for s in preprocessor.output_indices_.values())
    origins: list[str | None] = [None] * width
    for name, transformer, columns in preprocessor.transformers_:
        if isinstance(transformer, str):  # "drop" / "passthrough" remainder
            if transformer == "drop":
                continue
            return None
        where = preprocessor.output_indices_[name]
        found = _origins(transformer, [str(c) for c in columns])
        if found is None or len(found) != where.stop - where.start:
            return None
        origins[where] = found
    return None if any(o is None for o in origins) else origins  # type: ignore[return-value]


def _origins(transformer: Any, origins: list[str]) -> list[str] | None:
    steps = [step for _, step in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    for step in steps:
        if isinstance(step, ToFloat | CategoryStrings | CategoryCodes | StandardScaler | MinMaxScaler | OrdinalEncoder):
            continue
        if isinstance(step, DateParts):
            origins = [name for name in origins for _ in DATE_PARTS]
        elif isinstance(step, SimpleImputer):
            indicator = getattr(step, "indicator_", None)
            if indicator is not None:
                origins = origins + [origins[i] for i in indicator.features_]
        elif isinstance(step, OneHotEncoder):
            infrequent = getattr(step, "infrequent_categories_", [None] * len(step.categories_))
            drop = step.drop_idx_ if step.drop_idx_ is not None else [None] * len(step.categories_)
            counts = [
                len(cats) - (len(rare) - 1 if rare is not None else 0) - (dropped is not None)
                for cats, rare, dropped in zip(step.categories_, infrequent, drop, strict=True)
            ]
            origins = [name for name, count in zip(origins, counts, strict=True) for _ in range(count)]
        elif isinstance(step, TargetEncoder):
            per = len(step.classes_) if step.target_type_ == "multiclass" else 1
            origins = [name for name in origins for _ in range(per)]
        else:
            return None
    return origins
