"""`estimator` and `params` → a scikit-learn estimator instance, or a one-line SettingsError.

Messages start with the key they are about, relative to the model's section ("estimator: …",
"params.max_iter: …"), so the core can prefix "modelcycle.toml: models.NAME.".
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import re
from types import ModuleType
from typing import Any

from modelcycle.plugin import SettingsError

DEFAULTS = {
    "binary": "sklearn.ensemble.HistGradientBoostingClassifier",
    "multiclass": "sklearn.ensemble.HistGradientBoostingClassifier",
    "regression": "sklearn.ensemble.HistGradientBoostingRegressor",
}
EXAMPLE = "sklearn.ensemble.RandomForestClassifier"
TREE_MODULES = ("sklearn.ensemble", "sklearn.tree", "xgboost", "lightgbm", "catboost")
TREE_WORDS = ("Boost", "Forest", "Tree", "XGB", "LGBM")


def one_line(text: object) -> str:
    """A library's (possibly multi-line) message squeezed onto one line."""
    return " ".join(str(text).split())


def estimator_path(estimator: str | None, task: str | None) -> str:
    """The dotted path actually used: the given one, or the default for the task."""
    if estimator:
        return estimator.strip()
    return DEFAULTS.get(task or "binary", DEFAULTS["binary"])


def resolve_class(path: str) -> type:
    """Import the class a dotted path names; every failure is one SettingsError with a hint."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        guess = _sklearn_public_path(path)
        hint = f"; did you mean '{guess}'?" if guess else ""
        raise SettingsError(f"'{path}' is not a dotted path to a class like '{EXAMPLE}'{hint}", key="estimator")
    module = _import_module(path, module_name, class_name)
    obj = getattr(module, class_name, None)
    if obj is None:
        raise SettingsError(
            f"module '{module_name}' has no class '{class_name}'; " + _class_hint(module, path), key="estimator"
        )
    if not inspect.isclass(obj):
        raise SettingsError(f"'{path}' is a {type(obj).__name__}, not an estimator class", key="estimator")
    if not callable(getattr(obj, "fit", None)):
        raise SettingsError(f"'{path}' is not an estimator: it has no fit method", key="estimator")
    return obj


def _import_module(path: str, module_name: str, class_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if module_name != missing and not module_name.startswith(missing + "."):
            # the module exists but one of its own imports is missing
            raise SettingsError(
                f"importing '{module_name}' failed: {one_line(exc)}; install the missing package", key="estimator"
            ) from None
        if "." not in missing:
            raise SettingsError(
                f"no module named '{missing}' (for '{path}'): install the package that provides it "
                "in the environment that runs modelcycle, or fix the path",
                key="estimator",
            ) from None
        raise SettingsError(
            f"no module named '{missing}' (for '{path}'); " + _module_hint(path, missing, class_name), key="estimator"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any import-time failure of a user-named module
        raise SettingsError(f"importing '{module_name}' failed: {one_line(exc)}", key="estimator") from None


def _module_hint(path: str, missing: str, class_name: str) -> str:
    """Did you mean: the class's real home in scikit-learn, else a sibling module with a close name."""
    public = _sklearn_public_path(class_name) if path.startswith("sklearn.") else None
    if public:
        return f"did you mean '{public}'?"
    parent_name, _, leaf = missing.rpartition(".")
    try:
        parent = importlib.import_module(parent_name)
    except Exception:  # noqa: BLE001 - only a hint
        return "check the path"
    siblings = [
        m.name
        for m in pkgutil.iter_modules(getattr(parent, "__path__", []))
        if not m.name.startswith("_") and m.name not in ("tests", "conftest", "externals")
    ]
    close = difflib.get_close_matches(leaf, siblings, n=1)
    if close:
        fixed = f"{parent_name}.{close[0]}" + path[len(missing) :]
        return f"did you mean '{fixed}'?"
    return f"modules in '{parent_name}': {', '.join(sorted(siblings))}" if siblings else "check the path"


