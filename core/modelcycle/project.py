"""Project: the facade. The CLI and users call only this."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._plugins import PluginHost
from .errors import IntegrityError, ModelcycleError, NotFoundError, SettingsError
from .interfaces import Store
from .names import check_name, suggest
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
    `entry_points=False` no installed plugin is loaded, built-ins included.
    """
    settings = load_settings(find_settings_file(path), env)
    return Project(settings, plugins=plugins, entry_points=entry_points)


class Project:
    """One project: its settings, its plugins, its store and registry."""

    def __init__(self, settings: Settings, *, plugins: Iterable[object] = (), entry_points: bool = True) -> None:
        self.settings = settings
        self.plugins = PluginHost()
        self.plugins.load(
            blocked=settings.project.block_plugins,
            modules=settings.project.plugins,
            root=settings.root,
            extra=plugins,
            entry_points=entry_points,
        )
        self._check_plugin_names()
        self.store = self._open_store()
        # store records: values redacted, keys left alone (they are structure the readers look up)
        self.registry = Registry(self.store, redact=lambda value: settings.redactor(value, keys=False))
        self._models: dict[tuple[str, int], Any] = {}
        self._notifiers: dict[str, Any] = {}
        self._executor: Any = None

    @property
    def name(self) -> str:
        return self.settings.project_name

    # -- set-up ------------------------------------------------------------------------

    def _check_plugin_names(self) -> None:
        """Every plugin name the settings use must be registered: say which ones are."""
        s = self.settings
        uses: list[tuple[str, str, str]] = []
        uses += [("trainers", m.trainer, f"models.{n}.trainer") for n, m in s.models.items()]
        for n, m in s.models.items():
            if m.drift.method != "auto":
                uses.append(("drift_tests", m.drift.method, f"models.{n}.drift.method"))
            named = {c: t for c, t in m.drift.columns.items() if isinstance(t, str)}
            uses += [("drift_tests", t, f"models.{n}.drift.columns.{c}") for c, t in named.items()]
        from .drift_settings import validate_drift_settings

        validate_drift_settings(self)
        uses += [("notifiers", v.type, f"notifiers.{n}.type") for n, v in s.notifiers.items()]
        uses.append(("executors", s.project.executor, "project.executor"))
        for name, scenario in s.scenarios.items():
            uses += [("steps", st.type, f"scenarios.{name}.steps[{i}].type") for i, st in enumerate(scenario.steps)]
            uses += [
                ("triggers", t.type, f"scenarios.{name}.triggers[{i}].type") for i, t in enumerate(scenario.triggers)
            ]
        for kind, value, key in uses:
            self.plugin_class(kind, value, key)
        if s.checks:
            from .checks import validate_check_settings

            validate_check_settings(self)
        if s.checks or s.scenarios:
            from .alerts import check_templates

            check_templates(self)
        for name, spec in s.notifiers.items():
            cls = self.plugin_class("notifiers", spec.type, f"notifiers.{name}.type")
            if cls.Options is not None:
                from .settings import validate_options

                validate_options(s, cls.Options, spec.model_extra or {}, ("notifiers", name))
        self._executor_options()

    def _executor_options(self) -> Any:
        """[project.executor_options] validated against the chosen executor's schema."""
        s = self.settings
        cls = self.plugin_class("executors", s.project.executor, "project.executor")
        if cls.Options is None:
            if s.project.executor_options:
                first = next(iter(s.project.executor_options))
                raise s.error(f"project.executor_options.{first}", f"executor '{cls.name}' takes no options")
            return None
        from .settings import validate_options

        return validate_options(s, cls.Options, s.project.executor_options, ("project", "executor_options"))

    @property
    def executor(self) -> Any:
        """The executor that scores and evaluates datasets ([project] executor), made on first use."""
        if self._executor is None:
            cls = self.plugin_class("executors", self.settings.project.executor, "project.executor")
            self._executor = cls(self._executor_options(), project=self)
        return self._executor

    def close(self) -> None:
        """Release what the project holds: the executor's cluster connection, say."""
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def plugin_class(self, kind: str, name: str, key: str) -> type:
        """The class registered as `name` for `kind`, or an error listing the registered ones."""
        registry = self.plugins.registry(kind)
        if name in registry:
            return registry[name].cls
        what = kind[:-1].replace("_", " ")
        hint = suggest(name, registry)
        choices = ", ".join(sorted(registry)) or "none (is the plugin that provides it installed?)"
        raise self.settings.error(key, f"unknown {what} '{name}'; {hint}registered: {choices}")

    def _open_store(self) -> Store:
        url = self.settings.resolve_url(self.settings.project.store)
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme in ("", "file") and Path(url.split("://", 1)[-1]).is_file():
            shown = self.settings.redactor(self.settings.project.store)
            raise self.settings.error("project.store", f"'{shown}' is a file: give a folder (default .modelcycle)")
        registry = self.plugins.registry("stores")
        chosen = next((r.cls for r in registry.values() if scheme in r.cls.protocols), None)
        chosen = chosen or next((r.cls for r in registry.values() if "*" in r.cls.protocols), None)
        if chosen is None:
            raise SettingsError(
                f"{self.settings.file.name}: project.store: no store plugin serves '{scheme or 'file'}' URLs; "
                f"registered: {', '.join(sorted(registry)) or 'none'}"
            )
        return chosen(url, self.settings.project.store_options)

    @property
    def actor(self) -> str:
        """Who acts: $MODELCYCLE_ACTOR, else user@host."""
        actor = os.environ.get("MODELCYCLE_ACTOR")
        if actor:
            return actor
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return f"{user}@{socket.gethostname()}"

    def _model_name(self, model: str) -> str:
        check_name(model, "model name")
        return model

    def _require_model(self, model: str) -> None:
        """A model must be in the settings or already have versions in the store."""
        self._model_name(model)
        if model in self.settings.models or self.registry.latest(model) is not None:
            return
        defined = ", ".join(sorted(self.settings.models)) or "none"
        hint = suggest(model, self.settings.models)
        raise NotFoundError(f"unknown model '{model}': {hint}models in {self.settings.file.name}: {defined}")

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
        entry = self.registry.create_version(
            self._model_name(model),
            artifact,
            artifact_format=artifact_format,
            metadata=metadata,
            actor=self.actor,
            attachments=attachments,
        )
        self.plugins.fire("after_version_created", project=self, model=model, version=entry)
        return entry

    def versions(self, model: str) -> VersionList:
        """Every version, oldest first, each with `active` set (and `deleted` once gc removed it)."""
        from .retention import deleted_versions

        self._require_model(model)
        current = self.registry.active(model)
        active = current["version"] if current else None
        gone = deleted_versions(self, model)
        return VersionList(
            model,
            (
                VersionInfo.of({**v, "active": v["version"] == active, "deleted": v["version"] in gone})
                for v in self.registry.versions(model)
            ),
            self.leading_metrics(model),
        )

    def show(self, model: str, version: int | None = None) -> VersionDetail:
        """One version's metadata (the active one, else the latest) with the activation log."""
        self._require_model(model)
        current = self.registry.active(model)
        if version is None:
            if current is not None:
                version = current["version"]
            else:
                latest = self.registry.latest(model)
                if latest is None:
                    raise NotFoundError(f"model '{model}' has no versions yet: train it first")
                version = latest["version"]
        entry = self.registry.version(model, version)
        active = current is not None and current["version"] == version
        return VersionDetail.of({**entry, "active": active, "activations": self.registry.activations(model)})

    def gc(self, model: str, *, keep: int, dry_run: bool = False) -> GcReport:
        """Delete old versions beyond the newest `keep` and what crashed writers left (see retention)."""
        from .retention import collect

        return GcReport.of(collect(self, self._model_name(model), keep=keep, dry_run=dry_run))

    def _refuse_deleted(self, model: str, version: int) -> None:
        from .retention import is_deleted

        if is_deleted(self, model, version):
            raise NotFoundError(f"model '{model}' version {version} was deleted by gc: choose another version")

    def activate(
        self, model: str, version: int, *, reason: str | None = None, decision: dict[str, Any] | None = None
    ) -> Activation:
        """Make `version` active; the activation log records who, when and why.

        A gc running at the same moment either sees this activation and keeps the version, or
        has decided to delete it first: then this refuses and appends nothing (see retention).
        """
        from .retention import activation_guard

        self._require_model(model)
        self.registry.version(model, version)  # must exist
        with activation_guard(self, model, version):
            entry = self.registry.activate(model, version, actor=self.actor, reason=reason, decision=decision)
        entry = Activation.of(entry)
        self.plugins.fire("after_version_activated", project=self, model=model, activation=entry)
        return entry

    def rollback(self, model: str, *, reason: str | None = None) -> Activation:
        """Re-activate the version that was active before the current one (guarded against gc as activate is)."""
        from .retention import activation_guard

        self._require_model(model)
        while True:
            current = self.registry.active(model)
            target = self.registry._activations(model).get(current["back"]) if current else None
            if target is None:  # nothing to roll back to: the registry says why
                entry = self.registry.rollback(model, actor=self.actor, reason=reason)
                break
            with activation_guard(self, model, target["version"]):
                entry = self.registry.rollback(model, actor=self.actor, reason=reason, expect=target["version"])
            if entry is not None:
                break  # else another activation came first: the target changed, guard the new one
        entry = Activation.of(entry)
        self.plugins.fire("after_version_activated", project=self, model=model, activation=entry)
        return entry

    def active_version(self, model: str) -> int | None:
        self._require_model(model)
        current = self.registry.active(model)
        return current["version"] if current else None

    # -- recipes ---------------------------------------------------------------------------

    def train(self, model: str, *, activate: bool | None = None, full: bool = False, progress: Any = None) -> Any:
        """Train a new version and apply the activation policy; returns a TrainResult.

        `activate` True/False overrides the policy for this run; `full` refits on all rows.
        """
        from .train import train

        return train(self, self._model_name(model), activate=activate, full=full, progress=progress)

    def load_model(self, model: str, version: int | None = None) -> Any:
        """The fitted model of `version` (default: the active one), its artifact hash checked."""
        self._require_model(model)
        if version is None:
            version = self.active_version(model)
            if version is None:
                raise NotFoundError(f"model '{model}' has no active version: activate one or pass version=N")
        key = (model, version)
        if key not in self._models:
            self._refuse_deleted(model, version)
            entry, data = self.registry.read_artifact(model, version)
            if not entry.get("trainer"):
                raise ModelcycleError(f"model '{model}' version {version} names no trainer: it cannot be loaded")
            trainer_cls = self.plugin_class("trainers", entry["trainer"], f"version {version} trainer")
            trainer = trainer_cls(self.settings.models.get(model), task=entry.get("task", ""))
            self._models[key] = trainer.load(data, self._artifact_format(model, version, entry))
        return self._models[key]

    def _artifact_format(self, model: str, version: int, entry: dict[str, Any]) -> str:
        """How to read the artifact: the settings say, never the store (whose writer could turn a
        skops model into a pickle that runs code when loaded). A stored format that differs is refused."""
        spec = self.settings.models.get(model)
        expected = spec.artifact_format if spec is not None else "joblib"
        stored = (entry.get("artifact") or {}).get("format")
        if stored != expected:
            raise IntegrityError(
                f"model '{model}' version {version}: its artifact is stored as {stored!r} but "
                f"{self.settings.file.name}: models.{model}.artifact_format is '{expected}': refusing to load it; "
                f"retrain, or set artifact_format = {stored!r} if you trust whoever writes this store"
            )
        return expected

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

        result = score(self, model, data, output, version=version, progress=progress, log=log)
        return result if output is None else ScoreSummary.of(result)

    def evaluate(
        self,
        model: str,
        data: Any = None,
        *,
        version: int | None = None,
        labels: Any = None,
        progress: Any = None,
    ) -> Evaluations:
        """Evaluate on new data (a dataset name, URL or DataFrame) and record it in the history.

        Returns Evaluations: one record per version evaluated. Most evaluations are of one
        version, and the result then also reads as that record (``result["metrics"]``);
        production predictions of several versions (a `model_version` column) give one per version. With `labels`
        instead of `data` (ids and labels that arrived later), the labels are joined by id
        to the logged predictions, which are evaluated as served, one record per version.
        """
        if (data is None) == (labels is None):
            raise ModelcycleError("evaluate needs either data or labels (not both): labels join logged predictions")
        if labels is not None:
            from .prediction_log import evaluate_labels

            records = evaluate_labels(self, self._model_name(model), labels, version=version, progress=progress)
        else:
            from .evaluate import evaluate

            records = evaluate(self, self._model_name(model), data, version=version, progress=progress)
        return Evaluations(records)

    def record_evaluation(self, model: str, record: dict[str, Any]) -> Evaluation:
        """Append an evaluation record to the model's history; fire after_evaluation_recorded."""
        from .history import journal

        redact = self.settings.redactor
        _, stored = journal(self, model).append(lambda seq, _prev: redact({**record, "id": seq}, keys=False))
        entry = Evaluation.of(stored)
        self.plugins.fire("after_evaluation_recorded", project=self, model=model, evaluation=entry)
        return entry

    def evaluations(self, model: str) -> list[dict[str, Any]]:
        """Every evaluation record of `model`, oldest first."""
        from .history import journal

        self._require_model(model)
        return journal(self, model).all()

    def history(self, model: str, metric: str | None = None) -> Any:
        """The metrics history as a DataFrame: one row per evaluation."""
        from .evaluate import history_frame
        from .history import journal

        self._require_model(model)
        return history_frame(journal(self, model).summaries(), metric)

    def latest_evaluation(self, model: str, version: int | None = None) -> dict[str, Any] | None:
        """The newest evaluation of `model`; of `version` only, when given (the active one, say)."""
        from .history import journal, latest_of

        return latest_of(journal(self, model), version)

    def evaluations_before(self, model: str, evaluation_id: int, version: int | None = None) -> dict[str, Any] | None:
        """The evaluation recorded before `evaluation_id` (of `version` only, when given): a check's
        "previous" baseline."""
        from .history import journal, latest_of

        return latest_of(journal(self, model), version, before=evaluation_id)

    # -- checks, alerts, status ---------------------------------------------------------------

    def run_checks(self, names: list[str] | None = None, *, alert: bool = True) -> list[CheckResult]:
        """Run checks (all by default), record the results, deliver due pending alerts and new ones."""
        from . import alerts, checks

        if not alert:
            return [CheckResult.of(r) for r in checks.run_checks(self, names)]
        checks.chosen_checks(self, names)  # an unknown name changes nothing, delivers nothing
        alerts.retry(self)
        queued: list[dict[str, Any]] = []
        # each result's alerts are pending right after it is recorded, before the next check runs
        results = checks.run_checks(self, names, on_result=lambda r: queued.extend(alerts.queue_alerts(self, r)))
        for pending in queued:
            alerts.deliver(self, pending)
        return [CheckResult.of(r) for r in results]

    def notifier(self, name: str) -> Any:
        """The configured notifier `name`, its options validated."""
        from .settings import validate_options

        if name not in self.settings.notifiers:
            known = ", ".join(sorted(self.settings.notifiers)) or "none"
            raise NotFoundError(f"unknown notifier '{name}'; notifiers in {self.settings.file.name}: {known}")
        if name not in self._notifiers:
            spec = self.settings.notifiers[name]
            cls = self.plugin_class("notifiers", spec.type, f"notifiers.{name}.type")
            options = (
                validate_options(self.settings, cls.Options, spec.model_extra or {}, ("notifiers", name))
                if cls.Options is not None
                else None
            )
            try:
                self._notifiers[name] = cls(name, options, project=self)
            except SettingsError as exc:
                message = str(exc)
                if message.startswith(self.settings.file.name):
                    raise
                raise self.settings.error(
                    f"notifiers.{name}.{message.split(': ', 1)[0]}", message.split(": ", 1)[-1]
                ) from None
        return self._notifiers[name]

    def status(self, model: str | None = None) -> list[ModelStatus]:
        """Per model: active version, its latest evaluation, and the worst latest check outcome.

        Challenger evaluations (of other versions) change none of it; a check result recorded
        for a version no longer active counts as EMPTY until the check runs again.
        """
        from .checks import latest_results, worst

        models = [model] if model is not None else sorted(self.settings.models)
        out = []
        for name in models:
            self._require_model(name)
            active = self.registry.active(name)
            results = latest_results(self, name)
            # the active version's: a challenger's evaluation never stands for the model in production
            latest = self.latest_evaluation(name, active["version"]) if active else None
            out.append(
                {
                    "model": name,
                    "active_version": active["version"] if active else None,
                    "latest_evaluation": None
                    if latest is None
                    else {
                        k: latest.get(k) for k in ("id", "version", "evaluated_at", "rows", "labeled_rows", "metrics")
                    }
                    | {"drift_share": (latest.get("drift") or {}).get("share")},
                    "status": worst([r["outcome"] for r in results]),
                    "checks": results,
                }
            )
        return [ModelStatus.of(s, leading_metrics=self.leading_metrics(s["model"])) for s in out]

    # -- scenarios -----------------------------------------------------------------------------

    def run_scenario(self, name: str, *, trigger: str = "manual", stop: Any = None) -> ScenarioRun:
        """Run scenario `name` now and record it; returns the run (``scenario run --json`` shape).

        `stop`, a threading.Event or a callable, is looked at between steps: once set, the step
        in progress finishes and the run is recorded ABORTED.
        """
        from .scenarios import run_scenario

        return ScenarioRun.of(run_scenario(self, name, trigger=trigger, stop=stop))

    def scenario_runs(self, name: str | None = None) -> list[ScenarioRun]:
        """The recorded runs of scenario `name` (of every scenario without it), oldest first."""
        from .scenarios import scenario_runs

        return [ScenarioRun.of(run) for run in scenario_runs(self, name)]

    def describe_plugins(self) -> list[PluginInfo]:
        return [PluginInfo.of(p) for p in self.plugins.describe()]

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
        from .history import journal

        self._require_model(model)
        chosen = list(dict.fromkeys(metrics))
        summaries = journal(self, model).summaries()
        for metric in chosen:  # an unknown metric: the error lists those recorded
            history_frame(summaries, metric)
        frame = history_frame(summaries)
        base = ["id", "evaluated_at", "version", "challenger"]
        if chosen:
            columns = base + chosen
        else:
            rest = [c for c in frame.columns if c not in base]
            columns = base + metric_order(rest, self.leading_metrics(model))
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
        queued = delivery.queue(self, notifier, subject, message, {"kind": "test", "actor": self.actor})
        done = delivery.deliver(self, queued)
        delivered = done["status"] == "sent"
        if not delivered:
            self.store.delete(f"alerts/pending/{done['id']}.json")
            for key in self.store.list(f"alerts/sending/{done['id']}"):
                self.store.delete(key)
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
        """Fire the due triggers once and run their scenarios (`scheduler --once`)."""
        from . import scheduler as scheduling

        problems: list[str] = []

        def problem(message: str) -> None:
            problems.append(message)
            if on_problem is not None:
                on_problem(message)

        count = scheduling.validate(self)
        runs = scheduling.tick(self, stop=stop, on_error=problem)
        return SchedulerTick(runs=[ScenarioRun.of(r) for r in runs], problems=problems, triggers=count)

    def run_scheduler(self, *, interval: float, stop: Any, on_event: Any) -> None:
        """Tick every `interval` seconds until `stop` is set; `on_event` gets each SchedulerEvent
        (started, run, problem, stopped)."""
        from . import scheduler as scheduling

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
            on_error=lambda message: on_event(SchedulerEvent(event="problem", message=message)),
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

    def serve_dashboard(self, host: str, port: int, *, on_ready: Any = None) -> DashboardServing:
        """Serve the dashboard live and read-only until interrupted; `on_ready` gets the listening record."""
        from . import dashboard as board
        from .dashboard.serve import is_loopback

        def ready(server: Any) -> None:
            if on_ready is not None:
                on_ready(
                    DashboardServing(
                        event="listening", project=self.name, url=server.url, host=host, loopback=is_loopback(host)
                    )
                )

        board.serve(self, host, port, on_ready=ready)
        return DashboardServing(event="stopped", project=self.name, url=None, host=host, loopback=is_loopback(host))
