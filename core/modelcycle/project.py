"""Project: the facade. The CLI and users call only this."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import history as evaluation_history
from . import model_versions
from ._plugins import PluginHost
from .context import Context
from .errors import ModelcycleError
from .opening import check_settings_against_plugins, open_store
from .plugin import PluginContext
from .registry import Registry
from .settings import Settings, find_settings_file, load_settings

if TYPE_CHECKING:  # pragma: no cover
    from .interfaces import Executor


def open_project(
    path: str | os.PathLike[str] | None = None,
    *,
    plugins: Iterable[object] = (),
    entry_points: bool = True,
    env: Mapping[str, str] | None = None,
) -> Project:
    """Open the project whose settings are at `path` (a folder or the file itself).

    Without `path`: $MODELCYCLE_PROJECT, else the nearest modelcycle.toml upward from
    the current folder. `plugins` are extra plugin objects (a test's, say); with
    `entry_points=False` no installed third-party plugin is loaded (the built-ins are).
    """
    settings = load_settings(find_settings_file(path), env)
    return Project(settings, plugins=plugins, entry_points=entry_points)


class Project:
    """One project: the facade over its settings, plugins, store and registry.

    It assembles a `Context` (see context.py) and hands it to the recipes and services; it
    holds no logic of its own beyond choosing which one answers.
    """

    def __init__(self, settings: Settings, *, plugins: Iterable[object] = (), entry_points: bool = True) -> None:
        self.settings = settings
        self.host = PluginHost()
        self.host.load(
            blocked=settings.project.block_plugins,
            modules=settings.project.plugins,
            root=settings.root,
            extra=plugins,
            entry_points=entry_points,
        )
        self.store = open_store(settings, self.host, PluginContext(self))
        # store records: values redacted, keys left alone (they are structure the readers look up)
        self.registry = Registry(self.store, redact=lambda value: settings.redactor(value, keys=False))
        self.context = Context(
            settings,
            store=self.store,
            registry=self.registry,
            host=self.host,
            facade=self,
            plugin_context=lambda **where: PluginContext(self, **where),
        )
        check_settings_against_plugins(self.context)

    @property
    def name(self) -> str:
        return self.settings.project_name

    @property
    def actor(self) -> str:
        """Who acts: $MODELCYCLE_ACTOR, else user@host."""
        return self.context.actor

    @property
    def executor(self) -> Executor:
        """The executor that scores and evaluates datasets ([project] executor), made on first use."""
        return self.context.executor

    def close(self) -> None:
        """Release what the project holds: the executor's cluster connection, say."""
        self.context.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def plugin_class(self, kind: str, name: str, key: str) -> type:
        """The class registered as `name` for `kind`, or an error listing the registered ones."""
        return self.context.plugin_class(kind, name, key)

    # -- registry ----------------------------------------------------------------------

    def record_version(
        self,
        model: str,
        artifact: bytes,
        *,
        artifact_format: str,
        metadata: dict[str, Any],
        attachments: dict[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """Store a new version (artifact and attachments first, then metadata); fire after_version_created."""
        return model_versions.record_version(
            self.context, model, artifact, artifact_format=artifact_format, metadata=metadata, attachments=attachments
        )

    def versions(self, model: str) -> list[dict[str, Any]]:
        """Every version, oldest first, each with `active` set (and `deleted` once gc removed it)."""
        return model_versions.list_versions(self.context, model)

    def show(self, model: str, version: int | None = None) -> dict[str, Any]:
        """One version's metadata (the active one, else the latest) with the activation log."""
        return model_versions.show_version(self.context, model, version)

    def gc(self, model: str, *, keep: int, dry_run: bool = False) -> dict[str, Any]:
        """Delete old versions beyond the newest `keep` and what crashed writers left (see retention)."""
        from .retention import collect

        return collect(self.context, self.context.model_name(model), keep=keep, dry_run=dry_run)

    def activate(
        self, model: str, version: int, *, reason: str | None = None, decision: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Make `version` active; the activation log records who, when and why (guarded against gc)."""
        return model_versions.activate(self.context, model, version, reason=reason, decision=decision)

    def rollback(self, model: str, *, reason: str | None = None) -> dict[str, Any]:
        """Re-activate the version that was active before the current one (guarded against gc as activate is)."""
        return model_versions.rollback(self.context, model, reason=reason)

    def active_version(self, model: str) -> int | None:
        return model_versions.active_version(self.context, model)

    # -- recipes ---------------------------------------------------------------------------

    def train(self, model: str, *, activate: bool | None = None, full: bool = False, progress: Any = None) -> Any:
        """Train a new version and apply the activation policy; returns a TrainResult.

        `activate` True/False overrides the policy for this run; `full` refits on all rows.
        """
        from .train import train

        return train(self.context, self.context.model_name(model), activate=activate, full=full, progress=progress)

    def load_model(self, model: str, version: int | None = None) -> Any:
        """The fitted model of `version` (default: the active one), its artifact hash checked."""
        return model_versions.load_model(self.context, model, version)

    def score(
        self,
        model: str,
        data: Any,
        output: str | os.PathLike[str] | None = None,
        version: int | None = None,
        *,
        progress: Any = None,
        log: bool | None = None,
    ) -> Any:
        """Predictions of `version` (default: the active one) for `data`, streamed in batches.

        `data`: a DataFrame, a dataset name or a path/URL (CSV, Parquet, JSON lines). Without
        `output`, the scored DataFrame; with it (a path or URL, format from the suffix,
        relative paths from the project folder), the rows are written there atomically and
        a summary {"model", "version", "rows", "output", …} is returned. `log=True` (default:
        the model's `prediction_log`) also logs the scored ids and predictions in the store.
        """
        from .score import score

        return score(self.context, model, data, output, version=version, progress=progress, log=log)

    def evaluate(
        self,
        model: str,
        data: Any = None,
        *,
        version: int | None = None,
        labels: Any = None,
        progress: Any = None,
        name: str | None = None,
        as_of: Any = None,
    ) -> Any:
        """Evaluate on new data (a dataset name, URL or DataFrame) and record it in the history.

        `name` labels the evaluation (default: the dataset's name) and `as_of` (a date or ISO
        time; default: the dataset's `as_of`) the period its data covers.

        Returns the evaluation record; with production predictions of several versions
        (a `model_version` column), a list of records, one per version. With `labels`
        instead of `data` (ids and labels that arrived later), the labels are joined by id
        to the logged predictions, which are evaluated as served, one record per version.
        """
        if (data is None) == (labels is None):
            raise ModelcycleError("evaluate needs either data or labels (not both): labels join logged predictions")
        model = self.context.model_name(model)
        from .evaluation_label import checked_as_of, checked_name

        named = {"name": checked_name(name), "as_of": checked_as_of(as_of)}
        if labels is not None:
            from .label_evaluation import evaluate_labels

            records = evaluate_labels(self.context, model, labels, version=version, progress=progress, **named)
        else:
            from .evaluate import evaluate

            records = evaluate(self.context, model, data, version=version, progress=progress, **named)
        return records[0] if len(records) == 1 else records

    def record_evaluation(self, model: str, record: dict[str, Any]) -> dict[str, Any]:
        """Append an evaluation record to the model's history; fire after_evaluation_recorded."""
        return evaluation_history.record_evaluation(self.context, model, record)

    def evaluations(self, model: str) -> list[dict[str, Any]]:
        """Every evaluation record of `model`, oldest first."""
        self.context.require_model(model)
        return evaluation_history.evaluation_journal(self.context, model).all()

    def history(self, model: str, metric: str | None = None) -> Any:
        """The metrics history as a DataFrame: one row per evaluation."""
        from .evaluate import history_frame

        self.context.require_model(model)
        return history_frame(evaluation_history.evaluation_journal(self.context, model).summaries(), metric)

    def latest_evaluation(self, model: str, version: int | None = None) -> dict[str, Any] | None:
        """The newest evaluation of `model`; of `version` only, when given (the active one, say)."""
        return evaluation_history.latest_evaluation(self.context, model, version)

    def evaluations_before(self, model: str, evaluation_id: int, version: int | None = None) -> dict[str, Any] | None:
        """The evaluation recorded before `evaluation_id` (of `version` only, when given): a check's
        "previous" baseline."""
        return evaluation_history.evaluation_before(self.context, model, evaluation_id, version)

    # -- checks, alerts, status ---------------------------------------------------------------

    def run_checks(self, names: list[str] | None = None, *, alert: bool = True) -> list[dict[str, Any]]:
        """Run checks (all by default), record the results, deliver due pending alerts and new ones."""
        if not alert:
            from .checks import run_checks

            return run_checks(self.context, names)
        from .alerts import run_checks_alerting

        return run_checks_alerting(self.context, names)

    def notifier(self, name: str) -> Any:
        """The configured notifier `name`, its options validated."""
        return self.context.notifier(name)

    def status(self, model: str | None = None) -> list[dict[str, Any]]:
        """Per model: active version, its latest evaluation, and the worst latest check outcome.

        Challenger evaluations (of other versions) change none of it; a check result recorded
        for a version no longer active counts as EMPTY until the check runs again.
        """
        from .status import model_status

        return model_status(self.context, model)

    # -- scenarios -----------------------------------------------------------------------------

    def run_scenario(self, name: str, *, trigger: str = "manual", stop: Any = None) -> dict[str, Any]:
        """Run scenario `name` now and record it; returns the run (``scenario run --json`` shape).

        `stop`, a threading.Event or a callable, is looked at between steps: once set, the step
        in progress finishes and the run is recorded ABORTED.
        """
        from .scenarios import run_scenario

        return run_scenario(self.context, name, trigger=trigger, stop=stop)

    def scenario_runs(self, name: str | None = None) -> list[dict[str, Any]]:
        """The recorded runs of scenario `name` (of every scenario without it), oldest first."""
        from .scenarios import scenario_runs

        return scenario_runs(self.context, name)

    def describe_plugins(self) -> list[dict[str, Any]]:
        return self.host.describe()

    # -- comparison ------------------------------------------------------------------------------

    def compare(self, model: str, a: int, b: int, *, data: Any = None, resamples: int | None = None) -> Any:
        """Versions `a` and `b` side by side on labelled rows neither was trained on; a VersionComparison.

        `data`: a dataset name, path/URL or DataFrame (default: `activation.on`, else the model's dataset).
        """
        from .compare import compare_versions
        from .retention import deleted_versions

        self.context.require_model(model)
        return compare_versions(
            self.settings,
            self.registry,
            lambda version: self.load_model(model, version),
            self.host.classes("metrics"),
            model,
            a,
            b,
            deleted=deleted_versions(self.context, model),
            data=data,
            resamples=resamples,
        )