def _class_hint(module: ModuleType, path: str) -> str:
    class_name = path.rpartition(".")[2]
    if path.startswith("sklearn."):
        public = _sklearn_public_path(class_name)
        if public:
            return f"did you mean '{public}'?"
    classes = sorted(name for name, obj in vars(module).items() if inspect.isclass(obj) and not name.startswith("_"))
    close = difflib.get_close_matches(class_name, classes, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    estimators = [name for name in classes if callable(getattr(getattr(module, name), "fit", None))]
    if estimators:
        return "its estimators: " + ", ".join(estimators)
    return "it holds no estimator classes"


def _sklearn_public_path(class_name: str) -> str | None:
    """'RandomForestClassifier' → 'sklearn.ensemble.RandomForestClassifier' (exact, then close names)."""
    try:
        from sklearn.utils.discovery import all_estimators

        found = dict(all_estimators())
    except Exception:  # noqa: BLE001 - only a hint
        return None
    name = class_name if class_name in found else None
    if name is None:
        close = difflib.get_close_matches(class_name, list(found), n=1, cutoff=0.85)
        name = close[0] if close else None
    if name is None:
        return None
    cls = found[name]
    parts = []
    for part in cls.__module__.split("."):
        if part.startswith("_"):
            break
        parts.append(part)
    module = ".".join(parts)
    try:
        if getattr(importlib.import_module(module), name) is cls:
            return f"{module}.{name}"
    except Exception:  # noqa: BLE001 - fall back to the defining module
        pass
    return f"{cls.__module__}.{name}"


def param_names(cls: type) -> list[str]:
    """The constructor parameters: get_params() of a default instance, else the signature."""
    try:
        return sorted(cls().get_params(deep=False))
    except Exception:  # noqa: BLE001 - some estimators need arguments
        signature = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return sorted(p.name for p in list(signature.parameters.values())[1:] if p.kind in kinds)


def make_estimator(cls: type, params: dict[str, Any]) -> Any:
    """cls(**params), naming a parameter the estimator does not have."""
    try:
        return cls(**params)
    except TypeError as exc:
        valid = param_names(cls)
        bad = [name for name in params if name not in valid]
        if not bad:
            raise SettingsError(f"{cls.__name__} rejected them: {one_line(exc)}", key="params") from None
        close = difflib.get_close_matches(bad[0], valid, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise SettingsError(
            f"{cls.__name__} has no parameter '{bad[0]}'; {hint}valid: {', '.join(valid)}", key=f"params.{bad[0]}"
        ) from None
    except ValueError as exc:  # estimators outside scikit-learn may validate in __init__
        raise SettingsError(f"{cls.__name__} rejected them: {one_line(exc)}", key="params") from None


def check_task(estimator: Any, path: str, task: str) -> None:
    """A classifier for binary/multiclass, a regressor for regression."""
    from sklearn.base import is_classifier, is_regressor

    classifier, regressor = is_classifier(estimator), is_regressor(estimator)
    if (task == "regression" and regressor) or (task != "regression" and classifier):
        return
    wanted, other = ("regressor", "Classifier") if task == "regression" else ("classifier", "Regressor")
    counterpart = _counterpart(path, other, wanted.capitalize()) or DEFAULTS[task]
    if classifier or regressor:
        kind = "a classifier" if classifier else "a regressor"
        fix = 'set task = "regression"' if regressor else 'set task = "binary" or "multiclass"'
        raise SettingsError(
            f"'{path}' is {kind} but the task is '{task}': "
            f"use a {wanted} such as '{counterpart}', or {fix} if the task was inferred wrongly",
            key="estimator",
        )
    raise SettingsError(
        f"'{path}' is neither a classifier nor a regressor; the task '{task}' needs a {wanted} such as '{counterpart}'",
        key="estimator",
    )


def _counterpart(path: str, old: str, new: str) -> str | None:
    """RandomForestRegressor ↔ RandomForestClassifier, when the other class exists."""
    module_name, _, name = path.rpartition(".")
    if old not in name:
        return None
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - only a hint
        return None
    other = name.replace(old, new)
    return f"{module_name}.{other}" if inspect.isclass(getattr(module, other, None)) else None


def is_tree_model(cls: type) -> bool:
    """Tree ensembles need no scaling and handle ordinal codes of many categories well."""
    return cls.__module__.startswith(TREE_MODULES) or any(word in cls.__name__ for word in TREE_WORDS)


def categorical_support(estimator: Any) -> Any:
    """HistGradientBoosting takes categorical columns itself (`categorical_features`), up to `max_bins` codes.

    None when the user set `categorical_features` in params: their choice stands.
    """
    from modelcycle.plugin import CategoricalSupport
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if not isinstance(estimator, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        return None
    params = estimator.get_params(deep=False)
    if not isinstance(params.get("categorical_features"), str) or params["categorical_features"] != "from_dtype":
        return None
    return CategoricalSupport(max_categories=int(params["max_bins"]), configure=mark_categorical_features)


def mark_categorical_features(estimator: Any, positions: list[int]) -> Any:
    """HistGradientBoosting's `categorical_features`: the positions of the coded columns (none: no mark)."""
    return estimator.set_params(categorical_features=list(positions) or None)


def trust_own_preprocessor(fitted: Any) -> None:
    """After fit: HistGradientBoosting's own FunctionTransformer(partial(check_array)) becomes FloatArray.

    HistGradientBoosting with categorical features keeps that function in its internal
    preprocessor, and skops loads classes only; FloatArray makes the same check_array call.
    """
    from functools import partial

    import numpy as np

    from .preprocessing import FloatArray

    preprocessor = getattr(fitted, "_preprocessor", None)
    for attribute in ("transformers", "transformers_"):
        listed = getattr(preprocessor, attribute, None)
        if not listed:
            continue
        swapped = []
        for name, transformer, columns in listed:
            func = getattr(transformer, "func", None)
            if isinstance(func, partial) and getattr(func.func, "__name__", "") == "check_array":
                transformer = FloatArray().fit(np.empty((0, int(np.sum(columns)))))
            swapped.append((name, transformer, columns))
        setattr(preprocessor, attribute, swapped)


def allows_nan(estimator: Any) -> bool:
    """True for estimators that take missing values as they are (scikit-learn's allow_nan tag)."""
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(estimator).input_tags.allow_nan)
    except Exception:  # noqa: BLE001 - scikit-learn < 1.6 or an estimator without tags
        return False


def positive_only(estimator: Any) -> bool:
    """True for estimators that refuse negative inputs (MultinomialNB, chi2-like models)."""
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(estimator).input_tags.positive_only)
    except Exception:  # noqa: BLE001 - scikit-learn < 1.6 or an estimator without tags
        tags = getattr(estimator, "_get_tags", None)
        try:
            return bool(tags and tags().get("requires_positive_X", False))
        except Exception:  # noqa: BLE001
            return False


_PARAM_MESSAGE = re.compile(r"The '([^']+)' parameter of \w+ must be")


def param_error(exc: Exception, params: dict[str, Any]) -> SettingsError | None:
    """A ValueError at fit that the params caused, as a SettingsError; None when the data caused it."""
    message = one_line(exc)
    if type(exc).__name__ == "InvalidParameterError":
        match = _PARAM_MESSAGE.search(message)
        key = f"params.{match.group(1)}" if match and match.group(1) in params else "params"
        return SettingsError(f"{message}", key=key)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", message))
    named = [name for name in params if name in words]
    named += [name for name, value in params.items() if isinstance(value, str) and value in words]
    if named:
        return SettingsError(f"{message}", key=f"params.{named[0]}")
    return None
