"""Base classes that plugins subclass. Register hooks return these classes; the core
builds every one the same way, ``cls(options, context=context)`` (see PluginHost.create), with
`options` validated against the class's ``Options`` schema, so a plugin never guesses its constructor.

Every class carries `name`, the word users write in modelcycle.toml to pick it.
Plugin authors import all of this from :mod:`modelcycle.plugin`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._validate import Field, Section
from .settings import CheckSettings, ModelSettings


class NoOptions(Section):
    """The options of a plugin with nothing to configure: any key given is refused."""


class TrainerOptions(ModelSettings):
    """A ``[models.NAME]`` section as a trainer takes it. A trainer's own Options extend it with
    their keys (and then refuse any other); without, the other keys are kept, unchecked, in
    ``options.model_extra``."""


class CheckOptions(CheckSettings):
    """A ``[checks.NAME]`` section as a check type takes it. A type's own Options extend it with
    their keys (and then refuse any other); without, the other keys are kept, unchecked, in
    ``options.model_extra``."""


class Plugged:
    """What every registered class has: a unique, lowercase `name`, a docstring, an ``Options``
    schema (a Section subclass) and the one constructor shape ``cls(options, *, context)``.

    `context` is the :class:`modelcycle.plugin.PluginContext` of the project the object serves
    (None outside a project, in a unit test say).
    """

    name: ClassVar[str] = ""
    #: the options' schema; the user's keys are validated against it before ``__init__``
    Options: ClassVar[type[Section]] = NoOptions

    def __init__(self, options: Any = None, *, context: Any = None) -> None:
        self.options = options if options is not None else type(self).Options()
        self.context = context

    def __getstate__(self) -> dict[str, Any]:
        # the project stays in the process that opened it: metrics, drift tests and trainers
        # ride in the tasks an executor ships to its workers
        state = dict(self.__dict__)
        state["context"] = None
        return state


class StoreOptions(Section):
    """What every store is built from: ``[project] store`` and ``store_options``."""

    url: str = Field(description="The store's URL or folder, absolute.")
    options: dict[str, Any] = Field(default_factory=dict, description="[project] store_options.")


class Store(Plugged, ABC):
    """Where all state lives. Keys are '/'-separated paths relative to the store's root.

    The whole consistency story rests on two promises a Store must keep:
    `write` replaces an object atomically (a reader sees the old bytes or the new,
    never a mix) and `put_if_absent` creates an object only if no object has that
    key, atomically, even between machines. Nothing else is assumed: no locks,
    no rename, no consistent listing.
    """

    #: URL schemes this store serves ("file", "s3", …); "*" serves any scheme, as a fallback.
    protocols: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type[Section]] = StoreOptions

    def __init__(self, options: Any, *, context: Any = None) -> None:
        super().__init__(options, context=context)
        self.url: str = options.url
        self.storage_options: dict[str, Any] = dict(options.options)

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no object with this key."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Create or atomically replace the object."""

    @abstractmethod
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create the object and return True, or return False if the key exists already."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Every key below `prefix` (a folder-like prefix, without trailing slash), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    def display_url(self) -> str:
        """The store's URL as errors and listings show it to people (never with credentials)."""
        return self.url

    def modified(self, key: str) -> float | None:
        """When the object was last written (epoch seconds), or None if the store cannot tell.

        Only garbage collection uses it, to leave alone what a running writer just wrote.
        """
        return None

    def leftovers(self, prefix: str) -> list[str]:
        """Temporary objects a killed writer left below `prefix` (hidden from `list`); none by default."""
        return []

    # Helpers every store gets for free.
    def get_json(self, key: str) -> Any | None:
        data = self.get(key)
        return None if data is None else load_json(data, key)

    def write_json(self, key: str, value: Any) -> None:
        self.write(key, dump_json(value))

    def put_json_if_absent(self, key: str, value: Any) -> bool:
        return self.put_if_absent(key, dump_json(value))


