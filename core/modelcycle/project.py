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
from .records import (
    Activation,
    Alert,
    AlertList,
    CheckResult,
    DashboardBuilt,
    DashboardServing,
    Evaluation,
    Evaluations,
    GcReport,
    History,
    ModelStatus,
    NotifyResult,
    PluginInfo,
    Retried,
    ScenarioRun,
    ScenarioSummary,
    SchedulerEvent,
    SchedulerTick,
    ScoreSummary,
    VersionDetail,
    VersionInfo,
    VersionList,
    metric_order,
)
from .registry import Registry
from .settings import Settings, find_settings_file, load_settings

if TYPE_CHECKING:  # pragma: no cover - the recipes' modules import pandas: not at start-up
    import threading

    import pandas as pd

    from .compare import VersionComparison
    from .interfaces import Executor, Notifier
    from .train import TrainResult


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

    def versions(self, model: str) -> VersionList:
        """Every version, oldest first, each with `active` set (and `deleted` once gc removed it)."""
        versions = model_versions.list_versions(self.context, model)
        return VersionList(model, (VersionInfo.of(v) for v in versions), self.leading_metrics(model))

    def show(self, model: str, version: int | None = None) -> VersionDetail:
        """One version's metadata (the active one, else the latest) with the activation log."""
        return VersionDetail.of(model_versions.show_version(self.context, model, version))

    def gc(self, model: str, *, keep: int, dry_run: bool = False) -> GcReport:
        """Delete old versions beyond the newest `keep` and what crashed writers left (see retention)."""
        from .retention import collect

        return GcReport.of(collect(self.context, self.context.model_name(model), keep=keep, dry_run=dry_run))

    def activate(
        self, model: str, version: int, *, reason: str | None = None, decision: dict[str, Any] | None = None
    ) -> Activation:
        """Make `version` active; the activation log records who, when and why (guarded against gc)."""
        return Activation.of(model_versions.activate(self.context, model, version, reason=reason, decision=decision))

    def rollback(self, model: str, *, reason: str | None = None) -> Activation:
        """Re-activate the version that was active before the current one (guarded against gc as activate is)."""
        return Activation.of(model_versions.rollback(self.context, model, reason=reason))

    def active_version(self, model: str) -> int | None:
        return model_versions.active_version(self.context, model)

    # -- recipes ---------------------------------------------------------------------------

    def train(
        self, model: str, *, activate: bool | None = None, full: bool = False, progress: Any = None
    ) -> TrainResult:
        """Train a new version and apply the activation policy; returns a TrainResult.

        `activate` True/False overrides the policy for this run; `full` refits on all rows.
        """
        from .train import train

        model = self.context.model_name(model)
        result = train(self.context, model, activate=activate, full=full, progress=progress)
        result.leading_metrics = self.leading_metrics(model)
        return result

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
    ) -> pd.DataFrame | ScoreSummary:
        """Predictions of `version` (default: the active one) for `data`, streamed in batches.

        `data`: a DataFrame, a dataset name or a path/URL (CSV, Parquet, JSON lines). Without
        `output`, the scored DataFrame; with it (a path or URL, format from the suffix,
        relative paths from the project folder), the rows are written there atomically and
        a summary {"model", "version", "rows", "output", …} is returned. `log=True` (default:
        the model's `prediction_log`) also logs the scored ids and predictions in the store.
        """
        from .score import score

        result = score(self.context, model, data, output, version=version, progress=progress, log=log)
        return result if output is None else ScoreSummary.of(result)

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
    ) -> Evaluations:
        """Evaluate on new data (a dataset name, URL or DataFrame) and record it in the history.

        `name` labels the evaluation (default: the dataset's name) and `as_of` (a date or ISO
        time; default: the dataset's `as_of`) the period its data covers.

        Returns Evaluations: one record per version evaluated. Most evaluations are of one
        version, and the result then also reads as that record (``result["metrics"]``);
        production predictions of several versions (a `model_version` column) give one per version. With `labels`
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
        return Evaluations(records, leading_metrics=self.leading_metrics(model))

    def record_evaluation(self, model: str, record: dict[str, Any]) -> Evaluation:
        """Append an evaluation record to the model's history; fire after_evaluation_recorded."""
        return Evaluation.of(evaluation_history.record_evaluation(self.context, model, record))

    def evaluations(self, model: str) -> list[dict[str, Any]]:
        """Every evaluation record of `model`, oldest first."""
        self.context.require_model(model)
        return evaluation_history.evaluation_journal(self.context, model).all()

    def history(self, model: str, metric: str | None = None) -> pd.DataFrame:
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

    def run_checks(self, names: list[str] | None = None, *, alert: bool = True) -> list[CheckResult]:
        """Run checks (all by default), record the results, deliver due pending alerts and new ones."""
        if not alert:
            from .checks import run_checks

            return [CheckResult.of(r) for r in run_checks(self.context, names)]
        from .alerts import run_checks_alerting

        return [CheckResult.of(r) for r in run_checks_alerting(self.context, names)]

    def notifier(self, name: str) -> Notifier:
        """The configured notifier `name`, its options validated."""
        return self.context.notifier(name)

    def status(self, model: str | None = None) -> list[ModelStatus]:
        """Per model: active version, its latest evaluation, and the worst latest check outcome.

        Challenger evaluations (of other versions) change none of it; a check result recorded
        for a version no longer active counts as EMPTY until the check runs again.
        """
        from .status import model_status

        statuses = model_status(self.context, model)
        return [ModelStatus.of(s, leading_metrics=self.leading_metrics(s["model"])) for s in statuses]

    # -- scenarios -----------------------------------------------------------------------------

    def run_scenario(self, name: str, *, trigger: str = "manual", stop: Any = None) -> ScenarioRun:
        """Run scenario `name` now and record it; returns the run (``scenario run --json`` shape).

        `stop`, a threading.Event or a callable, is looked at between steps: once set, the step
        in progress finishes and the run is recorded ABORTED.
        """
        from .scenarios import run_scenario

        return ScenarioRun.of(run_scenario(self.context, name, trigger=trigger, stop=stop))

    def scenario_runs(self, name: str | None = None) -> list[ScenarioRun]:
        """The recorded runs of scenario `name` (of every scenario without it), oldest first."""
        from .scenarios import scenario_runs

        return [ScenarioRun.of(run) for run in scenario_runs(self.context, name)]

    def describe_plugins(self) -> list[PluginInfo]:
        return [PluginInfo.of(p) for p in self.host.describe()]

    # -- comparison ------------------------------------------------------------------------------

    def compare(
        self, model: str, a: int, b: int, *, data: Any = None, resamples: int | None = None, html: Any = None
    ) -> VersionComparison:
        """Versions `a` and `b` side by side on labelled rows neither was trained on; a VersionComparison.

        `data`: a dataset name, path/URL or DataFrame (default: `activation.on`, else the model's dataset).
        `html`: a file to write the comparison to as a self-contained page (its path is in `.html`).
        """
        from .compare import compare_versions
        from .retention import deleted_versions

        self.context.require_model(model)
        result = compare_versions(
            self.settings,
            self.registry,
            lambda version: self.load_model(model, version),
            self.host.classes("metrics"),
            self.context.maker("metrics", f"models.{model}.metrics"),
            model,
            a,
            b,
            deleted=deleted_versions(self.context, model),
            data=data,
            resamples=resamples,
        )
        if html is not None:
            from .dashboard.compare import render_compare, write_compare

            page = render_compare(result, project=self.name, redact=self.settings.redactor)
            result.html = str(write_compare(page, html))
        return result

    # == what the command line shows: one method per command, each returning a record =========
    # (records.py holds the types and their JSON; cli.py only prints them)

    def leading_metrics(self, model: str) -> list[str]:
        """The metrics a table shows first: the primary metric, then those the model's checks watch."""
        spec = self.settings.models.get(model)
        primary = spec.primary_metric if spec is not None else None
        if primary is None:  # the default per task, as the latest version recorded it
            primary = (self.registry.latest(model) or {}).get("primary_metric")
        checked = [c.metric for c in self.settings.checks.values() if c.model == model]
        return [m for m in dict.fromkeys([primary, *checked]) if m]

    def metric_history(self, model: str, metrics: Iterable[str] = ()) -> History:
        """The evaluations of `model` as `history` shows them, for the chosen metrics (every field without)."""
        from .evaluate import history_frame
        from .history import evaluation_journal

        self.context.require_model(model)
        chosen = list(dict.fromkeys(metrics))
        summaries = evaluation_journal(self.context, model).summaries()
        for metric in chosen:  # an unknown metric: the error lists those recorded
            history_frame(summaries, metric)
        frame = history_frame(summaries)
        base = ["id", "evaluated_at", "version", "challenger"]
        if chosen:
            columns = base + chosen
        else:
            rest = [c for c in frame.columns if c not in base]
            about = [c for c in ("dataset", "as_of") if c in rest]  # what the data was, before the other numbers
            columns = base + metric_order(rest, [*self.leading_metrics(model), *about])
        rows = []
        for row in frame.to_dict("records") if len(frame) else []:
            item = {c: row.get(c) for c in columns}
            item["evaluated_at"] = row["evaluated_at"].isoformat()
            rows.append({k: None if isinstance(v, float) and v != v else v for k, v in item.items()})
        records = [] if chosen else self.evaluations(model)
        return History(model=model, metrics=chosen, columns=columns, rows=rows, records=records)

    def alerts(self, *, pending_only: bool = False) -> AlertList:
        """Alerts: the latest 200 sent then the pending ones, or only those still to deliver."""
        from . import alerts as delivery

        waiting = delivery.pending(self)
        shown = waiting if pending_only else delivery.sent(self, limit=200) + waiting
        return AlertList(alerts=[Alert.of(a) for a in shown], pending_only=pending_only)

    def retry_alerts(self) -> Retried:
        """Send every pending alert now, whatever its backoff."""
        from . import alerts as delivery

        return Retried(alerts=[Alert.of(a) for a in delivery.retry(self, force=True)])

    def notify(self, notifier: str, message: str) -> NotifyResult:
        """Send a test message through `notifier` as an alert: logged (and after_alert_sent fired) when
        delivered; one that fails is not kept pending, since a test is not worth re-sending."""
        from . import alerts as delivery

        channel = self.notifier(notifier)  # unknown or badly configured: the settings error, nothing queued
        subject = f"[modelcycle] {self.name}: test message"
        done = delivery.send_test(self.context, notifier, subject, message, {"kind": "test", "actor": self.actor})
        delivered = done["status"] == "sent"
        return NotifyResult(
            notifier=notifier,
            delivered=delivered,
            target=channel.target() if delivered else None,
            error=None if delivered else done.get("last_error"),
            alert=Alert.of(done),
        )

    def scenarios(self) -> list[ScenarioSummary]:
        """Every scenario with its triggers, steps, routing and last run."""
        from .scenarios import last_run
        from .scheduler import label, triggers

        found = []
        for name, spec in self.settings.scenarios.items():
            last = last_run(self, name)
            found.append(
                ScenarioSummary(
                    name=name,
                    triggers=[label(trigger, t) for _, t, trigger in triggers(self, name)],
                    steps=[s.type for s in spec.steps],
                    notify=dict(spec.notify),
                    last_run=None
                    if last is None
                    else {k: last.get(k) for k in ("id", "trigger", "started_at", "finished_at", "outcome")},
                )
            )
        return found

    def scheduler_tick(self, *, stop: Any = None, on_problem: Any = None) -> SchedulerTick:
        """Fire the due triggers once and run their scenarios (`scheduler --once`); each problem
        is logged as an error (modelcycle.scheduler), kept in `problems` and given to `on_problem`."""
        from . import scheduler as scheduling

        problems: list[str] = []

        def problem(message: str) -> None:
            scheduling.report_problem(message)
            problems.append(message)
            if on_problem is not None:
                on_problem(message)

        count = scheduling.validate(self)
        runs = scheduling.tick(self, stop=stop, on_error=problem)
        return SchedulerTick(runs=[ScenarioRun.of(r) for r in runs], problems=problems, triggers=count)

    def run_scheduler(self, *, interval: float, stop: Any, on_event: Any) -> None:
        """Tick every `interval` seconds until `stop` is set; `on_event` gets each SchedulerEvent
        (started, run, problem, stopped). Each problem is also logged as an error."""
        from . import scheduler as scheduling

        def problem(message: str) -> None:
            scheduling.report_problem(message)
            on_event(SchedulerEvent(event="problem", message=message))

        count = scheduling.validate(self)
        on_event(
            SchedulerEvent(
                event="started", scenarios=len(self.settings.scenarios), triggers=count, interval=float(interval)
            )
        )
        scheduling.serve(
            self,
            interval=interval,
            stop=stop,
            on_run=lambda run: on_event(SchedulerEvent(event="run", run=ScenarioRun.of(run))),
            on_error=problem,
        )
        on_event(SchedulerEvent(event="stopped"))

    def build_dashboard(self, out: str | os.PathLike[str] | None = None) -> DashboardBuilt:
        """Write the dashboard as one self-contained HTML file (default: dashboard.html in the project folder)."""
        import time

        from . import dashboard as board

        started = time.perf_counter()
        path = board.build(self, out)
        took = time.perf_counter() - started
        return DashboardBuilt(path=str(path), bytes=path.stat().st_size, seconds=took)

    def serve_dashboard(
        self, host: str, port: int, *, on_ready: Any = None, stop: threading.Event | None = None
    ) -> DashboardServing:
        """Serve the dashboard live and read-only until interrupted (Ctrl-C) or `stop` is set;
        `on_ready` gets the listening record, and the stopped record names the same url."""
        from . import dashboard as board
        from .dashboard.serve import is_loopback

        url: list[str] = []

        def ready(server: Any) -> None:
            url.append(server.url)
            if on_ready is not None:
                on_ready(
                    DashboardServing(
                        event="listening", project=self.name, url=server.url, host=host, loopback=is_loopback(host)
                    )
                )

        board.serve(self, host, port, on_ready=ready, stop=stop)
        return DashboardServing(
            event="stopped", project=self.name, url=url[0] if url else None, host=host, loopback=is_loopback(host)
        )
