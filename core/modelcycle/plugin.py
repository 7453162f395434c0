"""Everything a plugin author imports, in one module: ``from modelcycle.plugin import ...``.

The built-in plugins import nothing else from modelcycle but this module and the public
``modelcycle`` package (a test enforces it), so what they can do, a third-party plugin can do too:

* ``hookimpl``, the marker of hook implementations;
* the base classes (Store, Trainer, Metric, DriftTest, Notifier, CheckType, Step, Trigger,
  Executor) and what they hand around (Message, StepResult, CategoricalSupport);
* ``Section`` and ``Field`` to write a class's ``Options`` (``TrainerOptions`` and
  ``CheckOptions``: the ``[models.NAME]`` and ``[checks.NAME]`` sections a trainer's or a check
  type's Options extend with their own keys);
* the errors, and the mergeable metric states;
* ``PluginContext``, what every plugin object receives as ``context=``;
* a few helpers for executors, whose work runs where no context travels (Dask workers).

Importing it stays cheap: pandas and the recipes load only when a helper is called.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._validate import Field, Section
from .errors import (
    CorruptObjectError,
    DataError,
    IntegrityError,
    ModelcycleError,
    NotFoundError,
    PluginError,
    SettingsError,
    StoreError,
)
from .interfaces import (
    CategoricalSupport,
    CheckOptions,
    CheckType,
    DriftTest,
    Executor,
    Message,
    Metric,
    NoOptions,
    Notifier,
    Plugged,
    Step,
    StepResult,
    Store,
    StoreOptions,
    Trainer,
    TrainerOptions,
    Trigger,
    confined,
)
from .logs import get_logger, warn
from .markers import hookimpl
from .names import check_name, suggest

if TYPE_CHECKING:  # loaded on first use, below: they need numpy and pandas
    from .states import DistinctCounts, ExactSum, MeanState, RowState

__all__ = [
    "CategoricalSupport",
    "CheckOptions",
    "CheckType",
    "CorruptObjectError",
    "DataError",
    "DistinctCounts",
    "DriftTest",
    "ExactSum",
    "Executor",
    "Field",
    "IntegrityError",
    "MeanState",
    "Message",
    "Metric",
    "ModelcycleError",
    "NoOptions",
    "NotFoundError",
    "Notifier",
    "Plugged",
    "PluginContext",
    "PluginError",
    "RowState",
    "Section",
    "SettingsError",
    "Step",
    "StepResult",
    "Store",
    "StoreError",
    "StoreOptions",
    "Trainer",
    "TrainerOptions",
    "Trigger",
    "check_name",
    "confined",
    "dataset_files",
    "get_logger",
    "hookimpl",
    "iter_batches",
    "read_errors",
    "suggest",
    "warn",
]


class PluginContext:
    """What a plugin object may use of the project it serves, and where it sits in the settings.

    `scenario` is set for steps and triggers (the scenario they belong to), `notifier` for
    notifiers (the NAME of ``[notifiers.NAME]``), `task` for trainers (the task being trained).
    """

    def __init__(
        self,
        project: Any,
        *,
        scenario: str | None = None,
        notifier: str | None = None,
        task: str | None = None,
    ) -> None:
        self._project = project
        self.scenario = scenario
        self.notifier = notifier
        self.task = task

    # -- the project ------------------------------------------------------------------------

    @property
    def project(self) -> Any:
        """The public Project facade (``train``, ``evaluate``, ``score``, ``run_checks``…), for steps."""
        return self._project

    @property
    def settings(self) -> Any:
        """The project's validated settings (read them; never change them)."""
        return self._project.settings

    @property
    def store(self) -> Store:
        """The project's store, for a plugin keeping its own objects (under a prefix of its own)."""
        return self._project.store

    @property
    def project_name(self) -> str:
        return self._project.name

    def redact(self, value: Any) -> Any:
        """`value` with every secret of the settings (values of ``${NAME}``) replaced by its placeholder."""
        return self._project.settings.redactor(value)

    def require_model(self, model: str) -> None:
        """Refuse a model that is neither in the settings nor in the store, listing the ones that are."""
        self._project.context.require_model(model)

    def ask(self, question: str, **arguments: Any) -> Any:
        """The first answer of the plugins' question hook `question` (``categorical_support``…)."""
        return self._project.host.ask(question, **arguments)

    # -- alerts ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The time alerts are stamped with (UTC)."""
        from .alerts import now

        return now()

    def queue_alert(self, notifier: str, subject: str, text: str, about: dict[str, Any]) -> dict[str, Any]:
        """Put an alert for `notifier` in the store's queue (pending until delivered); returns it."""
        from .alerts import queue

        return queue(self._project, notifier, subject, text, about)

    def deliver_alert(self, alert: dict[str, Any]) -> dict[str, Any]:
        """Try to deliver a queued alert now; returns it with its status ("sent" or still pending)."""
        from .alerts import deliver

        return deliver(self._project, alert)

    # -- datasets and scenarios -------------------------------------------------------------------

    def fingerprint(self, dataset: str) -> str:
        """The fingerprint of a dataset of ``[datasets]`` (or a URL): it changes when its files change."""
        from .data import fingerprint, resolve

        return fingerprint(resolve(self._project.settings, dataset))

    def compression_suffixes(self) -> tuple[str, ...]:
        """File suffixes read and written compressed (".gz", …)."""
        from .score import COMPRESSED

        return COMPRESSED

    def run_scenario(self, name: str, *, trigger: str = "manual") -> dict[str, Any]:
        """Run scenario `name` now and record it; returns the run."""
        return self._project.run_scenario(name, trigger=trigger)

    def last_scenario_run(self, name: str) -> tuple[int, dict[str, Any] | None]:
        """(sequence number, run) of the newest recorded run of scenario `name`; (0, None) when none."""
        from .scenarios import runs_journal

        return runs_journal(self._project, name).last()

    def scenario_run(self, name: str, seq: int) -> dict[str, Any] | None:
        """The recorded run number `seq` of scenario `name`, or None."""
        from .scenarios import runs_journal

        return runs_journal(self._project, name).get(seq)

    @staticmethod
    def steps_outcome(steps: list[dict[str, Any]]) -> str:
        """The outcome of a run so far from its steps' results (SUCCESS, WARNING or FAILED)."""
        from .scenarios import outcome_of

        return outcome_of(steps)

    @staticmethod
    def steps_summary(steps: list[dict[str, Any]]) -> str:
        """One line per step result, as scenario messages show them."""
        from .scenarios import summary

        return summary(steps)


def __getattr__(name: str) -> Any:
    """The mergeable metric states load on first use: they need numpy and pandas."""
    if name in ("DistinctCounts", "ExactSum", "MeanState", "RowState"):
        from . import states

        return getattr(states, name)
    raise AttributeError(f"module 'modelcycle.plugin' has no attribute {name!r}")


# -- for executors: these run on workers too, where no context travels ------------------------------


def iter_batches(dataset: Any, *, batch_rows: int) -> Iterator[Any]:
    """The rows of a dataset (what an executor receives) as DataFrames of at most `batch_rows` rows."""
    from .data import iter_batches as batches

    return batches(dataset, batch_rows=batch_rows)


def dataset_files(dataset: Any) -> list[str]:
    """The files of a dataset; one clear DataError when there is none."""
    from .data import files

    return files(dataset)


def read_errors(dataset: Any, path: str) -> AbstractContextManager[None]:
    """A context in which a failure to read `path` of `dataset` becomes one DataError naming it."""
    from .data import read_errors as errors

    return errors(dataset, path)