def confined(key: str) -> str:
    """`key` itself, refused unless it is a relative '/'-separated path that stays inside the store.

    Stores call it on every key they are given: a key read from the store (an artifact's, say)
    may have been altered, and must not make a read or a delete reach outside the store.
    """
    from .errors import StoreError

    parts = key.split("/") if isinstance(key, str) else [""]
    if any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        raise StoreError(
            f"store key {key!r} is not allowed: keys are relative paths inside the store, without "
            "'.' or '..' parts; the object naming it was altered: restore it"
        )
    return key


def dump_json(value: Any) -> bytes:
    """The one JSON encoding of stored objects: stable key order, UTF-8, secrets redacted from values
    (not from keys, which are structure: a secret "last" must not rename HEAD's field)."""
    from .redaction import PROCESS

    return json.dumps(PROCESS(value, keys=False), sort_keys=True, separators=(",", ":"), default=str).encode()


def load_json(data: bytes, key: str) -> Any:
    """A stored JSON object's value; damaged bytes are one error naming the object, not a traceback."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        from .errors import CorruptObjectError

        raise CorruptObjectError(
            f"store object {key} is damaged ({type(exc).__name__}: {str(exc)[:80]}): it was changed outside "
            "modelcycle; restore it from a backup or a copy of the store"
        ) from None


@dataclass(frozen=True)
class CategoricalSupport:
    """How an estimator takes categorical columns itself: the answer of the ``categorical_support`` hook.

    Auto preprocessing then codes each categorical column 0 … k-1 (the categories seen at
    least 5 times at fit, missing being one of them) plus a reserved code k for rare and unseen
    values, puts these columns first, and calls ``configure(estimator, positions)`` instead of
    one-hot encoding. Columns needing more than `max_categories` codes (the reserved one
    included) keep the usual encoding.
    """

    #: the most codes one column may use, the reserved code included (HistGradientBoosting: max_bins)
    max_categories: int
    #: (estimator, positions of the categorical columns in the preprocessed matrix) → the estimator to fit;
    #: a module-level function, so that it pickles (Dask workers)
    configure: Callable[[Any, list[int]], Any]


class Trainer(Plugged, ABC):
    """Fits a model from a dataset's rows (the train recipe's `fit` step) and (de)serialises it.

    `fit` returns an object with the scikit-learn prediction API: ``predict(X)``, and
    for classifiers ``predict_proba(X)`` and ``classes_``. The core computes metrics,
    thresholds, profiles and scores through that API only, so any library can plug in
    by wrapping its model accordingly.
    """

    #: artifact formats `dump` and `load` understand, e.g. ("joblib", "skops")
    formats: ClassVar[tuple[str, ...]] = ()
    #: a trainer is built from its model's whole ``[models.NAME]`` section: its Options extend
    #: ModelSettings with the trainer's own keys (the scikit-learn trainer's estimator, params...)
    Options: ClassVar[type[Section]] = TrainerOptions

    def __init__(self, options: Any, *, context: Any = None) -> None:
        if options is None:  # loading a version of a model no longer in the settings: nothing to fit with
            self.options, self.context = None, context
        else:
            super().__init__(options, context=context)
        self.settings = options  # the model's validated [models.NAME] section (None: see above)
        #: "binary" | "multiclass" | "regression": the context's, the task the model is trained for
        self.task: str = getattr(context, "task", None) or getattr(options, "task", None) or ""

    @property
    def artifact_format(self) -> str:
        """The format `dump` writes and `load` expects for this model (see `format_of`)."""
        return self.format_of(self.options)

    @classmethod
    def format_of(cls, options: Any) -> str:
        """The artifact format `options` choose: their ``artifact_format`` (the scikit-learn
        trainer's key), else the first of `formats`."""
        chosen = getattr(options, "artifact_format", None)
        return str(chosen) if chosen else (cls.formats[0] if cls.formats else "")

    def categorical_support(self, estimator: Any) -> CategoricalSupport | None:
        """What the plugins' ``categorical_support`` hooks declare for this estimator, or None."""
        if self.context is None:
            return None
        return self.context.ask("categorical_support", estimator=estimator)

    def describe_fitted(self, fitted: Any) -> dict[str, Any]:
        """What the version's metadata records of this fitted model beyond `recorded_settings`
        (e.g. the preprocessing plan)."""
        return {}

    @abstractmethod
    def fit(self, X: Any, y: Any) -> Any:
        """Fit on a pandas DataFrame of feature columns and a Series target; return the fitted model.

        Raise :class:`modelcycle.DataError` (or SettingsError) for anything the user must fix:
        an unknown estimator path, parameters the estimator rejects, unusable columns.
        """

    @abstractmethod
    def dump(self, fitted: Any, fmt: str) -> bytes:
        """Serialise a fitted model in one of `formats` (the core passes `artifact_format`). A
        regression version's loss model goes through here too: a dict of lists of fitted
        scikit-learn ``HistGradientBoostingRegressor``, in the same format."""

    @abstractmethod
    def load(self, data: bytes, fmt: str) -> Any:
        """Deserialise bytes written by `dump`; refuse untrusted content where the format allows."""

    def feature_importances(self, fitted: Any, columns: list[str]) -> dict[str, float] | None:
        """Importance per input column straight from the model, or None (the core then permutes)."""
        return None

    @classmethod
    def recorded_settings(cls, settings: Any, *, task: str | None = None) -> dict[str, Any]:
        """What the version's metadata records of the trainer (estimator path, params…).

        Keys of a SettingsError raised by a trainer are relative to the model's section
        ("params.max_iter: …"); the core names the whole key.
        """
        return {}


class Metric(Plugged, ABC):
    """A performance metric, computed from labels, predictions and probabilities.

    `compute` receives numpy arrays: ``y_true`` and ``y_pred`` (labels for classifiers,
    values for regression), ``proba`` of shape (n, n_classes) in the order of ``labels``
    (None for regression), and optional ``sample_weight`` (used by bootstraps).
    For binary tasks the positive class is ``labels[1]``.
    """

    #: tasks the metric applies to: "binary", "multiclass", "regression"
    tasks: ClassVar[tuple[str, ...]] = ()
    #: True when larger values are better (accuracy), False otherwise (log_loss)
    greater_is_better: ClassVar[bool] = True
    #: True when the metric needs probabilities (roc_auc, log_loss, brier)
    needs_proba: ClassVar[bool] = False

    @abstractmethod
    def compute(
        self,
        y_true: Any,
        y_pred: Any,
        proba: Any | None,
        *,
        labels: list[Any],
        sample_weight: Any | None = None,
    ) -> float:
        """The metric's value; NaN when it is undefined on these rows (one class only, say)."""

    #: metrics whose `partial` returns the same state share one per chunk (all label
    #: metrics share the confusion counts, say); None: the metric's own name
    state_key: ClassVar[str | None] = None

    def partial(self, y_true: Any, y_pred: Any, proba: Any | None, *, labels: list[Any]) -> Any:
        """One chunk of labelled rows reduced to a mergeable state: any picklable object with
        ``merge(other) -> state``. Evaluation streams chunks through `partial`, merges the
        states (in any grouping: Dask workers merge theirs apart) and calls `finish` once.

        The default keeps the rows themselves (exact, but memory grows with the labelled
        rows); override it, with `finish`, to keep a bounded state instead.
        """
        from .states import RowState

        return RowState(y_true, y_pred, proba)

    def finish(self, state: Any, *, labels: list[Any]) -> float:
        """The metric's value from the merged state of every chunk."""
        return self.compute(*state.arrays(), labels=labels)


class DriftTest(Plugged, ABC):
    """Compares a column's current distribution with the version's reference profile.

    The core hands both sides as aligned count vectors over the same bins: for numeric
    columns the bins the reference's percentile ``edges`` make (len(edges) + 1 bins,
    the outer ones open); for categorical columns the reference's top categories
    followed by one "other" bin. Missing values are not in the counts. A test returns
    an effect size (the column drifted when it is >= the threshold) and, where it has
    one, a p-value: the core flags a column when the effect size reaches the threshold
    and the p-value (the test's own, else KS for numeric and chi-square for categorical
    columns) is below the model's drift `significance` (a guard against small samples; at
    scale every p-value is tiny and the effect size decides). A test may instead define
    `judge(...)`, returning a whole column result from several measures (the built-in
    `auto` does; docs/drift.md).
    """

    #: column kinds the test applies to: "numeric", "categorical"
    kinds: ClassVar[tuple[str, ...]] = ()
    #: the effect size at or above which a column counts as drifted
    default_threshold: ClassVar[float] = 0.0

    @abstractmethod
    def compare(
        self, reference: Any, current: Any, *, edges: list[float] | None = None, scale: float | None = None
    ) -> tuple[float, float | None]:
        """(statistic, p_value or None) for two count vectors; `edges` and the reference
        standard deviation `scale` are given for numeric columns."""


@dataclass(frozen=True)
class Message:
    """One alert as a notifier receives it: rendered text, and the alert record behind it."""

    subject: str
    text: str
    html: str | None = None
    alert: dict[str, Any] = field(default_factory=dict)


class Notifier(Plugged, ABC):
    """A channel that delivers alerts (email, chat, webhook, file outbox).

    The keys of a ``[notifiers.NAME]`` section other than ``type`` are validated against
    the class's ``Options`` (a :class:`modelcycle.plugin.Section`) and handed to
    ``__init__``. ``send`` must raise when the message was not delivered, so the alert
    stays pending and is retried; returning normally means delivered.

    ``name`` is the notifier type (the word of ``type = "…"``); ``section_name`` is the NAME
    of the ``[notifiers.NAME]`` section this object was configured from.
    """

    def __init__(self, options: Any, *, context: Any = None) -> None:
        super().__init__(options, context=context)
        self.section_name: str = getattr(context, "notifier", None) or self.name

    @abstractmethod
    def send(self, message: Message) -> None:
        """Deliver the message or raise (any exception: not delivered)."""

    def target(self) -> str:
        """Where messages go, safe to show: never a password or a token."""
        return self.name


class CheckType(Plugged, ABC):
    """Judges one metric value: OK, WARNING or ERROR, with a message saying why.

    A ``[checks.NAME]`` section picks the type with ``type`` (default "threshold"). The type
    is built from the check's whole section (``options``): its ``Options`` extend
    :class:`CheckSettings` with the type's own keys (the threshold type's min, max...).
    ``__init__`` enforces the type's own rules, raising SettingsError with keys relative to
    the section, when the project opens.
    """

    #: a check type is built from its check's whole ``[checks.NAME]`` section
    Options: ClassVar[type[Section]] = CheckOptions

    def __init__(self, options: Any = None, *, context: Any = None) -> None:
        super().__init__(options, context=context)

    @abstractmethod
    def judge(self, value: Any, check: Any, *, baseline: float | None) -> tuple[str, str]:
        """(outcome, message) for `value`; `baseline` is the value `baseline_source` names (or None)."""

    def thresholds(self) -> dict[str, Any]:
        """The limits the check judges by, as its results record them and alerts show them
        (``{"min": 0.7}``); default: none."""
        return {}

    def baseline_source(self) -> str | None:
        """What `judge` compares with: "training" (the version's validation value of the metric),
        "previous" (the evaluation before) or None (nothing, the default)."""
        return None

    def zones(self) -> dict[str, float] | None:
        """The limits the dashboard draws as zones (keys min, soft_min, max, soft_max: ERROR below
        min, WARNING below soft_min...), or None when the type judges another way (the default)."""
        return None


@dataclass
class StepResult:
    """What a step reports: SUCCESS, WARNING or FAILED, and one line saying what happened."""

    outcome: str
    message: str = ""


class Step(Plugged, ABC):
    """One step type of a scenario (retrain, evaluate, check, notify, …).

    The step's keys other than ``type``, ``run_if`` and ``retries`` are validated against
    ``Options`` and handed to ``__init__``. ``run`` returns a StepResult; raising means
    FAILED with the exception's text as the message.
    """

    def __init__(self, options: Any, *, context: Any = None) -> None:
        super().__init__(options, context=context)

    @property
    def project(self) -> Any:
        """The public Project facade the step acts on (train, evaluate, score, run_checks…)."""
        return self.context.project

    @abstractmethod
    def run(self, run: dict[str, Any]) -> StepResult:
        """Do the step; `run` is the scenario run so far (scenario, trigger, earlier steps)."""


class Trigger(Plugged, ABC):
    """Decides when a scenario is due (cron, dataset changed, after another scenario).

    ``check`` gets the state this trigger saved last time (None the first time) and the
    current time, and returns (slot, new_state): `slot` is a text naming the occasion
    that is due (the cron time, the new fingerprint…) or None when nothing is due. The
    first evaluation only records its state. Two schedulers agree on a slot, so it runs once.
    """

    def __init__(self, options: Any, *, context: Any = None) -> None:
        super().__init__(options, context=context)
        #: the scenario this trigger starts
        self.scenario: str = getattr(context, "scenario", None) or ""

    def label(self) -> str:
        """How a run names the trigger that fired it ("cron 0 2 * * *"); default: the type."""
        return self.name

    @abstractmethod
    def check(self, state: dict[str, Any] | None, now: Any) -> tuple[str | None, dict[str, Any]]:
        """(due slot or None, state to save)."""


class Executor(Plugged, ABC):
    """Runs the partition-wise work of scoring and evaluation: in this process, or on a cluster.

    The recipes hand over a dataset and a picklable task; the executor decides how the
    dataset is cut into partitions and where each one runs. A task receives one
    partition as an iterator of DataFrames (the local executor streams the whole dataset
    as one partition, in bounded batches) and its results merge in any order.
    """

    #: True when tasks are pickled and run in other processes, which cannot call back
    ships_tasks: ClassVar[bool] = False

    def __init__(self, options: Any, *, context: Any = None) -> None:
        super().__init__(options, context=context)

    @abstractmethod
    def reduce(
        self,
        dataset: Any,
        task: Callable[[Iterator[Any]], Any],
        merge: Callable[[Any, Any], Any],
        *,
        progress: Callable[[str], None],
        batch_rows: int,
    ) -> Any:
        """`task` on every partition of `dataset` (a modelcycle.data.Dataset), results merged;
        None when the dataset has no partition. `progress` takes a short text ("12,000 rows");
        `batch_rows` caps the rows of a DataFrame when the executor streams."""

    @abstractmethod
    def write(
        self,
        dataset: Any,
        transform: Callable[[Any], Any],
        output: Any,
        *,
        progress: Callable[[int], None],
        batch_rows: int,
    ) -> dict[str, Any]:
        """transform(frame) of every batch of `dataset` written to `output` (a
        modelcycle.score.Output), visible only once complete; returns {"rows": …} and
        anything worth reporting ("parts"). `progress` takes the rows written so far."""

    def training(self) -> AbstractContextManager[Any]:
        """The context training runs in: joblib's parallel backend for estimators with
        n_jobs and for the kfold and bootstrap loops (default: this process, sequential)."""
        return nullcontext()

    def close(self) -> None:
        """Release what the executor holds (a cluster, a client)."""
