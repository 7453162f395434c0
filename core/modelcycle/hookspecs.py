"""The whole plugin contract. Each hook's docstring is its reference documentation.

Two families:

* **Register hooks** (`register_*`) take no arguments and return a list of classes
  (subclasses of the bases in :mod:`modelcycle.plugin`). Each runs at most once
  per Project, the first time that kind is needed (when the Project opens, for the
  kinds its settings name), and must have no side effects. The core builds every class
  the same way, ``cls(options, context=context)``: `options` validated against the class's
  ``Options`` schema, `context` a :class:`modelcycle.plugin.PluginContext`. Two plugins
  registering the same name is an error that names both.
* **Question hooks** (`categorical_support`) ask plugins about something, with
  arguments; the first answer that is not None wins, the latest-loaded plugin first
  (so a plugin can override a built-in answer). An implementation that raises fails
  the operation with an error naming its plugin.
* **Event hooks** (`after_*`) observe the lifecycle and return nothing. They run
  after the fact has been stored, so they can never make it half-done; an event
  hook that raises is reported as a warning naming its plugin and does not undo
  the operation.

Implement a hook with ``@modelcycle.hookimpl`` on a function of the same name,
accepting any subset of its arguments by name. Every hook call goes through pluggy's hook
caller (a register hook is called once per plugin), so ``add_hookcall_monitoring`` on the
project's plugin manager sees it and ``MODELCYCLE_TRACE_PLUGINS=1`` prints it to stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .interfaces import (
        CategoricalSupport,
        CheckType,
        DriftTest,
        Executor,
        Metric,
        Notifier,
        Step,
        Store,
        Trainer,
        Trigger,
    )
    from .records import Activation, Alert, CheckResult, Evaluation, ScenarioRun

    # the public facade (modelcycle.Project) events are about: named, not imported, so the
    # plugin contract stays below the facade in the import graph
    Project = Any

hookspec = pluggy.HookspecMarker("modelcycle")

# -- register hooks ---------------------------------------------------------------


@hookspec
def register_stores() -> list[type[Store]]:
    """Return Store classes, each serving the URL schemes in its ``protocols``.

    The project's ``store`` URL picks the class whose ``protocols`` contain the URL's
    scheme, falling back to a class that declares ``"*"``. The class is created as
    ``cls(options, context=context)``, ``options.url`` the store's URL and ``options.options``
    the ``[project] store_options``.

    Example::

        @hookimpl
        def register_stores():
            return [MyKeyValueStore]   # protocols = ("kv",)
    """


@hookspec
def register_trainers() -> list[type[Trainer]]:
    """Return Trainer classes; ``[models.NAME] trainer = "<name>"`` picks one.

    A trainer's ``options`` is the model's whole ``[models.NAME]`` section (None when it only
    loads a stored version of a model no longer in the settings) and ``context.task`` the task
    being trained (also ``self.task``)."""


@hookspec
def register_metrics() -> list[type[Metric]]:
    """Return Metric classes; ``[models.NAME] metrics = [...]`` and checks use their names."""


@hookspec
def register_drift_tests() -> list[type[DriftTest]]:
    """Return DriftTest classes; ``[models.NAME.drift]`` picks them by name."""


@hookspec
def register_notifiers() -> list[type[Notifier]]:
    """Return Notifier classes; ``[notifiers.NAME] type = "<name>"`` picks one.

    The section's other keys are validated against the class's ``Options``; ``self.section_name``
    is NAME."""


@hookspec
def register_check_types() -> list[type[CheckType]]:
    """Return CheckType classes; ``[checks.NAME] type = "<name>"`` picks one (default "threshold")."""


@hookspec
def register_steps() -> list[type[Step]]:
    """Return scenario Step classes; a step's ``type`` picks one; ``context.scenario`` names its scenario."""


@hookspec
def register_triggers() -> list[type[Trigger]]:
    """Return scenario Trigger classes; a trigger's ``type`` picks one; ``self.scenario`` is the one it starts."""


@hookspec
def register_executors() -> list[type[Executor]]:
    """Return Executor classes; ``[project] executor = "<name>"`` picks one, built from
    ``[project.executor_options]``."""


# -- question hooks ---------------------------------------------------------------


@hookspec(firstresult=True)
def categorical_support(estimator: Any) -> CategoricalSupport | None:
    """Declare that an estimator handles categorical columns itself, or return None.

    Asked by the built-in ``sklearn`` trainer with ``preprocessing = "auto"``, with the
    unfitted estimator (user params set). The answer, a
    :class:`modelcycle.plugin.CategoricalSupport`, gives the most categories a column
    may have and a function that marks the categorical columns on the estimator; those
    columns are then ordinal-coded instead of one-hot encoded. The built-in plugin
    answers for scikit-learn's HistGradientBoosting models.

    Example (LightGBM, whose ``categorical_feature`` takes column positions)::

        def mark(estimator, positions):
            return estimator.set_params(categorical_feature=positions)

        @hookimpl
        def categorical_support(estimator):
            if type(estimator).__name__.startswith("LGBM"):
                return CategoricalSupport(max_categories=1000, configure=mark)
            return None
    """


# -- event hooks ------------------------------------------------------------------


@hookspec
def after_version_created(project: Project, model: str, version: dict[str, Any]) -> None:
    """Called once a new version is stored and visible (artifact and metadata).

    ``version`` is the version's stored metadata: ``model``, ``version``,
    ``created_at``, ``created_by``, ``artifact`` (key, sha256, size, format) and what
    the recipe recorded (metrics, dataset, …).
    """


@hookspec
def after_version_activated(project: Project, model: str, activation: Activation) -> None:
    """Called once an activation (or a rollback) is in the activation log.

    ``activation`` is the log entry: ``seq``, ``kind`` (activate or rollback),
    ``version``, ``previous``, ``back`` (the entry a rollback returns to), ``at``,
    ``actor``, ``reason`` and the policy ``decision`` (or None).
    """


@hookspec
def after_evaluation_recorded(project: Project, model: str, evaluation: Evaluation) -> None:
    """Called once an evaluation is in the metrics history (``evaluate --json`` shape)."""


@hookspec
def after_check_result(project: Project, result: CheckResult) -> None:
    """Called for each recorded check result (``check --json`` item shape)."""


@hookspec
def after_alert_sent(project: Project, alert: Alert) -> None:
    """Called once a notifier has delivered an alert and it is marked sent."""


@hookspec
def after_scenario_finished(project: Project, run: ScenarioRun) -> None:
    """Called once a scenario run is recorded with its outcome (``scenario run --json`` shape)."""
